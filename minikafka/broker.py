"""The broker: one object that owns a node's topics, partitions and listeners.

A ``Broker`` is built from a ``BrokerConfig`` and runs with ``await
broker.serve()`` inside a Trio nursery. Nothing is process-global: several
brokers can run in one ``trio.run`` (tests, the cluster simulator), each with
its own config, data directories and listeners.

What it owns:

- ``topics`` (``TopicRegistry``): names, ids, partition counts, config overrides;
- ``log_manager`` (``LogManager``) and ``partitions``: ``{(topic, index): Partition}``;
- ``producer_ids`` (``ProducerIdManager``): ids handed to idempotent producers;
- ``group_coordinator`` (``GroupCoordinatorRuntime``): consumer groups and
  committed offsets, kept in ``__consumer_offsets``;
- ``handlers``: ``{api_key: handle}`` from ``minikafka.handlers``.

Life cycle: ``open()`` loads the topics and logs (``serve()`` calls it if
needed); ``serve()`` starts the listeners, the group coordinator (which
loads ``__consumer_offsets`` and runs the group timers) and the maintenance
timer, and runs until cancelled; on the way out ``close()`` flushes every
log and writes the producer-state snapshots, so a restart recovers quickly.

Time: record timestamps use the injected wall clock ``now_ms`` (default
``time.time``); waiting uses Trio's clock, so ``trio.testing.MockClock`` can
drive long polls and timers.

Only this module's runtime part (``serve``, ``wait_for_appends``) and
``server/`` touch Trio; the rest of the broker is synchronous.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Callable

import trio

from minikafka.config import load_or_create_meta_properties
from minikafka.coordinator.producer_ids import ProducerIdManager
from minikafka.coordinator.producer_state import ProducerStateManager
from minikafka.coordinator.runtime import GroupCoordinatorRuntime
from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import load_handlers
from minikafka.log.config import LogConfig
from minikafka.log.manager import LogManager
from minikafka.partition import Partition
from minikafka.server.listener import parse_endpoints, serve_endpoints
from minikafka.server.network import TcpNetwork
from minikafka.topics import TopicRegistry

log = logging.getLogger("minikafka.broker")

MAINTENANCE_TICK_MS = 1000
PRODUCER_IDS_FILE = "producer-ids"  # in the first log dir; see coordinator/producer_ids.py  # roll-by-time and flush-by-time need a short tick


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class Broker:
    """One Kafka broker. Owned by whoever calls ``serve()``; runs in one Trio loop.

    Args:
        config: the ``BrokerConfig`` (Kafka's ``server.properties`` keys).
        now_ms: the wall clock in milliseconds (for record timestamps,
            retention); injectable for tests.
        network: the network seam (``TcpNetwork`` by default).
    """

    def __init__(self, config, *, now_ms: Callable[[], int] | None = None, network=None):
        self.config = config
        self.node_id: int = config["node.id"]
        self._now_ms = now_ms or wall_clock_ms
        self.network = network or TcpNetwork()
        self.handlers = load_handlers()
        self.listeners = parse_endpoints(config["listeners"])
        self.bound_ports: list[int] = []
        self.cluster_id: str | None = None
        self.topics = None
        self.log_manager = None
        self.producer_ids = None
        self.group_coordinator: GroupCoordinatorRuntime | None = None
        self.partitions: dict[tuple[str, int], Partition] = {}
        self._opened = False

    def now_ms(self) -> int:
        """The wall clock in milliseconds (injected)."""
        return self._now_ms()

    def monotonic_ms(self) -> float:
        """Trio's clock in milliseconds, for timeouts (a MockClock in tests)."""
        return trio.current_time() * 1000

    # -- life cycle ----------------------------------------------------------

    def open(self) -> None:
        """Load topics, logs and producer ids from the log dirs. Idempotent."""
        if self._opened:
            return
        log_dirs = self.log_dirs()
        for log_dir in log_dirs:
            os.makedirs(log_dir, exist_ok=True)
        self.cluster_id = load_or_create_meta_properties(log_dirs, self.node_id)
        self.topics = TopicRegistry(self.config)
        self.log_manager = LogManager(log_dirs)
        self.producer_ids = ProducerIdManager(os.path.join(log_dirs[0], PRODUCER_IDS_FILE))
        logs = self.log_manager.load(self._log_config_for, self.now_ms())
        for name in self.topics.names():
            self._open_partitions(self.topics.get(name), logs)
        for topic, index in sorted(logs.keys() - self.partitions.keys()):
            # Kafka would delete such a stray log; we keep the data and say so.
            log.warning("broker %s: log %s-%d belongs to no topic; ignoring it",
                        self.node_id, topic, index)
        self.group_coordinator = GroupCoordinatorRuntime(self)
        self.group_coordinator.open()
        self._opened = True

    def close(self) -> None:
        """Clean shutdown: flush and close every log, write producer snapshots.

        Logs are flushed first, then each partition's producer state is saved
        at its log end offset, so a restart replays nothing.
        """
        if not self._opened:
            return
        self.log_manager.close()  # fsync, close, write the checkpoints once
        for partition in self.partitions.values():
            try:
                partition.take_snapshot()
            except Exception:  # keep saving the others
                log.exception("broker %s: snapshot of %r failed", self.node_id, partition)
        self.partitions.clear()
        self._opened = False

    async def serve(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Listen and serve until cancelled, then shut down cleanly.

        ``task_status.started(self)`` is called once every listener is bound
        (``bound_ports`` is then filled in).
        """
        self.open()
        try:
            async with trio.open_nursery() as nursery:
                self.bound_ports = await nursery.start(serve_endpoints, self, self.listeners)
                await nursery.start(self.group_coordinator.run)
                nursery.start_soon(self._maintenance_loop)
                task_status.started(self)
        finally:
            self.close()

    async def _maintenance_loop(self) -> None:
        interval_ms = min(self.config["log.retention.check.interval.ms"], MAINTENANCE_TICK_MS)
        while True:
            await trio.sleep(interval_ms / 1000)
            now_ms = self.now_ms()
            for partition in list(self.partitions.values()):
                try:
                    partition.maintenance(now_ms)
                except Exception:
                    log.exception("broker %s: maintenance of %r failed", self.node_id, partition)

    # -- what handlers call --------------------------------------------------

    def log_dirs(self) -> list[str]:
        return list(self.config["log.dirs"])

    def partition(self, topic: str, index: int) -> Partition:
        """The partition, or ``KafkaError(UNKNOWN_TOPIC_OR_PARTITION)``."""
        try:
            return self.partitions[(topic, index)]
        except KeyError:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                             f"{topic}-{index} is not on this broker") from None

    def topic_name_by_id(self, topic_id: bytes) -> str | None:
        """Resolve a topic id (Fetch v13+) to its name, or None."""
        info = self.topics.get_by_id(topic_id)
        return info.name if info is not None else None

    def create_topic(self, name: str, num_partitions: int, configs: dict,
                     replication_factor: int = -1):
        """Create a topic and its partitions; returns its ``TopicInfo``.

        Raises:
            KafkaError: TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION,
                INVALID_PARTITIONS, INVALID_CONFIG, ...
        """
        info = self.topics.create(name, num_partitions, configs, replication_factor)
        self._open_partitions(info, {})
        log.info("broker %s: created topic %s with %d partitions",
                 self.node_id, name, info.num_partitions)
        return info

    def auto_create_topic(self, name: str):
        """Create ``name`` with the broker defaults (``auto.create.topics.enable``)."""
        return self.create_topic(name, self.config["num.partitions"], {})

    def delete_topic(self, name: str) -> None:
        """Delete a topic and its logs. Raises UNKNOWN_TOPIC_OR_PARTITION."""
        info = self.topics.get(name)
        if info is None:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"no topic {name}")
        self.topics.delete(name)
        for index in range(info.num_partitions):
            self.partitions.pop((name, index), None)
            self.log_manager.delete(name, index)
        log.info("broker %s: deleted topic %s", self.node_id, name)

    def add_partitions(self, name: str, total: int) -> None:
        """Grow a topic to ``total`` partitions (CreatePartitions)."""
        self.topics.set_partitions(name, total)
        self._open_partitions(self.topics.get(name), {})

    def topic_config_changed(self, name: str) -> None:
        """Apply a topic's new config overrides to its open logs."""
        config = self.topics.log_config(name)
        for (topic, _), partition in self.partitions.items():
            if topic == name:
                partition.log.config = config

    async def wait_for_appends(self, partitions, timeout_ms: int) -> bool:
        """Wait until one of ``partitions`` is appended to, or ``timeout_ms``.

        Returns True if woken by an append. The long-poll of Fetch uses this;
        it is the only Trio call a handler makes.
        """
        if timeout_ms <= 0:
            return False
        appended = trio.Event()
        for partition in partitions:
            partition.add_append_listener(appended.set)
        try:
            with trio.move_on_after(timeout_ms / 1000):
                await appended.wait()
        finally:
            for partition in partitions:
                partition.remove_append_listener(appended.set)
        return appended.is_set()

    def advertised_endpoint(self) -> tuple[str, int]:
        """(host, port) clients should use: ``advertised.listeners`` or the first listener."""
        advertised = parse_endpoints(self.config["advertised.listeners"])
        endpoint = advertised[0] if advertised else self.listeners[0]
        port = endpoint.port
        if port == 0 and self.bound_ports:
            port = self.bound_ports[0]
        host = endpoint.host or "localhost"
        if host in ("0.0.0.0", "::"):
            host = "localhost"  # Kafka would advertise the canonical host name
        return host, port

    # -- internals -----------------------------------------------------------

    def _log_config_for(self, topic: str):
        """The LogConfig of a topic; Kafka's defaults for a log with no topic."""
        return self.topics.log_config(topic) if topic in self.topics else LogConfig()

    def _open_partitions(self, info, logs: dict) -> None:
        """Open (or create) the logs of every partition of a topic we lack."""
        config = self.topics.log_config(info.name)
        for index in range(info.num_partitions):
            if (info.name, index) in self.partitions:
                continue
            plog = logs.get((info.name, index))
            if plog is None:
                plog = self.log_manager.create(info.name, index, info.topic_id,
                                               config, self.now_ms())
            producer_state = ProducerStateManager(self.config["producer.id.expiration.ms"])
            self.partitions[(info.name, index)] = Partition(
                info.name, index, plog, producer_state, self.now_ms())

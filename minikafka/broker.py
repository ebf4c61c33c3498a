"""The broker: builds one node's parts, wires them together, and runs them.

A ``Broker`` is built from a ``BrokerConfig`` and runs with ``await
broker.serve()`` inside a Trio nursery. Nothing is process-global: several
brokers can run in one ``trio.run`` (tests, the cluster simulator), each with
its own config, data directories and listeners.

Every broker is a KRaft combined-mode node (``process.roles=broker,controller``):
a voter of the controller quorum and, while it leads it, the active controller.
A lone broker is simply a one-voter quorum (empty ``controller.quorum.voters``).

What it builds (``open()``), and who is handed what:

- ``metadata`` (``MetadataRuntime``): the Raft quorum replica, the committed
  ``MetadataImage`` and, when active, the ``QuorumController``. Every applied
  change is *published* to ``_publish``, which opens, reconfigures and
  deletes partitions to match the image, then lets the replica manager and
  the group coordinator follow leadership;
- ``topics`` (``TopicRegistry``): the read view of the image (the metadata
  cache handlers use);
- ``controller_channel`` (``ControllerChannel``): reaches the active
  controller, here or on a peer; ``lifecycle`` (``BrokerLifecycleManager``)
  registers and heartbeats through it;
- ``log_manager`` (``LogManager``) and ``partitions``: ``{(topic, index): Partition}``;
- ``replicas`` (``ReplicaManager``): leader and follower roles, the follower
  fetchers, ISR changes and the high watermark checkpoint;
- ``producer_ids`` (``ProducerIdManager``): ids handed to idempotent producers;
- ``group_coordinator`` (``GroupCoordinatorRuntime``): consumer groups and
  committed offsets, kept in ``__consumer_offsets``;
- ``transactions`` (``TransactionCoordinatorRuntime``): the transaction
  coordinator, kept in ``__transaction_state``, with its marker channel
  (``TransactionMarkerChannel``: WriteTxnMarkers to partition leaders) and
  ``transaction_verifier`` (``TransactionVerifier``: a partition leader's
  KIP-890 question to a transaction coordinator), both over a
  ``BrokerClient`` each (the network's ``open_stream``);
- ``quotas`` (``BrokerQuotas``): the client, controller-mutation,
  replication and connection quota managers; the client quotas follow the
  image (a topic registry listener), the limits follow the dynamic broker
  configs; ``connection_gate`` (``ConnectionGate``) applies the connection
  limits in the listeners' accept loops;
- ``schema_ids`` (``SchemaIdLookup``, only with ``confluent.schema.registry.url``):
  the schema registry client of broker-side schema validation, and
  ``validated_topics``: the topics that validate, rebuilt from the image's
  topic configs on every publish;
- ``handlers`` (``{api_key: handle}`` from ``minikafka.handlers``) and
  ``services`` (``BrokerServices``): what every handler receives instead of
  the broker. The broker itself stands behind three of those services: the
  clocks (``now_ms``, ``monotonic_ms``), the hosted partitions and their
  waits (``partition``, ``leader_partition``, ``wait_for_appends``,
  ``wait_for_commits``, ``wait_for_isr``) and the topic changes below; the
  others are the objects above (see ``minikafka.handlers.services``).

The runtimes are not given the broker either, only the few collaborators each
one uses (see their constructors); this module is the one place that knows
every part:

- the lifecycle manager: the controller channel, the ``MetadataRuntime``
  (applied offset, image), node id, cluster id, advertised endpoint and its
  two config values;
- the producer id manager: node id, broker epoch (from the lifecycle
  manager) and the controller channel;
- the replica manager: node id, config, the ``partitions`` dict, the topic
  registry, the controller channel, broker epoch, wall clock and a factory
  of ``ReplicaFetcher`` (node id, config, wall clock, the metadata image and
  the network's ``open_stream``);
- the group coordinator runtime: config, node id, the topic registry, the
  ``partitions`` dict, the broker as ``TopicCreator`` and both clocks;
- the transaction coordinator runtime: the same, plus the producer id
  manager and the marker channel; the verifier: node id, the runtime, the
  metadata image and its ``BrokerClient``.

Life cycle: ``open()`` loads the logs (``serve()`` calls it if needed);
``serve()`` starts the replica manager, the metadata quorum (which replays
the metadata log into the image), the listeners (``server/``), the
registration (``serve`` reports started once the controller has unfenced
this broker), the group and transaction coordinators and the maintenance
timer, and runs until cancelled; on the way out ``close()`` flushes every log and writes the
producer-state snapshots, so a restart recovers quickly.

Topic changes (``create_topic``, ``delete_topic``, ``add_partitions``,
``set_resource_configs``) are controller operations: they return once the
records are committed *and* this broker's image has applied them.

Time: record timestamps use the injected wall clock ``now_ms`` (default
``time.time``); waiting uses Trio's clock, so ``trio.testing.MockClock`` can
drive long polls and timers. Trio is imported here for the run-time part
(``serve``, the waits, the maintenance timer), by ``server/`` and ``chaos/``,
and by the thin runtimes (the quorum, metadata and group coordinator
runtimes, the replica manager and fetcher, the lifecycle manager, the
producer id manager); what they drive (the metadata image and controller,
the Raft core, the coordinators, replication's rules, ``Partition``) is
synchronous. The waits of long polls and acks=all are
``replication.waiters``; the broker hands them to the handlers as part of its
``partitions`` service.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from functools import partial
from typing import Callable

import trio

from minikafka.config import load_or_create_meta_properties
from minikafka.coordinator.lag import ConsumerLag
from minikafka.coordinator.producer_ids import ProducerIdManager
from minikafka.coordinator.runtime import GroupCoordinatorRuntime
from minikafka.coordinator.transaction.markers import BrokerClient, TransactionMarkerChannel
from minikafka.coordinator.transaction.runtime import TransactionCoordinatorRuntime
from minikafka.coordinator.transaction.verification import TransactionVerifier
from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import load_handlers
from minikafka.handlers import schema_validation
from minikafka.handlers.services import BrokerServices, Handler, TopicValidation
from minikafka.storage.manager import LogManager
from minikafka.storage.producer_state import ProducerStateManager
from minikafka.storage.unified_log import UnifiedLog
from minikafka.metadata.broker_lifecycle import BrokerLifecycleManager, ControllerChannel, RemoteControllers
from minikafka.metadata.image import BROKER_RESOURCE, MetadataImage
from minikafka.metadata.runtime import MetadataRuntime
from minikafka.metrics import Registry
from minikafka.replication import waiters
from minikafka.replication.fetcher import ReplicaFetcher
from minikafka.replication.fetch_session import FetchSessionCache
from minikafka.replication.partition import Partition
from minikafka.quorum.file_storage import FileStorage, metadata_log_dir
from minikafka.replication.manager import ReplicaManager, read_high_watermarks
from minikafka.replication.throttles import ReplicationThrottles
from minikafka.quorum.runtime import (InMemoryNetwork, QuorumRuntime, TcpTransport, parse_quorum_voters,
                                      quorum_config)
from minikafka.quotas.broker_quotas import CONFIG_DEFAULTS as QUOTA_CONFIG_DEFAULTS, BrokerQuotas
from minikafka.server import broker_metrics
from minikafka.server.idle import IdleWindow, loop_idle
from minikafka.server.listener import ConnectionGate, parse_endpoints, serve_endpoints
from minikafka.server.network import TcpNetwork
from minikafka.server.schema_ids import SchemaIdLookup
from minikafka.metadata.topics import TopicRegistry

log = logging.getLogger("minikafka.broker")

MAINTENANCE_TICK_MS = 1000  # roll-by-time and flush-by-time need a short tick
QUORUM_TICK_MS = 50  # the Raft runtime's tick; every quorum timeout is a whole number of ticks


# The quota configs a running broker follows (Kafka's dynamic broker configs).
DYNAMIC_QUOTA_CONFIGS = tuple(name for name in QUOTA_CONFIG_DEFAULTS
                              if not name.endswith((".window.num", ".window.size.seconds")))


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def resolve_host(host: str) -> str:
    """A host name of ``max.connections.per.ip.overrides`` as an IP (Kafka resolves them too).

    A name that does not resolve is kept as written (it then matches nothing).
    """
    try:
        return socket.gethostbyname(host)
    except OSError:
        return host


class Broker:
    """One Kafka broker. Owned by whoever calls ``serve()``; runs in one Trio loop.

    Args:
        config: the ``BrokerConfig`` (Kafka's ``server.properties`` keys).
        now_ms: the wall clock in milliseconds (for record timestamps,
            retention); injectable for tests.
        network: the network seam (``TcpNetwork`` by default).
        quorum_network: an ``InMemoryNetwork`` joining the quorum replicas of
            brokers in one process; None: Kafka's RPCs over TCP to the voters
            of ``controller.quorum.voters``.
        controllers: ``InMemoryControllers`` of an in-process cluster (how a
            broker reaches a peer's active controller), or None.
    """

    def __init__(self, config, *, now_ms: Callable[[], int] | None = None, network=None,
                 quorum_network=None, controllers=None):
        self.config = config
        self.node_id: int = config["node.id"]
        self._now_ms = now_ms or wall_clock_ms
        self.network = network or TcpNetwork()
        self.handlers: dict[int, Handler] = load_handlers()
        self.services: BrokerServices | None = None  # built by open()
        self.listeners = parse_endpoints(config["listeners"])
        self.bound_ports: list[int] = []
        self.cluster_id: str | None = None
        self.topics = None
        self.log_manager = None
        self.producer_ids = None
        self.group_coordinator: GroupCoordinatorRuntime | None = None
        self.transactions: TransactionCoordinatorRuntime | None = None
        self.transaction_verifier: TransactionVerifier | None = None
        self.consumer_lag: ConsumerLag | None = None  # the lag of the groups coordinated here
        self._peer_clients: list[BrokerClient] = []  # closed when serve() ends
        self.partitions: dict[tuple[str, int], Partition] = {}
        self.quorum_network = quorum_network
        self.controllers = controllers
        self.metadata: MetadataRuntime | None = None
        self.controller_channel: ControllerChannel | None = None
        self.lifecycle: BrokerLifecycleManager | None = None
        self.replicas: ReplicaManager | None = None
        self.quotas: BrokerQuotas | None = None
        self.replication_throttles: ReplicationThrottles | None = None  # topic configs -> throttled replicas
        self.connection_gate: ConnectionGate | None = None
        self._quota_configs: dict = {}  # the dynamic quota configs last applied
        self._caught_up = trio.Event()  # set once the controller unfenced us: our image is current
        self._unclaimed_logs: dict = {}  # logs found on disk, not (yet) in the image
        self._high_watermarks: dict = {}  # from replication-offset-checkpoint, used as partitions open
        self._opened = False
        # Kafka's Yammer metrics (minikafka.metrics): handed to the parts that record;
        # the clock is read only when a meter is made or a rate read (in the Trio run).
        self.metrics = Registry(clock=lambda: self.monotonic_ms() / 1000.0)
        # The request path's metrics (server.broker_metrics): made by serve(), in the Trio run.
        self.request_metrics: broker_metrics.RequestMetricsTable | None = None
        self.topic_stats: broker_metrics.BrokerTopicStats | None = None
        # Broker-side schema validation: the registry client (with confluent.schema.registry.url)
        # and the topics that validate, kept in step with the image by _publish.
        self.schema_ids: SchemaIdLookup | None = None
        self.validated_topics: dict[str, TopicValidation] = {}
        self.produce_purgatory = waiters.Purgatory()  # acks=all produces waiting for the ISR
        self.fetch_purgatory = waiters.Purgatory()  # long-polling fetches

    def now_ms(self) -> int:
        """The wall clock in milliseconds (injected)."""
        return self._now_ms()

    def monotonic_ms(self) -> float:
        """Trio's clock in milliseconds, for timeouts (a MockClock in tests)."""
        return trio.current_time() * 1000

    # -- life cycle ----------------------------------------------------------

    def open(self) -> None:
        """Load logs and producer ids, build the metadata runtime. Idempotent.

        Partitions open only once the metadata image names them (``_publish``).
        """
        if self._opened:
            return
        log_dirs = self.log_dirs()
        for log_dir in log_dirs:
            os.makedirs(log_dir, exist_ok=True)
        self.cluster_id = load_or_create_meta_properties(log_dirs, self.node_id)
        self.log_manager = LogManager(log_dirs)
        self._unclaimed_logs = self.log_manager.load(None, self.now_ms())
        self._high_watermarks = read_high_watermarks(log_dirs)
        self.metadata = MetadataRuntime(self.config, self._build_quorum, on_publish=self._publish)
        if self.controllers is not None:
            self.controllers.register(self.metadata)
        self.topics = TopicRegistry(self.config, self.metadata, cluster_id=self.cluster_id,
                                    advertised_endpoint=self.advertised_endpoint)
        voters = self.quorum_voters()
        remote = None
        if self.controllers is None and len(voters) > 1:  # peers in other processes
            remote = RemoteControllers(self.node_id, voters, self.network.open_stream)
        self.controller_channel = ControllerChannel(self.metadata, self.controllers, remote)
        self.lifecycle = BrokerLifecycleManager(
            self.controller_channel, self.metadata, node_id=self.node_id, cluster_id=self.cluster_id,
            advertised_endpoint=self.advertised_endpoint,
            heartbeat_interval_ms=self.config["broker.heartbeat.interval.ms"],
            rack=self.config.get("broker.rack"))
        self.producer_ids = ProducerIdManager(  # blocks of ids from the controller (AllocateProducerIds)
            node_id=self.node_id, broker_epoch=self._broker_epoch, controller=self.controller_channel)
        self.replicas = ReplicaManager(
            node_id=self.node_id, config=self.config, partitions=self.partitions, topics=self.topics,
            controller=self.controller_channel, broker_epoch=self._broker_epoch, now_ms=self.now_ms,
            new_fetcher=self._new_replica_fetcher)
        self.group_coordinator = GroupCoordinatorRuntime(
            self.config, node_id=self.node_id, topics=self.topics, partitions=self.partitions,
            topic_admin=self, now_ms=self.now_ms, monotonic_ms=self.monotonic_ms)
        markers = TransactionMarkerChannel(self._broker_client("txn-marker-sender"), self._metadata_image)
        self.transactions = TransactionCoordinatorRuntime(
            self.config, node_id=self.node_id, topics=self.topics, partitions=self.partitions,
            topic_admin=self, producer_ids=self.producer_ids, markers=markers,
            now_ms=self.now_ms, monotonic_ms=self.monotonic_ms)
        self.transaction_verifier = TransactionVerifier(
            node_id=self.node_id, transactions=self.transactions,
            client=self._broker_client("txn-verifier"), image=self._metadata_image)
        self._build_quotas()
        self.telemetry = self._build_telemetry()
        self.replication_throttles = ReplicationThrottles(
            self.node_id, self.quotas.leader_replication, self.quotas.follower_replication)
        self._start_request_metrics()  # before the services: handlers record in topic_stats
        registry_urls = self.config["confluent.schema.registry.url"]
        self.schema_ids = SchemaIdLookup(registry_urls) if registry_urls else None
        self.services = self._build_services()
        self._register_cluster_metrics()
        self._opened = True

    def _register_cluster_metrics(self) -> None:
        """Replication, controller, Raft and coordinator metrics in ``self.metrics``; consumer lag.

        Gauges read the parts at scrape time; meters are marked where their
        events happen (ISR changes in the replica manager, offset commits in
        the group coordinator runtime). ``consumer_lag`` reports the groups
        this broker coordinates (kafka_exporter's names, see ``coordinator.lag``).
        """
        self.replicas.register_metrics(self.metrics)
        self.metadata.register_metrics(self.metrics)
        self.group_coordinator.register_metrics(self.metrics)
        self.transactions.register_metrics(self.metrics)
        lag_client = self._broker_client("consumer-lag")
        self.consumer_lag = ConsumerLag(
            node_id=self.node_id, coordinators=lambda: [c for c, _ in self.group_coordinator.active_shards()],
            partitions=self.partitions, leader_of=self._partition_leader, call=lag_client.call)
        self.metrics.samples("consumer-lag", self.consumer_lag.samples)  # plain Prometheus names

    def _partition_leader(self, topic: str, index: int) -> int | None:
        """The partition's leader in the committed image, or None."""
        topic_image = self.metadata.image.topic(topic)
        if topic_image is None or index not in topic_image.partitions:
            return None
        return topic_image.partitions[index].leader

    def _build_quotas(self) -> None:
        """The quota managers: limits from the config, client quotas from the image.

        The client and IP quotas are committed metadata (``ClientQuotaRecord``):
        the topic registry calls ``update_client_quotas`` now and after every
        change. The window sizes are static; the connection limits and the
        replication rates are dynamic broker configs (``_apply_quota_configs``).
        """
        self.quotas = BrokerQuotas.from_config(self.config, host_resolver=resolve_host)
        self._quota_configs = {name: self.config[name] for name in DYNAMIC_QUOTA_CONFIGS}
        self.connection_gate = ConnectionGate(self.quotas.connections, self.monotonic_ms)
        self.topics.add_client_quota_listener(self.quotas.update_client_quotas)

    def _build_services(self) -> BrokerServices:
        """The services handed to every request handler (see ``minikafka.handlers.services``)."""
        return BrokerServices(
            config=self.config, clock=self, metadata=self.topics, partitions=self,
            replicas=self.replicas, group_coordinator=self.group_coordinator, topic_admin=self,
            forwarding=self.controller_channel, controller=self.metadata, quorum=self.metadata.quorum,
            fetch_sessions=FetchSessionCache(self.config["max.incremental.fetch.session.cache.slots"]),
            producer_ids=self.producer_ids, api_keys=frozenset(self.handlers),
            transactions=self.transactions, transaction_verifier=self.transaction_verifier,
            quotas=self.quotas, telemetry=self.telemetry, topic_stats=self.topic_stats,
            schema_ids=self.schema_ids, validated_topics=self.validated_topics)

    def _build_telemetry(self):
        """The KIP-714 client metrics manager; with a metrics endpoint, every client
        also gets the default subscription ``telemetry.default.metrics`` (minikafka's own)."""
        from minikafka.telemetry.manager import ClientMetricsManager
        from minikafka.telemetry.subscriptions import Subscription

        default = None
        if self.config.get("metrics.http.listener") and self.config["telemetry.default.metrics"]:
            default = Subscription("<default>", tuple(self.config["telemetry.default.metrics"]),
                                   self.config["telemetry.default.interval.ms"])
        return ClientMetricsManager(self.config["telemetry.max.bytes"], default)

    def _broker_client(self, purpose: str) -> BrokerClient:
        """A ``BrokerClient`` (requests to other brokers over the network seam) for one user."""
        client = BrokerClient(node_id=self.node_id, config=self.config, image=self._metadata_image,
                              open_stream=self.network.open_stream, client_id=f"{purpose}-{self.node_id}")
        self._peer_clients.append(client)
        return client

    async def _close_peer_clients_on_exit(self) -> None:
        """Runs until the broker stops, then closes the idle connections of its ``BrokerClient``s."""
        try:
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                for client in self._peer_clients:
                    await client.aclose()

    def _broker_epoch(self) -> int:
        """This broker's current broker epoch (from its registration; -1 before it)."""
        return self.lifecycle.broker_epoch

    def _new_replica_fetcher(self, leader_id: int) -> ReplicaFetcher:
        """A ``ReplicaFetcher`` of the partitions this broker follows on ``leader_id``."""
        return ReplicaFetcher(leader_id, node_id=self.node_id, config=self.config, now_ms=self.now_ms,
                              image=self._metadata_image, open_stream=self.network.open_stream,
                              quota=self.quotas.follower_replication)

    def _metadata_image(self) -> MetadataImage:
        """The committed metadata image (a new object after each snapshot load)."""
        return self.metadata.image

    def quorum_voters(self) -> dict[int, tuple[str, int] | None]:
        """``controller.quorum.voters`` (or the bootstrap servers); ``{node.id: None}`` if empty."""
        text = ",".join(self.config["controller.quorum.voters"]
                        or self.config["controller.quorum.bootstrap.servers"])
        return parse_quorum_voters(text) if text else {self.node_id: None}

    def _build_quorum(self, on_commit, on_snapshot, on_leader_change) -> QuorumRuntime:
        voters = self.quorum_voters()
        if self.quorum_network is not None:
            transport = self.quorum_network.transport(self.node_id)
        elif len(voters) == 1:
            transport = InMemoryNetwork().transport(self.node_id)  # nobody to talk to
        else:
            transport = TcpTransport(self.node_id, voters, cluster_id=self.cluster_id)
        storage = FileStorage(metadata_log_dir(self.config["metadata.log.dir"] or self.log_dirs()[0]),
                              now_ms=self.now_ms)
        runtime = QuorumRuntime(
            quorum_config(self.node_id, voters, tick_ms=QUORUM_TICK_MS,
                          election_timeout_ms=self.config["controller.quorum.election.timeout.ms"],
                          fetch_timeout_ms=self.config["controller.quorum.fetch.timeout.ms"]),
            storage, transport, tick_ms=QUORUM_TICK_MS, cluster_id=self.cluster_id,
            on_commit=on_commit, on_snapshot=on_snapshot, on_leader_change=on_leader_change)
        if self.quorum_network is not None:
            self.quorum_network.register(runtime)
        return runtime

    def close(self) -> None:
        """Clean shutdown: flush and close every log, write producer snapshots.

        Logs are flushed first, then each partition's producer state is saved
        at its log end offset, so a restart replays nothing.
        """
        if not self._opened:
            return
        self.metadata.quorum.storage.close()
        self.replicas.checkpoint_high_watermarks()
        self.log_manager.close()  # fsync, close, write the checkpoints once
        for partition in self.partitions.values():
            try:
                partition.take_snapshot()
            except Exception:  # keep saving the others
                log.exception("broker %s: snapshot of %r failed", self.node_id, partition)
        for topic, index in self.partitions:
            broker_metrics.remove_log_gauges(self.metrics, topic, index)
        self.partitions.clear()
        self.schema_ids = None  # closed by serve(); open() builds a new one
        self._opened = False

    async def serve(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Join the cluster, listen and serve until cancelled, then shut down cleanly.

        ``task_status.started(self)`` is called once every listener is bound
        (``bound_ports`` is then filled in) and the controller has unfenced
        this broker (its metadata has caught up).
        """
        self.open()
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(self.replicas.run)  # first: the metadata replay starts fetchers
                await nursery.start(self.metadata.run)
                self.bound_ports = await nursery.start(partial(serve_endpoints, gate=self.connection_gate),
                                                     self, self.network.open_listeners, self.listeners)
                self.metrics_port = await self._start_metrics_endpoint(nursery)
                await nursery.start(self.lifecycle.run)
                self._caught_up.set()  # roles replayed from an old metadata log are stale until now
                self._apply_roles(self.metadata.image)
                self.group_coordinator.open()
                await nursery.start(self.group_coordinator.run)
                self.transactions.open()
                await nursery.start(self.transactions.run)
                nursery.start_soon(self._maintenance_loop)
                nursery.start_soon(self.consumer_lag.run)
                nursery.start_soon(self._close_peer_clients_on_exit)
                task_status.started(self)
        finally:
            if self.schema_ids is not None:
                with trio.CancelScope(shield=True):
                    await self.schema_ids.aclose()
            self.close()

    def _start_request_metrics(self) -> None:
        """The request, topic, purgatory and idle metrics the request path records (``server.broker_metrics``).

        Made in ``open()``, inside the Trio run (a meter reads its clock) and
        before the services: each connection takes ``request_metrics`` when it
        starts, and the handlers get ``topic_stats`` in their services.
        """
        self.request_metrics = broker_metrics.RequestMetricsTable(self.metrics)
        self.topic_stats = broker_metrics.BrokerTopicStats(self.metrics)
        broker_metrics.register_broker_gauges(self.metrics, IdleWindow(loop_idle()),
                                              self.produce_purgatory, self.fetch_purgatory)

    # -- the Prometheus endpoint (metrics.http.listener) ------------------------

    async def _start_metrics_endpoint(self, nursery: trio.Nursery) -> int | None:
        """Serve ``GET /metrics`` on ``metrics.http.listener`` (empty: off); returns the bound port.

        The registry's collectors read the broker's parts at each scrape;
        register more here as parts gain metrics.
        """
        from minikafka.metrics.prometheus import RegistryCollector
        from minikafka.server.metrics_http import ClientQuotaCollector, MetricsRegistry, serve_metrics
        from minikafka.telemetry.collector import ClientTelemetryCollector

        listener = self.config.get("metrics.http.listener") or ""
        if not listener:
            return None
        self.metrics_registry = MetricsRegistry()
        self.metrics_registry.register(ClientQuotaCollector(self.quotas, lambda: int(self.monotonic_ms())))
        self.metrics_registry.register(RegistryCollector(self.metrics))
        self.metrics_registry.register(ClientTelemetryCollector(self.telemetry, self.monotonic_ms))
        return await nursery.start(serve_metrics, listener, self.metrics_registry, self.network.open_listeners)

    @property
    def caught_up(self) -> bool:
        """True once the controller has unfenced this broker: its metadata is current.

        Until then client requests wait (``wait_caught_up``), as a Kafka broker
        enables request processing only after its initial catch-up: a broker
        restarting after a crash would otherwise answer from stale metadata.
        """
        return self._caught_up.is_set()

    async def wait_caught_up(self) -> None:
        await self._caught_up.wait()

    async def controlled_shutdown(self) -> bool:
        """Ask the controller to move leadership away before this broker exits."""
        if self.lifecycle is None:  # never started
            return True
        return await self.lifecycle.controlled_shutdown()

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

    def leader_partition(self, topic: str, index: int) -> Partition:
        """The partition if this broker leads it (as the metadata image says).

        Produce, Fetch and ListOffsets go to the leader only (Kafka without
        KIP-392 fetch-from-follower).

        Raises:
            KafkaError: UNKNOWN_TOPIC_OR_PARTITION, or NOT_LEADER_OR_FOLLOWER
                (the client refreshes its metadata and finds the leader).
        """
        partition = self.partition(topic, index)
        if not partition.is_leader:
            raise KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER,
                             f"broker {self.node_id} is not the leader of {topic}-{index}")
        return partition

    def hosted_partitions(self) -> list[tuple[str, int]]:
        """``(topic, index)`` of every partition this broker holds a replica of, sorted."""
        return sorted(self.partitions)

    def log_dir_of(self, topic: str, index: int) -> str:
        """The log directory (one of ``log.dirs``) holding the partition."""
        return self.log_manager.log_dir_of(topic, index)

    async def create_topic(self, name: str, num_partitions: int, configs: dict,
                           replication_factor: int = -1, assignments: list[list[int]] | None = None):
        """Create a topic through the controller; returns its ``TopicInfo``.

        ``assignments`` (replica lists by partition index) places the replicas
        by hand; the controller checks the brokers named.

        Raises:
            KafkaError: TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION,
                INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR, INVALID_CONFIG, ...
        """
        num_partitions, replication_factor, configs = self.topics.validate_new_topic(
            name, num_partitions, configs, replication_factor)
        manual = [{"partition_index": index, "broker_ids": replicas}
                  for index, replicas in enumerate(assignments or ())]
        # Kafka's request: the counts are -1 when the replicas are placed by hand.
        request = {"topics": [{"name": name, "num_partitions": -1 if manual else num_partitions,
                               "replication_factor": -1 if manual else replication_factor,
                               "assignments": manual,
                               "configs": [{"name": k, "value": v} for k, v in configs.items()]}],
                   "validate_only": False}
        result = (await self._controller_call("create_topics", request))["topics"][0]
        _raise_for(result)
        await self._wait_for_topic(lambda: self.topics.get(name) is not None)
        log.info("broker %s: created topic %s with %d partitions", self.node_id, name, num_partitions)
        return self.topics.get(name)

    async def auto_create_topic(self, name: str):
        """Create ``name`` with the broker defaults (``auto.create.topics.enable``)."""
        return await self.create_topic(name, self.config["num.partitions"], {})

    async def delete_topic(self, name: str) -> None:
        """Delete a topic (its logs go when the image drops it). Raises UNKNOWN_TOPIC_OR_PARTITION."""
        self.topics.require(name)  # UNKNOWN_TOPIC_OR_PARTITION before asking the controller
        request = {"topic_names": [name]}
        response = await self._controller_call("delete_topics", request)
        _raise_for(response["responses"][0])
        await self._wait_for_topic(lambda: self.topics.get(name) is None)
        log.info("broker %s: deleted topic %s", self.node_id, name)

    async def add_partitions(self, name: str, total: int) -> None:
        """Grow a topic to ``total`` partitions (CreatePartitions)."""
        self.topics.validate_new_partition_count(name, total)
        request = {"topics": [{"name": name, "count": total, "assignments": None}], "validate_only": False}
        response = await self._controller_call("create_partitions", request)
        _raise_for(response["results"][0])
        await self._wait_for_topic(lambda: self.topics.require(name).num_partitions >= total)

    async def set_resource_configs(self, resource_type: int, resource_name: str,
                                   overrides: dict[str, str]) -> None:
        """Make ``overrides`` the complete set of a topic's or broker's dynamic configs."""
        request = {"resources": [{"resource_type": resource_type, "resource_name": resource_name,
                                  "configs": [{"name": k, "value": v} for k, v in overrides.items()]}],
                   "validate_only": False}
        response = await self._controller_call("alter_configs", request)
        _raise_for(response["responses"][0])
        wanted = {k: v for k, v in overrides.items() if v is not None}
        await self._wait_for_topic(
            lambda: self.metadata.image.configs.get((resource_type, resource_name), {}) == wanted)

    async def _controller_call(self, operation: str, request) -> dict:
        return await self.controller_channel.call(operation, request)

    async def _wait_for_topic(self, done: Callable[[], bool], timeout_s: float = 10.0) -> None:
        """Wait until our own image shows a committed change (forwarded ones arrive later)."""
        with trio.move_on_after(timeout_s):
            while not done():
                await self.metadata.wait_changed()

    def topic_config_changed(self, name: str) -> None:
        """Apply a topic's config overrides (from the image) to its open logs."""
        config = self.topics.log_config(name)
        for (topic, _), partition in self.partitions.items():
            if topic == name and partition.log.config != config:
                partition.log.config = config

    async def wait_for_appends(self, partitions, timeout_ms: float) -> bool:
        """``replication.waiters.wait_for_appends`` (a follower's long-polling Fetch), in the Fetch purgatory."""
        with self.fetch_purgatory.watch():
            return await waiters.wait_for_appends(partitions, timeout_ms)

    async def wait_for_commits(self, partitions, timeout_ms: float) -> bool:
        """``replication.waiters.wait_for_commits`` (a consumer's long-polling Fetch), in the Fetch purgatory."""
        with self.fetch_purgatory.watch():
            return await waiters.wait_for_commits(partitions, timeout_ms)

    async def wait_for_isr(self, partition, required_offset: int, deadline_ms: float) -> ErrorCode:
        """``replication.waiters.wait_for_isr`` (acks=all; ``deadline_ms`` on ``monotonic_ms``'s clock),
        in the Produce purgatory."""
        with self.produce_purgatory.watch():
            return await waiters.wait_for_isr(partition, required_offset, deadline_ms)

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

    def _publish(self, image) -> None:
        """Make this broker match a newly applied metadata image (Kafka's
        ``BrokerMetadataPublisher``): dynamic broker configs, then partitions."""
        for per_broker, name in ((True, str(self.node_id)), (False, "")):
            layer = self.config.dynamic_layer(per_broker)
            stored = image.configs.get((BROKER_RESOURCE, name), {})
            try:
                typed = self.config.validate_dynamic(stored)
            except KafkaError as exc:  # a key this version refuses must not stop the broker
                log.warning("broker %s: ignoring dynamic configs of %r: %s", self.node_id, name, exc)
                continue
            if typed != layer:
                layer.clear()
                layer.update({k: v for k, v in typed.items() if v is not None})
        wanted = {(topic.name, pid): topic for topic, pid, p in image.all_partitions()
                  if self.node_id in p.replicas}
        for key in [k for k in self.partitions if k not in wanted]:
            self._remove_partition(key)
        for key, topic in wanted.items():
            if key not in self.partitions:
                self._open_partition(topic, key[1])
        for name in {topic for topic, _ in self.partitions}:
            self.topic_config_changed(name)
        self._apply_verification_config()
        self._apply_quota_configs()
        self.replication_throttles.apply(image.configs)  # before the roles: new fetchers see them
        self._apply_schema_validation(image)
        if self.caught_up:
            self._apply_roles(image)

    def _apply_verification_config(self) -> None:
        """``transaction.partition.verification.enable`` is dynamic: every log follows its current value."""
        enabled = self.config["transaction.partition.verification.enable"]
        for partition in self.partitions.values():
            partition.set_transaction_verification(enabled)

    def _apply_schema_validation(self, image) -> None:
        """The topics with schema validation on, as the image's topic configs say.

        Updated in place: the handlers' services hold this same dict.
        """
        topics = schema_validation.validated_topics(image.configs)
        if topics != self.validated_topics:
            self.validated_topics.clear()
            self.validated_topics.update(topics)

    def _apply_quota_configs(self) -> None:
        """The dynamic quota configs (connection limits, replication rates) follow their current values.

        Only changed values are applied (host names in the per-IP overrides
        are resolved on each change).
        """
        values = {name: self.config[name] for name in DYNAMIC_QUOTA_CONFIGS}
        changed = {name: value for name, value in values.items() if self._quota_configs.get(name) != value}
        if not changed:
            return
        self._quota_configs = values
        self.quotas.update_dynamic_config(changed)
        self.connection_gate.limits_changed()

    def _apply_roles(self, image) -> None:
        """Lead or follow each partition as ``image`` says; move coordinator shards along.

        Not before the controller unfenced this broker (``caught_up``): while a
        restarting broker replays its old metadata log it would otherwise
        act, for a moment, as the leader it used to be (Kafka's brokers also
        publish metadata only once they have caught up).
        """
        self.replicas.apply(image)
        if self.group_coordinator is not None:
            self.group_coordinator.on_metadata()  # coordinator shards follow leadership
        if self.transactions is not None:
            self.transactions.on_metadata()

    def _remove_partition(self, key) -> None:
        """The image dropped a partition we hold (topic deleted): delete its log."""
        self.partitions.pop(key, None)
        broker_metrics.remove_log_gauges(self.metrics, *key)
        if self.topic_stats is not None and not any(topic == key[0] for topic, _ in self.partitions):
            self.topic_stats.remove_topic(key[0])
        self.log_manager.delete(*key)
        log.info("broker %s: deleted partition %s-%d", self.node_id, *key)

    def _open_partition(self, topic, index: int) -> None:
        """Open (or create) one partition's log as the image describes it."""
        config = self.topics.log_config(topic.name)
        plog = self._unclaimed_logs.pop((topic.name, index), None)
        if plog is None:
            plog = self.log_manager.create(topic.name, index, topic.topic_id, config, self.now_ms())
        plog.config = config
        producer_state = ProducerStateManager(
            self.config["producer.id.expiration.ms"],
            transaction_verification_enabled=self.config["transaction.partition.verification.enable"])
        unified_log = UnifiedLog(plog, producer_state, self.now_ms(),
                                 high_watermark=self._high_watermarks.get((topic.name, index)))
        partition = self.partitions[(topic.name, index)] = Partition(topic.name, index, unified_log,
                                                                     broker_id=self.node_id)
        broker_metrics.register_log_gauges(self.metrics, partition)


def _raise_for(result: dict) -> None:
    """Raise the ``KafkaError`` of a controller result entry, if it has one."""
    code = result.get("error_code", ErrorCode.NONE)
    if code != ErrorCode.NONE:
        raise KafkaError(ErrorCode(code), result.get("error_message") or ErrorCode(code).name)

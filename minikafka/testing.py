"""Run minikafka brokers inside your own tests: one broker, or a whole cluster.

This module is public: a project whose code talks to Kafka can test it
against a real broker that starts in a fraction of a second, with no JVM,
no container and no ports to reserve. Every broker listens on ``127.0.0.1``
on a port the kernel picks, keeps its logs in the directory you give it
(pytest's ``tmp_path``), and shuts down cleanly when its block ends.

- ``open_broker(data_dir, **overrides)``: one broker in the test's own
  ``trio.run`` (pytest-trio), yielding the ``Broker``;
- ``BrokerThread(data_dir, **overrides)``: one broker with its own
  ``trio.run`` in a background thread, for blocking clients
  (confluent-kafka, kafka-python) used from the main thread;
- ``open_cluster(data_dir, brokers=3, **overrides)``: a KRaft cluster of
  several brokers in the test's ``trio.run``, yielding an
  ``InProcessCluster`` that stops and restarts brokers. The Raft and
  controller messages between them travel through in-memory seams, so a
  test can partition the quorum (``cluster.quorum_network.cut``,
  ``isolate``, ``heal``); clients reach each broker on its own port;
- ``bootstrap_servers(*brokers)``: the ``bootstrap.servers`` string for a
  client;
- ``LAB_CLUSTER_OVERRIDES``: the short timeouts ``open_cluster`` uses, so
  that elections and fencing take a fraction of a second;
- ``broker_config(data_dir, **overrides)``: the ``BrokerConfig`` the
  helpers above start their brokers with.

Overrides are Kafka config keys. Because Kafka's keys never contain ``_``,
keyword arguments may spell them with underscores (``log_segment_bytes=1024``
is ``log.segment.bytes``); a dict with dotted keys works too
(``**{"log.segment.bytes": 1024}``).

Example, a test file of your own (any Kafka client works; this one uses the
bundled Trio clients)::

    import pytest

    from minikafka.testing import bootstrap_servers, open_broker
    from minikafka_clients import Consumer, Producer


    @pytest.fixture
    async def bootstrap(tmp_path):
        async with open_broker(tmp_path, num_partitions=1) as broker:
            yield bootstrap_servers(broker)


    @pytest.mark.trio
    async def test_an_order_comes_back(bootstrap):
        async with Producer({"bootstrap.servers": bootstrap}) as producer:
            await (await producer.send("orders", b"42 apples", key=b"alice"))
        config = {"bootstrap.servers": bootstrap, "auto.offset.reset": "earliest"}
        async with Consumer(config) as consumer:
            consumer.assign([("orders", 0)])
            records = await consumer.poll(10)
        assert [(r.key, r.value) for r in records] == [(b"alice", b"42 apples")]

With a blocking client, from a plain (not async) test::

    with BrokerThread(tmp_path) as broker_thread:
        producer = confluent_kafka.Producer({"bootstrap.servers": broker_thread.bootstrap})

A cluster, to see what your code does when a broker crashes::

    async with open_cluster(tmp_path, brokers=3) as cluster:
        bootstrap = bootstrap_servers(*cluster.brokers.values())
        await cluster.brokers[1].create_topic("t", 3, {}, 3)
        await cluster.stop(2)          # a crash, as far as the others can tell
        await cluster.start(2)         # the same data dir, a new incarnation
"""

from __future__ import annotations

import contextlib
import inspect
import os
import threading

import trio

from minikafka.broker import Broker
from minikafka.config import BrokerConfig, MetaProperties, random_uuid, uuid_to_str
from minikafka.fileutil import atomic_write
from minikafka.metadata.broker_lifecycle import InMemoryControllers
from minikafka.quorum.runtime import InMemoryNetwork

__all__ = ["LAB_CLUSTER_OVERRIDES", "BrokerThread", "InProcessCluster", "bootstrap_servers",
           "broker_config", "open_broker", "open_cluster"]

LAB_CLUSTER_OVERRIDES = {
    # Lab-speed timeouts (Kafka's defaults are 1000, 2000, 9000 and 2000 ms):
    # elections and fencing then take a fraction of a second.
    "controller.quorum.election.timeout.ms": 300,
    "controller.quorum.fetch.timeout.ms": 600,
    "broker.session.timeout.ms": 1500,
    "broker.heartbeat.interval.ms": 250,
    "replica.lag.time.max.ms": 2000,
}


def broker_config(data_dir, **overrides) -> BrokerConfig:
    """A ``BrokerConfig`` for a test broker on 127.0.0.1 (free port) in ``data_dir``."""
    values = {
        "node.id": "1",
        "listeners": "PLAINTEXT://127.0.0.1:0",
        "log.dirs": os.fspath(data_dir),
    }
    for key, value in overrides.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        values[key.replace("_", ".")] = str(value)
    return BrokerConfig.load(None, values)


def bootstrap_servers(*brokers: Broker) -> str:
    """``bootstrap.servers`` for clients of ``brokers`` (each on 127.0.0.1, first listener)."""
    return ",".join(f"127.0.0.1:{broker.bound_ports[0]}" for broker in brokers)


@contextlib.asynccontextmanager
async def open_broker(data_dir, *, now_ms=None, network=None, **overrides):
    """Run a broker in the current Trio run for the duration of the block.

    Args:
        data_dir: the broker's log dir (created if missing; reuse it to
            restart a broker on the same data).
        now_ms: the wall clock in milliseconds, for record timestamps and
            the group coordinator (default: the system clock). With
            ``lambda: int(trio.current_time() * 1000)`` a
            ``trio.testing.MockClock`` drives the group timers too.
        network: the broker's network seam (default: real loopback sockets).
        **overrides: Kafka config keys (see the module docstring).

    Yields the started ``Broker`` (``bound_ports`` filled in). Leaving the
    block cancels it, which shuts it down cleanly.
    """
    broker = Broker(broker_config(data_dir, **overrides), now_ms=now_ms, network=network)
    async with trio.open_nursery() as nursery:
        await nursery.start(broker.serve)
        try:
            yield broker
        finally:
            nursery.cancel_scope.cancel()


class BrokerThread:
    """A broker running in a background thread with its own ``trio.run``.

    Args:
        data_dir: the log dir.
        **overrides: config overrides, as for ``open_broker``.

    Attributes:
        broker: the ``Broker`` (touch it only through ``call``).
        bootstrap: ``"127.0.0.1:<port>"`` for clients' ``bootstrap.servers``.
    """

    def __init__(self, data_dir, **overrides):
        self.config = broker_config(data_dir, **overrides)
        self.broker: Broker | None = None
        self.bootstrap: str | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._token = None
        self._cancel_scope: trio.CancelScope | None = None
        self._error: BaseException | None = None

    def start(self) -> "BrokerThread":
        """Start the thread; return once the broker listens (or raise its error)."""
        self._thread = threading.Thread(target=self._run, name="minikafka-broker", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise RuntimeError("broker failed to start") from self._error
        return self

    def stop(self) -> None:
        """Shut the broker down cleanly and wait for the thread to end."""
        if self._thread is None:
            return
        if self._cancel_scope is not None and self._thread.is_alive():
            trio.from_thread.run_sync(self._cancel_scope.cancel, trio_token=self._token)
        self._thread.join()
        self._thread = None
        if self._error is not None:
            raise RuntimeError("broker failed") from self._error

    def call(self, fn, *args):
        """Run ``fn(*args)`` in the broker's thread (awaited if it is async); return its result."""
        if inspect.iscoroutinefunction(fn):
            return trio.from_thread.run(fn, *args, trio_token=self._token)
        return trio.from_thread.run_sync(fn, *args, trio_token=self._token)

    def __enter__(self) -> "BrokerThread":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # reported to the main thread
            self._error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        broker = Broker(self.config)
        async with trio.open_nursery() as nursery:
            self._cancel_scope = nursery.cancel_scope
            await nursery.start(broker.serve)
            self.broker = broker
            self.bootstrap = bootstrap_servers(broker)
            self._ready.set()


class InProcessCluster:
    """N brokers of one KRaft cluster in the current Trio run (see ``open_cluster``).

    Attributes:
        brokers: ``{node_id: Broker}`` of the running brokers.
        quorum_network: the ``InMemoryNetwork`` the Raft messages cross.
        controllers: the ``InMemoryControllers`` seam for controller calls.
    """

    def __init__(self, nursery, data_dir, num_brokers: int, now_ms, overrides: dict):
        self._nursery = nursery
        self.data_dir = data_dir
        self.now_ms = now_ms
        self.node_ids = list(range(1, num_brokers + 1))
        self.cluster_id = uuid_to_str(random_uuid())
        self.quorum_network = InMemoryNetwork()
        self.controllers = InMemoryControllers()
        self.brokers: dict[int, Broker] = {}
        self._scopes: dict[int, trio.CancelScope] = {}
        voters = ",".join(f"{n}@127.0.0.1:0" for n in self.node_ids)  # addresses unused in memory
        self.overrides = {**LAB_CLUSTER_OVERRIDES, "controller.quorum.voters": voters,
                          "default.replication.factor": min(3, num_brokers), **overrides}

    def log_dir(self, node_id: int) -> str:
        """The data dir of broker ``node_id`` (``<data_dir>/broker-<node_id>``)."""
        return os.path.join(os.fspath(self.data_dir), f"broker-{node_id}")

    def _format(self, node_id: int) -> None:
        """``kafka-storage format``: every node's dir records the same cluster id."""
        path = os.path.join(self.log_dir(node_id), "meta.properties")
        if not os.path.exists(path):
            os.makedirs(self.log_dir(node_id), exist_ok=True)
            meta = MetaProperties(self.cluster_id, node_id, uuid_to_str(random_uuid()))
            atomic_write(path, meta.to_text().encode("latin-1"))

    async def start(self, node_id: int) -> Broker:
        """Start (or restart) one broker; return once it is unfenced and serving."""
        self._format(node_id)
        config = broker_config(self.log_dir(node_id), **{**self.overrides, "node.id": node_id})
        broker = Broker(config, now_ms=self.now_ms, quorum_network=self.quorum_network,
                        controllers=self.controllers)
        scope = trio.CancelScope()
        self._scopes[node_id] = scope

        async def run(task_status=trio.TASK_STATUS_IGNORED):
            with scope:
                await broker.serve(task_status=task_status)

        await self._nursery.start(run)
        self.brokers[node_id] = broker
        return broker

    async def start_all(self) -> None:
        """Start every broker concurrently (none is unfenced before a quorum exists)."""
        async with trio.open_nursery() as starting:
            for node_id in self.node_ids:
                starting.start_soon(self.start, node_id)

    async def stop(self, node_id: int, *, controlled: bool = False) -> None:
        """Stop one broker: a crash (cancel) or, with ``controlled``, a controlled shutdown first."""
        if controlled:  # still in ``brokers`` meanwhile: it serves until it may go
            await self.brokers[node_id].controlled_shutdown()
        self.brokers.pop(node_id)
        self._scopes.pop(node_id).cancel()
        self.controllers.pop(node_id, None)
        await trio.sleep(0)

    def active_controller(self) -> Broker | None:
        """The broker whose node is the active controller, if any."""
        return next((b for b in self.brokers.values() if b.metadata.is_active), None)

    async def wait_for(self, condition, timeout_s: float = 30.0) -> None:
        """Wait (polling Trio's clock) until ``condition()`` is true."""
        with trio.fail_after(timeout_s):
            while not condition():
                await trio.sleep(0.01)


@contextlib.asynccontextmanager
async def open_cluster(data_dir, *, brokers: int = 3, now_ms=None, **overrides):
    """Run a ``brokers``-node KRaft cluster in the current Trio run (combined mode).

    Overrides are Kafka config keys as for ``open_broker``; the lab timeouts
    of ``LAB_CLUSTER_OVERRIDES`` apply unless overridden. Yields the
    ``InProcessCluster`` once every broker is unfenced.
    """
    overrides = {key.replace("_", "."): value for key, value in overrides.items()}
    async with trio.open_nursery() as nursery:
        cluster = InProcessCluster(nursery, data_dir, brokers, now_ms, overrides)
        await cluster.start_all()
        try:
            yield cluster
        finally:
            nursery.cancel_scope.cancel()

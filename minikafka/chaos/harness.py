"""``Cluster``: a local cluster of real broker processes for tests and labs.

The supervisor (``minikafka.chaos.supervisor``) runs in a background thread
with its own ``trio.run``, so tests drive the cluster with blocking calls and
blocking clients (confluent-kafka, kafka-python) from the main thread::

    with Cluster(tmp_path, brokers=3, overrides={"min.insync.replicas": 2}) as cluster:
        producer = confluent_kafka.Producer({"bootstrap.servers": cluster.bootstrap})
        leader = cluster.leader_of("orders", 0)
        cluster.kill(leader)          # kill -9
        cluster.isolate(2)            # cut broker 2 off from its peers
        cluster.heal_all()

Each call runs in the supervisor's thread (``trio.from_thread.run``) and
returns when done: ``restart`` once the broker answers again. Leaving the
``with`` block, ``stop()``, or the interpreter exiting (an ``atexit`` hook)
stops every broker: no test leaves processes behind, even when it fails.

``Cluster(..., proxies=False)`` starts the brokers in direct mode (no front
proxies; ``minikafka.chaos.layout``): for measurements, where the proxies'
CPU would count against the brokers. Process faults (kill, pause, restart)
work as usual; network faults raise ``SupervisorError``.
"""

from __future__ import annotations

import atexit
import functools
import os
import threading
from pathlib import Path

import trio

from minikafka.chaos.layout import ClusterLayout, find_free_base_port
from minikafka.chaos.supervisor import Supervisor


class Cluster:
    """N broker processes (``node.id`` 1..N), behind controllable proxies unless ``proxies=False``.

    Args:
        data_dir: the cluster directory (created).
        brokers: how many brokers.
        overrides: ``server.properties`` keys for every broker (values
            stringified; booleans as ``true``/``false``).
        base_port: the first client port; default: a free block.
        proxies: False for direct mode: clients and peers reach the brokers'
            own listeners, and ``cut``/``heal``/``slow``... are refused.

    Thread-safety: call from any one thread at a time.
    """

    def __init__(self, data_dir, brokers: int = 3, overrides: dict | None = None,
                 base_port: int | None = None, proxies: bool = True):
        items = tuple((key, _property(value)) for key, value in (overrides or {}).items())
        self.layout = ClusterLayout(Path(data_dir), brokers, base_port or find_free_base_port(brokers), items,
                                    proxies)
        self.supervisor: Supervisor | None = None
        self._thread: threading.Thread | None = None
        self._token = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> "Cluster":
        """Start every broker; return once each answers ApiVersions."""
        self._thread = threading.Thread(target=self._run, name="minikafka-cluster", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        """Stop every broker cleanly (SIGKILL after a timeout) and the proxies, if any."""
        if self._thread is None:
            return
        if self._thread.is_alive():
            trio.from_thread.run_sync(self.supervisor.shutdown, trio_token=self._token)
        self._thread.join()
        self._thread = None
        atexit.unregister(self.stop)

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # reported to start()
            self._error = _single_cause(exc)
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self.supervisor = Supervisor(self.layout)
        async with trio.open_nursery() as nursery:
            await nursery.start(self.supervisor.serve)
            self._ready.set()

    def _call(self, method: str, *args):
        if self._thread is None or not self._thread.is_alive():
            raise RuntimeError("the cluster is not running")
        function = getattr(self.supervisor, method)
        if _is_async(function):
            return trio.from_thread.run(functools.partial(function, *args), trio_token=self._token)
        return trio.from_thread.run_sync(functools.partial(function, *args), trio_token=self._token)

    # -- addresses ----------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        """Every broker's client address, for ``bootstrap.servers``."""
        return self.layout.bootstrap

    def address_of(self, node_id: int) -> str:
        return self.layout.broker(node_id).bootstrap

    def pid_of(self, node_id: int) -> int | None:
        return self.supervisor.broker(node_id).pid

    def state_of(self, node_id: int) -> str:
        """``alive``, ``paused`` or ``dead``."""
        return self._call("state")["brokers"][node_id - 1]["state"]

    def log_of(self, node_id: int) -> str:
        """Broker ``node_id``'s stdout and stderr so far (for assertion messages)."""
        return self.layout.log_path(node_id).read_text(errors="replace")

    # -- faults -------------------------------------------------------------

    def kill(self, node_id: int) -> None:
        """``kill -9`` broker ``node_id``."""
        self._call("kill", node_id)

    def pause(self, node_id: int) -> None:
        """SIGSTOP: frozen, sockets open, no answers."""
        self._call("pause", node_id)

    def resume(self, node_id: int) -> None:
        self._call("resume", node_id)

    def restart(self, node_id: int) -> None:
        """Stop cleanly if running, start again with the same config and data."""
        self._call("restart", node_id)

    def stop_broker(self, node_id: int) -> None:
        """Clean shutdown (SIGTERM) of one broker."""
        self._call("stop_broker", node_id)

    def cut(self, a: int, b: int) -> None:
        """Partition brokers ``a`` and ``b`` (both directions, quorum and replication)."""
        self._call("cut", a, b)

    def heal(self, a: int, b: int) -> None:
        self._call("heal", a, b)

    def isolate(self, node_id: int) -> None:
        """Cut ``node_id`` off from every peer; clients still reach it."""
        self._call("isolate", node_id)

    def heal_all(self) -> None:
        self._call("heal_all")

    def cut_client(self, node_id: int) -> None:
        """Clients can no longer reach ``node_id``."""
        self._call("cut_client", node_id)

    def heal_client(self, node_id: int) -> None:
        self._call("heal_client", node_id)

    def slow_client(self, node_id: int, delay_ms: float) -> None:
        """Delay traffic between clients and ``node_id`` by ``delay_ms`` each way."""
        self._call("slow_client", node_id, delay_ms)

    def slow(self, a: int, b: int, delay_ms: float) -> None:
        """Delay traffic between ``a`` and ``b`` by ``delay_ms`` each way (0 undoes)."""
        self._call("slow", a, b, delay_ms)

    # -- metadata -----------------------------------------------------------

    def health(self):
        """``ClusterHealth`` from every broker's Metadata."""
        return self._call("health")

    def leader_of(self, topic: str, partition: int, *, timeout_ms: float = 5000, via=None) -> int:
        """The partition's leader according to Metadata (via ``minikafka_clients``).

        Args:
            via: node ids to ask (default: any broker). A broker cut off from
                the controller still answers with its last metadata, as
                Kafka's does, so after a network cut ask the majority side.

        Raises:
            KafkaError: unknown topic, or no leader right now (LEADER_NOT_AVAILABLE).
        """
        from minikafka_clients import open_cluster

        bootstrap = ",".join(self.address_of(n) for n in via) if via else self.bootstrap

        async def ask() -> int:
            async with open_cluster(bootstrap, request_timeout_ms=timeout_ms) as cluster:
                return await cluster.leader_for(topic, partition, refresh=True)

        return trio.run(ask)


def _property(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return os.fspath(value) if isinstance(value, os.PathLike) else str(value)


def _is_async(function) -> bool:
    import inspect

    return inspect.iscoroutinefunction(function)


def _single_cause(exc: BaseException) -> BaseException:
    """The one error inside Trio's nested exception groups, or the group itself.

    A failed start surfaces through two nurseries (ours and the supervisor's),
    each wrapping it in an ``ExceptionGroup``; the caller wants the
    ``SupervisorError`` that says what went wrong.
    """
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc

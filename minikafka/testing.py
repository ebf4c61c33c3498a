"""Helpers to run brokers in tests: in-process, or in a background thread.

``open_broker`` runs a broker inside the test's own ``trio.run`` (pytest-trio):

    async with open_broker(tmp_path, num_partitions=3) as broker:
        port = broker.bound_ports[0]

``BrokerThread`` runs a broker with its own ``trio.run`` in a background
thread, for tests that drive it with blocking clients (confluent-kafka,
kafka-python) from the main thread:

    with BrokerThread(tmp_path) as broker_thread:
        producer = confluent_kafka.Producer({"bootstrap.servers": broker_thread.bootstrap})

Both listen on ``127.0.0.1`` with a port chosen by the kernel, and both shut
the broker down cleanly (logs flushed, snapshots written) on exit.

Overrides are Kafka config keys. Because Kafka's keys never contain ``_``,
keyword arguments may spell them with underscores
(``log_segment_bytes=1024`` is ``log.segment.bytes``); a dict with dotted
keys works too (``**{"log.segment.bytes": 1024}``).
"""

from __future__ import annotations

import contextlib
import os
import threading

import trio

from minikafka.broker import Broker
from minikafka.config import BrokerConfig


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


@contextlib.asynccontextmanager
async def open_broker(data_dir, *, now_ms=None, network=None, **overrides):
    """Run a broker in the current Trio run for the duration of the block.

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
        """Run ``fn(*args)`` (synchronous) in the broker's thread; return its result."""
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
            self.bootstrap = f"127.0.0.1:{broker.bound_ports[0]}"
            self._ready.set()

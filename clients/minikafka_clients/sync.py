"""A synchronous face over the Trio clients, for scripts, notebooks and the CLI.

The clients are Trio-native: a ``Cluster``, its connections and the tasks
that read them live inside one ``trio.run``. A blocking face runs that
``trio.run`` in a background thread and forwards each call into it with
``trio.from_thread.run``, which blocks the calling thread until the coroutine
finishes in the Trio thread and returns its result (or re-raises its
exception). The pieces, reused by every client:

- ``TrioPortal(open_resource)``: the background thread; it enters one async
  context manager (``Admin(config)``, ``open_cluster(...)``) and keeps it open
  until ``close()``; ``run(async_fn, ...)`` calls into it.
- ``SyncFace`` and ``blocking``: declare a blocking class over an async one
  in a few lines::

      class SyncAdmin(SyncFace):
          async_class = Admin
          create_topics = blocking(Admin.create_topics)

  ``SyncAdmin(config)`` builds ``Admin(config)`` in the Trio thread and
  ``SyncAdmin.create_topics(...)`` blocks on ``Admin.create_topics(...)``.

The Trio thread keeps the client (metadata, connections, reader tasks) alive
between calls. One face may be shared by threads: calls are serialised into
the one Trio thread, where they run concurrently as tasks.

``SyncClient`` is the older all-in-one blocking client (admin, one-shot
produce, groupless consume) the CLI uses:

    with SyncClient("127.0.0.1:9092") as client:
        client.create_topics([NewTopic("t", 3)])
        client.produce("t", [ProducerRecord(b"hello")])
        for record in client.consume("t", max_records=1, timeout_ms=5000):
            print(record.value)
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import trio

from . import admin, fetch, produce
from .cluster import open_cluster


class TrioPortal:
    """A ``trio.run`` in a background thread that holds one resource open.

    Args:
        open_resource: called in the Trio thread; returns an async context
            manager whose value is the resource (the async client).
        name: the thread's name.

    Raises:
        whatever entering the context manager raised (e.g. no broker).

    Attributes:
        resource: what the context manager yielded. Touch it only through
            ``run`` / ``run_sync``: it belongs to the Trio thread.
    """

    def __init__(self, open_resource: Callable[[], AbstractAsyncContextManager], *,
                 name: str = "minikafka-client"):
        self.resource = None
        self._open_resource = open_resource
        self._started = threading.Event()
        self._startup_error: BaseException | None = None
        self._token = None
        self._stop: trio.Event | None = None
        self._thread = threading.Thread(target=trio.run, args=(self._main,), name=name,
                                        daemon=True)
        self._thread.start()
        self._started.wait()
        if self._startup_error is not None:
            self._thread.join()
            raise self._startup_error

    async def _main(self) -> None:
        try:
            async with self._open_resource() as resource:
                self.resource, self._stop = resource, trio.Event()
                self._token = trio.lowlevel.current_trio_token()
                self._started.set()
                await self._stop.wait()
        except BaseException as exc:  # reported to the constructor's thread
            if not self._started.is_set():
                self._startup_error = exc
            self._started.set()

    @property
    def closed(self) -> bool:
        return self._token is None or not self._thread.is_alive()

    def run(self, async_fn, *args, **kwargs):
        """Run ``await async_fn(*args, **kwargs)`` in the Trio thread; block for it."""
        self._check_open()
        return trio.from_thread.run(functools.partial(async_fn, *args, **kwargs),
                                    trio_token=self._token)

    def run_sync(self, fn, *args, **kwargs):
        """Run plain ``fn(*args, **kwargs)`` in the Trio thread (it may touch Trio state)."""
        self._check_open()
        return trio.from_thread.run_sync(functools.partial(fn, *args, **kwargs),
                                         trio_token=self._token)

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError("the client is closed")

    def close(self, timeout_s: float = 30) -> None:
        """Leave the context manager (closing connections) and end the thread.

        Idempotent. ``timeout_s`` bounds the wait for the client's own close
        (a producer's flush, say).
        """
        if not self.closed:
            try:
                trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
            except trio.RunFinishedError:
                pass
            self._thread.join(timeout=timeout_s)
        self._token = None


def blocking(method: Callable) -> Callable:
    """A blocking method of a ``SyncFace`` that calls ``method`` of its async client.

    ``method`` may be a coroutine function (awaited in the Trio thread) or a
    plain one (called there).
    """
    if inspect.iscoroutinefunction(method):
        def call(self, *args, **kwargs):
            return self._portal.run(method, self._client, *args, **kwargs)
    else:
        def call(self, *args, **kwargs):
            return self._portal.run_sync(method, self._client, *args, **kwargs)
    return functools.wraps(method)(call)


class SyncFace:
    """The blocking face of an async client class (set ``async_class``).

    The constructor's arguments go to ``async_class``, which must be an async
    context manager. Use it with ``with``, or call ``close()``.
    """

    async_class: type

    def __init__(self, *args, **kwargs):
        self._portal = TrioPortal(lambda: self.async_class(*args, **kwargs),
                                  name=f"minikafka-{self.async_class.__name__.lower()}")
        self._client = self._portal.resource

    def close(self) -> None:
        """Close the async client and end its Trio thread (idempotent)."""
        self._portal.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class SyncClient:
    """Blocking admin / produce / consume against one cluster.

    Args:
        bootstrap_servers: ``"host:port,host:port"``.
        client_id: sent in every request header.
        request_timeout_ms: how long any one request may take.

    Raises:
        KafkaConnectionError: no bootstrap server could be reached.
    """

    def __init__(self, bootstrap_servers: str, *, client_id: str = "minikafka",
                 request_timeout_ms: float = 30_000):
        self._portal = TrioPortal(lambda: open_cluster(
            bootstrap_servers, client_id=client_id, request_timeout_ms=request_timeout_ms))
        self._cluster = self._portal.resource

    def _call(self, function, *args, **kwargs):
        """Run ``function(cluster, *args, **kwargs)`` in the Trio thread; block for it."""
        return self._portal.run(function, self._cluster, *args, **kwargs)

    def close(self) -> None:
        """Close the connections and end the Trio thread (idempotent)."""
        self._portal.close()

    def __enter__(self) -> "SyncClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- admin ----------------------------------------------------------------

    def create_topics(self, topics, **kwargs):
        return self._call(admin.create_topics, topics, **kwargs)

    def delete_topics(self, names, **kwargs):
        return self._call(admin.delete_topics, names, **kwargs)

    def list_topics(self, **kwargs):
        return self._call(admin.list_topics, **kwargs)

    def describe_topics(self, names):
        return self._call(admin.describe_topics, names)

    def create_partitions(self, topic, total_count, **kwargs):
        return self._call(admin.create_partitions, topic, total_count, **kwargs)

    def describe_configs(self, topic, keys=None):
        return self._call(admin.describe_configs, topic, keys)

    def alter_configs(self, topic, **kwargs):
        return self._call(admin.alter_configs, topic, **kwargs)

    # -- data -------------------------------------------------------------------

    def produce(self, topic, records, **kwargs):
        return self._call(produce.produce, topic, records, **kwargs)

    def list_offsets(self, topic, partitions, timestamp):
        return self._call(fetch.list_offsets, topic, partitions, timestamp)

    def consume(self, topic, *, partitions=None, start=fetch.Start.earliest(),
                max_records=None, timeout_ms=None, max_wait_ms=500):
        """Yield ``ConsumerRecord``s; same arguments as ``fetch.consume``."""
        positions = self._call(fetch.resolve_start, topic, partitions, start)
        fetcher = fetch.Fetcher(self._cluster, topic, positions, max_wait_ms=max_wait_ms)
        count = 0
        last_record_at = time.monotonic()
        while count != max_records:
            records = self._portal.run(fetcher.fetch_once)
            for record in records[: None if max_records is None else max_records - count]:
                count += 1
                yield record
            if records:
                last_record_at = time.monotonic()
            elif timeout_ms is not None and time.monotonic() - last_record_at >= timeout_ms / 1000:
                return

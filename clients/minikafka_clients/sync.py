"""A synchronous face over the Trio clients, for scripts and the CLI.

The clients are Trio-native: a ``Cluster`` and its connections live inside one
``trio.run``. ``SyncClient`` runs that ``trio.run`` in a background thread and
forwards each blocking call into it with ``trio.from_thread.run``, which
blocks the calling thread until the coroutine finishes in the Trio thread and
returns its result (or re-raises its exception). So a script just writes::

    with SyncClient("127.0.0.1:9092") as client:
        client.create_topics([NewTopic("t", 3)])
        client.produce("t", [ProducerRecord(b"hello")])
        for record in client.consume("t", max_records=1, timeout_ms=5000):
            print(record.value)

The Trio thread keeps the cluster (metadata, connections, reader tasks) alive
between calls; ``close()`` ends it. One ``SyncClient`` may be shared by
threads: calls are serialised into the one Trio thread, where they run
concurrently as tasks.
"""

from __future__ import annotations

import functools
import threading
import time

import trio

from . import admin, fetch, produce
from .cluster import open_cluster


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
        self._options = dict(client_id=client_id, request_timeout_ms=request_timeout_ms)
        self._bootstrap_servers = bootstrap_servers
        self._started = threading.Event()
        self._startup_error: BaseException | None = None
        self._cluster = None
        self._token = None
        self._stop: trio.Event | None = None
        self._thread = threading.Thread(target=trio.run, args=(self._main,),
                                        name="minikafka-client", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._startup_error is not None:
            self._thread.join()
            raise self._startup_error

    async def _main(self) -> None:
        try:
            async with open_cluster(self._bootstrap_servers, **self._options) as cluster:
                self._cluster, self._stop = cluster, trio.Event()
                self._token = trio.lowlevel.current_trio_token()
                self._started.set()
                await self._stop.wait()
        except BaseException as exc:  # reported to the constructor's thread
            self._startup_error = exc
            self._started.set()

    def _call(self, function, *args, **kwargs):
        """Run ``function(cluster, *args, **kwargs)`` in the Trio thread; block for it."""
        if self._token is None or not self._thread.is_alive():
            raise RuntimeError("SyncClient is closed")
        bound = functools.partial(function, self._cluster, *args, **kwargs)
        return trio.from_thread.run(bound, trio_token=self._token)

    def close(self) -> None:
        """Close the connections and end the Trio thread (idempotent)."""
        if self._token is not None and self._thread.is_alive():
            try:
                trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
            except trio.RunFinishedError:
                pass
            self._thread.join(timeout=5)
        self._token = None

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
            records = trio.from_thread.run(fetcher.fetch_once, trio_token=self._token)
            for record in records[: None if max_records is None else max_records - count]:
                count += 1
                yield record
            if records:
                last_record_at = time.monotonic()
            elif timeout_ms is not None and time.monotonic() - last_record_at >= timeout_ms / 1000:
                return

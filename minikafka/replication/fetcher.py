"""The replica fetcher: a follower copies its leader's log (Kafka's ``ReplicaFetcherThread``).

A follower broker runs one ``ReplicaFetcher`` per leader it follows. Each
one holds a connection to that leader and loops:

1. build one Fetch request for every partition it follows there, with
   ``replica_id`` set to this broker (so the leader reads past the high
   watermark and records our position), and per partition the position from
   ``PartitionFollowerState.next_fetch``: ``fetch_offset`` (our log end offset),
   ``last_fetched_epoch`` (our last epoch) and ``current_leader_epoch``;
2. send it and wait: the leader holds it up to ``replica.fetch.wait.max.ms``
   until there is something new (long poll);
3. per partition, apply the answer:

   - records: append them byte for byte (``Partition.append_as_follower``, which hands them to
     ``UnifiedLog.append_as_follower``)
     and take the leader's high watermark and log start offset;
   - ``diverging_epoch``: our log parts from the leader's before our end;
     truncate where ``PartitionFollowerState.on_diverging_epoch`` says, and fetch on
     (the next fetch's ``last_fetched_epoch`` confirms or finds more);
   - OFFSET_OUT_OF_RANGE: ask the leader for its first and last offsets
     (ListOffsets as a replica) and truncate or start over
     (``PartitionFollowerState.on_offset_out_of_range``);
   - NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, ...:
     our metadata or the leader's is behind; leave the partition alone for
     ``replica.fetch.backoff.ms`` (new metadata moves it to another fetcher).

Which partitions a fetcher serves is set by the ``ReplicaManager`` from the
metadata image (``set_partitions``); a response for a partition whose role
changed since the request was sent is ignored (its ``PartitionFollowerState`` object
is no longer the one the request was built from). A connection error closes
the connection and retries after ``replica.fetch.backoff.ms``.

Fetch sessions (KIP-227, ``FetchSessionHandler``): the first Fetch names
every partition and opens a session on the leader; later ones name only the
partitions whose position changed (an idle follower's Fetch names none), and
the leader answers only the partitions with news. A session error makes the
next Fetch a full one, sent at once.

Replication throttle (KIP-73, follower side; Kafka's
``RemoteLeaderEndPoint.buildFetch``): a partition listed in
``follower.replication.throttled.replicas`` for this broker is left out of
the Fetch while the follower replication quota (``quota``) is exceeded,
unless it is in sync (its lag, the leader's high watermark minus our log
end offset at the last answer, is 0: holding it back would shrink the ISR).
The bytes that arrive for listed partitions are recorded in the quota, in
sync or not. When every partition is held back, the fetcher waits
``replica.fetch.backoff.ms`` and asks the quota again.

Fetch version 12 is the first with ``last_fetched_epoch`` and
``diverging_epoch`` (KIP-595's truncation on fetch, which Kafka's followers
use since 2.7); it still names topics, so no topic-id lookup is needed.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

import trio

from minikafka.config import BrokerConfig
from minikafka.errors import ErrorCode
from minikafka.metadata.image import MetadataImage
from minikafka.protocol.codec import DecodeError
from minikafka.replication.fetch_rules import LeaderEpochEndOffset
from minikafka.replication.fetch_session_handler import FetchSessionHandler
from minikafka.rpc.client import exchange

log = logging.getLogger("minikafka.replication.fetcher")

FETCH_KEY, FETCH_VERSION = 1, 12
LIST_OFFSETS_KEY, LIST_OFFSETS_VERSION = 2, 4
EARLIEST, LATEST = -2, -1
CONNECT_TIMEOUT_S = 5.0
NETWORK_ERRORS = (OSError, trio.BrokenResourceError, trio.ClosedResourceError, trio.TooSlowError,
                  DecodeError, ValueError)


def _monotonic_ms() -> int:
    """Trio's clock in ms: the quota windows' time, as the broker's ``monotonic_ms``."""
    return int(trio.current_time() * 1000)


class ReplicaFetcher:
    """Fetches every partition this broker follows on one leader.

    Args:
        leader_id: the broker to fetch from.
        node_id: this broker's ``node.id`` (the fetch's ``replica_id``).
        config: the broker's ``BrokerConfig`` (``replica.fetch.*`` settings,
            the inter-broker listener name).
        now_ms: the broker's wall clock in milliseconds.
        image: returns the committed ``MetadataImage`` (where the leader listens).
        open_stream: ``open_stream(host, port)``, the broker's network seam.
        quota: the follower replication quota (``ReplicationQuotaManager``), or None.
    """

    def __init__(self, leader_id: int, *, node_id: int, config: BrokerConfig, now_ms: Callable[[], int],
                 image: Callable[[], MetadataImage],
                 open_stream: Callable[[str, int], Awaitable[trio.abc.Stream]], quota=None):
        self.node_id = node_id
        self.config = config
        self.now_ms = now_ms
        self.image = image
        self.open_stream = open_stream
        self.leader_id = leader_id
        self.partitions: dict[tuple[str, int], object] = {}
        self._delayed_until: dict[tuple[str, int], float] = {}
        self.quota = quota
        self._lag: dict[tuple[str, int], int] = {}  # leader high watermark - our log end, at the last answer
        self._held_back = False  # the last request left throttled partitions out
        self._changed = trio.Event()
        self._correlation_id = 0
        self.cancel_scope = trio.CancelScope()
        self.backoff_s = config["replica.fetch.backoff.ms"] / 1000
        self.max_wait_ms = config["replica.fetch.wait.max.ms"]
        self.request_timeout_s = max(config["replica.socket.timeout.ms"], self.max_wait_ms) / 1000

    def set_partitions(self, partitions: dict) -> None:
        """Fetch exactly these ``{(topic, index): Partition}`` from now on."""
        self.partitions = dict(partitions)
        self._delayed_until = {k: t for k, t in self._delayed_until.items() if k in self.partitions}
        self._lag = {k: lag for k, lag in self._lag.items() if k in self.partitions}
        self._changed.set()
        self._changed = trio.Event()

    async def run(self) -> None:
        """Fetch until cancelled (``cancel_scope``), reconnecting after errors."""
        session = FetchSessionHandler()  # outlives connections, so a new one closes the old session
        with self.cancel_scope:
            while True:
                try:
                    stream = await self._connect()
                    async with stream:
                        await self._fetch_loop(stream, session)
                except NETWORK_ERRORS as exc:
                    session.handle_error()
                    log.info("broker %s: fetching from leader %s failed: %s", self.node_id,
                             self.leader_id, exc)
                await trio.sleep(self.backoff_s)

    async def _connect(self):
        host, port = self._leader_address()
        with trio.fail_after(CONNECT_TIMEOUT_S):
            return await self.open_stream(host, port)

    def _leader_address(self) -> tuple[str, int]:
        """The leader's inter-broker endpoint, from its registration in the image."""
        registration = self.image().brokers.get(self.leader_id)
        if registration is None or not registration.end_points:
            raise OSError(f"broker {self.leader_id} has no registered endpoint")
        wanted = self.config["inter.broker.listener.name"]
        controller_names = set(self.config["controller.listener.names"] or ())
        for endpoint in registration.end_points:
            if endpoint.name == wanted or (wanted is None and endpoint.name not in controller_names):
                return endpoint.host, endpoint.port
        raise OSError(f"broker {self.leader_id} has no listener {wanted!r}")

    async def _fetch_loop(self, stream, session: FetchSessionHandler) -> None:
        while True:
            request, sent = self._build_request(session)
            if not sent:
                await self._wait_for_work()
                continue
            with trio.fail_after(self.request_timeout_s):
                response = await self._exchange(stream, FETCH_KEY, FETCH_VERSION, request)
            if not session.handle_response(response.error_code, response.session_id):
                # The session is gone or out of step: the next fetch is a full one, at once.
                log.info("broker %s: fetch session with %s: %s", self.node_id, self.leader_id,
                         ErrorCode(response.error_code).name)
                continue
            for topic in response.responses:
                for data in topic.partitions:
                    key = (topic.topic, data.partition_index)
                    if key in sent:
                        await self._apply(stream, key, *sent[key], data)

    async def _wait_for_work(self) -> None:
        """Nothing to fetch now: wait for new partitions or the end of a backoff."""
        now = trio.current_time()
        wake_at = min(self._delayed_until.values(), default=now + 60)
        if self._held_back:  # ask the quota again after a backoff (Kafka's fetchBackOffMs)
            wake_at = min(wake_at, now + self.backoff_s)
        with trio.move_on_at(max(wake_at, now)):
            await self._changed.wait()

    def _exchange(self, stream, api_key: int, version: int, body):
        self._correlation_id += 1
        return exchange(stream, api_key, version, self._correlation_id,
                        f"replica-fetcher-{self.node_id}", body)

    def _build_request(self, session: FetchSessionHandler) -> tuple[dict, dict]:
        """The Fetch body, and ``{key: (partition, follower_state)}`` it fetches.

        In a session the body names only the partitions whose fields changed
        since the last request (``FetchSessionHandler.build``); the answer
        may cover any partition of the session.
        """
        now = trio.current_time()
        max_bytes = self.config["replica.fetch.max.bytes"]
        wanted, sent = {}, {}
        self._held_back = False
        for key, partition in self.partitions.items():
            state = partition.follower_state
            if state is None or state.leader_id != self.leader_id or self._delayed_until.get(key, 0) > now:
                continue
            if self._should_throttle(key):
                self._held_back = True
                continue
            position = state.next_fetch(partition.epoch_cache)
            wanted[key] = {
                "partition": key[1], "current_leader_epoch": position.current_leader_epoch,
                "fetch_offset": position.fetch_offset, "last_fetched_epoch": position.last_fetched_epoch,
                "log_start_offset": partition.log_start_offset, "partition_max_bytes": max_bytes}
            sent[key] = (partition, state)
        if not sent:
            return {}, sent  # nothing to fetch; the session keeps its partitions until the next request
        data = session.build(wanted)
        topics: dict[str, list] = {}
        for (name, _), fields in data.to_send.items():
            topics.setdefault(name, []).append(fields)
        forgotten: dict[str, list] = {}
        for name, index in data.forgotten:
            forgotten.setdefault(name, []).append(index)
        config = self.config
        request = {"replica_id": self.node_id, "max_wait_ms": self.max_wait_ms,
                   "min_bytes": config["replica.fetch.min.bytes"],
                   "max_bytes": config["replica.fetch.response.max.bytes"],
                   "isolation_level": 0, "session_id": data.session_id, "session_epoch": data.session_epoch,
                   "topics": [{"topic": name, "partitions": parts} for name, parts in topics.items()],
                   "forgotten_topics_data": [{"topic": name, "partitions": indexes}
                                             for name, indexes in forgotten.items()],
                   "rack_id": ""}
        return request, sent

    def _should_throttle(self, key: tuple[str, int]) -> bool:
        """Kafka's ``shouldFollowerThrottle``: listed, out of sync, and the quota exceeded."""
        quota = self.quota
        return (quota is not None and self._lag.get(key) != 0 and quota.is_throttled(*key)
                and quota.is_quota_exceeded(_monotonic_ms()))

    async def _apply(self, stream, key, partition, state, data) -> None:
        """Apply one partition's answer (see the module docstring)."""
        if partition.follower_state is not state:
            return  # the partition changed role or leader since the request
        now_ms = self.now_ms()
        error = ErrorCode(data.error_code)
        diverging = getattr(data, "diverging_epoch", None)
        if error == ErrorCode.NONE and diverging is not None and diverging.end_offset >= 0:
            truncation = state.on_diverging_epoch(partition.epoch_cache, partition.log_end_offset,
                                                  partition.high_watermark,
                                                  LeaderEpochEndOffset(diverging.epoch,
                                                                       diverging.end_offset))
            partition.truncate_to(truncation.offset, now_ms)
        elif error == ErrorCode.NONE:
            if data.records:
                state.on_records_appended(partition.append_as_follower(data.records, now_ms))
                if self.quota is not None and self.quota.is_throttled(*key):
                    self.quota.record(len(data.records), _monotonic_ms())
            partition.update_follower_log_start_offset(data.log_start_offset)
            partition.update_follower_high_watermark(data.high_watermark)
            self._lag[key] = max(0, data.high_watermark - partition.log_end_offset)
        elif error == ErrorCode.OFFSET_OUT_OF_RANGE:
            await self._handle_out_of_range(stream, key, partition, state)
        else:
            log.info("broker %s: %s-%d from leader %s: %s; backing off", self.node_id, *key,
                     self.leader_id, error.name)
            self._delayed_until[key] = trio.current_time() + self.backoff_s

    async def _handle_out_of_range(self, stream, key, partition, state) -> None:
        """Our fetch offset is outside the leader's log: find its range and move into it."""
        earliest = await self._list_offset(stream, key, state, EARLIEST)
        latest = await self._list_offset(stream, key, state, LATEST)
        if earliest is None or latest is None or partition.follower_state is not state:
            self._delayed_until[key] = trio.current_time() + self.backoff_s
            return
        action = state.on_offset_out_of_range(partition.log_end_offset, earliest, latest)
        if action.truncate_to is not None:
            partition.truncate_to(action.truncate_to, self.now_ms())
        if action.start_over_at is not None:
            partition.truncate_fully_and_start_at(action.start_over_at, self.now_ms())

    async def _list_offset(self, stream, key, state, timestamp: int) -> int | None:
        """ListOffsets as a replica (the leader answers its log end for LATEST)."""
        request = {"replica_id": self.node_id, "isolation_level": 0, "topics": [
            {"name": key[0], "partitions": [{"partition_index": key[1], "timestamp": timestamp,
                                             "current_leader_epoch": state.current_leader_epoch}]}]}
        with trio.fail_after(self.request_timeout_s):
            response = await self._exchange(stream, LIST_OFFSETS_KEY, LIST_OFFSETS_VERSION, request)
        answer = response.topics[0].partitions[0]
        return answer.offset if answer.error_code == ErrorCode.NONE else None

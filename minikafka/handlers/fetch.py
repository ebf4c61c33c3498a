"""Fetch (key 1): read record batches, long-polling until there is enough.

A consumer names, per partition, the ``fetch_offset`` to read from and how
much it will take (``partition_max_bytes``; ``max_bytes`` for the whole
response). The broker answers with whole record batches exactly as stored,
plus each partition's ``high_watermark``, ``last_stable_offset`` and
``log_start_offset``.

Long poll (Kafka's ``DelayedFetch``):
    If fewer than ``min_bytes`` are available, the broker holds the request
    until enough data has been appended or ``max_wait_ms`` has passed, and
    then answers with whatever there is (possibly nothing). Appends wake the
    waiting fetch early (``services.partitions.wait_for_commits`` for a consumer, which
    can only read below the high watermark; ``wait_for_appends`` for a
    follower). A wake-up first compares what a read depends on (each
    partition's role, epochs, log start and end offsets, high watermark) with
    what the last read saw, and reads again only if something moved; when
    the time is up with nothing new, the last read is the answer.
    An error in any partition answers at once.

Sizes:
    Batches are never split. The first batch of the response is returned
    even if it is larger than the limits (KIP-74), so a consumer can always
    make progress; after that, a partition gets at most
    ``partition_max_bytes`` and the response at most ``max_bytes``.

Reading stops at the high watermark: records not yet committed are never
given to consumers.

Isolation (KIP-98): a READ_UNCOMMITTED consumer (``isolation_level`` 0)
reads up to the high watermark, transactional records included, and gets a
null ``aborted_transactions``. A READ_COMMITTED consumer (1) reads only up to
the *last stable offset* (``FetchIsolation.TXN_COMMITTED``): below it every
transaction has its marker, so each record is known committed or aborted.
Batches are still sent as stored, aborted ones included; the consumer drops
them itself, using ``aborted_transactions``: ``(producer_id,
first_offset)`` of every aborted transaction that overlaps what was read
(its records end at or after ``fetch_offset`` and start before the end of
the read), from the partition's aborted-transaction index. A consumer
skips a producer's batches from an aborted transaction's ``first_offset``
up to that producer's ABORT marker, and skips every control batch.
The end of the read is the offset after its last batch; with zero copy
the batches are not looked at and the bound is the last stable offset, so
the list may name a transaction the answer holds no batch of, which a
consumer ignores.

Fetch sessions (KIP-227, :mod:`minikafka.replication.fetch_session`): a
full fetch (``session_epoch`` 0) creates a session if the cache has a slot
and answers its ``session_id``; an incremental fetch names only the
partitions whose fetch position changed, reads every partition of the
session, and answers only those with news (records, a new high watermark or
log start offset, an error, a diverging epoch). Session errors
(FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH,
FETCH_SESSION_TOPIC_ID_ERROR) are top-level and read nothing; the client
falls back to a full fetch. ``session_epoch`` -1 asks for no session.

Zero copy (Kafka's ``FileRecords`` and ``transferTo``): when the connection
asks for it (``ctx.connection.zero_copy``), each partition's ``records`` is a
``FileRegion`` of its segment instead of bytes (``Partition.read(...,
zero_copy=True)``). Nothing here reads the batches: the server sends each
region with sendfile, from the page cache to the socket, and closes it.
Regions read while long-polling and then dropped are closed at once.

Topic ids (v13+) replace topic names; an unknown id is ``UNKNOWN_TOPIC_ID``.

Leader epochs (KIP-320): a ``current_leader_epoch`` older than the
partition's is FENCED_LEADER_EPOCH (the client's metadata is stale), a newer
one UNKNOWN_LEADER_EPOCH (ours is); -1 skips the check.

Follower replicas (``replica_id`` >= 0, or ``replica_state.replica_id`` from
v15) fetch too (``minikafka.replication.fetcher``). For them the leader
checks the follower's ``last_fetched_epoch`` first and may answer a
``diverging_epoch`` instead of records; otherwise it reads up to its log
*end*, not the high watermark, and records the follower's position, which
may move the high watermark (waking acks=all produces and consumers) or let
the follower back into the ISR (``Partition.read_for_follower``). The
position is recorded by the read on arrival only, never by the read that
ends the long poll.

Metrics: once answered, each partition of the fetch is recorded in
``services.topic_stats`` (``BrokerTopicMetrics``: fetch requests,
failures, and for consumers the bytes out), one call per partition.

Quotas (KIP-13, KIP-219; Kafka's ``KafkaApis.handleFetchRequest``):
    A consumer's fetch bandwidth is limited by its ``consumer_byte_rate``
    quota (``services.quotas.fetch``). The fetch's ``max_bytes`` is first
    capped by the most the quota lets through in its measurement window
    (``quota * (quota.window.num - 1) * quota.window.size``), so the answer
    alone cannot put the client over; after the read, the answer's record
    bytes are recorded (Kafka records the encoded response size; minikafka
    the records in it, which is nearly all of it). If that throttles the
    client, the bytes are taken back and the answer is empty: no records,
    ``throttle_time_ms`` set, and ``ctx.throttle_time_ms`` so the connection
    stops reading from the client for that long. With no fetch quota defined
    anywhere (``quotas.fetch.enabled`` False) none of this runs.

    Follower fetches are exempt from client quotas; instead the leader
    replication throttle applies (KIP-73, ``minikafka.replication.throttles``):
    a partition listed in ``leader.replication.throttled.replicas`` is
    answered without records while the leader quota is exceeded and the
    follower is out of the ISR, and the bytes sent for listed partitions are
    recorded against ``leader.replication.throttled.rate``.

A Fetch of ``__cluster_metadata-0`` is a KRaft follower replicating the
metadata log (KIP-595): it goes to the quorum
(:func:`minikafka.quorum.runtime.handle_raft_request`), never to a partition.
"""

from __future__ import annotations

import functools

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices
from minikafka.quorum.runtime import handle_raft_request
from minikafka.protocol.metadata_topic import is_metadata_fetch
from minikafka.replication.fetch_rules import validate_leader_epoch
from minikafka.replication.fetch_session import new_context
from minikafka.replication.follower_state import FetchPosition
from minikafka.storage.unified_log import FetchIsolation
from minikafka_core.batch import read_batch_header
from minikafka_core.records import HEADER_SIZE

API_KEY = 1
FIRST_VERSION_WITH_TOPIC_IDS = 13
READ_COMMITTED = 1
FIRST_VERSION_WITH_REPLICA_STATE = 15
CONSUMER_REPLICA_ID = -1


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    if is_metadata_fetch(request):
        return {"throttle_time_ms": 0, **await handle_raft_request(services.quorum, API_KEY, request)}
    replica_id = _replica_id(request, ctx)
    by_id = ctx.api_version >= FIRST_VERSION_WITH_TOPIC_IDS
    context = new_context(services.fetch_sessions, request.session_id, request.session_epoch, by_id,
                          _requested_topics(request, by_id), _forgotten_topics(request, by_id),
                          privileged=replica_id >= 0, now_ms=int(services.clock.monotonic_ms()))
    if context.error != ErrorCode.NONE:
        return {"throttle_time_ms": 0, "error_code": context.error, "session_id": 0, "responses": []}
    wanted = _resolve(services, context.partitions, by_id)
    partitions = [p for _, _, _, p, _ in wanted if p is not None]
    zero_copy = getattr(ctx.connection, "zero_copy", False)
    quotas = services.quotas
    fetch_quota = None  # a consumer's fetch quota, when one applies
    max_bytes = request.max_bytes
    if replica_id >= 0:
        reader = _ReplicaReader(services, replica_id, quotas.leader_replication if quotas else None)
    else:
        reader = functools.partial(_read_for_consumer,
                                   read_committed=request.isolation_level == READ_COMMITTED)
        if quotas is not None and quotas.fetch.enabled:  # off (the common case): not a single call more
            fetch_quota = _ConsumerFetchQuota(quotas.fetch, ctx, services.clock)
            max_bytes = min(max_bytes, fetch_quota.max_bytes())
    min_bytes = min(request.min_bytes, max_bytes)
    deadline_ms = services.clock.monotonic_ms() + max(0, request.max_wait_ms)
    answers, total_bytes, answer_now = _read(max_bytes, wanted, zero_copy, reader, request)
    if replica_id >= 0:
        reader.update_fetch_state = False  # the follower's position is recorded on arrival only
    # A follower waits for new records, a consumer for the high watermark to move.
    wait = services.partitions.wait_for_appends if replica_id >= 0 else services.partitions.wait_for_commits
    seen = None  # what the last read depended on; taken only by a fetch that waits
    try:
        while total_bytes < min_bytes and not answer_now and partitions:
            remaining_ms = deadline_ms - services.clock.monotonic_ms()
            if remaining_ms <= 0:
                break
            if seen is None:
                seen = _offsets(partitions)  # nothing ran since the read: it saw these
            await wait(partitions, remaining_ms)
            now_seen = _offsets(partitions)
            if now_seen == seen:
                continue  # the last read still stands: reading again would answer the same
            seen = now_seen
            _close_regions(answers)  # not enough then: that answer is dropped
            answers, total_bytes, answer_now = _read(max_bytes, wanted, zero_copy, reader, request)
    except BaseException:
        _close_regions(answers)  # cancelled while parked (the connection went away)
        raise
    if fetch_quota is not None:
        throttle_time_ms = fetch_quota.record(context.response_size(answers))
        if throttle_time_ms > 0:
            return _throttled_response(context, answers, throttle_time_ms, ctx)
    error, session_id, kept = context.respond(answers, int(services.clock.monotonic_ms()))
    stats = services.topic_stats
    if stats is not None:
        _record_partitions(stats, answers, consumer=replica_id < 0)
    sent = {id(answer) for answer in kept}
    _close_regions([answer for answer in answers if id(answer) not in sent])
    if replica_id >= 0 and quotas is not None:
        _record_leader_replication(quotas.leader_replication, kept, int(services.clock.monotonic_ms()))
    return {"throttle_time_ms": 0, "error_code": error, "session_id": session_id,
            "responses": _by_topic(kept)}


class _ConsumerFetchQuota:
    """A consumer's fetch bandwidth quota for one Fetch (Kafka's ``handleFetchRequest``).

    Before reading, the fetch's ``max_bytes`` is capped by the most the
    quota lets through in its window (``max_value_in_window``): asking
    for more would be sure to throttle and might never make progress. After
    reading, the response's size is recorded; a throttled fetch takes its
    bytes back (``unrecord``), since it sends nothing.
    """

    def __init__(self, quota, ctx: RequestContext, clock):
        self.quota = quota
        self.clock = clock
        self.user = ctx.quota_user
        self.client_id = ctx.quota_client_id

    def max_bytes(self) -> int:
        return int(self.quota.max_value_in_window(self.user, self.client_id, self._now_ms()))

    def record(self, response_size: int) -> int:
        """Record the response size; the throttle time in ms (0: send it; else it was unrecorded)."""
        now_ms = self._now_ms()
        throttle_time_ms = self.quota.record_and_get_throttle_ms(self.user, self.client_id, response_size, now_ms)
        if throttle_time_ms > 0:
            self.quota.unrecord(self.user, self.client_id, response_size, now_ms)
        return throttle_time_ms

    def _now_ms(self) -> int:
        return int(self.clock.monotonic_ms())  # quota windows run on the monotonic clock


def _throttled_response(context, answers: list[tuple], throttle_time_ms: int, ctx: RequestContext) -> dict:
    """An empty answer carrying the throttle time; the connection then mutes the client (KIP-219)."""
    _close_regions(answers)
    ctx.throttle_time_ms = throttle_time_ms
    error, session_id = context.throttled()
    return {"throttle_time_ms": throttle_time_ms, "error_code": error, "session_id": session_id,
            "responses": []}


def _record_leader_replication(quota, kept: list[tuple], now_ms: int) -> None:
    """Count the bytes sent for throttled partitions against the leader quota (Kafka's
    ``sizeOfThrottledPartitions``), in sync or not: the whole throttled traffic stays under the rate."""
    size = sum(len(data["records"]) for name, _, _, data in kept
               if len(data["records"]) > 0 and quota.is_throttled(name, data["partition_index"]))
    if size:
        quota.record(size, now_ms)


def _requested_topics(request, by_id: bool) -> list[tuple]:
    """``[(topic name, topic id, [fetch partitions])]`` as the request names them.

    With topic ids (v13+) the name is None here: ``_resolve`` looks it up at
    every read, since a session outlives the requests that named its topics.
    """
    return [(None if by_id else t.topic, t.topic_id, t.partitions) for t in request.topics]


def _forgotten_topics(request, by_id: bool) -> list[tuple]:
    """``[(topic name, topic id, [partition indexes])]`` an incremental fetch drops."""
    forgotten = getattr(request, "forgotten_topics_data", None) or []
    return [(None if by_id else t.topic, t.topic_id, t.partitions) for t in forgotten]


def _replica_id(request, ctx) -> int:
    """The fetching follower's broker id, or -1 for a consumer."""
    if ctx.api_version >= FIRST_VERSION_WITH_REPLICA_STATE:
        state = request.replica_state
        return state.replica_id if state is not None else CONSUMER_REPLICA_ID
    return request.replica_id


def _read_for_consumer(partition, fetch_partition, limit: int, min_one_batch: bool, zero_copy: bool,
                       *, read_committed: bool = False) -> dict:
    """A consumer's read, after the leader epoch check.

    Up to the high watermark; for READ_COMMITTED up to the last stable
    offset, with the aborted transactions the records overlap.
    """
    validate_leader_epoch(partition.leader_epoch, fetch_partition.current_leader_epoch)
    isolation = FetchIsolation.TXN_COMMITTED if read_committed else FetchIsolation.HIGH_WATERMARK
    records = partition.read(fetch_partition.fetch_offset, limit, min_one_batch=min_one_batch,
                             zero_copy=zero_copy, isolation=isolation)
    if not read_committed:
        return {"records": records}
    return {"records": records,
            "aborted_transactions": _aborted_transactions(partition, fetch_partition.fetch_offset, records)}


def _aborted_transactions(partition, fetch_offset: int, records) -> list[dict]:
    """The aborted transactions a READ_COMMITTED read overlaps (see the module docstring).

    Most partitions have none: the index is asked first up to the log end, so
    that the batches' headers are walked only when one may be in the read.
    """
    if len(records) == 0 or not partition.aborted_transactions(fetch_offset, partition.log_end_offset):
        return []
    upper_bound = _end_offset(records) if isinstance(records, (bytes, memoryview)) else None
    if upper_bound is None:  # a zero-copy region: its batches are not looked at
        upper_bound = partition.last_stable_offset
    return [{"producer_id": producer_id, "first_offset": first_offset}
            for producer_id, first_offset in partition.aborted_transactions(fetch_offset, upper_bound)]


def _end_offset(records) -> int | None:
    """The offset after the last whole batch in ``records`` (headers only), or None if none."""
    position, end = 0, None
    while position + HEADER_SIZE <= len(records):
        header = read_batch_header(records, position)
        position += header.size
        if position > len(records):
            break
        end = header.next_offset
    return end


class _ReplicaReader:
    """A follower's read (``Partition.read_for_follower``), reporting ISR proposals.

    ``update_fetch_state``: record the follower's position (the first read of
    a fetch only, as Kafka does).

    ``leader_quota``: the leader replication quota, or None. A throttled
    replica that is out of the ISR gets no records while the quota is
    exceeded (Kafka's ``shouldLeaderThrottle``; in-sync replicas are never
    held back, which would shrink the ISR). Its position is still recorded.
    """

    def __init__(self, services: BrokerServices, replica_id: int, leader_quota=None):
        self.services = services
        self.replica_id = replica_id
        self.leader_quota = leader_quota
        self.update_fetch_state = True

    def __call__(self, partition, fetch_partition, limit: int, min_one_batch: bool, zero_copy: bool) -> dict:
        position = FetchPosition(fetch_partition.fetch_offset, fetch_partition.last_fetched_epoch,
                                 fetch_partition.current_leader_epoch)
        read = partition.read_for_follower(self.replica_id, position, fetch_partition.log_start_offset, limit,
                                           self.services.clock.now_ms(), min_one_batch=min_one_batch,
                                           zero_copy=zero_copy, update_fetch_state=self.update_fetch_state)
        if read.update is not None:
            self.services.replicas.on_follower_fetch(partition, read.update)
        if read.diverging_epoch is not None:
            return {"records": b"", "diverging_epoch": {"epoch": read.diverging_epoch.leader_epoch,
                                                        "end_offset": read.diverging_epoch.end_offset}}
        if len(read.records) > 0 and self._throttled(partition):
            if hasattr(read.records, "close"):
                read.records.close()
            return {"records": b""}
        return {"records": read.records}

    def _throttled(self, partition) -> bool:
        """Kafka's ``shouldLeaderThrottle``: a throttled, out-of-sync replica while over the rate."""
        quota = self.leader_quota
        return (quota is not None and quota.is_throttled(partition.topic, partition.index)
                and self.replica_id not in partition.leader_state.isr
                and quota.is_quota_exceeded(int(self.services.clock.monotonic_ms())))


def _resolve(services: BrokerServices, requested: list[tuple], by_id: bool) -> list:
    """``[(topic, topic_id, fetch_partition, Partition | None, error)]`` in fetch order."""
    wanted = []
    for name, topic_id, fetch_partition in requested:
        if by_id:
            name = services.metadata.topic_name_by_id(topic_id)
        partition, error = None, ErrorCode.NONE
        if name is None:
            error = ErrorCode.UNKNOWN_TOPIC_ID
        else:
            try:
                partition = services.partitions.leader_partition(name, fetch_partition.partition)
            except KafkaError as exc:
                error = exc.code
        wanted.append((name, topic_id, fetch_partition, partition, error))
    return wanted


def _read(max_bytes: int, wanted, zero_copy: bool, reader, request) -> tuple[list, int, bool]:
    """Read every partition once, at most ``max_bytes`` in all; return (answers, bytes read, answer now).

    ``answers`` is ``[(topic, topic_id, fetch_partition, partition data)]``.
    Answer now (without waiting for more data): a partition had an error or
    a diverging epoch.

    ``reader(partition, fetch_partition, limit, min_one_batch, zero_copy)``
    returns the partition's ``records`` (and a ``diverging_epoch``, for a
    follower). With ``zero_copy``, ``records`` are ``FileRegion``s (or ``b""``).
    """
    answers = []
    remaining_bytes = max_bytes
    total_bytes, answer_now = 0, False
    for name, topic_id, fetch_partition, partition, error in wanted:
        if partition is not None:
            limit = min(fetch_partition.partition_max_bytes, max(remaining_bytes, 0))
            try:
                read = reader(partition, fetch_partition, limit, total_bytes == 0, zero_copy)
            except KafkaError as exc:
                error = exc.code
            else:
                size = len(read["records"])
                total_bytes += size
                remaining_bytes -= size
                if "diverging_epoch" in read:
                    answer_now = True  # the follower must truncate before fetching on
                answers.append((name, topic_id, fetch_partition,
                                _partition_data(fetch_partition.partition, partition, read, request)))
                continue
        answer_now = True
        answers.append((name, topic_id, fetch_partition, _partition_error(fetch_partition.partition, error)))
    return answers, total_bytes, answer_now


def _offsets(partitions: list) -> list[tuple]:
    """What a read of ``partitions`` depends on, per partition (Kafka's ``DelayedFetch.tryComplete``).

    While these are unchanged, reading again would give the same answer:
    role and epochs (the epoch checks, a diverging epoch), the log start and
    end offsets (a follower reads to the log end), the high watermark (a
    consumer reads to it; every answer carries it) and the last stable
    offset (where a READ_COMMITTED consumer stops).
    """
    return [(p.is_leader, p.leader_epoch, p.partition_epoch, p.log_start_offset, p.log_end_offset,
             p.high_watermark, p.last_stable_offset) for p in partitions]


def _by_topic(answers: list[tuple]) -> list[dict]:
    """The response's ``responses``: the answers grouped by topic, in order of first appearance."""
    responses, by_topic = [], {}
    for name, topic_id, _, data in answers:
        topic = by_topic.get((name, topic_id))
        if topic is None:
            topic = by_topic[(name, topic_id)] = {"topic": name, "topic_id": topic_id, "partitions": []}
            responses.append(topic)
        topic["partitions"].append(data)
    return responses


def _record_partitions(stats, answers: list[tuple], consumer: bool) -> None:
    """Record each partition read (or failed) in the ``BrokerTopicMetrics``.

    Every partition of the fetch counts, also those an incremental session
    leaves out of the response (Kafka counts the reads); the bytes are the
    records read for a consumer.
    """
    for name, _, _, data in answers:
        code = data["error_code"]
        if code == ErrorCode.NONE:
            stats.fetched(name, len(data["records"]), consumer)
        else:
            stats.fetch_failed(name, code)


def _close_regions(answers: list[tuple]) -> None:
    """Release the file descriptors of the regions in answers that will not be sent."""
    for _, _, _, data in answers:
        if hasattr(data["records"], "close"):
            data["records"].close()


def _partition_data(index: int, partition, read: dict, request) -> dict:
    return {
        "partition_index": index,
        "error_code": ErrorCode.NONE,
        "high_watermark": partition.high_watermark,
        "last_stable_offset": partition.last_stable_offset,
        "log_start_offset": partition.log_start_offset,
        "aborted_transactions": [] if request.isolation_level == READ_COMMITTED else None,
        "preferred_read_replica": -1,
        **read,
    }


def _partition_error(index: int, code: ErrorCode) -> dict:
    return {
        "partition_index": index,
        "error_code": code,
        "high_watermark": -1,
        "last_stable_offset": -1,
        "log_start_offset": -1,
        "aborted_transactions": None,
        "preferred_read_replica": -1,
        "records": b"",
    }

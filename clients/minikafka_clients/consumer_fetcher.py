"""One round of Fetch for a consumer: every wanted partition, one request per leader.

The consumer hands over ``{(topic, partition): fetch_offset}``; this module
groups the partitions by leader (from the cluster's metadata), sends one Fetch
to each leader concurrently, and returns per partition a ``FetchResult``:
its records at or after the fetch offset (decoded, aborted transactions
dropped under ``read_committed``), the next offset to fetch, and the
partition's high watermark and last stable offset (for lag).

Fetch v13+ names topics by ``topic_id`` (KIP-516) in the request and the
response; older versions by name. The request carries both and the codec
writes the one the version has; the response is mapped back through the
metadata.

The broker answers with whole record batches starting *at or before* the
fetch offset (a batch is never split), so records below the offset are
skipped, and the next fetch offset is the end of the last complete batch.
Control batches (transaction markers) are not records: they are skipped,
moving the offset past them (``partition_records``).

Each partition carries the leader epoch the metadata gave
(``current_leader_epoch``, KIP-320), so a broker that knows a newer leader
answers FENCED_LEADER_EPOCH rather than serving a client that follows a
deposed leader (UNKNOWN_LEADER_EPOCH: the broker has not caught up yet).
A partition whose leader moved (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH,
...) is left out of the result and the metadata is refreshed, so the next
round asks the new leader, from the same position. OFFSET_OUT_OF_RANGE is returned for the consumer to apply
``auto.offset.reset``. Other errors are raised.

A leader that throttles this consumer (a ``consumer_byte_rate`` quota,
KIP-219: the Fetch response carried ``throttle_time_ms``; ``throttle.py``)
is left out of the round until its throttle time has passed: its partitions
get no result, and the other leaders are fetched as usual. When every leader
is throttled the round sleeps until the first throttle ends (at most
``max_wait_ms``, so ``poll()`` keeps its timeout) and returns nothing.
"""

from __future__ import annotations

import dataclasses

import trio

from minikafka.errors import ErrorCode, KafkaError
from minikafka_core import records as record_codec

from .cluster import Cluster
from .connection import KafkaConnectionError

FETCH_KEY = 1
READ_UNCOMMITTED, READ_COMMITTED = 0, 1
TopicPartition = tuple[str, int]

# "Ask the metadata again and retry": the leader moved or is not known yet.
REFRESH_METADATA = frozenset({
    ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.UNKNOWN_LEADER_EPOCH,
    ErrorCode.UNKNOWN_TOPIC_ID, ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.REPLICA_NOT_AVAILABLE,
    ErrorCode.OFFSET_NOT_AVAILABLE,
})


@dataclasses.dataclass(slots=True)
class ConsumerRecord:
    """One record as a consumer sees it (treat it as read-only).

    Not frozen: a frozen dataclass's ``__init__`` costs several times more,
    and one is built per record on the consumer's hot path.
    """

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    timestamp_type: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]


@dataclasses.dataclass
class FetchResult:
    """One partition's share of a Fetch response."""

    error_code: int
    records: list[ConsumerRecord]
    next_position: int
    high_watermark: int
    last_stable_offset: int


async def fetch_from_leaders(cluster: Cluster, wanted: dict[TopicPartition, int],
                             options: dict) -> dict[TopicPartition, FetchResult]:
    """Fetch every partition of ``wanted`` from its leader, concurrently.

    Args:
        wanted: ``{(topic, partition): fetch_offset}``.
        options: ``max_wait_ms``, ``min_bytes``, ``max_bytes``,
            ``partition_max_bytes``, ``read_committed``.
    """
    results: dict[TopicPartition, FetchResult] = {}
    by_leader: dict[int, list[TopicPartition]] = {}
    stale = False
    for tp in wanted:
        try:
            by_leader.setdefault(await cluster.leader_for(*tp), []).append(tp)
        except KafkaError as exc:
            if exc.code not in REFRESH_METADATA:
                raise
            stale = True
    if not await _leave_out_throttled(cluster, by_leader, options["max_wait_ms"]):
        return results
    async with trio.open_nursery() as nursery:
        for leader_id, partitions in by_leader.items():
            nursery.start_soon(_fetch_one_leader, cluster, leader_id,
                               {tp: wanted[tp] for tp in partitions}, options, results)
    if stale or len(results) < sum(len(p) for p in by_leader.values()):
        await _refresh(cluster, {t for t, _ in wanted})
    return results


async def _leave_out_throttled(cluster: Cluster, by_leader: dict[int, list[TopicPartition]],
                               max_wait_ms: float) -> bool:
    """Drop the leaders that throttle us from ``by_leader``; False if none is left.

    With every leader throttled, sleep first until the earliest throttle
    ends (at most ``max_wait_ms``): the caller's next round may fetch again.
    """
    now_ms = trio.current_time() * 1000
    delays = {leader_id: cluster.throttle_delay_ms(leader_id, now_ms) for leader_id in by_leader}
    throttled = {leader_id: delay for leader_id, delay in delays.items() if delay > 0}
    if not throttled:
        return True
    for leader_id in throttled:
        del by_leader[leader_id]
    if by_leader:
        return True
    await trio.sleep(min(min(throttled.values()), max_wait_ms) / 1000)
    return False


async def _refresh(cluster: Cluster, topics: set[str]) -> None:
    try:
        await cluster.refresh_metadata(sorted(topics))
    except (KafkaError, KafkaConnectionError):
        pass  # the next round tries again
    await trio.sleep(0.05)  # retry.backoff.ms: do not spin on a leaderless partition


async def _fetch_one_leader(cluster: Cluster, leader_id: int, positions: dict[TopicPartition, int],
                            options: dict, results: dict) -> None:
    try:
        connection = await cluster.connection_to(leader_id)
        response = await cluster.request(
            connection, FETCH_KEY, _request_body(cluster, positions, options),
            timeout_ms=cluster.request_timeout_ms + options["max_wait_ms"])
    except KafkaConnectionError:
        return  # left out: the caller refreshes metadata and the next round retries
    check_top_level(response)
    names = {t.topic_id: name for name, t in cluster.topics.items()}
    for topic_response in response.responses:
        topic = topic_response.topic or names.get(bytes(topic_response.topic_id))
        for p in topic_response.partitions:
            tp = (topic, p.partition_index)
            if tp in positions:
                result = _partition_result(tp, positions[tp], p, options["read_committed"])
                if result is not None:
                    results[tp] = result


def _partition_result(tp: TopicPartition, position: int, p, read_committed: bool) -> FetchResult | None:
    code = p.error_code
    if code in REFRESH_METADATA:
        return None
    if code not in (ErrorCode.NONE, ErrorCode.OFFSET_OUT_OF_RANGE):
        raise KafkaError(ErrorCode(code), f"fetching {tp[0]}-{tp[1]}")
    records, next_position = ([], position) if code else partition_records(
        tp[0], tp[1], position, p, read_committed=read_committed)
    return FetchResult(code, records, next_position, p.high_watermark, p.last_stable_offset)


def _request_body(cluster: Cluster, positions: dict[TopicPartition, int], options: dict) -> dict:
    by_topic: dict[str, list[dict]] = {}
    for (topic, partition), offset in positions.items():
        by_topic.setdefault(topic, []).append({
            "partition": partition, "fetch_offset": offset,
            "current_leader_epoch": cluster.topics[topic].partitions[partition].leader_epoch,
            "last_fetched_epoch": -1, "log_start_offset": -1,
            "partition_max_bytes": options["partition_max_bytes"]})
    return {
        "replica_id": -1,
        "max_wait_ms": options["max_wait_ms"],
        "min_bytes": options["min_bytes"],
        "max_bytes": options["max_bytes"],
        "isolation_level": READ_COMMITTED if options["read_committed"] else READ_UNCOMMITTED,
        "session_id": 0,
        "session_epoch": -1,  # no fetch session (KIP-227): every fetch is a full one
        "topics": [{"topic": topic, "topic_id": cluster.topics[topic].topic_id, "partitions": ps}
                   for topic, ps in by_topic.items()],
        "forgotten_topics_data": [],
        "rack_id": "",
    }


def partition_records(topic: str, index: int, position: int, partition_response, *,
                      read_committed: bool = False) -> tuple[list[ConsumerRecord], int]:
    """The records of one partition of a Fetch response at or after ``position``.

    Returns ``(records, next_position)``. Control batches (transaction
    markers) are never records: they are skipped, and so move the position.

    With ``read_committed`` the broker sends data only up to the last stable
    offset, but that data still holds the batches of *aborted* transactions;
    the consumer drops them, as Kafka's Java consumer (``CompletedFetch``)
    and librdkafka do. The response lists ``aborted_transactions``: per
    aborted transaction that overlaps the data, its producer id and first
    offset. Walking the batches in offset order, before each batch of a
    producer, every listed transaction whose first offset is at or below the
    batch's last offset makes its producer id *aborted*; a transactional
    batch of an aborted producer id is skipped; that producer's ABORT marker
    (a control batch) ends its aborted transaction (the id is removed: its
    next transaction may commit).
    """
    if not partition_response.records:
        return [], position
    aborted = sorted((a.first_offset, a.producer_id)
                     for a in (partition_response.aborted_transactions or ())) if read_committed else []
    aborted_producer_ids: set[int] = set()
    out = []
    for batch in record_codec.read_batches(partition_response.records):
        if read_committed and batch.is_transactional:  # markers are transactional batches too
            while aborted and aborted[0][0] <= batch.last_offset:
                aborted_producer_ids.add(aborted.pop(0)[1])
            if batch.is_control and _is_abort_marker(batch):
                aborted_producer_ids.discard(batch.producer_id)
            elif batch.is_transactional and batch.producer_id in aborted_producer_ids:
                position = max(position, batch.next_offset)
                continue
        if batch.next_offset <= position:
            continue
        if not batch.is_control:
            # A decoded record's timestamp is already the batch's under LogAppendTime.
            timestamp_type = batch.timestamp_type
            out += [ConsumerRecord(topic, index, r.offset, r.timestamp, timestamp_type, r.key,
                                   r.value, r.headers)
                    for r in batch.records if r.offset >= position]
        position = batch.next_offset
    return out, position


def _is_abort_marker(batch) -> bool:
    """Whether a control batch is an ABORT marker (its first record says so)."""
    records = batch.control_records
    return bool(records) and records[0].type == record_codec.ControlRecordType.ABORT


def check_top_level(response) -> None:
    """Fetch v7+ has a request-level ``error_code`` (fetch sessions)."""
    code = getattr(response, "error_code", 0)
    if code != ErrorCode.NONE:
        raise KafkaError(ErrorCode(code), "fetch failed")

"""Reading records: find a start offset (ListOffsets), then Fetch from the leader.

A consumer without a group keeps, per partition, a *position*: the offset of
the next record it wants. It begins with a position from one of:

- an explicit offset;
- ListOffsets with timestamp ``-2`` (EARLIEST: the log start offset), ``-1``
  (LATEST: the high watermark, where the next produced record will go) or a
  real timestamp in ms (the first offset whose timestamp is >= it, KIP-79; -1
  if there is none, and then we start at LATEST as Java's console consumer does).

Then it repeatedly sends Fetch to each partition's leader. The broker answers
with whole record batches starting *at or before* the position (a batch is
never split), so records below the position are skipped, and the position
moves to the end of the last complete batch. ``max_wait_ms`` lets the broker
hold the request until data arrives (long polling), so an idle consumer costs
one request per ``max_wait_ms``, not a busy loop. Control batches (transaction
markers) are not records and are skipped, moving the position past them.

Fetch v13+ names topics by ``topic_id`` (KIP-516) instead of name; the request
carries both and the codec writes the one the negotiated version has.
"""

from __future__ import annotations

import dataclasses
import math

import trio

from minikafka.errors import ErrorCode, KafkaError
from minikafka.protocol import records as record_codec

from .cluster import Cluster

FETCH_KEY, LIST_OFFSETS_KEY = 1, 2
EARLIEST_TIMESTAMP, LATEST_TIMESTAMP = -2, -1
READ_UNCOMMITTED = 0


@dataclasses.dataclass(frozen=True)
class ConsumerRecord:
    """One record as a consumer sees it."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    timestamp_type: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]


@dataclasses.dataclass(frozen=True)
class Start:
    """Where to begin reading: ``Start.earliest()``, ``.latest()``,
    ``.at_offset(n)`` or ``.at_timestamp(ms)``."""

    kind: str
    value: int = 0

    @classmethod
    def earliest(cls) -> "Start":
        return cls("earliest", EARLIEST_TIMESTAMP)

    @classmethod
    def latest(cls) -> "Start":
        return cls("latest", LATEST_TIMESTAMP)

    @classmethod
    def at_offset(cls, offset: int) -> "Start":
        return cls("offset", offset)

    @classmethod
    def at_timestamp(cls, timestamp_ms: int) -> "Start":
        return cls("timestamp", timestamp_ms)


async def list_offsets(cluster: Cluster, topic: str, partitions: list[int],
                       timestamp: int) -> dict[int, int]:
    """ListOffsets for ``partitions``: ``{partition: offset}`` (-1: no such record).

    Args:
        timestamp: -2 EARLIEST, -1 LATEST, or a timestamp in ms.
    """
    offsets = {}
    for leader_id, indexes in (await _by_leader(cluster, topic, partitions)).items():
        body = {
            "replica_id": -1,
            "isolation_level": READ_UNCOMMITTED,
            "topics": [{"name": topic, "partitions": [
                {"partition_index": i, "current_leader_epoch": -1, "timestamp": timestamp}
                for i in indexes]}],
            "timeout_ms": int(cluster.request_timeout_ms),
        }
        response = await cluster.request(await cluster.connection_to(leader_id),
                                         LIST_OFFSETS_KEY, body)
        for topic_response in response.topics:
            for p in topic_response.partitions:
                _check_partition(p.error_code, topic, p.partition_index)
                offsets[p.partition_index] = p.offset
    return offsets


async def resolve_start(cluster: Cluster, topic: str, partitions: list[int] | None,
                        start: Start) -> dict[int, int]:
    """The first position to fetch from, per partition (all partitions if None)."""
    metadata = await cluster.topic(topic, refresh=True)
    if partitions is None:
        partitions = sorted(metadata.partitions)
    for index in partitions:
        if index not in metadata.partitions:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                             f"topic '{topic}' has no partition {index}")
    if start.kind == "offset":
        return {index: start.value for index in partitions}
    offsets = await list_offsets(cluster, topic, partitions, start.value)
    missing = [index for index, offset in offsets.items() if offset < 0]
    if missing:  # no record at or after the timestamp: start at the end
        offsets.update(await list_offsets(cluster, topic, missing, LATEST_TIMESTAMP))
    return offsets


class Fetcher:
    """The positions of some partitions of one topic, and Fetch over them.

    Owned by one task (positions are plain state, not locked).

    Args:
        positions: ``{partition: next offset to read}``.
        max_wait_ms: how long the broker may hold a Fetch waiting for data.
        max_bytes, partition_max_bytes: Fetch size limits (Kafka's defaults).
    """

    def __init__(self, cluster: Cluster, topic: str, positions: dict[int, int], *,
                 max_wait_ms: int = 500, max_bytes: int = 52_428_800,
                 partition_max_bytes: int = 1_048_576):
        self.cluster = cluster
        self.topic = topic
        self.positions = dict(positions)
        self.max_wait_ms = max_wait_ms
        self.max_bytes = max_bytes
        self.partition_max_bytes = partition_max_bytes

    async def fetch_once(self) -> list[ConsumerRecord]:
        """One Fetch per leader; return the new records and advance positions."""
        found: list[ConsumerRecord] = []
        by_leader = await _by_leader(self.cluster, self.topic, list(self.positions))
        async with trio.open_nursery() as nursery:
            for leader_id, indexes in by_leader.items():
                nursery.start_soon(self._fetch_from, leader_id, indexes, found)
        return sorted(found, key=lambda r: (r.partition, r.offset))

    async def _fetch_from(self, leader_id: int, indexes: list[int], found: list) -> None:
        metadata = await self.cluster.topic(self.topic)
        body = {
            "replica_id": -1,
            "max_wait_ms": self.max_wait_ms,
            "min_bytes": 1,
            "max_bytes": self.max_bytes,
            "isolation_level": READ_UNCOMMITTED,
            "session_id": 0,
            "session_epoch": -1,  # no fetch session (KIP-227): a full fetch each time
            "topics": [{"topic": self.topic, "topic_id": metadata.topic_id, "partitions": [
                {"partition": i, "current_leader_epoch": -1, "fetch_offset": self.positions[i],
                 "last_fetched_epoch": -1, "log_start_offset": -1,
                 "partition_max_bytes": self.partition_max_bytes}
                for i in indexes]}],
            "forgotten_topics_data": [],
            "rack_id": "",
        }
        connection = await self.cluster.connection_to(leader_id)
        response = await self.cluster.request(
            connection, FETCH_KEY, body, timeout_ms=self.cluster.request_timeout_ms + self.max_wait_ms)
        check_top_level(response)
        for topic_response in response.responses:
            for p in topic_response.partitions:
                found.extend(self._accept(p))

    def _accept(self, partition_response) -> list[ConsumerRecord]:
        index = partition_response.partition_index
        if partition_response.error_code == ErrorCode.OFFSET_OUT_OF_RANGE:
            raise KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE,
                             f"offset {self.positions[index]} is out of range for {self.topic}-{index}")
        _check_partition(partition_response.error_code, self.topic, index)
        out, self.positions[index] = partition_records(
            self.topic, index, self.positions[index], partition_response)
        return out


def partition_records(topic: str, index: int, position: int, partition_response, *,
                      read_committed: bool = False) -> tuple[list[ConsumerRecord], int]:
    """The records of one partition of a Fetch response at or after ``position``.

    Returns ``(records, next_position)``. With ``read_committed`` the batches
    of aborted transactions are dropped, as Java's consumer does: the response
    lists ``aborted_transactions`` (producer id, first offset); a transactional
    batch of such a producer at or after that first offset is aborted data,
    until that producer's ABORT marker (a control batch) ends it.
    """
    if not partition_response.records:
        return [], position
    aborted = sorted((a.first_offset, a.producer_id)
                     for a in (partition_response.aborted_transactions or ())) if read_committed else []
    aborting: set[int] = set()
    out = []
    for batch in record_codec.read_batches(partition_response.records):
        if batch.next_offset <= position:
            continue
        while aborted and aborted[0][0] <= batch.last_offset:
            aborting.add(aborted.pop(0)[1])
        if batch.is_control:
            if batch.producer_id in aborting and _is_abort_marker(batch):
                aborting.discard(batch.producer_id)
        elif not (batch.is_transactional and batch.producer_id in aborting):
            out.extend(_consumer_record(topic, index, batch, r)
                       for r in batch.records if r.offset >= position)
        position = batch.next_offset
    return out, position


def _is_abort_marker(batch) -> bool:
    return any(c.type == record_codec.ControlRecordType.ABORT for c in batch.control_records)


def _consumer_record(topic: str, index: int, batch, record) -> ConsumerRecord:
    timestamp = batch.max_timestamp if batch.timestamp_type == record_codec.LOG_APPEND_TIME \
        else record.timestamp
    return ConsumerRecord(topic, index, record.offset, timestamp, batch.timestamp_type,
                          record.key, record.value, list(record.headers))


def check_top_level(response) -> None:
    """Fetch v7+ has a request-level ``error_code`` (fetch sessions)."""
    code = getattr(response, "error_code", 0)
    if code != ErrorCode.NONE:
        raise KafkaError(ErrorCode(code), "fetch failed")


def _check_partition(error_code: int, topic: str, index: int) -> None:
    if error_code != ErrorCode.NONE:
        raise KafkaError(ErrorCode(error_code), f"partition {topic}-{index}")


async def _by_leader(cluster: Cluster, topic: str, partitions: list[int]) -> dict[int, list[int]]:
    by_leader: dict[int, list[int]] = {}
    for index in partitions:
        by_leader.setdefault(await cluster.leader_for(topic, index), []).append(index)
    return by_leader


async def consume(cluster: Cluster, topic: str, *, partitions: list[int] | None = None,
                  start: Start = Start.earliest(), max_records: int | None = None,
                  timeout_ms: float | None = None, max_wait_ms: int = 500):
    """Yield records from ``topic`` (async generator), like a groupless consumer.

    Args:
        partitions: which partitions (all if None).
        start: where to begin in each partition.
        max_records: stop after this many records.
        timeout_ms: stop when no record has arrived for this long (None: never).
    """
    fetcher = Fetcher(cluster, topic, await resolve_start(cluster, topic, partitions, start),
                      max_wait_ms=max_wait_ms)
    count = 0
    deadline = math.inf if timeout_ms is None else trio.current_time() + timeout_ms / 1000
    while count != max_records and trio.current_time() < deadline:
        records = await fetcher.fetch_once()
        if records and timeout_ms is not None:
            deadline = trio.current_time() + timeout_ms / 1000
        for record in records[: None if max_records is None else max_records - count]:
            count += 1
            yield record

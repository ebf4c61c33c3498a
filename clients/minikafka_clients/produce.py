"""Producing records: partition, batch, send to the leader (a one-shot producer).

``produce()`` is the smallest correct producer: it takes a list of records,
picks each one's partition (explicit, else murmur2 of the key, else one
"sticky" partition for all keyless records of the call, KIP-480), builds one
magic v2 batch per partition with ``records.build_batch``, groups the batches
by partition leader and sends one Produce request per leader.

``acks`` is Kafka's: 0 (the broker sends no response at all, so there are no
offsets to report), 1 (the leader appended it) or -1 / "all" (every in-sync
replica has it). A partition that answers ``NOT_LEADER_OR_FOLLOWER`` or
``UNKNOWN_TOPIC_OR_PARTITION`` did not append the batch, so it is safe to
refresh metadata and resend it; other errors are raised.

The later, full producer adds an accumulator (``linger.ms``, ``batch.size``),
idempotence and transactions on top of ``send_batches``.
"""

from __future__ import annotations

import dataclasses
import random
import time

import trio

from minikafka.errors import ErrorCode, KafkaError
from minikafka.protocol import records as record_codec

from .cluster import Cluster
from .partitioner import choose_partition

PRODUCE_KEY = 0

COMPRESSION_CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}

# Errors that mean "not appended here; ask metadata again and resend".
RETRIABLE_BEFORE_APPEND = frozenset({
    ErrorCode.NOT_LEADER_OR_FOLLOWER,
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode.LEADER_NOT_AVAILABLE,
})


@dataclasses.dataclass(frozen=True)
class ProducerRecord:
    """A record to send. ``timestamp_ms`` None means "now" (CreateTime)."""

    value: bytes | None
    key: bytes | None = None
    headers: list[tuple[str, bytes | None]] = dataclasses.field(default_factory=list)
    partition: int | None = None
    timestamp_ms: int | None = None


@dataclasses.dataclass(frozen=True)
class RecordMetadata:
    """Where a produced record landed. ``offset`` is -1 with ``acks=0``."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int


def parse_acks(acks: int | str) -> int:
    """``"all"`` -> -1; 0, 1, -1 as they are."""
    value = -1 if str(acks).lower() == "all" else int(acks)
    if value not in (-1, 0, 1):
        raise ValueError(f"acks must be 0, 1, -1 or all, not {acks!r}")
    return value


def parse_compression(compression: str | int) -> int:
    """A codec name (``gzip``) or id (1) to the batch attribute id."""
    if isinstance(compression, int):
        return compression
    try:
        return COMPRESSION_CODECS[compression.lower()]
    except KeyError:
        raise ValueError(f"unknown compression {compression!r}; "
                         f"one of {', '.join(COMPRESSION_CODECS)}") from None


async def produce(cluster: Cluster, topic: str, records: list[ProducerRecord], *,
                  partition: int | None = None, acks: int | str = 1,
                  compression: str | int = "none", timeout_ms: int = 30_000,
                  retries: int = 3) -> list[RecordMetadata]:
    """Send ``records`` to ``topic`` and return where each landed, in input order.

    Args:
        partition: send every record here (overrides ``record.partition``).
        acks: 0, 1 or -1/"all".
        compression: ``none``, ``gzip``, ``snappy``, ``lz4`` or ``zstd``.
        timeout_ms: how long the broker may wait for acks (Produce ``timeout_ms``).
        retries: resends after a retriable-before-append error.

    Raises:
        KafkaError: the topic or partition does not exist, or the broker
            refused the records (the partition's error code).
    """
    acks, codec = parse_acks(acks), parse_compression(compression)
    metadata = await cluster.topic(topic, auto_create=True)  # as Kafka's producer asks
    by_partition = _assign_partitions(records, partition, len(metadata.partitions))
    for index in by_partition:
        if index not in metadata.partitions:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                             f"topic '{topic}' has no partition {index}")
    now_ms = int(time.time() * 1000)
    batches = {index: _build(items, now_ms, codec) for index, items in by_partition.items()}
    base_offsets = await send_batches(cluster, topic, {i: b for i, (b, _) in batches.items()},
                                      acks=acks, timeout_ms=timeout_ms, retries=retries)
    return _results(topic, by_partition, batches, base_offsets)


def _assign_partitions(records, partition, num_partitions) -> dict[int, list[tuple[int, ProducerRecord]]]:
    """Group ``(input_position, record)`` pairs by target partition."""
    sticky = random.randrange(num_partitions)
    by_partition: dict[int, list] = {}
    for position, record in enumerate(records):
        target = partition if partition is not None else record.partition
        if target is None:
            target = choose_partition(record.key, num_partitions, sticky)
        by_partition.setdefault(target, []).append((position, record))
    return by_partition


def _build(items, now_ms: int, codec: int) -> tuple[bytes, list[int]]:
    """One batch for one partition; returns it and each record's timestamp."""
    timestamps = [r.timestamp_ms if r.timestamp_ms is not None else now_ms for _, r in items]
    batch_records = [
        record_codec.Record(offset=delta, timestamp=timestamp, key=r.key, value=r.value,
                            headers=list(r.headers))
        for delta, ((_, r), timestamp) in enumerate(zip(items, timestamps))
    ]
    return record_codec.build_batch(batch_records, compression=codec), timestamps


def _results(topic, by_partition, batches, base_offsets) -> list[RecordMetadata]:
    results: list[RecordMetadata | None] = [None] * sum(len(v) for v in by_partition.values())
    for index, items in by_partition.items():
        base_offset, log_append_time_ms = base_offsets.get(index, (-1, -1))
        timestamps = batches[index][1]
        for delta, (position, _) in enumerate(items):
            offset = base_offset + delta if base_offset >= 0 else -1
            timestamp = log_append_time_ms if log_append_time_ms >= 0 else timestamps[delta]
            results[position] = RecordMetadata(topic, index, offset, timestamp)
    return results


async def send_batches(cluster: Cluster, topic: str, batches: dict[int, bytes], *, acks: int,
                       timeout_ms: int, retries: int = 3) -> dict[int, tuple[int, int]]:
    """Send one ready batch per partition to the leaders; retry where safe.

    Returns:
        ``{partition: (base_offset, log_append_time_ms)}`` (empty with acks=0).
    """
    results: dict[int, tuple[int, int]] = {}
    remaining = dict(batches)
    for attempt in range(retries + 1):
        failed: dict[int, ErrorCode] = {}
        async with trio.open_nursery() as nursery:
            for leader_id, partitions in (await _group_by_leader(cluster, topic, remaining)).items():
                nursery.start_soon(_send_to_leader, cluster, leader_id, topic,
                                   {p: remaining[p] for p in partitions}, acks, timeout_ms,
                                   results, failed)
        retriable = {p: c for p, c in failed.items() if c in RETRIABLE_BEFORE_APPEND}
        fatal = {p: c for p, c in failed.items() if p not in retriable}
        if fatal or (retriable and attempt == retries):
            index, code = sorted({**retriable, **fatal}.items())[0]
            raise KafkaError(code, f"producing to {topic}-{index} failed")
        if not retriable:
            return results
        remaining = {p: remaining[p] for p in retriable}
        await cluster.refresh_metadata([topic])
        await trio.sleep(0.1 * (attempt + 1))  # retry.backoff.ms, growing
    return results


async def _group_by_leader(cluster: Cluster, topic: str, batches) -> dict[int, list[int]]:
    by_leader: dict[int, list[int]] = {}
    for index in batches:
        by_leader.setdefault(await cluster.leader_for(topic, index), []).append(index)
    return by_leader


async def _send_to_leader(cluster, leader_id, topic, batches, acks, timeout_ms, results, failed):
    body = {
        "transactional_id": None,
        "acks": acks,
        "timeout_ms": timeout_ms,
        "topic_data": [{"name": topic, "partition_data": [
            {"index": index, "records": batch} for index, batch in batches.items()]}],
    }
    connection = await cluster.connection_to(leader_id)
    response = await cluster.request(connection, PRODUCE_KEY, body, expect_response=acks != 0,
                                     timeout_ms=cluster.request_timeout_ms + timeout_ms)
    if response is None:
        return
    for topic_response in response.responses:
        for p in topic_response.partition_responses:
            if p.error_code != ErrorCode.NONE:
                failed[p.index] = ErrorCode(p.error_code)
            else:
                results[p.index] = (p.base_offset, p.log_append_time_ms)

"""Rewriting stored batches record by record (Kafka's ``MemoryRecords.filterTo``).

The broker never decodes records on the produce/fetch path; the log cleaner
is the one place that must. This module reads the records of one stored
magic v2 batch (see ``minikafka_core.batch`` for the layout) and writes the
batch back holding only the records a filter keeps, the way Kafka does:

- every kept record keeps its offset: the batch keeps its ``base_offset``
  and its ``last_offset_delta`` (so the producer's last sequence number
  survives, KIP-98), and each record keeps its ``offset_delta``; compaction
  leaves *gaps* in the offsets, never renumbers;
- a batch whose records are all kept, and which needs no delete horizon, is
  copied byte for byte (same CRC);
- otherwise the batch is rebuilt: producer id/epoch, base sequence,
  partition leader epoch, timestamp type, transactional/control bits and
  headers kept, compressed again with the same codec (default level);
  ``record_count`` and ``max_timestamp`` describe the kept records;
- **delete horizon (KIP-534)**: the first time a batch holding tombstones
  (records with a null value) is cleaned, the cleaner stores
  ``now + delete.retention.ms`` in the batch's *base timestamp* field and
  sets attribute bit 6. Record timestamps are deltas from that field, so
  they are re-encoded relative to the horizon and stay exact. A later
  cleaning after the horizon drops the tombstones;
- a batch left with no records is dropped, unless it is the last batch of
  its producer: then an *empty* batch (header only, ``record_count`` 0) is
  kept so that producer's epoch and last sequence survive (Kafka's
  ``BatchRetention.RETAIN_EMPTY``).

Plain Python: the cleaner is background work, not the hot path.
"""

from __future__ import annotations

import dataclasses

from minikafka_core import compression
from minikafka_core.batch import (DELETE_HORIZON_MASK, HEADER_SIZE, LOG_APPEND_TIME,
                                  TIMESTAMP_TYPE_MASK, TRANSACTIONAL_MASK, CONTROL_MASK,
                                  InvalidBatchError, RecordReader, read_batch_header)
from minikafka_core.builder import encode_varint, finish_batch
from minikafka.errors import ErrorCode


@dataclasses.dataclass(frozen=True)
class Record:
    """One record of a stored batch, as the cleaner needs it.

    ``raw`` is the record's exact bytes (length varint included); ``tail``
    the bytes after its timestamp delta (offset delta, key, value, headers),
    which never change when the record is rewritten.
    """

    offset: int
    timestamp: int
    key: bytes | None
    value_is_null: bool
    raw: bytes
    attributes: int
    tail: bytes


def has_delete_horizon(info) -> bool:
    """True if the batch's base timestamp holds a delete horizon (attribute bit 6)."""
    return bool(info.attributes & DELETE_HORIZON_MASK)


def records_area(batch: bytes, info) -> bytes:
    """The (decompressed) records of one stored batch."""
    body = memoryview(batch)[HEADER_SIZE:info.size]
    if info.compression == 0:
        return bytes(body)
    try:
        return compression.decompress(info.compression, body)
    except ValueError as exc:
        raise InvalidBatchError(ErrorCode.CORRUPT_MESSAGE, f"Failed to decompress records: {exc}")


def iter_records(batch: bytes, info=None):
    """Yield every ``Record`` of one stored batch (``batch`` starts at its header)."""
    info = info or read_batch_header(batch, 0)
    area = records_area(batch, info)
    reader = RecordReader(area, 0, len(area))
    log_append_time = info.timestamp_type == LOG_APPEND_TIME
    for _ in range(info.record_count):
        start = reader.pos
        body_end = reader.varint() + reader.pos
        attributes = area[reader.pos]
        reader.pos += 1
        timestamp_delta = reader.varlong()
        tail_start = reader.pos
        offset_delta = reader.varint()
        key_length = reader.varint()
        key = bytes(area[reader.pos:reader.pos + key_length]) if key_length >= 0 else None
        reader.pos += max(key_length, 0)
        value_is_null = reader.varint() < 0
        reader.pos = body_end
        # Kafka's iterator reports LogAppendTime batches' max timestamp for every record.
        timestamp = info.max_timestamp if log_append_time else info.first_timestamp + timestamp_delta
        yield Record(info.base_offset + offset_delta, timestamp, key, value_is_null,
                     area[start:body_end], attributes, area[tail_start:body_end])


def first_keyless_record(batch: bytes, info) -> int | None:
    """Offset delta of the first record without a key, or None (compacted topics' check)."""
    for i, record in enumerate(iter_records(batch, info)):
        if record.key is None:
            return i
    return None


def _encode_record(record: Record, base_timestamp: int) -> bytes:
    """The record with its timestamp delta recomputed against ``base_timestamp``."""
    body = bytes((record.attributes,)) + encode_varint(record.timestamp - base_timestamp) + record.tail
    return encode_varint(len(body)) + body


def rebuild_batch(batch: bytes, info, kept: list[Record], delete_horizon_ms: int | None) -> bytes:
    """A batch holding only ``kept`` (non-empty), offsets and producer fields unchanged.

    Args:
        batch: the original batch's bytes.
        info: its header.
        kept: the records to keep, in offset order.
        delete_horizon_ms: store this horizon in the base timestamp (or None).
    """
    attributes = info.attributes
    if delete_horizon_ms is not None:
        base_timestamp = delete_horizon_ms
        attributes |= DELETE_HORIZON_MASK
    else:
        base_timestamp = kept[0].timestamp  # Kafka's builder: the first appended record's
    if info.timestamp_type == LOG_APPEND_TIME:
        max_timestamp = info.max_timestamp
    else:
        max_timestamp = max(record.timestamp for record in kept)
    if base_timestamp == info.first_timestamp:
        records = b"".join(record.raw for record in kept)  # deltas unchanged: copy
    else:
        records = b"".join(_encode_record(record, base_timestamp) for record in kept)
    if info.compression:
        records = compression.compress(info.compression, records)
    return finish_batch(records, record_count=len(kept), first_timestamp=base_timestamp,
                        max_timestamp=max_timestamp, base_offset=info.base_offset,
                        attributes=attributes, producer_id=info.producer_id,
                        producer_epoch=info.producer_epoch, base_sequence=info.base_sequence,
                        partition_leader_epoch=info.partition_leader_epoch,
                        last_offset_delta=info.last_offset_delta)


def empty_batch(info) -> bytes:
    """Header-only batch kept for a producer's state (Kafka's ``writeEmptyHeader``).

    No records, no compression, no delete horizon; both timestamps are the
    original batch's max timestamp; offsets and producer fields unchanged.
    """
    attributes = info.attributes & (TIMESTAMP_TYPE_MASK | TRANSACTIONAL_MASK | CONTROL_MASK)
    return finish_batch(b"", record_count=0, first_timestamp=info.max_timestamp,
                        max_timestamp=info.max_timestamp, base_offset=info.base_offset,
                        attributes=attributes, producer_id=info.producer_id,
                        producer_epoch=info.producer_epoch, base_sequence=info.base_sequence,
                        partition_leader_epoch=info.partition_leader_epoch,
                        last_offset_delta=info.last_offset_delta)


def filter_batch(batch: bytes, info, should_retain, now_ms: int, delete_retention_ms: int,
                 retain_empty: bool) -> bytes:
    """Apply the cleaner's record filter to one non-control batch.

    Args:
        batch: the stored batch's bytes.
        info: its header.
        should_retain: ``should_retain(record, info) -> bool``.
        now_ms: the cleaner's clock (for a new delete horizon).
        delete_retention_ms: the topic's delete.retention.ms.
        retain_empty: keep an empty batch if no record survives (the last
            batch of an active producer).

    Returns:
        The bytes to write in the cleaned segment (maybe ``b""``).
    """
    records = list(iter_records(batch, info))
    kept = [record for record in records if should_retain(record, info)]
    if not kept:
        return empty_batch(info) if retain_empty else b""
    contains_tombstones = any(record.value_is_null for record in kept)
    needs_horizon = contains_tombstones and not has_delete_horizon(info)
    if len(kept) == len(records) and not needs_horizon:
        return batch  # untouched: byte for byte, same CRC
    horizon = now_ms + delete_retention_ms if needs_horizon else (
        info.first_timestamp if has_delete_horizon(info) else None)
    return rebuild_batch(batch, info, kept, horizon)

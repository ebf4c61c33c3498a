"""Rewriting stored batches record by record (Kafka's ``MemoryRecords.filterTo``).

The broker never decodes records on the produce/fetch path; the log cleaner
is the one place that must. This module reads the records of one stored
magic v2 batch through the core's record model (``minikafka_core.records``,
which also holds the byte layout) and writes the batch back holding only the
records a filter keeps, the way Kafka does:

- every kept record keeps its offset: the batch keeps its ``base_offset``
  and its ``last_offset_delta`` (so the producer's last sequence number
  survives, KIP-98), and each record keeps its ``offset_delta``; compaction
  leaves *gaps* in the offsets, never renumbers;
- a batch whose records are all kept, and which needs no delete horizon, is
  copied byte for byte (same CRC);
- otherwise the batch is rebuilt (its kept records encoded again):
  producer id/epoch, base sequence, partition leader epoch, timestamp type,
  transactional/control bits and headers kept, compressed again with the
  same codec (default level);
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

Plain Python over the compiled codec: the cleaner is background work.
"""

from __future__ import annotations

from minikafka_core import compression
from minikafka_core.batch import decode_stored_records, read_batch_header
from minikafka_core.records import (CONTROL_MASK, DELETE_HORIZON_MASK, LOG_APPEND_TIME,
                                    TIMESTAMP_TYPE_MASK, TRANSACTIONAL_MASK, ControlRecord, InvalidBatchError,
                                    Record, encode_record, finish_batch, parse_control_record)


def has_delete_horizon(info) -> bool:
    """True if the batch's base timestamp holds a delete horizon (attribute bit 6)."""
    return bool(info.attributes & DELETE_HORIZON_MASK)


def iter_records(batch: bytes, info=None) -> list[Record]:
    """Every ``Record`` of one stored batch (``batch`` starts at its header)."""
    return decode_stored_records(batch, info or read_batch_header(batch, 0))


def control_record(batch: bytes, info=None) -> ControlRecord | None:
    """The control record of a control batch, or None (emptied by the cleaner, or unreadable)."""
    try:
        records = iter_records(batch, info)
        return parse_control_record(records[0]) if records else None
    except InvalidBatchError:
        return None


def with_delete_horizon(batch: bytes, info, delete_horizon_ms: int) -> bytes:
    """The batch with its records unchanged and a delete horizon stamped (a marker to drop later)."""
    return rebuild_batch(batch, info, iter_records(batch, info), delete_horizon_ms)


def first_keyless_record(batch: bytes, info) -> int | None:
    """Offset delta of the first record without a key, or None (compacted topics' check)."""
    for i, record in enumerate(iter_records(batch, info)):
        if record.key is None:
            return i
    return None


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
    records = b"".join([encode_record(record.offset - info.base_offset, record.timestamp - base_timestamp,
                                      record.key, record.value, record.headers) for record in kept])
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
    records = iter_records(batch, info)
    kept = [record for record in records if should_retain(record, info)]
    if not kept:
        return empty_batch(info) if retain_empty else b""
    contains_tombstones = any(record.value is None for record in kept)
    needs_horizon = contains_tombstones and not has_delete_horizon(info)
    if len(kept) == len(records) and not needs_horizon:
        return batch  # untouched: byte for byte, same CRC
    horizon = now_ms + delete_retention_ms if needs_horizon else (
        info.first_timestamp if has_delete_horizon(info) else None)
    return rebuild_batch(batch, info, kept, horizon)

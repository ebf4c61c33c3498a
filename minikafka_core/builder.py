"""A small writer of magic v2 record batches (the inverse of ``batch``).

The broker stores what producers send, so it rarely builds batches itself;
this writer serves the tests, the benchmarks and the broker's own records
(control batches, internal topics). It writes exactly the layout described
in ``batch.py`` and computes the CRC-32C last, over ``attributes..end``.

Plain Python: nothing here is on a hot path.
"""

from __future__ import annotations

import struct

import crc32c

_HEADER = struct.Struct(">qiibIhiqqqhii")  # the 61-byte v2 header, field by field


def encode_varint(value: int) -> bytes:
    """Zigzag-encode a signed integer as a protobuf varint."""
    raw = (value << 1) ^ (value >> 63)
    raw &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while raw >= 0x80:
        out.append((raw & 0x7F) | 0x80)
        raw >>= 7
    out.append(raw)
    return bytes(out)


def _encode_bytes(data: bytes | None) -> bytes:
    if data is None:
        return encode_varint(-1)
    return encode_varint(len(data)) + data


def encode_record(offset_delta: int, timestamp_delta: int, key: bytes | None,
                  value: bytes | None, headers=()) -> bytes:
    """One record: length varint, then its body."""
    body = bytearray(b"\x00")  # record attributes: unused in v2
    body += encode_varint(timestamp_delta)
    body += encode_varint(offset_delta)
    body += _encode_bytes(key)
    body += _encode_bytes(value)
    body += encode_varint(len(headers))
    for header_key, header_value in headers:
        body += _encode_bytes(header_key)
        body += _encode_bytes(header_value)
    return encode_varint(len(body)) + bytes(body)


def build_batch(values, *, keys=None, timestamps=None, base_timestamp: int = 0,
                base_offset: int = 0, compression: int = 0, attributes: int = 0,
                producer_id: int = -1, producer_epoch: int = -1, base_sequence: int = -1,
                partition_leader_epoch: int = -1, headers=None) -> bytes:
    """Build one v2 batch holding ``values`` (a list of bytes or None).

    Args:
        values: record values.
        keys: record keys (default: all None).
        timestamps: per-record timestamps (default: all ``base_timestamp``).
        compression: codec id; uses ``minikafka_core.compression``.
        attributes: extra attribute bits (transactional, control, ...).
    """
    keys = keys if keys is not None else [None] * len(values)
    timestamps = timestamps if timestamps is not None else [base_timestamp] * len(values)
    first_timestamp = timestamps[0] if timestamps else base_timestamp
    records = b"".join(
        encode_record(i, timestamps[i] - first_timestamp, keys[i], values[i],
                      headers[i] if headers else ())
        for i in range(len(values)))
    if compression:
        from minikafka_core import compression as codecs

        records = codecs.compress(compression, records)
    return finish_batch(records, record_count=len(values), first_timestamp=first_timestamp,
                        max_timestamp=max(timestamps, default=first_timestamp),
                        base_offset=base_offset, attributes=attributes | compression,
                        producer_id=producer_id, producer_epoch=producer_epoch,
                        base_sequence=base_sequence, partition_leader_epoch=partition_leader_epoch)


def finish_batch(records: bytes, *, record_count: int, first_timestamp: int, max_timestamp: int,
                 base_offset: int = 0, attributes: int = 0, producer_id: int = -1,
                 producer_epoch: int = -1, base_sequence: int = -1,
                 partition_leader_epoch: int = -1, last_offset_delta: int | None = None) -> bytes:
    """Put a header (with a correct CRC) in front of already-encoded records."""
    if last_offset_delta is None:
        last_offset_delta = record_count - 1
    header = bytearray(_HEADER.pack(
        base_offset, 49 + len(records), partition_leader_epoch, 2, 0, attributes,
        last_offset_delta, first_timestamp, max_timestamp, producer_id, producer_epoch,
        base_sequence, record_count))
    crc = crc32c.crc32c(records, crc32c.crc32c(bytes(header[21:])))
    struct.pack_into(">I", header, 17, crc)
    return bytes(header) + records

"""Validation of produced batches, and the fast walks of a fetch (magic v2).

A produce request carries one or more record batches; the broker stores them
exactly as sent, except the first 8 bytes (``base_offset``, assigned by the
leader) and bytes 12-16 (``partition_leader_epoch``). The byte layout of a
batch and of its records is defined in ``records.py``; this module reads
headers (``BatchInfo``) and checks batches *without* building record objects.

``validate_batches`` applies Kafka's checks (``UnifiedLog.analyzeAndValidateRecords``
and ``LogValidator``), in Kafka's order, and raises ``InvalidBatchError`` with
the error code Kafka would answer. ``walk_records`` checks every record's
framing with a ``RecordReader`` cursor, skipping keys and values.
``scan_read_range`` is the hot path of a fetch: it walks batch headers inside
one chunk read from a segment.

This module is compiled by Cython (see ``batch.pxd`` for the C types); the
typed helpers read big-endian integers straight from a buffer, without
creating Python objects, and are written so they compute the same values when
run as plain Python.
"""

from __future__ import annotations

import crc32c
import cython

from minikafka_core.records import (ATTRIBUTES_POS, BASE_OFFSET_POS, BASE_SEQUENCE_POS,
                                    BASE_TIMESTAMP_POS, BATCH_LENGTH_POS, COMPRESSION_MASK,
                                    CONTROL_MASK, CORRUPT_MESSAGE, CRC_POS, CREATE_TIME,
                                    CURRENT_MAGIC, HEADER_SIZE, INVALID_RECORD, INVALID_TIMESTAMP,
                                    InvalidBatchError, LAST_OFFSET_DELTA_POS, LOG_APPEND_TIME,
                                    LOG_OVERHEAD, MAGIC_POS, MAX_TIMESTAMP_POS, MESSAGE_TOO_LARGE,
                                    NO_TIMESTAMP, PARTITION_LEADER_EPOCH_POS, PRODUCER_EPOCH_POS,
                                    PRODUCER_ID_POS, RECORDS_COUNT_POS, RecordReader,
                                    TIMESTAMP_TYPE_MASK, TRANSACTIONAL_MASK,
                                    UNSUPPORTED_COMPRESSION_TYPE, UNSUPPORTED_FOR_MESSAGE_FORMAT,
                                    decode_records, last_sequence_of, timestamp_type_of)

KNOWN_CODECS = (0, 1, 2, 3, 4)  # none, gzip, snappy, lz4, zstd
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


# ---------------------------------------------------------------------------
# Big-endian integers read from a buffer (typed in batch.pxd).


def read_uint32(buf, pos):
    """Return the big-endian uint32 at ``buf[pos:pos + 4]``."""
    # One byte at a time into an unsigned 32-bit value, so C never shifts a
    # signed int into its sign bit.
    value = buf[pos]
    value = (value << 8) | buf[pos + 1]
    value = (value << 8) | buf[pos + 2]
    value = (value << 8) | buf[pos + 3]
    return value


def read_int32(buf, pos):
    """Return the big-endian two's-complement int32 at ``buf[pos:pos + 4]``."""
    value = read_uint32(buf, pos)
    return value - 0x100000000 if value >= 0x80000000 else value


def read_int16(buf, pos):
    """Return the big-endian two's-complement int16 at ``buf[pos:pos + 2]``."""
    value = (buf[pos] << 8) | buf[pos + 1]
    return value - 0x10000 if value >= 0x8000 else value


def read_int64(buf, pos):
    """Return the big-endian two's-complement int64 at ``buf[pos:pos + 8]``."""
    # high * 2**32 + low is exact both in Python and in C's int64.
    return read_int32(buf, pos) * 4294967296 + read_uint32(buf, pos + 4)


# ---------------------------------------------------------------------------
# The header of one batch.


@cython.cclass
class BatchInfo:
    """What the broker needs to know about one batch, read from its header.

    ``position`` is the batch's start in the buffer it was read from and
    ``size`` its length in bytes (``batch_length + 12``). Immutable.
    """

    def __init__(self, position, size, base_offset, partition_leader_epoch, crc, attributes,
                 last_offset_delta, first_timestamp, max_timestamp, producer_id,
                 producer_epoch, base_sequence, record_count):
        self.position = position
        self.size = size
        self.base_offset = base_offset
        self.partition_leader_epoch = partition_leader_epoch
        self.crc = crc
        self.attributes = attributes
        self.last_offset_delta = last_offset_delta
        self.first_timestamp = first_timestamp
        self.max_timestamp = max_timestamp
        self.producer_id = producer_id
        self.producer_epoch = producer_epoch
        self.base_sequence = base_sequence
        self.record_count = record_count

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        return self.base_offset + self.last_offset_delta + 1

    @property
    def compression(self) -> int:
        return self.attributes & COMPRESSION_MASK

    @property
    def timestamp_type(self) -> int:
        """``CREATE_TIME`` (0) or ``LOG_APPEND_TIME`` (1)."""
        return timestamp_type_of(self.attributes)

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & TRANSACTIONAL_MASK)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & CONTROL_MASK)

    @property
    def last_sequence(self) -> int:
        """Sequence number of the last record (``records.last_sequence_of``)."""
        return last_sequence_of(self.base_sequence, self.last_offset_delta)

    def __repr__(self) -> str:
        return (f"BatchInfo(position={self.position}, size={self.size}, "
                f"base_offset={self.base_offset}, last_offset_delta={self.last_offset_delta}, "
                f"record_count={self.record_count}, attributes={self.attributes}, "
                f"producer_id={self.producer_id}, base_sequence={self.base_sequence})")


def read_batch_header(buf, pos):
    """Read the header of the batch at ``buf[pos:]`` (61 bytes must be there)."""
    return BatchInfo(
        pos, read_int32(buf, pos + BATCH_LENGTH_POS) + LOG_OVERHEAD,
        read_int64(buf, pos + BASE_OFFSET_POS),
        read_int32(buf, pos + PARTITION_LEADER_EPOCH_POS),
        read_uint32(buf, pos + CRC_POS), read_int16(buf, pos + ATTRIBUTES_POS),
        read_int32(buf, pos + LAST_OFFSET_DELTA_POS), read_int64(buf, pos + BASE_TIMESTAMP_POS),
        read_int64(buf, pos + MAX_TIMESTAMP_POS), read_int64(buf, pos + PRODUCER_ID_POS),
        read_int16(buf, pos + PRODUCER_EPOCH_POS), read_int32(buf, pos + BASE_SEQUENCE_POS),
        read_int32(buf, pos + RECORDS_COUNT_POS))


# ---------------------------------------------------------------------------
# Records.


def walk_records(reader, record_count, base_timestamp, min_timestamp, max_timestamp_allowed):
    """Walk ``record_count`` records filling the reader exactly, checking each.

    Every record must parse, lie inside its declared length, carry
    ``offset_delta == its index`` and (unless it is -1) a timestamp within
    ``[min_timestamp, max_timestamp_allowed]``.

    Returns:
        The largest record timestamp (-1 if none).
    """
    max_timestamp = NO_TIMESTAMP
    outer_end = reader.end
    for i in range(record_count):
        length = reader.varint()
        body_end = reader.pos + length
        if length < 0 or body_end > outer_end:
            raise InvalidBatchError(INVALID_RECORD, f"Invalid record size {length} of record {i}")
        reader.end = body_end  # the record's fields must stay inside its length
        reader.pos += 1  # attributes (unused in v2)
        timestamp = base_timestamp + reader.varlong()
        offset_delta = reader.varint()
        if offset_delta != i:
            raise InvalidBatchError(INVALID_RECORD,
                                    f"Record {i} has offset delta {offset_delta}, expected {i}")
        reader.skip_bytes(reader.varint())  # key
        reader.skip_bytes(reader.varint())  # value
        header_count = reader.varint()
        if header_count < 0:
            raise InvalidBatchError(INVALID_RECORD, "Found invalid number of record headers")
        for h in range(header_count):
            key_length = reader.varint()
            if key_length < 0:
                raise InvalidBatchError(INVALID_RECORD, "Invalid negative header key size")
            reader.skip_bytes(key_length)
            reader.skip_bytes(reader.varint())  # header value, -1 = null
        if reader.pos != body_end:
            raise InvalidBatchError(INVALID_RECORD,
                                    f"Invalid record size: record {i} declares {length} bytes "
                                    f"but its fields take {length - (body_end - reader.pos)}")
        reader.end = outer_end
        if timestamp != NO_TIMESTAMP and not min_timestamp <= timestamp <= max_timestamp_allowed:
            raise InvalidBatchError(INVALID_TIMESTAMP,
                                    f"Timestamp {timestamp} of record {i} is out of range. The timestamp "
                                    f"should be within [{min_timestamp}, {max_timestamp_allowed}]")
        if timestamp > max_timestamp:
            max_timestamp = timestamp
    if reader.pos != outer_end:
        raise InvalidBatchError(INVALID_RECORD,
                                "Incorrect declared batch size, records still remaining")
    return max_timestamp


def iter_record_timestamps(batch: bytes):
    """Yield ``(offset, timestamp)`` of each record of one stored batch.

    Not the hot path (ListOffsets by timestamp): decompresses when needed.
    """
    for record in decode_stored_records(batch, read_batch_header(batch, 0)):
        yield record.offset, record.timestamp


def decode_stored_records(batch, info) -> list:
    """Every ``Record`` of one batch, decompressed if needed.

    Args:
        batch: the batch's bytes, from its header on.
        info: its header (``info.position`` is not used: ``batch`` starts
            at the header).

    A LogAppendTime batch reports its max timestamp for every record, as
    Kafka's record iterator does.
    """
    area = bytes(_inflate(memoryview(batch)[HEADER_SIZE:info.size], info.compression))
    log_append_time = info.max_timestamp if info.timestamp_type == LOG_APPEND_TIME else NO_TIMESTAMP
    return decode_records(area, 0, len(area), info.base_offset, info.first_timestamp,
                          log_append_time, info.record_count)


def _inflate(view, codec):
    """``view`` (a batch's records area) decompressed with ``codec``; itself for 0."""
    if codec == 0:
        return view
    from minikafka_core import compression  # imported lazily: optional codecs

    try:
        return compression.decompress(codec, view)
    except ValueError as exc:
        raise InvalidBatchError(CORRUPT_MESSAGE, f"Failed to decompress records: {exc}")


# ---------------------------------------------------------------------------
# Validation of produced batches.


def validate_batches(buf, max_message_bytes, now_ms=None, timestamp_type=CREATE_TIME,
                     timestamp_before_max_ms=INT64_MAX, timestamp_after_max_ms=3600000,
                     from_client=True):
    """Validate the batches of a produce request's ``records`` like Kafka's leader.

    Args:
        buf: the records bytes (bytes, bytearray or a contiguous memoryview).
        max_message_bytes: the topic's max.message.bytes; a batch's whole size
            in bytes may not exceed it.
        now_ms: the broker's wall clock; ``None`` skips the timestamp range check.
        timestamp_type: the topic's message.timestamp.type (0 CreateTime, 1
            LogAppendTime); only CreateTime timestamps are range-checked.
        timestamp_before_max_ms: message.timestamp.before.max.ms.
        timestamp_after_max_ms: message.timestamp.after.max.ms.
        from_client: a producer's batches (control batches and non-zero base
            offsets refused), as opposed to a replica's or the coordinator's.

    Returns:
        One ``BatchInfo`` per batch, ``position`` relative to ``buf``.

    Raises:
        InvalidBatchError: with Kafka's error code and a precise reason.
    """
    view = memoryview(buf).cast("B") if not isinstance(buf, bytes) else buf
    min_timestamp, max_timestamp = INT64_MIN, INT64_MAX
    if now_ms is not None and timestamp_type == CREATE_TIME:
        min_timestamp = max(INT64_MIN, now_ms - timestamp_before_max_ms)
        max_timestamp = min(INT64_MAX, now_ms + timestamp_after_max_ms)
    infos = []
    pos = 0
    while pos < len(view):
        info = _check_batch_framing(view, pos, max_message_bytes)
        _check_batch_header(info, from_client)
        records = _inflate(memoryview(view)[info.position + HEADER_SIZE:info.position + info.size],
                           info.compression)
        reader = RecordReader(records, 0, len(records))
        walk_records(reader, info.record_count, info.first_timestamp, min_timestamp, max_timestamp)
        infos.append(info)
        pos += info.size
    if not infos:
        raise InvalidBatchError(CORRUPT_MESSAGE, "No record batch in the records")
    return infos


def check_replica_batches(buf):
    """Check a leader's batches as a follower appends them: framing, CRC, header.

    Kafka's follower append (``UnifiedLog.appendAsFollower``) checks each
    batch's size and CRC32C (``ensureValid``) and the offsets in its header,
    and does not walk the records: the leader validated every record when it
    appended them, and the CRC proves the bytes are the leader's. So this is
    ``validate_batches`` without the record walk, the timestamp range and
    ``max.message.bytes`` (the leader's offsets, epochs and timestamps are
    kept as they are).

    Returns:
        One ``BatchInfo`` per batch, ``position`` relative to ``buf``.

    Raises:
        InvalidBatchError: CORRUPT_MESSAGE and the like, as ``validate_batches``.
    """
    view = memoryview(buf).cast("B") if not isinstance(buf, bytes) else buf
    infos = []
    pos = 0
    while pos < len(view):
        info = _check_batch_framing(view, pos, INT64_MAX)
        _check_batch_header(info, False)
        infos.append(info)
        pos += info.size
    if not infos:
        raise InvalidBatchError(CORRUPT_MESSAGE, "No record batch in the records")
    return infos


def _check_batch_framing(view, pos, max_message_bytes):
    """Check sizes, magic and CRC of the batch at ``pos``; return its header."""
    remaining = len(view) - pos
    if remaining < HEADER_SIZE:
        raise InvalidBatchError(CORRUPT_MESSAGE,
                                f"{remaining} bytes at position {pos} are too short for a "
                                f"record batch header ({HEADER_SIZE} bytes)")
    size = read_int32(view, pos + BATCH_LENGTH_POS) + LOG_OVERHEAD
    if size < HEADER_SIZE or size > remaining:
        raise InvalidBatchError(CORRUPT_MESSAGE,
                                f"batchLength {size - LOG_OVERHEAD} at position {pos} does not fit "
                                f"the {remaining} remaining bytes (header is {HEADER_SIZE})")
    magic = view[pos + MAGIC_POS]
    if magic in (0, 1):
        raise InvalidBatchError(UNSUPPORTED_FOR_MESSAGE_FORMAT,
                                f"Message format v{magic} is not supported; only magic 2 is")
    if magic != CURRENT_MAGIC:
        raise InvalidBatchError(CORRUPT_MESSAGE, f"Invalid magic found in record: {magic}")
    if size > max_message_bytes:
        raise InvalidBatchError(MESSAGE_TOO_LARGE,
                                f"The record batch size is {size} bytes which exceeds the maximum "
                                f"configured value of {max_message_bytes}")
    info = read_batch_header(view, pos)
    computed = crc32c.crc32c(view[pos + ATTRIBUTES_POS:pos + size])
    if computed != info.crc:
        raise InvalidBatchError(CORRUPT_MESSAGE,
                                f"Record is corrupt (stored crc = {info.crc}, computed crc = {computed})")
    return info


def _check_batch_header(info, from_client):
    """The header checks of Kafka's LogValidator.validateBatch, in its order."""
    if from_client and info.base_offset != 0:
        raise InvalidBatchError(INVALID_RECORD,
                                f"The baseOffset of the record batch should be 0, but it is {info.base_offset}")
    if info.record_count <= 0:
        raise InvalidBatchError(INVALID_RECORD,
                                f"Invalid reported count for record batch: {info.record_count}")
    if info.last_offset_delta != info.record_count - 1:
        raise InvalidBatchError(INVALID_RECORD,
                                f"Inconsistent batch offset range [0, {info.last_offset_delta}] and "
                                f"count of records {info.record_count}")
    if info.compression not in KNOWN_CODECS:
        raise InvalidBatchError(UNSUPPORTED_COMPRESSION_TYPE,
                                f"Unknown compression type id {info.compression}")
    if from_client and info.is_control:
        raise InvalidBatchError(INVALID_RECORD, "Clients are not allowed to write control records")
    if from_client and info.producer_id >= 0 and info.base_sequence < 0:
        raise InvalidBatchError(INVALID_RECORD,
                                f"Invalid sequence number {info.base_sequence} in record batch "
                                f"with producerId {info.producer_id}")
    if from_client and info.timestamp_type == LOG_APPEND_TIME:
        raise InvalidBatchError(INVALID_TIMESTAMP,
                                "Producer should not set timestamp type to LogAppendTime")


# ---------------------------------------------------------------------------
# The fetch walk.


def scan_read_range(buf, offset, max_offset, max_bytes, min_one_batch):
    """Find the whole batches of a fetch inside a chunk read from a segment.

    ``buf`` starts at a batch boundary (an offset-index position). Batches
    whose last offset is below ``offset`` are skipped; then batches are taken
    while their last offset is below ``max_offset`` and their total stays
    within ``max_bytes`` (the first one regardless when ``min_one_batch``).

    Returns:
        ``(start, end, needed)``: the batches are ``buf[start:end]``. When no
        batch containing ``offset`` starts inside ``buf``, ``start`` is where
        the scan stopped (read on from there). ``needed`` > 0 means the first
        batch is wanted but only partly in ``buf``: read ``needed`` bytes at
        ``start``.
    """
    n = len(buf)
    header = LAST_OFFSET_DELTA_POS + 4  # enough of a header to know the offsets
    pos = 0
    while pos + header <= n:
        last_offset = read_int64(buf, pos) + read_int32(buf, pos + LAST_OFFSET_DELTA_POS)
        if last_offset >= offset:
            break
        pos += read_int32(buf, pos + BATCH_LENGTH_POS) + LOG_OVERHEAD
    end = pos
    while end + header <= n:
        size = read_int32(buf, end + BATCH_LENGTH_POS) + LOG_OVERHEAD
        last_offset = read_int64(buf, end) + read_int32(buf, end + LAST_OFFSET_DELTA_POS)
        if last_offset >= max_offset:
            break
        first = end == pos
        if end + size - pos > max_bytes and not (first and min_one_batch):
            break
        if end + size > n:
            return (pos, end, size if first else 0)
        end += size
    return (pos, end, 0)

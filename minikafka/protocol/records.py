"""Magic v2 record batches in pure Python: a builder and a reader.

Clients, tools (``minikafka dump-log``) and tests use this module; the
broker's hot path does not (it validates batches in ``minikafka_core`` and
never decodes records). The format is KIP-98's, unchanged since Kafka 0.11
except for the delete-horizon flag of KIP-534.

A batch (all integers big-endian)::

    offset  size  field
         0     8  base_offset
         8     4  batch_length            bytes after this field
        12     4  partition_leader_epoch
        16     1  magic                   2
        17     4  crc                     CRC32C of bytes 21.. (uint32)
        21     2  attributes              bits 0-2 compression codec,
                                          3 timestamp type (1 LogAppendTime),
                                          4 transactional, 5 control,
                                          6 has delete horizon (KIP-534)
        23     4  last_offset_delta
        27     8  base_timestamp          first record's timestamp
        35     8  max_timestamp
        43     8  producer_id
        51     2  producer_epoch
        53     4  base_sequence
        57     4  record_count
        61     -  records                 compressed as one unit if codec != 0

A record (varint = zigzag varint, as protobuf)::

    length varint, attributes int8 (unused, 0), timestamp_delta varlong,
    offset_delta varint, key_length varint (-1 = null), key,
    value_length varint (-1 = null), value, header_count varint,
    then per header: key_length varint, key (UTF-8), value_length varint
    (-1 = null), value

A *control batch* (attributes bit 5) holds one control record written by a
transaction coordinator: its key is ``version int16, type int16`` (Kafka's
ControlRecordType: 0 ABORT, 1 COMMIT) and its value the EndTransactionMarker
``version int16, coordinator_epoch int32``.

``read_batches`` stops quietly at a partial batch at the end of the buffer: a
fetch response may cut its last batch short (``max_bytes``), and the consumer
simply fetches it again from that offset.
"""

from __future__ import annotations

import dataclasses
import enum
import struct
from typing import Iterator, Sequence

import crc32c

from minikafka.protocol.primitives import read_varint, read_varlong
from minikafka_core import compression as codecs
from minikafka_core.builder import encode_record, finish_batch  # the one batch writer

MAGIC = 2

# The fixed header, in one struct: the fields in the order of the table above.
HEADER = struct.Struct(">qiibIhiqqqhii")
HEADER_SIZE = HEADER.size  # 61
assert HEADER_SIZE == 61

# base_offset + batch_length: what must be read to know a batch's size.
LOG_OVERHEAD = 12
# The CRC covers everything from the attributes to the end of the batch.
CRC_OFFSET = 17
ATTRIBUTES_OFFSET = 21
MAGIC_OFFSET = 16

COMPRESSION_MASK = 0x07
TIMESTAMP_TYPE_MASK = 0x08
TRANSACTIONAL_MASK = 0x10
CONTROL_MASK = 0x20
DELETE_HORIZON_MASK = 0x40

NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
NO_SEQUENCE = -1
NO_PARTITION_LEADER_EPOCH = -1

CREATE_TIME = 0
LOG_APPEND_TIME = 1
TIMESTAMP_TYPE_NAMES = {CREATE_TIME: "CreateTime", LOG_APPEND_TIME: "LogAppendTime"}

_CONTROL_KEY = struct.Struct(">hh")
_END_TXN_MARKER = struct.Struct(">hi")


class ControlRecordType(enum.IntEnum):
    """Kafka's ControlRecordType: the ``type`` in a control record's key.

    ABORT and COMMIT are transaction markers; the others are written by the
    KRaft quorum into its own log (leader changes, snapshot bounds, voters).
    """

    ABORT = 0
    COMMIT = 1
    LEADER_CHANGE = 2
    SNAPSHOT_HEADER = 3
    SNAPSHOT_FOOTER = 4
    KRAFT_VERSION = 5
    KRAFT_VOTERS = 6


@dataclasses.dataclass(frozen=True)
class Record:
    """One record: an absolute offset, a timestamp, key, value and headers.

    ``key`` and ``value`` are ``bytes`` or ``None`` (null, which is not the
    same as empty); header values likewise. Header keys are ``str``.
    """

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class ControlRecord:
    """A decoded control record (key and, for ABORT/COMMIT, value)."""

    version: int
    type: int
    coordinator_epoch: int | None = None


@dataclasses.dataclass
class Batch:
    """One record batch as read from a buffer: header fields and records.

    ``position`` is the batch's byte position in the buffer it was read from
    and ``size`` its total size (``batch_length + 12``). ``records`` is
    ``None`` when the reader was asked not to decode them.
    """

    position: int
    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    record_count: int
    crc_valid: bool
    records: list[Record] | None = None

    @property
    def size(self) -> int:
        return self.batch_length + LOG_OVERHEAD

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        return self.last_offset + 1

    @property
    def compression(self) -> int:
        return self.attributes & COMPRESSION_MASK

    @property
    def timestamp_type(self) -> int:
        return LOG_APPEND_TIME if self.attributes & TIMESTAMP_TYPE_MASK else CREATE_TIME

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & TRANSACTIONAL_MASK)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & CONTROL_MASK)

    @property
    def delete_horizon_ms(self) -> int | None:
        """KIP-534: when set, ``base_timestamp`` holds the delete horizon."""
        return self.base_timestamp if self.attributes & DELETE_HORIZON_MASK else None

    @property
    def last_sequence(self) -> int:
        """Sequence number of the last record; wraps at 2**31 like Kafka."""
        if self.base_sequence == NO_SEQUENCE:
            return NO_SEQUENCE
        return (self.base_sequence + self.last_offset_delta) % 2**31

    @property
    def control_records(self) -> list[ControlRecord]:
        """The decoded control records of a control batch ([] otherwise)."""
        if not self.is_control or not self.records:
            return []
        return [parse_control_record(r) for r in self.records]


# --- building ------------------------------------------------------------


def build_batch(
    records: Sequence[Record],
    *,
    base_offset: int = 0,
    compression: int = 0,
    producer_id: int = NO_PRODUCER_ID,
    producer_epoch: int = NO_PRODUCER_EPOCH,
    base_sequence: int = NO_SEQUENCE,
    is_transactional: bool = False,
    timestamp_type: int = CREATE_TIME,
    partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH,
    is_control: bool = False,
    compression_level: int | None = None,
) -> bytes:
    """Encode ``records`` as one magic v2 batch, as Kafka's Java client does.

    Each record's offset delta is ``record.offset - base_offset``; the
    batch's ``last_offset_delta`` is that of the last record, its
    ``base_timestamp`` the first record's timestamp and ``max_timestamp`` the
    largest one (Java's MemoryRecordsBuilder).

    Args:
        records: At least one record, in offset order.
        base_offset: Offset of the first record slot (the broker rewrites it).
        compression: Codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
        producer_id, producer_epoch, base_sequence: Idempotence fields
            (-1 when the producer is not idempotent).
        is_transactional: Set the transactional attribute bit.
        timestamp_type: 0 CreateTime, 1 LogAppendTime.
        partition_leader_epoch: The leader epoch the broker stamps (-1 from a
            producer).
        is_control: Set the control attribute bit (see
            ``build_control_batch``).
        compression_level: Codec level; ``None`` is Kafka's default.

    Returns:
        The batch bytes, CRC included.

    Raises:
        ValueError: No records, or an unknown codec.
    """
    if not records:
        raise ValueError("a record batch needs at least one record")
    base_timestamp = records[0].timestamp
    body = b"".join(
        encode_record(record.offset - base_offset, record.timestamp - base_timestamp,
                      record.key, record.value,
                      [(k.encode("utf-8"), v) for k, v in record.headers])
        for record in records)
    attributes = (
        compression
        | (TIMESTAMP_TYPE_MASK if timestamp_type == LOG_APPEND_TIME else 0)
        | (TRANSACTIONAL_MASK if is_transactional else 0)
        | (CONTROL_MASK if is_control else 0)
    )
    return finish_batch(
        codecs.compress(compression, body, compression_level),
        record_count=len(records),
        first_timestamp=base_timestamp,
        max_timestamp=max(record.timestamp for record in records),
        last_offset_delta=records[-1].offset - base_offset,
        base_offset=base_offset,
        attributes=attributes,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=base_sequence,
        partition_leader_epoch=partition_leader_epoch,
    )


def build_control_batch(
    control_type: ControlRecordType,
    *,
    producer_id: int,
    producer_epoch: int,
    timestamp: int,
    coordinator_epoch: int = 0,
    base_offset: int = 0,
    partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH,
) -> bytes:
    """Encode a transaction marker batch, as Kafka's ``withEndTransactionMarker``.

    One control record: key ``(version 0, type)``, value the
    EndTransactionMarker ``(version 0, coordinator_epoch)``. The batch is
    transactional and control, with no sequence number.
    """
    record = Record(
        offset=base_offset,
        timestamp=timestamp,
        key=_CONTROL_KEY.pack(0, int(control_type)),
        value=_END_TXN_MARKER.pack(0, coordinator_epoch),
    )
    return build_batch(
        [record],
        base_offset=base_offset,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        is_transactional=True,
        is_control=True,
        partition_leader_epoch=partition_leader_epoch,
    )


# --- reading -------------------------------------------------------------


def read_batches(buf, *, decode_records: bool = True) -> Iterator[Batch]:
    """Yield the batches of ``buf`` (a fetch response's ``records``, a segment).

    A partial batch at the end of ``buf`` ends the iteration without error
    (Kafka may send one); its bytes start at the last yielded batch's
    ``position + size``.

    Args:
        buf: Any bytes-like object holding concatenated magic v2 batches.
        decode_records: Decompress and decode each batch's records; when
            false, ``Batch.records`` is ``None`` and only the header and CRC
            are checked.

    Raises:
        ValueError: A batch is corrupt (impossible length, not magic 2,
            undecodable records). A CRC mismatch is not an error: it is
            reported as ``Batch.crc_valid``, and records are then not decoded.
    """
    view = memoryview(buf).cast("B")
    position = 0
    while True:
        try:
            size = next_batch_size(view, position)
        except ValueError as exc:
            raise ValueError(f"corrupt record batch at position {position}: {exc}") from None
        if size is None or position + size > len(view):
            return
        yield parse_batch(view[position : position + size], position=position, decode_records=decode_records)
        position += size


def next_batch_size(buf, position: int = 0) -> int | None:
    """Total size of the batch starting at ``position``, from its header.

    Returns:
        The size in bytes (``batch_length + 12``), or ``None`` when fewer than
        the 17 bytes needed to know it and its magic remain.

    Raises:
        ValueError: The magic is not 2 or the length cannot be a v2 batch.
    """
    if len(buf) - position < MAGIC_OFFSET + 1:
        return None
    (batch_length,) = struct.unpack_from(">i", buf, position + 8)
    magic = buf[position + MAGIC_OFFSET]
    if magic != MAGIC:
        raise ValueError(f"unsupported record batch magic {magic} (only v2 is supported)")
    if batch_length < HEADER_SIZE - LOG_OVERHEAD:
        raise ValueError(f"batch length {batch_length} is too small for a v2 batch")
    return batch_length + LOG_OVERHEAD


def parse_batch(buf, *, position: int = 0, decode_records: bool = True) -> Batch:
    """Decode exactly one complete batch (``buf`` holds it and nothing else).

    Args:
        buf: The batch's bytes.
        position: Where the batch was in its file or response (for reports).
        decode_records: Also decompress and decode the records (skipped when
            the CRC does not match: the bytes cannot be trusted).

    Raises:
        ValueError: ``buf`` is shorter than its header says, or the records
            cannot be decoded.
    """
    view = memoryview(buf)
    if len(view) < HEADER_SIZE:
        raise ValueError(f"truncated record batch at position {position}: {len(view)} bytes")
    fields = HEADER.unpack_from(view, 0)
    batch = Batch(position, *fields, crc_valid=False)
    if batch.size != len(view):
        raise ValueError(f"record batch at position {position} declares {batch.size} bytes but has {len(view)}")
    batch.crc_valid = crc32c.crc32c(view[ATTRIBUTES_OFFSET:]) == batch.crc
    if decode_records and batch.crc_valid:
        batch.records = decode_records_of(batch, view[HEADER_SIZE:])
    return batch


def decode_records_of(batch: Batch, payload) -> list[Record]:
    """Decompress ``payload`` (the bytes after the header) and decode records.

    Raises:
        ValueError: Corrupt compressed data, a malformed record, or a record
            count that does not match the bytes (Java's "Incorrect declared
            batch size").
    """
    try:
        data = memoryview(codecs.decompress(batch.compression, payload))
    except ValueError as exc:
        raise ValueError(f"record batch at position {batch.position}: {exc}") from None
    log_append_time = batch.max_timestamp if batch.timestamp_type == LOG_APPEND_TIME else None
    records = []
    pos = 0
    for _ in range(batch.record_count):
        record, pos = _read_record(data, pos, batch, log_append_time)
        records.append(record)
    if pos != len(data):
        raise ValueError(
            f"record batch at position {batch.position}: {len(data) - pos} bytes remain after "
            f"its {batch.record_count} declared records"
        )
    return records


def _read_record(data: memoryview, pos: int, batch: Batch, log_append_time: int | None) -> tuple[Record, int]:
    """Read one record at ``pos``; return it and the position after it."""
    length, pos = read_varint(data, pos)
    end = pos + length
    if length < 0 or end > len(data):
        raise ValueError(f"record batch at position {batch.position}: record of {length} bytes overruns the batch")
    record_data = data[:end]  # bounds every read below to this record
    pos += 1  # record attributes: unused
    timestamp_delta, pos = read_varlong(record_data, pos)
    offset_delta, pos = read_varint(record_data, pos)
    key, pos = _read_nullable_bytes(record_data, pos)
    value, pos = _read_nullable_bytes(record_data, pos)
    header_count, pos = read_varint(record_data, pos)
    if header_count < 0:
        raise ValueError(f"record batch at position {batch.position}: negative header count")
    headers = []
    for _ in range(header_count):
        header_key, pos = _read_nullable_bytes(record_data, pos)
        if header_key is None:
            raise ValueError(f"record batch at position {batch.position}: null header key")
        header_value, pos = _read_nullable_bytes(record_data, pos)
        headers.append((header_key.decode("utf-8", "replace"), header_value))
    if pos != end:
        raise ValueError(f"record batch at position {batch.position}: record length does not match its fields")
    timestamp = log_append_time if log_append_time is not None else batch.base_timestamp + timestamp_delta
    return Record(batch.base_offset + offset_delta, timestamp, key, value, headers), end


def _read_nullable_bytes(data: memoryview, pos: int) -> tuple[bytes | None, int]:
    length, pos = read_varint(data, pos)
    if length < 0:
        return None, pos
    end = pos + length
    if end > len(data):
        raise ValueError(f"truncated record field of {length} bytes at byte {pos}")
    return bytes(data[pos:end]), end


def parse_control_record(record: Record) -> ControlRecord:
    """Decode a control record's key (and EndTransactionMarker value).

    Raises:
        ValueError: The key is shorter than 4 bytes or has a negative version.
    """
    if record.key is None or len(record.key) < _CONTROL_KEY.size:
        raise ValueError(f"control record at offset {record.offset} has no valid key")
    version, control_type = _CONTROL_KEY.unpack_from(record.key)
    if version < 0:
        raise ValueError(f"control record at offset {record.offset} has invalid version {version}")
    coordinator_epoch = None
    if control_type in (ControlRecordType.ABORT, ControlRecordType.COMMIT):
        if record.value is None or len(record.value) < _END_TXN_MARKER.size:
            raise ValueError(f"transaction marker at offset {record.offset} has no valid value")
        _, coordinator_epoch = _END_TXN_MARKER.unpack_from(record.value)
    return ControlRecord(version, control_type, coordinator_epoch)

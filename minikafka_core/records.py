"""Record batches (magic v2) and their records: the one layout, encoder and decoder.

Everything that writes or reads records uses this module: the broker's
validation (``batch.py``), the log cleaner, the coordinators and the quorum
(their own records), ``minikafka dump-log``, the bundled clients and the
tests. The format is KIP-98's, unchanged since Kafka 0.11 but for the
delete-horizon flag of KIP-534.

A batch (all integers big-endian)::

    pos  size  field
      0     8  base_offset            first offset in the batch (the leader assigns it)
      8     4  batch_length           bytes after this field (size - 12)
     12     4  partition_leader_epoch the leader stamps it
     16     1  magic                  2
     17     4  crc                    CRC-32C of bytes 21..end (uint32)
     21     2  attributes             bits 0-2 compression codec, 3 timestamp type
                                      (1 LogAppendTime), 4 transactional, 5 control,
                                      6 delete horizon (KIP-534)
     23     4  last_offset_delta      offset of the last record - base_offset
     27     8  base_timestamp         the first record's timestamp (or the delete horizon)
     35     8  max_timestamp
     43     8  producer_id            -1 without idempotence
     51     2  producer_epoch
     53     4  base_sequence          -1 without idempotence
     57     4  record_count
     61        records                compressed as one unit when bits 0-2 are not 0

A record (varint = zigzag varint, as protobuf; varlong the same on 64 bits)::

    length varint           bytes after this field
    attributes int8         unused, 0
    timestamp_delta varlong from base_timestamp
    offset_delta varint     from base_offset
    key_length varint       -1 = null; then the key
    value_length varint     -1 = null; then the value
    header_count varint
    per header: key_length varint, key (UTF-8), value_length varint (-1 = null), value

A *control batch* (attributes bit 5) holds control records: the key is
``version int16, type int16`` (``ControlRecordType``); for ABORT and COMMIT
(transaction markers) the value is the EndTransactionMarker ``version int16,
coordinator_epoch int32``.

Decoding is the bundled consumer's hot path: ``read_batches`` walks a fetch
response and ``parse_batch`` decodes all the records of one batch in one
compiled loop (``decode_records``), which builds ``Record`` objects straight
from the buffer. ``read_batches`` stops quietly at a partial batch at the end
of the buffer: a fetch response may cut its last batch short (``max_bytes``),
and the consumer fetches it again from that offset.

Encoding is the bundled producer's hot path: ``append_record`` encodes each
record at the end of the producer's open batch as it arrives (refusing it
when the batch is full), and ``finish_batch`` puts the 61-byte header (CRC
last) in front at send time. ``build_batch`` does both for a list of
``Record`` objects (the broker's own records, tools, tests).

``read_batches`` and ``parse_batch`` check the CRC before decoding;
``batch.py`` validates a produced batch without building record objects at
all.

Errors are ``InvalidBatchError``: a ``ValueError`` carrying the numeric
Kafka error code a broker answers (the core imports nothing from
``minikafka``; the broker maps the code to its ``ErrorCode``).

This module is compiled by Cython (``records.pxd`` gives the C types) and
runs unchanged as plain Python with ``MINIKAFKA_PURE=1``.
"""

from __future__ import annotations

import enum
import struct

import crc32c
import cython

from minikafka_core import compression as codecs

# --- the batch header ------------------------------------------------------

HEADER_SIZE = 61
LOG_OVERHEAD = 12  # base_offset + batch_length: what batch_length does not count
CURRENT_MAGIC = 2

# Byte positions of the header fields, from the start of the batch.
BASE_OFFSET_POS = 0
BATCH_LENGTH_POS = 8
PARTITION_LEADER_EPOCH_POS = 12
MAGIC_POS = 16
CRC_POS = 17
ATTRIBUTES_POS = 21  # the CRC covers everything from here to the end
LAST_OFFSET_DELTA_POS = 23
BASE_TIMESTAMP_POS = 27
MAX_TIMESTAMP_POS = 35
PRODUCER_ID_POS = 43
PRODUCER_EPOCH_POS = 51
BASE_SEQUENCE_POS = 53
RECORDS_COUNT_POS = 57

# The whole header in one struct, fields in the order of the table above.
HEADER = struct.Struct(">qiibIhiqqqhii")

COMPRESSION_MASK = 0x07
TIMESTAMP_TYPE_MASK = 0x08  # set: LogAppendTime, clear: CreateTime
TRANSACTIONAL_MASK = 0x10
CONTROL_MASK = 0x20
DELETE_HORIZON_MASK = 0x40

CREATE_TIME = 0
LOG_APPEND_TIME = 1
TIMESTAMP_TYPE_NAMES = {CREATE_TIME: "CreateTime", LOG_APPEND_TIME: "LogAppendTime"}
NO_TIMESTAMP = -1
NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
NO_SEQUENCE = -1
NO_PARTITION_LEADER_EPOCH = -1

_CONTROL_KEY = struct.Struct(">hh")  # version, type
_END_TXN_MARKER = struct.Struct(">hi")  # version, coordinator_epoch

# --- errors ------------------------------------------------------------------

# The Kafka error codes the core reports (numbers: the broker maps them to
# its ErrorCode; the core imports nothing from minikafka).
CORRUPT_MESSAGE = 2
MESSAGE_TOO_LARGE = 10
INVALID_TIMESTAMP = 32
UNSUPPORTED_FOR_MESSAGE_FORMAT = 43
UNSUPPORTED_COMPRESSION_TYPE = 76
INVALID_RECORD = 87


class InvalidBatchError(ValueError):
    """Bytes that are not a valid batch, or a batch Kafka would refuse.

    Args:
        code: the Kafka error code a broker answers for the partition
            (``CORRUPT_MESSAGE``, ``INVALID_RECORD``, ...).
        reason: a precise, human-readable reason (Kafka's wording where
            Kafka has one); it is the exception's message.
    """

    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


# --- varints -----------------------------------------------------------------


@cython.cclass
class RecordReader:
    """A cursor over records: ``buf[pos:end]``. Raises INVALID_RECORD past ``end``.

    ``end`` may be narrowed to one record's end while its fields are read.
    Not shared: one reader per walk.
    """

    def __init__(self, buf, pos, end):
        self.buf = buf
        self.pos = pos
        self.end = end

    def varlong(self):
        """Read a zigzag varlong (at most 10 bytes), as Kafka's ByteUtils.readVarlong."""
        raw = 0
        shift = 0
        while True:
            if self.pos >= self.end:
                raise InvalidBatchError(INVALID_RECORD, "Found invalid record structure")
            byte = self.buf[self.pos]
            self.pos += 1
            raw |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
            shift += 7
            if shift > 63:
                raise InvalidBatchError(INVALID_RECORD, "Varlong is too long")
        if not cython.compiled:
            raw &= 0xFFFFFFFFFFFFFFFF  # what C's uint64 keeps; makes pure Python agree
        return (raw >> 1) ^ -(raw & 1)

    def varint(self):
        """Read a zigzag varint (at most 5 bytes), as Kafka's ByteUtils.readVarint."""
        raw = 0
        shift = 0
        while True:
            if self.pos >= self.end:
                raise InvalidBatchError(INVALID_RECORD, "Found invalid record structure")
            byte = self.buf[self.pos]
            self.pos += 1
            raw |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
            shift += 7
            if shift > 28:
                raise InvalidBatchError(INVALID_RECORD, "Varint is too long")
        raw &= 0xFFFFFFFF
        return ((raw >> 1) ^ -(raw & 1)) if cython.compiled else _to_int32((raw >> 1) ^ -(raw & 1))

    def skip_bytes(self, length):
        """Skip a key, value or header of ``length`` bytes (-1 means null)."""
        if length < -1 or self.pos + length > self.end:
            raise InvalidBatchError(INVALID_RECORD, f"Invalid field length {length}")
        if length > 0:
            self.pos += length


def _to_int32(value):
    """Wrap a Python int into int32 range (what C does implicitly)."""
    value &= 0xFFFFFFFF
    return value - 0x100000000 if value >= 0x80000000 else value


def _zigzag(value):
    """Zigzag-map a signed 64-bit value to unsigned (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...)."""
    raw = value  # compiled: the same 64 bits as uint64, so the shift cannot overflow
    raw = (raw << 1) ^ (value >> 63)
    if not cython.compiled:  # Python ints are unbounded: keep what C's uint64 keeps
        raw &= 0xFFFFFFFFFFFFFFFF
    return raw


def varint_size(value):
    """Bytes the zigzag varint (or varlong) encoding of ``value`` takes."""
    raw = _zigzag(value)
    size = 1
    while raw >= 0x80:
        raw >>= 7
        size += 1
    return size


def append_varint(out, value):
    """Append ``value`` zigzag-encoded (protobuf's varint, up to 64 bits) to the bytearray ``out``."""
    raw = _zigzag(value)
    while raw >= 0x80:
        byte = (raw & 0x7F) | 0x80
        out.append(byte)
        raw >>= 7
    byte = raw
    out.append(byte)
    return 0


def encode_varint(value: int) -> bytes:
    """Zigzag-encode a signed integer (up to 64 bits) as a protobuf varint."""
    out = bytearray()
    append_varint(out, value)
    return bytes(out)


# --- records -----------------------------------------------------------------


@cython.cclass
class Record:
    """One record: its absolute offset, timestamp, key, value and headers.

    ``key`` and ``value`` are ``bytes`` or ``None`` (null, which is not the
    same as empty); header values likewise. Header keys are ``str``. A
    decoded record's ``timestamp`` is already absolute (the batch's
    ``max_timestamp`` under LogAppendTime, as Kafka's iterator reports).
    Immutable once built.
    """

    def __init__(self, offset, timestamp, key=None, value=None, headers=None):
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = [] if headers is None else list(headers)

    def __eq__(self, other):
        if not isinstance(other, Record):
            return NotImplemented
        return (self.offset == other.offset and self.timestamp == other.timestamp
                and self.key == other.key and self.value == other.value
                and self.headers == other.headers)

    def __repr__(self):
        return (f"Record(offset={self.offset}, timestamp={self.timestamp}, key={self.key!r}, "
                f"value={self.value!r}, headers={self.headers!r})")


def encode_record(offset_delta, timestamp_delta, key, value, headers=()):
    """Encode one record, its length varint first (see ``append_record``).

    Returns:
        The record's bytes, as Kafka's ``DefaultRecord.writeTo`` writes them.
    """
    out = bytearray()
    append_record(out, offset_delta, timestamp_delta, key, value, headers, -1)
    return bytes(out)


def append_record(out, offset_delta, timestamp_delta, key, value, headers=(), max_size=-1):
    """Encode one record at the end of the bytearray ``out``, unless it would not fit.

    The producer encodes each record straight into its open batch this way:
    no intermediate object per record.

    Args:
        out: the bytearray to extend.
        offset_delta: the record's offset minus the batch's base offset.
        timestamp_delta: its timestamp minus the batch's base timestamp.
        key, value: bytes-like or None (null).
        headers: ``(key, value)`` pairs; keys ``str`` (UTF-8) or bytes,
            values bytes-like or None.
        max_size: when >= 0, leave ``out`` unchanged if it would grow past
            this many bytes.

    Returns:
        The record's size in bytes, or 0 if it did not fit.
    """
    if headers:
        headers = [(k.encode("utf-8") if isinstance(k, str) else k, v) for k, v in headers]
    key_length = -1 if key is None else len(key)
    value_length = -1 if value is None else len(value)
    body_size = (1 + varint_size(timestamp_delta) + varint_size(offset_delta)
                 + varint_size(key_length) + max(key_length, 0)
                 + varint_size(value_length) + max(value_length, 0) + varint_size(len(headers)))
    for header_key, header_value in headers:
        header_value_length = -1 if header_value is None else len(header_value)
        body_size += (varint_size(len(header_key)) + len(header_key)
                      + varint_size(header_value_length) + max(header_value_length, 0))
    size = varint_size(body_size) + body_size
    if 0 <= max_size < len(out) + size:
        return 0
    append_varint(out, body_size)
    out.append(0)  # record attributes: unused in v2
    append_varint(out, timestamp_delta)
    append_varint(out, offset_delta)
    _append_bytes(out, key, key_length)
    _append_bytes(out, value, value_length)
    append_varint(out, len(headers))
    for header_key, header_value in headers:
        _append_bytes(out, header_key, len(header_key))
        _append_bytes(out, header_value, -1 if header_value is None else len(header_value))
    return size


def _append_bytes(out, data, length):
    """Append a length varint (-1 = null) and ``data`` to ``out``."""
    append_varint(out, length)
    if length > 0:
        out += data
    return 0


def decode_records(data, start, end, base_offset, base_timestamp, log_append_time, record_count):
    """Decode the ``record_count`` records of ``data[start:end]`` into ``Record`` objects.

    Args:
        data: bytes holding the (decompressed) records.
        start, end: where the records are in ``data``.
        base_offset, base_timestamp: the batch's, to make offsets and
            timestamps absolute.
        log_append_time: the timestamp of every record (a LogAppendTime
            batch's ``max_timestamp``), or ``NO_TIMESTAMP`` for CreateTime.
        record_count: how many records the header declares.

    Raises:
        InvalidBatchError: a malformed record, or bytes left over after the
            declared records (Java's "Incorrect declared batch size").
    """
    reader = RecordReader(data, start, end)
    records = []
    for i in range(record_count):
        reader.end = end
        length = reader.varint()
        record_end = reader.pos + length
        if length < 0 or record_end > end:
            raise InvalidBatchError(CORRUPT_MESSAGE, f"record {i} of {length} bytes overruns the batch")
        reader.end = record_end  # the record's fields must stay inside its length
        reader.pos += 1  # attributes: unused
        timestamp_delta = reader.varlong()
        offset_delta = reader.varint()
        key = _read_bytes(reader, data)
        value = _read_bytes(reader, data)
        header_count = reader.varint()
        if header_count < 0:
            raise InvalidBatchError(CORRUPT_MESSAGE, f"record {i} has a negative header count")
        headers = []
        for _ in range(header_count):
            header_key = _read_bytes(reader, data)
            if header_key is None:
                raise InvalidBatchError(CORRUPT_MESSAGE, f"record {i} has a null header key")
            headers.append((header_key.decode("utf-8", "replace"), _read_bytes(reader, data)))
        if reader.pos != record_end:
            raise InvalidBatchError(CORRUPT_MESSAGE, f"record {i}: its length does not match its fields")
        record = Record.__new__(Record)
        record.offset = base_offset + offset_delta
        record.timestamp = (base_timestamp + timestamp_delta if log_append_time == NO_TIMESTAMP
                            else log_append_time)
        record.key = key
        record.value = value
        record.headers = headers
        records.append(record)
    if reader.pos != end:
        raise InvalidBatchError(CORRUPT_MESSAGE, f"{end - reader.pos} bytes remain after "
                                                 f"its {record_count} declared records")
    return records


def _read_bytes(reader, data):
    """A length varint (-1 = null) and that many bytes of ``data``, as bytes or None."""
    length = reader.varint()
    if length == -1:
        return None
    start = reader.pos
    reader.skip_bytes(length)
    return data[start:start + length]


# --- batches -----------------------------------------------------------------


def last_sequence_of(base_sequence, last_offset_delta):
    """The sequence number of a batch's last record, as Kafka's ``DefaultRecordBatch.lastSequence``.

    Sequences wrap from 2**31 - 1 to 0; a batch without a producer
    (``NO_SEQUENCE``) has no last sequence either. Both views of a batch
    header (``Batch`` here, ``batch.BatchInfo`` from validation) use this.
    """
    if base_sequence == NO_SEQUENCE:
        return NO_SEQUENCE
    return (base_sequence + last_offset_delta) % 2147483648


def timestamp_type_of(attributes):
    """``LOG_APPEND_TIME`` if the attributes' timestamp-type bit is set, else ``CREATE_TIME``."""
    return LOG_APPEND_TIME if attributes & TIMESTAMP_TYPE_MASK else CREATE_TIME


@cython.cclass
class Batch:
    """One record batch as read from a buffer: header fields and records.

    ``position`` is the batch's byte position in the buffer it was read from
    and ``size`` its total size (``batch_length + 12``). ``records`` is
    ``None`` when the reader was asked not to decode them (or the CRC did
    not match). Owned by whoever read it; not shared.
    """

    def __init__(self, position, base_offset, batch_length, partition_leader_epoch, magic, crc,
                 attributes, last_offset_delta, base_timestamp, max_timestamp, producer_id,
                 producer_epoch, base_sequence, record_count, crc_valid=False, records=None):
        self.position = position
        self.base_offset = base_offset
        self.batch_length = batch_length
        self.partition_leader_epoch = partition_leader_epoch
        self.magic = magic
        self.crc = crc
        self.attributes = attributes
        self.last_offset_delta = last_offset_delta
        self.base_timestamp = base_timestamp
        self.max_timestamp = max_timestamp
        self.producer_id = producer_id
        self.producer_epoch = producer_epoch
        self.base_sequence = base_sequence
        self.record_count = record_count
        self.crc_valid = crc_valid
        self.records = records

    @property
    def size(self) -> int:
        return self.batch_length + LOG_OVERHEAD

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
        return timestamp_type_of(self.attributes)

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & TRANSACTIONAL_MASK)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & CONTROL_MASK)

    @property
    def delete_horizon_ms(self):
        """KIP-534: when set, ``base_timestamp`` holds the delete horizon (else None)."""
        return self.base_timestamp if self.attributes & DELETE_HORIZON_MASK else None

    @property
    def last_sequence(self) -> int:
        """Sequence number of the last record (``last_sequence_of``)."""
        return last_sequence_of(self.base_sequence, self.last_offset_delta)

    @property
    def control_records(self) -> list:
        """The decoded control records of a control batch ([] otherwise)."""
        if not self.is_control or not self.records:
            return []
        return [parse_control_record(r) for r in self.records]

    def __repr__(self):
        return (f"Batch(position={self.position}, base_offset={self.base_offset}, "
                f"last_offset_delta={self.last_offset_delta}, record_count={self.record_count}, "
                f"attributes={self.attributes}, producer_id={self.producer_id}, "
                f"base_sequence={self.base_sequence}, crc_valid={self.crc_valid})")


def read_batches(buf, *, decode_records: bool = True):
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
        InvalidBatchError: A batch is corrupt (impossible length, not magic
            2, undecodable records); a ``ValueError``. A CRC mismatch is not
            an error: it is reported as ``Batch.crc_valid``, and records are
            then not decoded.
    """
    data = buf if isinstance(buf, bytes) else bytes(memoryview(buf).cast("B"))
    position = 0
    while True:
        try:
            size = next_batch_size(data, position)
        except InvalidBatchError as exc:
            raise InvalidBatchError(exc.code, f"corrupt record batch at position {position}: "
                                              f"{exc.reason}") from None
        if size is None or position + size > len(data):
            return
        yield _parse_batch_at(data, position, size, position, decode_records)
        position += size


def next_batch_size(buf, position: int = 0):
    """Total size of the batch starting at ``position``, from its header.

    Returns:
        The size in bytes (``batch_length + 12``), or ``None`` when fewer than
        the 17 bytes needed to know it and its magic remain.

    Raises:
        InvalidBatchError: The magic is not 2 or the length cannot be a v2 batch.
    """
    if len(buf) - position < MAGIC_POS + 1:
        return None
    (batch_length,) = struct.unpack_from(">i", buf, position + BATCH_LENGTH_POS)
    magic = buf[position + MAGIC_POS]
    if magic != CURRENT_MAGIC:
        raise InvalidBatchError(CORRUPT_MESSAGE,
                                f"unsupported record batch magic {magic} (only v2 is supported)")
    if batch_length < HEADER_SIZE - LOG_OVERHEAD:
        raise InvalidBatchError(CORRUPT_MESSAGE, f"batch length {batch_length} is too small for a v2 batch")
    return batch_length + LOG_OVERHEAD


def parse_batch(buf, *, position: int = 0, decode_records: bool = True) -> Batch:
    """Decode exactly one complete batch (``buf`` holds it and nothing else).

    Args:
        buf: The batch's bytes.
        position: Where the batch was in its file or response (for reports).
        decode_records: Also decompress and decode the records (skipped when
            the CRC does not match: the bytes cannot be trusted).

    Raises:
        InvalidBatchError: ``buf`` is shorter than its header says, or the
            records cannot be decoded.
    """
    data = buf if isinstance(buf, bytes) else bytes(memoryview(buf).cast("B"))
    if len(data) < HEADER_SIZE:
        raise InvalidBatchError(CORRUPT_MESSAGE,
                                f"truncated record batch at position {position}: {len(data)} bytes")
    return _parse_batch_at(data, 0, len(data), position, decode_records)


def _parse_batch_at(data, start, available, position, decode_records):
    """The batch at ``data[start:]``, which must fill exactly ``available`` bytes."""
    (base_offset, batch_length, partition_leader_epoch, magic, crc, attributes, last_offset_delta,
     base_timestamp, max_timestamp, producer_id, producer_epoch, base_sequence,
     record_count) = HEADER.unpack_from(data, start)
    batch = Batch(position, base_offset, batch_length, partition_leader_epoch, magic, crc,
                  attributes, last_offset_delta, base_timestamp, max_timestamp, producer_id,
                  producer_epoch, base_sequence, record_count)
    if batch_length + LOG_OVERHEAD != available:
        raise InvalidBatchError(CORRUPT_MESSAGE, f"record batch at position {position} declares "
                                                 f"{batch_length + LOG_OVERHEAD} bytes but has {available}")
    end = start + available
    batch.crc_valid = crc32c.crc32c(memoryview(data)[start + ATTRIBUTES_POS:end]) == crc
    if decode_records and batch.crc_valid:
        if attributes & COMPRESSION_MASK:
            batch.records = decode_records_of(batch, memoryview(data)[start + HEADER_SIZE:end])
        else:  # decode in place: no copy of the records area
            batch.records = _decode_batch_records(batch, data, start + HEADER_SIZE, end)
    return batch


def decode_records_of(batch: Batch, payload) -> list:
    """Decompress ``payload`` (the bytes after the header) and decode its records.

    Raises:
        InvalidBatchError: Corrupt compressed data, a malformed record, or a
            record count that does not match the bytes.
    """
    try:
        data = codecs.decompress(batch.compression, payload)
    except ValueError as exc:
        raise InvalidBatchError(CORRUPT_MESSAGE,
                                f"record batch at position {batch.position}: {exc}") from None
    if not isinstance(data, bytes):
        data = bytes(data)
    return _decode_batch_records(batch, data, 0, len(data))


def _decode_batch_records(batch, data, start, end):
    """``decode_records`` for ``batch``, naming the batch's position in errors."""
    log_append_time = batch.max_timestamp if batch.attributes & TIMESTAMP_TYPE_MASK else NO_TIMESTAMP
    try:
        return decode_records(data, start, end, batch.base_offset, batch.base_timestamp,
                              log_append_time, batch.record_count)
    except InvalidBatchError as exc:
        raise InvalidBatchError(exc.code, f"record batch at position {batch.position}: "
                                          f"{exc.reason}") from None


# --- building ----------------------------------------------------------------


def finish_batch(records, *, record_count: int, first_timestamp: int, max_timestamp: int,
                 base_offset: int = 0, attributes: int = 0, producer_id: int = NO_PRODUCER_ID,
                 producer_epoch: int = NO_PRODUCER_EPOCH, base_sequence: int = NO_SEQUENCE,
                 partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH,
                 last_offset_delta=None) -> bytes:
    """Put a header (with a correct CRC) in front of already-encoded records.

    Args:
        records: the encoded (and maybe compressed) records.
        record_count: how many records they hold.
        last_offset_delta: default ``record_count - 1`` (a compacted batch
            keeps its original one).
        The others: the header fields of the table above.
    """
    if last_offset_delta is None:
        last_offset_delta = record_count - 1
    header = bytearray(HEADER.pack(
        base_offset, HEADER_SIZE - LOG_OVERHEAD + len(records), partition_leader_epoch,
        CURRENT_MAGIC, 0, attributes, last_offset_delta, first_timestamp, max_timestamp,
        producer_id, producer_epoch, base_sequence, record_count))
    crc = crc32c.crc32c(records, crc32c.crc32c(memoryview(header)[ATTRIBUTES_POS:]))
    struct.pack_into(">I", header, CRC_POS, crc)
    return b"".join((header, records))  # one copy of the records


def build_batch(records, *, base_offset: int = 0, compression: int = 0,
                producer_id: int = NO_PRODUCER_ID, producer_epoch: int = NO_PRODUCER_EPOCH,
                base_sequence: int = NO_SEQUENCE, is_transactional: bool = False,
                timestamp_type: int = CREATE_TIME,
                partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH,
                is_control: bool = False, compression_level=None) -> bytes:
    """Encode ``records`` as one magic v2 batch, as Kafka's Java client does.

    Each record's offset delta is ``record.offset - base_offset``; the
    batch's ``last_offset_delta`` is that of the last record, its
    ``base_timestamp`` the first record's timestamp and ``max_timestamp`` the
    largest one (Java's MemoryRecordsBuilder).

    Args:
        records: At least one ``Record``, in offset order.
        base_offset: Offset of the first record slot (the broker rewrites it).
        compression: Codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
        producer_id, producer_epoch, base_sequence: Idempotence fields
            (-1 when the producer is not idempotent).
        is_transactional: Set the transactional attribute bit.
        timestamp_type: 0 CreateTime, 1 LogAppendTime.
        partition_leader_epoch: The leader epoch the broker stamps (-1 from a
            producer).
        is_control: Set the control attribute bit (see ``build_control_batch``).
        compression_level: Codec level; ``None`` is Kafka's default.

    Raises:
        ValueError: No records, or an unknown codec.
    """
    if not records:
        raise ValueError("a record batch needs at least one record")
    base_timestamp = records[0].timestamp
    body = b"".join([encode_record(record.offset - base_offset, record.timestamp - base_timestamp,
                                   record.key, record.value, record.headers)
                     for record in records])
    attributes = (compression
                  | (TIMESTAMP_TYPE_MASK if timestamp_type == LOG_APPEND_TIME else 0)
                  | (TRANSACTIONAL_MASK if is_transactional else 0)
                  | (CONTROL_MASK if is_control else 0))
    return finish_batch(
        codecs.compress(compression, body, compression_level), record_count=len(records),
        first_timestamp=base_timestamp, max_timestamp=max([record.timestamp for record in records]),
        last_offset_delta=records[-1].offset - base_offset, base_offset=base_offset,
        attributes=attributes, producer_id=producer_id, producer_epoch=producer_epoch,
        base_sequence=base_sequence, partition_leader_epoch=partition_leader_epoch)


def build_batch_of_values(values, *, keys=None, timestamps=None, base_timestamp: int = 0,
                          base_offset: int = 0, compression: int = 0, attributes: int = 0,
                          producer_id: int = NO_PRODUCER_ID, producer_epoch: int = NO_PRODUCER_EPOCH,
                          base_sequence: int = NO_SEQUENCE,
                          partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH,
                          headers=None) -> bytes:
    """One batch of ``values`` with offset deltas 0, 1, ...: the tests' and benchmarks' shorthand.

    Unlike ``build_batch`` it takes raw ``attributes`` bits, so a test can
    write any header (and an empty ``values`` gives a header-only batch).

    Args:
        values: record values (bytes or None).
        keys: record keys (default: all None).
        timestamps: per-record timestamps (default: all ``base_timestamp``).
        headers: per-record header lists (default: none).
        compression: codec id, or'ed into ``attributes``.
    """
    keys = keys if keys is not None else [None] * len(values)
    timestamps = timestamps if timestamps is not None else [base_timestamp] * len(values)
    first_timestamp = timestamps[0] if timestamps else base_timestamp
    body = b"".join([encode_record(i, timestamps[i] - first_timestamp, keys[i], values[i],
                                   headers[i] if headers else ())
                     for i in range(len(values))])
    if compression:
        body = codecs.compress(compression, body)
    return finish_batch(body, record_count=len(values), first_timestamp=first_timestamp,
                        max_timestamp=max(timestamps, default=first_timestamp),
                        base_offset=base_offset, attributes=attributes | compression,
                        producer_id=producer_id, producer_epoch=producer_epoch,
                        base_sequence=base_sequence, partition_leader_epoch=partition_leader_epoch)


# --- control records ---------------------------------------------------------


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


class ControlRecord:
    """A decoded control record: its key's version and type, and for ABORT and
    COMMIT the EndTransactionMarker's ``coordinator_epoch`` (else None)."""

    __slots__ = ("version", "type", "coordinator_epoch")

    def __init__(self, version: int, type: int, coordinator_epoch=None):
        self.version = version
        self.type = type
        self.coordinator_epoch = coordinator_epoch

    def __eq__(self, other):
        if not isinstance(other, ControlRecord):
            return NotImplemented
        return (self.version, self.type, self.coordinator_epoch) == (
            other.version, other.type, other.coordinator_epoch)

    def __repr__(self):
        return (f"ControlRecord(version={self.version}, type={self.type}, "
                f"coordinator_epoch={self.coordinator_epoch})")


def build_control_batch(control_type: ControlRecordType, *, producer_id: int, producer_epoch: int,
                        timestamp: int, coordinator_epoch: int = 0, base_offset: int = 0,
                        partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH) -> bytes:
    """Encode a transaction marker batch, as Kafka's ``withEndTransactionMarker``.

    One control record: key ``(version 0, type)``, value the
    EndTransactionMarker ``(version 0, coordinator_epoch)``. The batch is
    transactional and control, with no sequence number.
    """
    record = Record(base_offset, timestamp, _CONTROL_KEY.pack(0, int(control_type)),
                    _END_TXN_MARKER.pack(0, coordinator_epoch))
    return build_batch([record], base_offset=base_offset, producer_id=producer_id,
                       producer_epoch=producer_epoch, is_transactional=True, is_control=True,
                       partition_leader_epoch=partition_leader_epoch)


def parse_control_record(record: Record) -> ControlRecord:
    """Decode a control record's key (and EndTransactionMarker value).

    Raises:
        InvalidBatchError: The key is shorter than 4 bytes or has a negative
            version, or a marker has no valid value.
    """
    if record.key is None or len(record.key) < _CONTROL_KEY.size:
        raise InvalidBatchError(CORRUPT_MESSAGE, f"control record at offset {record.offset} has no valid key")
    version, control_type = _CONTROL_KEY.unpack_from(record.key)
    if version < 0:
        raise InvalidBatchError(CORRUPT_MESSAGE,
                                f"control record at offset {record.offset} has invalid version {version}")
    coordinator_epoch = None
    if control_type in (ControlRecordType.ABORT, ControlRecordType.COMMIT):
        if record.value is None or len(record.value) < _END_TXN_MARKER.size:
            raise InvalidBatchError(CORRUPT_MESSAGE,
                                    f"transaction marker at offset {record.offset} has no valid value")
        _, coordinator_epoch = _END_TXN_MARKER.unpack_from(record.value)
    return ControlRecord(version, control_type, coordinator_epoch)

"""validate_batches against corrupted inputs: every header field, the CRC,
the record area, and truncation at every length (Kafka's error codes)."""

import struct
import zlib

import crc32c
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minikafka.errors import ErrorCode
from minikafka_core import batch
from minikafka_core.batch import InvalidBatchError, validate_batches
from minikafka_core.records import RecordReader, build_batch_of_values, encode_record, encode_varint, finish_batch

MAX = 1048588
NOW = 1_700_000_000_000


def small_batch(**kwargs) -> bytes:
    return build_batch_of_values([b"value-0", None, b"v2"], keys=[b"k0", b"k1", None],
                       timestamps=[NOW, NOW + 5, NOW + 1],
                       headers=[[(b"h", b"x")], [], [(b"n", None)]], **kwargs)


def with_crc(data) -> bytes:
    """Recompute the CRC after a deliberate edit, to reach the checks behind it."""
    data = bytearray(data)
    struct.pack_into(">I", data, 17, crc32c.crc32c(bytes(data[21:])))
    return bytes(data)


def patched(data: bytes, fmt: str, pos: int, value, fix_crc=True) -> bytes:
    data = bytearray(data)
    struct.pack_into(fmt, data, pos, value)
    return with_crc(data) if fix_crc else bytes(data)


def code_of(data, **kwargs) -> ErrorCode:
    with pytest.raises(InvalidBatchError) as info:
        validate_batches(data, kwargs.pop("max_message_bytes", MAX), **kwargs)
    assert info.value.reason  # always a precise reason
    return info.value.code


def test_valid_batch_header_fields():
    data = small_batch(producer_id=7, producer_epoch=2, base_sequence=2**31 - 2)
    [info] = validate_batches(data, MAX, now_ms=NOW)
    assert (info.position, info.size, info.base_offset, info.record_count) == (0, len(data), 0, 3)
    assert (info.last_offset_delta, info.first_timestamp, info.max_timestamp) == (2, NOW, NOW + 5)
    assert (info.producer_id, info.producer_epoch, info.base_sequence) == (7, 2, 2**31 - 2)
    assert info.last_sequence == 0  # wraps at 2**31 like Kafka's incrementSequence
    assert (info.compression, info.timestamp_type, info.is_transactional, info.is_control) == (0, 0, False, False)
    assert info.partition_leader_epoch == -1


def test_several_batches_positions():
    first, second = small_batch(), build_batch_of_values([b"x"] * 4)
    infos = validate_batches(first + second, MAX)
    assert [(i.position, i.size, i.record_count) for i in infos] == [(0, len(first), 3), (len(first), len(second), 4)]
    assert code_of(first + second[:-1]) == ErrorCode.CORRUPT_MESSAGE


@pytest.mark.parametrize("length", range(0, 200))
def test_truncation_at_every_length(length):
    data = small_batch()
    if length >= len(data):
        return
    assert code_of(data[:length]) == ErrorCode.CORRUPT_MESSAGE


def test_every_byte_flip_outside_leader_epoch_is_refused():
    data = small_batch()
    for pos in range(len(data)):
        flipped = bytearray(data)
        flipped[pos] ^= 0x01
        if 12 <= pos < 16:  # partition_leader_epoch: not covered by the CRC
            validate_batches(bytes(flipped), MAX)
            continue
        code = code_of(bytes(flipped))
        if pos < 8:
            assert code == ErrorCode.INVALID_RECORD, pos  # base offset must be 0
        else:  # batch length, magic 3, CRC, or anything the CRC covers
            assert code == ErrorCode.CORRUPT_MESSAGE, pos


@pytest.mark.parametrize("magic,code", [(0, ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT),
                                        (1, ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT),
                                        (3, ErrorCode.CORRUPT_MESSAGE),
                                        (-1, ErrorCode.CORRUPT_MESSAGE)])
def test_magic(magic, code):
    assert code_of(patched(small_batch(), ">b", 16, magic, fix_crc=False)) == code


def test_batch_length_inconsistent():
    data = small_batch()
    assert code_of(patched(data, ">i", 8, len(data) - 11, fix_crc=False)) == ErrorCode.CORRUPT_MESSAGE
    assert code_of(patched(data, ">i", 8, 10, fix_crc=False)) == ErrorCode.CORRUPT_MESSAGE
    assert code_of(patched(data, ">i", 8, -5, fix_crc=False)) == ErrorCode.CORRUPT_MESSAGE


def test_message_too_large_compares_whole_batch_size():
    data = small_batch()
    validate_batches(data, len(data))
    assert code_of(data, max_message_bytes=len(data) - 1) == ErrorCode.MESSAGE_TOO_LARGE


def test_base_offset_from_client_and_replica():
    data = patched(small_batch(), ">q", 0, 42, fix_crc=False)
    assert code_of(data) == ErrorCode.INVALID_RECORD
    assert validate_batches(data, MAX, from_client=False)[0].base_offset == 42


@pytest.mark.parametrize("count", [0, -1, 2, 4])
def test_record_count_inconsistent(count):
    assert code_of(patched(small_batch(), ">i", 57, count)) == ErrorCode.INVALID_RECORD


def test_last_offset_delta_inconsistent():
    assert code_of(patched(small_batch(), ">i", 23, 5)) == ErrorCode.INVALID_RECORD


@pytest.mark.parametrize("codec", [5, 6, 7])
def test_unknown_compression(codec):
    assert code_of(patched(small_batch(), ">h", 21, codec)) == ErrorCode.UNSUPPORTED_COMPRESSION_TYPE


def test_control_batch_from_producer():
    data = patched(small_batch(), ">h", 21, batch.CONTROL_MASK)
    assert code_of(data) == ErrorCode.INVALID_RECORD
    validate_batches(data, MAX, from_client=False)


def test_producer_id_without_sequence():
    assert code_of(small_batch(producer_id=5, base_sequence=-1)) == ErrorCode.INVALID_RECORD


def test_log_append_time_from_producer():
    assert code_of(patched(small_batch(), ">h", 21, batch.TIMESTAMP_TYPE_MASK)) == ErrorCode.INVALID_TIMESTAMP


def test_timestamp_range_create_time():
    data = small_batch()
    validate_batches(data, MAX, now_ms=NOW)
    assert code_of(data, now_ms=NOW - 3_600_001) == ErrorCode.INVALID_TIMESTAMP  # too far ahead
    validate_batches(data, MAX, now_ms=NOW - 3_600_000 + 5)
    assert code_of(data, now_ms=NOW + 1001, timestamp_before_max_ms=1000) == ErrorCode.INVALID_TIMESTAMP
    validate_batches(data, MAX, now_ms=NOW + 1000, timestamp_before_max_ms=1000)
    validate_batches(data, MAX, now_ms=0, timestamp_type=batch.LOG_APPEND_TIME)  # no check then
    no_timestamps = build_batch_of_values([b"a"], base_timestamp=-1)
    validate_batches(no_timestamps, MAX, now_ms=NOW)


def _batch_of_records(records: bytes, count: int) -> bytes:
    return finish_batch(records, record_count=count, first_timestamp=NOW, max_timestamp=NOW)


@pytest.mark.parametrize("records,count", [
    (encode_record(1, 0, None, b"a"), 1),                      # offset delta 1 at index 0
    (encode_record(0, 0, None, b"a") + b"\x00", 1),            # bytes after the last record
    (encode_varint(50) + encode_record(0, 0, None, b"a")[1:], 1),  # record length too long
    (encode_varint(3) + b"\x00\x00\x00", 1),                   # record length too short
    (encode_varint(-2) + b"\x00" * 8, 1),                      # negative record length
    (encode_record(0, 0, None, b"a")[:-2] + b"\xff\xff", 1),  # cut varints
    (encode_varint(7) + b"\x00\x00\x00" + encode_varint(-3) + b"\x00\x00\x00", 1),  # key length -3
    (encode_varint(6) + b"\x00\x00\x00\x01\x01" + encode_varint(-1), 1),  # header count -1
    (encode_varint(12) + b"\x00" + b"\xff" * 11, 1),           # varlong too long
], ids=["offset-delta", "trailing", "too-long", "too-short", "negative", "cut", "key-length",
        "header-count", "varlong"])
def test_bad_records_with_valid_crc(records, count):
    assert code_of(_batch_of_records(records, count)) == ErrorCode.INVALID_RECORD


def test_gzip_batch_via_zlib():
    records = b"".join(encode_record(i, i, b"k", b"value %d" % i) for i in range(5))
    gz = zlib.compressobj(6, zlib.DEFLATED, 31)
    compressed = gz.compress(records) + gz.flush()
    data = finish_batch(compressed, record_count=5, first_timestamp=NOW, max_timestamp=NOW + 4, attributes=1)
    [info] = validate_batches(data, MAX, now_ms=NOW)
    assert info.compression == 1 and info.record_count == 5
    assert list(batch.iter_record_timestamps(data)) == [(i, NOW + i) for i in range(5)]
    broken = finish_batch(compressed[:-6] + b"\x00" * 6, record_count=5, first_timestamp=NOW,
                          max_timestamp=NOW, attributes=1)
    assert code_of(broken) in (ErrorCode.CORRUPT_MESSAGE, ErrorCode.INVALID_RECORD)
    wrong_count = finish_batch(compressed, record_count=6, first_timestamp=NOW, max_timestamp=NOW, attributes=1)
    assert code_of(wrong_count) == ErrorCode.INVALID_RECORD


@pytest.mark.parametrize("codec", [2, 3, 4])
def test_other_codecs_round_trip(codec):
    data = build_batch_of_values([b"abc" * 100] * 20, compression=codec, base_timestamp=NOW)
    [info] = validate_batches(data, MAX, now_ms=NOW)
    assert info.compression == codec


def test_varint_extremes():
    encoded = b"".join(encode_varint(v) for v in (-(2**31), 2**31 - 1, 0, -1))
    encoded += encode_varint(-(2**63)) + encode_varint(2**63 - 1)
    reader = RecordReader(encoded, 0, len(encoded))
    assert [reader.varint() for _ in range(4)] == [-(2**31), 2**31 - 1, 0, -1]
    assert [reader.varlong(), reader.varlong()] == [-(2**63), 2**63 - 1]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_random_record_area_damage_is_refused_cleanly(data):
    """Any damage behind a valid CRC gives an InvalidBatchError or passes; nothing else."""
    original = bytearray(small_batch())
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(61, len(original) - 1))
        original[pos] = data.draw(st.integers(0, 255))
    try:
        validate_batches(with_crc(original), MAX)
    except InvalidBatchError as exc:
        assert exc.code in (ErrorCode.INVALID_RECORD, ErrorCode.INVALID_TIMESTAMP)


def test_a_transaction_marker_has_no_sequence_and_is_refused_only_from_a_client():
    """Kafka's LogValidator checks the sequence of client batches only: markers carry none."""
    from minikafka_core.records import ControlRecordType, build_control_batch

    marker = build_control_batch(ControlRecordType.ABORT, producer_id=7, producer_epoch=0, timestamp=1000,
                                 coordinator_epoch=3)
    (info,) = batch.check_replica_batches(marker)
    assert info.is_control and info.producer_id == 7 and info.base_sequence == -1
    with pytest.raises(InvalidBatchError) as e:
        validate_batches(marker, 1 << 20, now_ms=1000)
    assert e.value.code == ErrorCode.INVALID_RECORD

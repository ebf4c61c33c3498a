"""Known byte vectors for Kafka's primitive types (protocol guide)."""

import uuid

import pytest
from hypothesis import given, strategies as st

from minikafka.protocol import primitives as p
from minikafka.protocol.primitives import DecodeError


def encoded(write, value) -> bytes:
    out = []
    write(out, value)
    return b"".join(out)


def roundtrip(read, write, value):
    raw = encoded(write, value)
    decoded, pos = read(memoryview(raw), 0)
    assert pos == len(raw)
    return decoded, raw


@pytest.mark.parametrize("value, raw", [
    (0, b"\x00"),
    (1, b"\x01"),
    (127, b"\x7f"),
    (128, b"\x80\x01"),
    (300, b"\xac\x02"),
    (16383, b"\xff\x7f"),
    (16384, b"\x80\x80\x01"),
    (2**31 - 1, b"\xff\xff\xff\xff\x07"),
    (2**32 - 1, b"\xff\xff\xff\xff\x0f"),
    (2**64 - 1, b"\xff" * 9 + b"\x01"),
])
def test_unsigned_varint_vectors(value, raw):
    assert encoded(p.write_unsigned_varint, value) == raw
    assert p.read_unsigned_varint(raw, 0) == (value, len(raw))


@pytest.mark.parametrize("value, zigzag", [
    (0, 0), (-1, 1), (1, 2), (-2, 3), (2, 4),
    (2**31 - 1, 2**32 - 2), (-(2**31), 2**32 - 1),
])
def test_zigzag_32(value, zigzag):
    assert p.zigzag_encode(value, 32) == zigzag
    assert p.zigzag_decode(zigzag) == value


@pytest.mark.parametrize("value, raw", [
    (0, b"\x00"),
    (-1, b"\x01"),
    (1, b"\x02"),
    (-64, b"\x7f"),
    (64, b"\x80\x01"),
    (2**31 - 1, b"\xfe\xff\xff\xff\x0f"),
    (-(2**31), b"\xff\xff\xff\xff\x0f"),
])
def test_varint_vectors(value, raw):
    assert encoded(p.write_varint, value) == raw
    assert p.read_varint(raw, 0) == (value, len(raw))


@pytest.mark.parametrize("value, raw", [
    (0, b"\x00"),
    (-1, b"\x01"),
    (2**63 - 1, b"\xfe" + b"\xff" * 8 + b"\x01"),
    (-(2**63), b"\xff" * 9 + b"\x01"),
])
def test_varlong_vectors(value, raw):
    assert encoded(p.write_varlong, value) == raw
    assert p.read_varlong(raw, 0) == (value, len(raw))


def test_varint_range_is_enforced():
    with pytest.raises(ValueError):
        encoded(p.write_varint, 2**31)
    with pytest.raises(ValueError):
        encoded(p.write_varlong, 2**63)
    with pytest.raises(ValueError):
        encoded(p.write_unsigned_varint, -1)
    with pytest.raises(DecodeError):  # 2**32 does not fit a 32-bit varint
        p.read_varint(b"\x80\x80\x80\x80\x10", 0)


def test_truncated_and_overlong_varints_are_errors():
    with pytest.raises(DecodeError, match="truncated"):
        p.read_unsigned_varint(b"\x80\x80", 0)
    with pytest.raises(DecodeError, match="longer than 10"):
        p.read_unsigned_varint(b"\x80" * 11, 0)


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_varlong_roundtrip(value):
    assert roundtrip(p.read_varlong, p.write_varlong, value)[0] == value


@pytest.mark.parametrize("write, read, value, raw", [
    (p.write_int8, p.read_int8, -1, b"\xff"),
    (p.write_int16, p.read_int16, -2, b"\xff\xfe"),
    (p.write_int32, p.read_int32, 2**31 - 1, b"\x7f\xff\xff\xff"),
    (p.write_int64, p.read_int64, -(2**63), b"\x80" + b"\x00" * 7),
    (p.write_uint16, p.read_uint16, 65535, b"\xff\xff"),
    (p.write_uint32, p.read_uint32, 2**32 - 1, b"\xff\xff\xff\xff"),
    (p.write_float64, p.read_float64, 1.5, b"\x3f\xf8" + b"\x00" * 6),
    (p.write_bool, p.read_bool, True, b"\x01"),
    (p.write_bool, p.read_bool, False, b"\x00"),
])
def test_fixed_size_vectors(write, read, value, raw):
    assert encoded(write, value) == raw
    assert read(raw, 0) == (value, len(raw))


def test_fixed_size_out_of_range_and_truncated():
    with pytest.raises(Exception):
        encoded(p.write_int16, 2**15)
    with pytest.raises(DecodeError, match="need 4 bytes"):
        p.read_int32(b"\x00\x00\x00", 0)
    with pytest.raises(DecodeError):
        p.read_bool(b"", 0)


def test_bool_reads_any_nonzero_as_true():
    assert p.read_bool(b"\x02", 0) == (True, 1)


def test_strings_null_vs_empty():
    assert encoded(p.write_string, None) == b"\xff\xff"
    assert encoded(p.write_string, "") == b"\x00\x00"
    assert encoded(p.write_string, "héllo") == b"\x00\x06h\xc3\xa9llo"
    assert p.read_string(b"\xff\xff", 0) == (None, 2)
    assert p.read_string(b"\x00\x00", 0) == ("", 2)
    assert p.read_string(b"\x00\x06h\xc3\xa9llo", 0) == ("héllo", 8)


def test_compact_strings_null_vs_empty():
    assert encoded(p.write_compact_string, None) == b"\x00"
    assert encoded(p.write_compact_string, "") == b"\x01"
    assert encoded(p.write_compact_string, "abc") == b"\x04abc"
    assert p.read_compact_string(b"\x00", 0) == (None, 1)
    assert p.read_compact_string(b"\x01", 0) == ("", 1)
    assert p.read_compact_string(b"\x04abc", 0) == ("abc", 4)
    long = "x" * 200  # length + 1 = 201 needs a two-byte varint
    assert encoded(p.write_compact_string, long)[:2] == b"\xc9\x01"


def test_string_errors():
    with pytest.raises(DecodeError, match="runs past the end"):
        p.read_string(b"\x00\x05abc", 0)
    with pytest.raises(DecodeError, match="negative"):
        p.read_string(b"\xff\xfe", 0)
    with pytest.raises(DecodeError, match="UTF-8"):
        p.read_string(b"\x00\x01\xff", 0)
    with pytest.raises(ValueError):
        encoded(p.write_string, "x" * 40000)


def test_bytes_and_compact_bytes():
    assert encoded(p.write_bytes, None) == b"\xff\xff\xff\xff"
    assert encoded(p.write_bytes, b"") == b"\x00\x00\x00\x00"
    assert encoded(p.write_bytes, b"ab") == b"\x00\x00\x00\x02ab"
    assert encoded(p.write_compact_bytes, None) == b"\x00"
    assert encoded(p.write_compact_bytes, b"ab") == b"\x03ab"
    assert p.read_bytes(b"\xff\xff\xff\xff", 0) == (None, 4)
    assert p.read_compact_bytes(b"\x03ab", 0) == (b"ab", 3)
    assert encoded(p.write_bytes, memoryview(b"xyz")[1:]) == b"\x00\x00\x00\x02yz"


def test_bytes_view_is_zero_copy():
    raw = bytearray(b"\x00\x00\x00\x03abc")
    view, pos = p.read_bytes_view(memoryview(raw), 0)
    assert (bytes(view), pos) == (b"abc", 7)
    raw[4] = ord("X")  # the view shares memory with the input
    assert bytes(view) == b"Xbc"


def test_uuid():
    value = uuid.UUID("12345678-1234-5678-1234-567812345678")
    raw = encoded(p.write_uuid, value)
    assert raw == value.bytes
    assert p.read_uuid(raw, 0) == (value.bytes, 16)
    assert encoded(p.write_uuid, p.ZERO_UUID) == b"\x00" * 16
    with pytest.raises(ValueError):
        encoded(p.write_uuid, b"short")
    with pytest.raises(DecodeError):
        p.read_uuid(b"\x00" * 15, 0)


def test_arrays_null_empty_and_values():
    assert encoded(lambda o, v: p.write_array(o, v, p.write_int16), None) == b"\xff\xff\xff\xff"
    assert encoded(lambda o, v: p.write_array(o, v, p.write_int16), []) == b"\x00\x00\x00\x00"
    assert encoded(lambda o, v: p.write_array(o, v, p.write_int16), [1, 2]) == \
        b"\x00\x00\x00\x02\x00\x01\x00\x02"
    assert encoded(lambda o, v: p.write_compact_array(o, v, p.write_int8), None) == b"\x00"
    assert encoded(lambda o, v: p.write_compact_array(o, v, p.write_int8), [7]) == b"\x02\x07"
    assert p.read_array(b"\xff\xff\xff\xff", 0, p.read_int8) == (None, 4)
    assert p.read_compact_array(b"\x03\x01\x02", 0, p.read_int8) == ([1, 2], 3)
    assert p.read_compact_array(b"\x01", 0, p.read_int8) == ([], 1)


def test_absurd_array_count_is_rejected_without_allocating():
    with pytest.raises(DecodeError, match="cannot fit"):
        p.read_array(b"\x7f\xff\xff\xff\x00", 0, p.read_int8)
    with pytest.raises(DecodeError, match="negative"):
        p.read_array(b"\xff\xff\xff\xfe", 0, p.read_int8)


def test_tagged_fields_section():
    raw = encoded(p.write_tagged_fields, [(0, b"\x01"), (300, b"ab")])
    assert raw == b"\x02" + b"\x00\x01\x01" + b"\xac\x02\x02ab"
    fields, pos = p.read_tagged_fields(memoryview(raw), 0)
    assert pos == len(raw)
    assert {tag: bytes(v) for tag, v in fields.items()} == {0: b"\x01", 300: b"ab"}
    assert encoded(p.write_tagged_fields, []) == p.EMPTY_TAGGED_FIELDS
    with pytest.raises(DecodeError):
        p.read_tagged_fields(b"\x01\x00\x05ab", 0)

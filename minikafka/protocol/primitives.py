"""Kafka's primitive wire types: readers and writers.

This module is the bottom of the protocol stack. It knows how one value of one
primitive type is laid out on the wire (the protocol guide's "Protocol
Primitive Types") and nothing about messages.

Conventions, the same for every type:

- A *reader* is ``read_x(buf, pos) -> (value, new_pos)`` where ``buf`` is a
  ``memoryview`` (or ``bytes``) and ``pos`` the offset of the value's first
  byte. Readers never copy more than the value itself, and raise
  ``DecodeError`` (a ``ValueError``) on truncated or malformed input.
- A *writer* is ``write_x(out, value)`` and appends ``bytes`` to ``out``, a
  ``list`` of parts that the caller joins once (``b"".join(out)``): a large
  ``records`` value is then copied exactly once, into the final frame.

Byte layouts (all integers big-endian, "network order"):

=====================  =====================================================
``int8/16/32/64``      two's complement, 1/2/4/8 bytes
``uint16/uint32``      unsigned, 2/4 bytes
``float64``            IEEE 754 double, 8 bytes
``bool``               one byte, 0 = false, anything else = true
``unsigned varint``    7 bits per byte, least significant group first; the
                       high bit of each byte says "more bytes follow"
``varint/varlong``     zigzag-encoded (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...)
                       then written as an unsigned varint (protobuf's scheme)
``string``             int16 length then UTF-8 bytes; length -1 = null
``compact string``     unsigned varint (length + 1) then bytes; 0 = null
``bytes``              int32 length then bytes; length -1 = null
``compact bytes``      unsigned varint (length + 1) then bytes; 0 = null
``array``              int32 count then elements; -1 = null
``compact array``      unsigned varint (count + 1) then elements; 0 = null
``uuid``               16 raw bytes
``tagged fields``      unsigned varint count, then per field: unsigned varint
                       tag, unsigned varint size, ``size`` bytes (KIP-482)
=====================  =====================================================

Compact encodings and tagged fields exist only in *flexible* versions of a
message (KIP-482); which to use is decided by ``codec.py``.
"""

from __future__ import annotations

import struct


class DecodeError(ValueError):
    """The bytes do not hold a valid value of the expected primitive type."""


# One precompiled Struct per fixed-size type: pack/unpack_from without
# re-parsing the format string on every call.
INT8 = struct.Struct(">b")
INT16 = struct.Struct(">h")
INT32 = struct.Struct(">i")
INT64 = struct.Struct(">q")
UINT16 = struct.Struct(">H")
UINT32 = struct.Struct(">I")
FLOAT64 = struct.Struct(">d")

_NULL_INT16 = INT16.pack(-1)
_NULL_INT32 = INT32.pack(-1)
_BOOL_BYTES = (b"\x00", b"\x01")
UUID_SIZE = 16
ZERO_UUID = b"\x00" * UUID_SIZE

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _fixed_reader(codec: struct.Struct):
    """Build ``read(buf, pos)`` for a fixed-size type."""
    unpack_from = codec.unpack_from
    size = codec.size

    def read(buf, pos):
        try:
            return unpack_from(buf, pos)[0], pos + size
        except struct.error:
            raise DecodeError(
                f"need {size} bytes at position {pos}, have {len(buf) - pos}"
            ) from None

    return read


def _fixed_writer(codec: struct.Struct):
    """Build ``write(out, value)`` for a fixed-size type."""
    pack = codec.pack

    def write(out, value):
        out.append(pack(value))

    return write


read_int8 = _fixed_reader(INT8)
read_int16 = _fixed_reader(INT16)
read_int32 = _fixed_reader(INT32)
read_int64 = _fixed_reader(INT64)
read_uint16 = _fixed_reader(UINT16)
read_uint32 = _fixed_reader(UINT32)
read_float64 = _fixed_reader(FLOAT64)

write_int8 = _fixed_writer(INT8)
write_int16 = _fixed_writer(INT16)
write_int32 = _fixed_writer(INT32)
write_int64 = _fixed_writer(INT64)
write_uint16 = _fixed_writer(UINT16)
write_uint32 = _fixed_writer(UINT32)
write_float64 = _fixed_writer(FLOAT64)


def read_bool(buf, pos):
    """Read a boolean: Kafka treats any non-zero byte as true."""
    if pos >= len(buf):
        raise DecodeError(f"need 1 byte for a bool at position {pos}")
    return buf[pos] != 0, pos + 1


def write_bool(out, value):
    out.append(_BOOL_BYTES[1 if value else 0])


# --- varints -------------------------------------------------------------

# An unsigned varint carries at most 64 bits: 10 groups of 7 bits.
_MAX_VARINT_BYTES = 10


def read_unsigned_varint(buf, pos):
    """Read an unsigned varint (at most 10 bytes, i.e. 64 bits)."""
    end = len(buf)
    if pos < end and buf[pos] < 0x80:  # fast path: one byte, values 0-127
        return buf[pos], pos + 1
    value = 0
    shift = 0
    for i in range(pos, min(end, pos + _MAX_VARINT_BYTES)):
        byte = buf[i]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i + 1
        shift += 7
    if end - pos < _MAX_VARINT_BYTES:
        raise DecodeError(f"truncated varint at position {pos}")
    raise DecodeError(f"varint longer than 10 bytes at position {pos}")


# The first 128 values are by far the most common (lengths of small strings,
# counts, tags): precompute their one-byte encodings.
_SMALL_VARINTS = tuple(bytes((i,)) for i in range(0x80))


def encode_unsigned_varint(value: int) -> bytes:
    """Encode a non-negative integer below 2**64 as an unsigned varint."""
    if 0 <= value < 0x80:
        return _SMALL_VARINTS[value]
    if value < 0 or value >= 1 << 64:
        raise ValueError(f"unsigned varint out of range: {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def write_unsigned_varint(out, value):
    out.append(encode_unsigned_varint(value))


def zigzag_encode(value: int, bits: int = 64) -> int:
    """Map a signed integer to an unsigned one: 0,-1,1,-2 -> 0,1,2,3."""
    return ((value << 1) ^ (value >> (bits - 1))) & ((1 << bits) - 1)


def zigzag_decode(value: int) -> int:
    """Invert ``zigzag_encode``."""
    return (value >> 1) ^ -(value & 1)


def read_varint(buf, pos):
    """Read a zigzag varint holding a signed 32-bit value."""
    raw, new_pos = read_unsigned_varint(buf, pos)
    if raw >> 32:
        raise DecodeError(f"varint does not fit 32 bits at position {pos}")
    return zigzag_decode(raw), new_pos


def write_varint(out, value):
    if not INT32_MIN <= value <= INT32_MAX:
        raise ValueError(f"varint out of int32 range: {value}")
    out.append(encode_unsigned_varint(zigzag_encode(value, 32)))


def read_varlong(buf, pos):
    """Read a zigzag varint holding a signed 64-bit value."""
    raw, new_pos = read_unsigned_varint(buf, pos)
    return zigzag_decode(raw), new_pos


def write_varlong(out, value):
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"varlong out of int64 range: {value}")
    out.append(encode_unsigned_varint(zigzag_encode(value, 64)))


# --- lengths -------------------------------------------------------------
# Every variable-size type starts with a length. A length reader returns the
# length, or -1 for null; the compact forms store length + 1 so that null is 0.


def read_compact_length(buf, pos):
    """Read ``length + 1`` as an unsigned varint; return (length or -1, pos)."""
    raw, pos = read_unsigned_varint(buf, pos)
    if raw > INT32_MAX:
        raise DecodeError(f"compact length {raw - 1} is too large")
    return raw - 1, pos


def write_compact_length(out, length):
    """Write a length (or -1 for null) as an unsigned varint ``length + 1``."""
    out.append(encode_unsigned_varint(length + 1))


def _take(buf, pos, length, what):
    """Return the end of a ``length``-byte value at ``pos``, checking bounds."""
    if length < 0:
        raise DecodeError(f"negative {what} length {length} at position {pos}")
    end = pos + length
    if end > len(buf):
        raise DecodeError(
            f"{what} of {length} bytes at position {pos} runs past the end ({len(buf)})"
        )
    return end


def _decode_utf8(raw, pos):
    try:
        return str(raw, "utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"string at position {pos} is not UTF-8: {exc}") from None


# --- strings -------------------------------------------------------------


def read_string(buf, pos):
    """Read an int16-length string; returns None for length -1."""
    length, pos = read_int16(buf, pos)
    if length == -1:
        return None, pos
    end = _take(buf, pos, length, "string")
    return _decode_utf8(buf[pos:end], pos), end


def write_string(out, value):
    if value is None:
        out.append(_NULL_INT16)
        return
    raw = value.encode("utf-8")
    if len(raw) > 0x7FFF:
        raise ValueError(f"string of {len(raw)} bytes is longer than 32767")
    out.append(INT16.pack(len(raw)))
    out.append(raw)


def read_compact_string(buf, pos):
    """Read a compact string (varint length + 1); returns None for 0."""
    length, pos = read_compact_length(buf, pos)
    if length == -1:
        return None, pos
    end = _take(buf, pos, length, "string")
    return _decode_utf8(buf[pos:end], pos), end


def write_compact_string(out, value):
    if value is None:
        out.append(b"\x00")
        return
    raw = value.encode("utf-8")
    if len(raw) > 0x7FFF:
        raise ValueError(f"string of {len(raw)} bytes is longer than 32767")
    out.append(encode_unsigned_varint(len(raw) + 1))
    out.append(raw)


# --- bytes ---------------------------------------------------------------
# ``bytes`` values are copied out of the input (they are small: assignments,
# metadata). ``records`` use the *_view readers: a memoryview slice, no copy.


def read_bytes_view(buf, pos):
    """Read int32-length bytes as a memoryview slice of ``buf`` (no copy)."""
    length, pos = read_int32(buf, pos)
    if length == -1:
        return None, pos
    end = _take(buf, pos, length, "bytes")
    return memoryview(buf)[pos:end], end


def read_compact_bytes_view(buf, pos):
    """Read compact bytes as a memoryview slice of ``buf`` (no copy)."""
    length, pos = read_compact_length(buf, pos)
    if length == -1:
        return None, pos
    end = _take(buf, pos, length, "bytes")
    return memoryview(buf)[pos:end], end


def read_bytes(buf, pos):
    """Read int32-length bytes into a new ``bytes``; None for length -1."""
    view, pos = read_bytes_view(buf, pos)
    return (None if view is None else bytes(view)), pos


def read_compact_bytes(buf, pos):
    """Read compact bytes into a new ``bytes``; None for 0."""
    view, pos = read_compact_bytes_view(buf, pos)
    return (None if view is None else bytes(view)), pos


def _as_bytes(value):
    # bytes and bytearray go in as they are; a memoryview (records just
    # decoded from another frame) is flattened without an extra copy later.
    return value if isinstance(value, (bytes, bytearray)) else memoryview(value).cast("B")


def write_bytes(out, value):
    if value is None:
        out.append(_NULL_INT32)
        return
    value = _as_bytes(value)
    out.append(INT32.pack(len(value)))
    out.append(value)


def write_compact_bytes(out, value):
    if value is None:
        out.append(b"\x00")
        return
    value = _as_bytes(value)
    out.append(encode_unsigned_varint(len(value) + 1))
    out.append(value)


# --- uuid ----------------------------------------------------------------


def read_uuid(buf, pos):
    """Read a 16-byte uuid as ``bytes`` (all zeros is Kafka's "no id")."""
    end = _take(buf, pos, UUID_SIZE, "uuid")
    return bytes(buf[pos:end]), end


def write_uuid(out, value):
    raw = getattr(value, "bytes", value)  # accepts uuid.UUID too
    if len(raw) != UUID_SIZE:
        raise ValueError(f"a uuid is 16 bytes, got {len(raw)}")
    out.append(bytes(raw))


# --- arrays --------------------------------------------------------------


def read_array(buf, pos, read_element):
    """Read an int32-count array with ``read_element``; None for count -1."""
    count, pos = read_int32(buf, pos)
    return _read_elements(buf, pos, count, read_element)


def read_compact_array(buf, pos, read_element):
    """Read a compact array (varint count + 1); None for 0."""
    count, pos = read_compact_length(buf, pos)
    return _read_elements(buf, pos, count, read_element)


def _read_elements(buf, pos, count, read_element):
    if count == -1:
        return None, pos
    if count < 0:
        raise DecodeError(f"negative array length {count} at position {pos}")
    # Every element takes at least one byte: a count beyond the remaining
    # bytes is garbage, and must not make us loop (or allocate) for nothing.
    if count > len(buf) - pos:
        raise DecodeError(f"array of {count} elements cannot fit in {len(buf) - pos} bytes")
    items = []
    append = items.append
    for _ in range(count):
        item, pos = read_element(buf, pos)
        append(item)
    return items, pos


def write_array(out, values, write_element):
    if values is None:
        out.append(_NULL_INT32)
        return
    out.append(INT32.pack(len(values)))
    for value in values:
        write_element(out, value)


def write_compact_array(out, values, write_element):
    if values is None:
        out.append(b"\x00")
        return
    out.append(encode_unsigned_varint(len(values) + 1))
    for value in values:
        write_element(out, value)


# --- tagged fields (KIP-482) ----------------------------------------------


def read_tagged_fields(buf, pos):
    """Read a tagged-field section; return ({tag: memoryview}, pos).

    The values are left undecoded: the caller knows which tags it declares
    and decodes those; unknown tags are skipped, which is what lets an old
    reader accept a newer writer's fields.
    """
    count, pos = read_unsigned_varint(buf, pos)
    if count > len(buf) - pos:
        raise DecodeError(f"{count} tagged fields cannot fit at position {pos}")
    fields = {}
    view = memoryview(buf)
    for _ in range(count):
        tag, pos = read_unsigned_varint(buf, pos)
        size, pos = read_unsigned_varint(buf, pos)
        end = _take(buf, pos, size, "tagged field")
        fields[tag] = view[pos:end]
        pos = end
    return fields, pos


def write_tagged_fields(out, fields):
    """Write a tagged-field section from ``[(tag, encoded_bytes), ...]``.

    Args:
        out: the list of parts to append to.
        fields: (tag, value bytes) pairs in ascending tag order.
    """
    out.append(encode_unsigned_varint(len(fields)))
    for tag, raw in fields:
        out.append(encode_unsigned_varint(tag))
        out.append(encode_unsigned_varint(len(raw)))
        out.append(raw)


EMPTY_TAGGED_FIELDS = b"\x00"

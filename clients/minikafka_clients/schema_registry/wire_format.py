"""The schema-registry wire format: what comes before a serialized key or value.

::

    byte 0      magic byte, always 0
    bytes 1-4   the schema id, a big-endian int32
    bytes 5-    the payload (Avro binary, JSON text, or Protobuf message
                indexes then the message)

A deserializer reads the id, fetches that schema from the registry (once:
ids never change meaning) and decodes the payload with it. A broker that
validates schemas checks these five bytes without decoding the payload.
"""

from __future__ import annotations

import struct

MAGIC_BYTE = 0
_HEADER = struct.Struct(">bI")
HEADER_SIZE = _HEADER.size


class SerializationError(ValueError):
    """Bytes that are not in the schema-registry wire format, or an object its schema refuses."""


def pack(schema_id: int, payload: bytes) -> bytes:
    """``payload`` with the magic byte and ``schema_id`` in front."""
    return _HEADER.pack(MAGIC_BYTE, schema_id) + payload


def unpack(data: bytes) -> tuple[int, memoryview]:
    """``(schema_id, payload)`` of bytes in the wire format.

    Raises:
        SerializationError: too short, or the magic byte is not 0.
    """
    if data is None or len(data) < HEADER_SIZE:
        raise SerializationError("too short for the schema-registry wire format (5 bytes at least)")
    magic, schema_id = _HEADER.unpack_from(data)
    if magic != MAGIC_BYTE:
        raise SerializationError(f"unknown magic byte {magic}: not the schema-registry wire format")
    return schema_id, memoryview(data)[HEADER_SIZE:]

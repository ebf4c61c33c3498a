"""The schema registry's wire format: how a serialized key or value names its schema.

Confluent's serializers prefix every serialized key or value with five
bytes::

    byte 0      magic byte, always 0
    bytes 1-4   schema id, a big-endian signed 32-bit integer (the registry's global id)
    bytes 5-    the data, encoded with that schema (Avro binary, JSON text,
                or, for Protobuf, message indexes then the message)

A consumer reads the id, fetches the schema from the registry
(``GET /schemas/ids/{id}``) and decodes the rest; a broker validating a
topic checks the prefix and that the id is registered under the topic's
subject.
"""

from __future__ import annotations

import struct

MAGIC_BYTE = 0
HEADER_SIZE = 5
_HEADER = struct.Struct(">bi")


def pack(schema_id: int, data: bytes) -> bytes:
    """``data`` prefixed with the magic byte and ``schema_id``."""
    return _HEADER.pack(MAGIC_BYTE, schema_id) + data


def schema_id(payload: bytes | bytearray | memoryview | None) -> int | None:
    """The schema id a serialized key or value starts with; None if it is not in the wire format.

    Reads the five header bytes only, whatever the payload's size (a broker
    validating a topic asks this of every record).
    """
    if payload is None or len(payload) < HEADER_SIZE or payload[0] != MAGIC_BYTE:
        return None
    return _HEADER.unpack_from(payload)[1]


def split(payload: bytes | bytearray | memoryview | None) -> tuple[int, bytes]:
    """The schema id and the data of a serialized key or value.

    Raises:
        ValueError: the payload is missing, shorter than five bytes, or does
            not start with the magic byte 0.
    """
    if payload is None:
        raise ValueError("no data: a null key or value has no schema id")
    payload = bytes(payload)
    if len(payload) < HEADER_SIZE:
        raise ValueError(f"{len(payload)} bytes: too short for the schema registry wire format (5 bytes)")
    magic, schema_id = _HEADER.unpack_from(payload)
    if magic != MAGIC_BYTE:
        raise ValueError(f"unknown magic byte {magic} (the schema registry wire format starts with 0)")
    return schema_id, payload[HEADER_SIZE:]

"""Protobuf serializer and deserializer in the schema-registry wire format.

A ``.proto`` file may define several messages, so Confluent's format names
which one a record holds: after the magic byte and the schema id come the
*message indexes*, the path to the message type inside its file (``[0]``:
the first top-level message; ``[2, 0]``: the first message nested in the
third). They are written as a count and the indexes, each a zigzag varint;
the common case ``[0]`` is shortened to the single byte 0. Then the
message's own bytes.

The schema registered is the message's file, as a base64 serialized
``FileDescriptorProto`` (as confluent-kafka's Python serializer registers
it). The files it imports are registered first, each under its file name,
and referenced by name; Google's well-known types are not (every registry
knows them).
"""

from __future__ import annotations

import base64

from google.protobuf.message import DecodeError, Message

from . import wire_format
from .subject_names import topic_name_strategy

WELL_KNOWN_PREFIX = "google/protobuf/"


def _zigzag_varint(value: int) -> bytes:
    value = (value << 1) ^ (value >> 63)
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_zigzag_varint(data: memoryview, position: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if position >= len(data):
            raise wire_format.SerializationError("truncated message indexes")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return (result >> 1) ^ -(result & 1), position


def encode_message_indexes(indexes: list[int]) -> bytes:
    """Confluent's message-index prefix (``[0]`` is the single byte 0)."""
    if indexes == [0]:
        return b"\x00"
    return _zigzag_varint(len(indexes)) + b"".join(_zigzag_varint(index) for index in indexes)


def decode_message_indexes(data: memoryview) -> tuple[list[int], int]:
    """``(indexes, position after them)`` of a payload that starts with message indexes."""
    count, position = _read_zigzag_varint(data, 0)
    if count == 0:
        return [0], position
    indexes = []
    for _ in range(count):
        index, position = _read_zigzag_varint(data, position)
        indexes.append(index)
    return indexes, position


def message_indexes(descriptor) -> list[int]:
    """The path of a message type inside its file: top-level index, then nested indexes."""
    path = []
    while descriptor.containing_type is not None:
        path.append(descriptor.containing_type.nested_types.index(descriptor))
        descriptor = descriptor.containing_type
    path.append(descriptor.file.message_types_by_name[descriptor.name].index)
    return list(reversed(path))


def _serialized_file(file_descriptor) -> str:
    return base64.b64encode(file_descriptor.serialized_pb).decode()


class ProtobufSerializer:
    """Messages of one generated class to bytes in the wire format; ``__call__(msg, topic, field)``."""

    def __init__(self, registry, message_type: type[Message], *,
                 subject_name_strategy=topic_name_strategy, auto_register: bool = True):
        self.registry = registry
        self.message_type = message_type
        self._descriptor = message_type.DESCRIPTOR
        self._indexes = encode_message_indexes(message_indexes(self._descriptor))
        self._strategy = subject_name_strategy
        self._auto_register = auto_register
        self._ids: dict[str, int] = {}

    def _references(self, file_descriptor) -> list[dict]:
        """Register the files ``file_descriptor`` imports (depth first) and name them."""
        references = []
        for dependency in file_descriptor.dependencies:
            if dependency.name.startswith(WELL_KNOWN_PREFIX):
                continue
            nested = self._references(dependency)
            self.registry.register(dependency.name, _serialized_file(dependency), "PROTOBUF", nested)
            version = self.registry.lookup(dependency.name, _serialized_file(dependency), "PROTOBUF",
                                           nested).version
            references.append({"name": dependency.name, "subject": dependency.name, "version": version})
        return references

    def schema_id(self, topic: str, field: str = "value") -> int:
        subject = self._strategy(topic, field, self._descriptor.full_name)
        if subject not in self._ids:
            file_descriptor = self._descriptor.file
            references = self._references(file_descriptor) if self._auto_register else []
            schema = _serialized_file(file_descriptor)
            if self._auto_register:
                self._ids[subject] = self.registry.register(subject, schema, "PROTOBUF", references)
            else:
                self._ids[subject] = self.registry.lookup(subject, schema, "PROTOBUF").schema_id
        return self._ids[subject]

    def __call__(self, message: Message | None, topic: str, field: str = "value") -> bytes | None:
        if message is None:
            return None
        if not isinstance(message, self.message_type):
            raise wire_format.SerializationError(
                f"expected a {self.message_type.__name__}, got {type(message).__name__}")
        return wire_format.pack(self.schema_id(topic, field), self._indexes + message.SerializeToString())


class ProtobufDeserializer:
    """Bytes in the wire format to messages of the reader's generated class."""

    def __init__(self, message_type: type[Message]):
        self.message_type = message_type

    def __call__(self, data: bytes | None, topic: str | None = None, field: str = "value"):
        if data is None:
            return None
        _schema_id, payload = wire_format.unpack(data)
        _indexes, position = decode_message_indexes(payload)
        message = self.message_type()
        try:
            message.ParseFromString(bytes(payload[position:]))
        except DecodeError as exc:
            raise wire_format.SerializationError(f"not a {self.message_type.__name__}: {exc}") from exc
        return message

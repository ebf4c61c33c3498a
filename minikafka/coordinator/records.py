"""Encode and decode ``__consumer_offsets`` records, byte-compatible with Kafka 4.0.

A record's key and value are each ``int16 version | struct at that version``
(declarations in ``minikafka.protocol.messages.internal``). The key's int16 is
the *record type* and says which struct follows; a ``None`` value is a
tombstone, which compaction eventually removes with the key's older values.

What Kafka 4.0 writes, and so what we write:

- a committed offset: key type 1 ``(group, topic, partition)``; value v3
  ``(offset, leader_epoch, metadata, commit_timestamp)``, or v1 when the commit
  carried a retention time (OffsetCommit v2-v4), which adds ``expire_timestamp``
  and drops ``leader_epoch``;
- a classic group: key type 2 ``(group)``; value v3 (protocol type, generation,
  protocol, leader, current state timestamp, members with their subscription
  and assignment).

Readers accept every version Kafka ever wrote (key type 0 is an old offset
key; values v0-v4), so a log written by any Kafka version replays.

Example, the offset 42 of ``("g", "t", 0)`` committed at ``1000``::

    key   = 0001 | 0001 67 | 0001 74 | 00000000
    value = 0003 | 000000000000002a | ffffffff | 0000 | 00000000000003e8
"""

from __future__ import annotations

import struct

from minikafka.protocol.codec import Struct
from minikafka.protocol.messages.internal import (
    CONSUMER_PROTOCOL_SUBSCRIPTION,
    GROUP_METADATA_KEY,
    GROUP_METADATA_VALUE,
    OFFSET_COMMIT_KEY,
    OFFSET_COMMIT_VALUE,
    RECORD_TYPES,
)

OFFSET_COMMIT_KEY_TYPE = 1
"""The key version Kafka writes for a committed offset (0 is read too)."""
GROUP_METADATA_KEY_TYPE = 2
"""The key version of a classic group's metadata."""
OFFSET_COMMIT_VALUE_VERSION = 3
"""OffsetCommitValue version for a commit without an explicit expire time."""
OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY = 1
"""The only OffsetCommitValue version that carries ``expire_timestamp``."""
GROUP_METADATA_VALUE_VERSION = 3
"""GroupMetadataValue version Kafka 4.0 writes (v4, flexible, is read only)."""

Record = tuple[bytes, "bytes | None"]
"""One record to append: (key bytes, value bytes or None for a tombstone)."""

_INT16 = struct.Struct(">h")


def _prefixed(message, obj, version: int) -> bytes:
    return _INT16.pack(version) + message.encode(obj, version)


def offset_commit_key(group_id: str, topic: str, partition: int) -> bytes:
    """The key of the committed offset of ``(group_id, topic, partition)``."""
    obj = {"group": group_id, "topic": topic, "partition": partition}
    return _prefixed(OFFSET_COMMIT_KEY, obj, OFFSET_COMMIT_KEY_TYPE)


def offset_commit_record(group_id: str, topic: str, partition: int, offset: int,
                         leader_epoch: int, metadata: str, commit_timestamp_ms: int,
                         expire_timestamp_ms: int = -1) -> Record:
    """A committed offset, as Kafka 4.0's ``newOffsetCommitRecord`` writes it."""
    version = (OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY if expire_timestamp_ms >= 0
               else OFFSET_COMMIT_VALUE_VERSION)
    value = {
        "offset": offset, "leader_epoch": leader_epoch, "metadata": metadata,
        "commit_timestamp": commit_timestamp_ms, "expire_timestamp": expire_timestamp_ms,
    }
    return (offset_commit_key(group_id, topic, partition),
            _prefixed(OFFSET_COMMIT_VALUE, value, version))


def offset_commit_tombstone(group_id: str, topic: str, partition: int) -> Record:
    """Deletes a committed offset (OffsetDelete, DeleteGroups, expiry)."""
    return (offset_commit_key(group_id, topic, partition), None)


def group_metadata_key(group_id: str) -> bytes:
    """The key of a classic group's metadata record."""
    return _prefixed(GROUP_METADATA_KEY, {"group": group_id}, GROUP_METADATA_KEY_TYPE)


def group_metadata_record(group_id: str, value: dict) -> Record:
    """A classic group's metadata; ``value`` has GroupMetadataValue's fields."""
    return (group_metadata_key(group_id),
            _prefixed(GROUP_METADATA_VALUE, value, GROUP_METADATA_VALUE_VERSION))


def group_metadata_tombstone(group_id: str) -> Record:
    """Deletes a classic group (DeleteGroups, or its last offset expired)."""
    return (group_metadata_key(group_id), None)


def decode_record(key: bytes, value: bytes | None) -> tuple[int, Struct, Struct | None]:
    """Decode one ``__consumer_offsets`` record.

    Returns:
        ``(record_type, key_struct, value_struct)``; ``value_struct`` is None
        for a tombstone.

    Raises:
        ValueError: an unknown record type or version, or bad bytes
            (``codec.DecodeError`` is a ValueError).
    """
    key = bytes(key)
    (record_type,) = _INT16.unpack_from(key)
    if record_type not in RECORD_TYPES:
        raise ValueError(f"unknown __consumer_offsets record type {record_type}")
    key_message, value_message = RECORD_TYPES[record_type]
    key_struct = key_message.decode(memoryview(key)[2:], record_type)
    if value is None:
        return record_type, key_struct, None
    value = bytes(value)
    (value_version,) = _INT16.unpack_from(value)
    return record_type, key_struct, value_message.decode(memoryview(value)[2:], value_version)


def subscribed_topics(metadata: bytes) -> set[str] | None:
    """The topics in a ConsumerProtocolSubscription, or None if unreadable.

    Kafka reads a newer version with the newest format it knows: versions
    only ever append fields.
    """
    try:
        (version,) = _INT16.unpack_from(metadata)
        if version < 0:
            return None
        decoded = CONSUMER_PROTOCOL_SUBSCRIPTION.decode(memoryview(bytes(metadata))[2:], min(version, 3))
    except (ValueError, struct.error):
        return None
    return set(decoded.topics)

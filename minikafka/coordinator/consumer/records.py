"""Encode the KIP-848 consumer group records of ``__consumer_offsets`` (types 3 to 8).

A consumer group is persisted as six kinds of records, each keyed so that
compaction keeps only the latest of each (declarations in
``minikafka.protocol.messages.internal``; key = ``int16 type | key struct``,
value = ``int16 version (0) | value struct``, flexible):

====  =====================================  ===================================
type  key                                    value
====  =====================================  ===================================
3     group                                  group epoch
4     group                                  subscribed topics' id, name, partitions
5     group, member                          member identity and subscription
6     group                                  target assignment epoch
7     group, member                          the member's target partitions
8     group, member                          member epoch, state, owned partitions
====  =====================================  ===================================

A tombstone (value None) deletes the key. Kafka 4.0 writes them in a fixed
order when a group or member goes (current assignment, then target, then
metadata; the group epoch last), so a reader never sees a member without its
metadata. ``group.py`` decodes them back (``replay``).
"""

from __future__ import annotations

import struct

from minikafka.coordinator.consumer.member import ConsumerGroupMember, to_topic_partitions
from minikafka.coordinator.records import Record
from minikafka.protocol.messages.internal import RECORD_TYPES

GROUP_METADATA = 3
PARTITION_METADATA = 4
MEMBER_METADATA = 5
TARGET_ASSIGNMENT_METADATA = 6
TARGET_ASSIGNMENT_MEMBER = 7
CURRENT_MEMBER_ASSIGNMENT = 8

CONSUMER_GROUP_RECORD_TYPES = frozenset(range(3, 9))
"""The record types that belong to the consumer group protocol."""

_INT16 = struct.Struct(">h")
_VALUE_VERSION = 0  # every ConsumerGroup*Value exists at version 0 only


def _key(record_type: int, group_id: str, member_id: str | None = None) -> bytes:
    key_message, _ = RECORD_TYPES[record_type]
    obj = {"group_id": group_id, "member_id": member_id or ""}
    return _INT16.pack(record_type) + key_message.encode(obj, record_type)


def _record(record_type: int, group_id: str, member_id: str | None, value: dict | None) -> Record:
    key = _key(record_type, group_id, member_id)
    if value is None:
        return key, None
    _, value_message = RECORD_TYPES[record_type]
    return key, _INT16.pack(_VALUE_VERSION) + value_message.encode(value, _VALUE_VERSION)


def group_epoch_record(group_id: str, epoch: int) -> Record:
    """Type 3: the group epoch (bumped whenever the target assignment must change)."""
    return _record(GROUP_METADATA, group_id, None, {"epoch": epoch})


def partition_metadata_record(group_id: str, topics: dict[str, tuple[bytes, int]]) -> Record:
    """Type 4: ``{topic name: (topic id, partition count)}`` of every subscribed topic."""
    value = {"topics": [
        {"topic_id": topic_id, "topic_name": name, "num_partitions": count, "partition_metadata": []}
        for name, (topic_id, count) in sorted(topics.items())
    ]}
    return _record(PARTITION_METADATA, group_id, None, value)


def member_metadata_record(group_id: str, member: ConsumerGroupMember) -> Record:
    """Type 5: the member's identity and subscription."""
    value = {
        "instance_id": member.instance_id, "rack_id": member.rack_id,
        "client_id": member.client_id, "client_host": member.client_host,
        "subscribed_topic_names": list(member.subscribed_topic_names),
        "subscribed_topic_regex": member.subscribed_topic_regex,
        "rebalance_timeout_ms": member.rebalance_timeout_ms,
        "server_assignor": member.server_assignor,
    }
    return _record(MEMBER_METADATA, group_id, member.member_id, value)


def target_assignment_epoch_record(group_id: str, epoch: int) -> Record:
    """Type 6: the epoch of the target assignment (written after its members' records)."""
    return _record(TARGET_ASSIGNMENT_METADATA, group_id, None, {"assignment_epoch": epoch})


def target_assignment_record(group_id: str, member_id: str, assignment) -> Record:
    """Type 7: one member's target partitions."""
    value = {"topic_partitions": to_topic_partitions(assignment)}
    return _record(TARGET_ASSIGNMENT_MEMBER, group_id, member_id, value)


def current_assignment_record(group_id: str, member: ConsumerGroupMember) -> Record:
    """Type 8: the member's epoch, reconciliation state and current assignment."""
    value = {
        "member_epoch": member.member_epoch,
        "previous_member_epoch": member.previous_member_epoch,
        "state": int(member.state),
        "assigned_partitions": to_topic_partitions(member.assigned_partitions),
        "partitions_pending_revocation": to_topic_partitions(member.partitions_pending_revocation),
    }
    return _record(CURRENT_MEMBER_ASSIGNMENT, group_id, member.member_id, value)


def tombstone(record_type: int, group_id: str, member_id: str | None = None) -> Record:
    """Delete the record of ``record_type`` for the group (or one of its members)."""
    return _record(record_type, group_id, member_id, None)

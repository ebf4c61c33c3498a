"""__consumer_offsets record formats, byte for byte as Kafka 4.0 writes them."""

import struct

import pytest

from minikafka.coordinator.records import (
    decode_record,
    group_metadata_record,
    group_metadata_tombstone,
    offset_commit_record,
    offset_commit_tombstone,
    subscribed_topics,
)
from minikafka.protocol.messages.internal import (
    CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT_VALUE,
    CONSUMER_GROUP_METADATA_KEY,
    CONSUMER_GROUP_METADATA_VALUE,
    RECORD_TYPES,
)


def s16(text: str) -> bytes:
    """A non-flexible string: int16 length + UTF-8."""
    return struct.pack(">h", len(text)) + text.encode()


def test_offset_commit_key_is_type_1_group_topic_partition():
    key, value = offset_commit_record("g", "t", 7, offset=42, leader_epoch=-1, metadata="",
                                      commit_timestamp_ms=1000)
    assert key == bytes.fromhex("0001" "000167" "000174" "00000007")
    assert value == bytes.fromhex("0003" "000000000000002a" "ffffffff" "0000" "00000000000003e8")


def test_offset_commit_with_expire_timestamp_is_value_v1():
    _, value = offset_commit_record("g", "t", 0, offset=5, leader_epoch=3, metadata="m",
                                    commit_timestamp_ms=10, expire_timestamp_ms=20)
    # v1: offset, metadata, commit timestamp, expire timestamp (no leader epoch).
    assert value == (b"\x00\x01" + struct.pack(">q", 5) + s16("m") + struct.pack(">qq", 10, 20))


def test_offset_commit_tombstone_has_no_value():
    assert offset_commit_tombstone("g", "t", 7) == (bytes.fromhex("0001000167000174" "00000007"), None)


def test_group_metadata_value_v3_layout():
    key, value = group_metadata_record("grp", {
        "protocol_type": "consumer", "generation": 2, "protocol": "range", "leader": "m1",
        "current_state_timestamp": 99,
        "members": [{"member_id": "m1", "group_instance_id": "i1", "client_id": "c", "client_host": "/h",
                     "rebalance_timeout": 300, "session_timeout": 100, "subscription": b"\x01",
                     "assignment": b"\x02\x03"}],
    })
    assert key == b"\x00\x02" + s16("grp")
    expected = (b"\x00\x03" + s16("consumer") + struct.pack(">i", 2) + s16("range") + s16("m1")
                + struct.pack(">q", 99) + struct.pack(">i", 1)
                + s16("m1") + s16("i1") + s16("c") + s16("/h") + struct.pack(">ii", 300, 100)
                + struct.pack(">i", 1) + b"\x01" + struct.pack(">i", 2) + b"\x02\x03")
    assert value == expected


def test_empty_group_metadata_has_null_protocol_and_leader():
    _, value = group_metadata_record("g", {"protocol_type": "", "generation": 0, "protocol": None,
                                           "leader": None, "current_state_timestamp": -1, "members": []})
    assert value == (b"\x00\x03" + s16("") + struct.pack(">i", 0) + b"\xff\xff" + b"\xff\xff"
                     + struct.pack(">q", -1) + struct.pack(">i", 0))


def test_decode_round_trip_and_tombstones():
    record_type, key, value = decode_record(*offset_commit_record("g", "t", 1, 9, 4, "x", 5))
    assert (record_type, key.group, key.topic, key.partition) == (1, "g", "t", 1)
    assert (value.offset, value.leader_epoch, value.metadata, value.commit_timestamp) == (9, 4, "x", 5)
    record_type, key, value = decode_record(*group_metadata_tombstone("g"))
    assert (record_type, key.group, value) == (2, "g", None)


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
def test_every_offset_commit_value_version_decodes(version):
    from minikafka.protocol.messages.internal import OFFSET_COMMIT_VALUE
    body = OFFSET_COMMIT_VALUE.encode({"offset": 3, "metadata": "m", "commit_timestamp": 8}, version)
    key = bytes.fromhex("0000000167000174" "00000000")  # an old type-0 key
    _, _, value = decode_record(key, struct.pack(">h", version) + body)
    assert (value.offset, value.metadata, value.commit_timestamp) == (3, "m", 8)


def test_flexible_value_v4_has_tag_section():
    from minikafka.protocol.messages.internal import OFFSET_COMMIT_VALUE
    body = OFFSET_COMMIT_VALUE.encode({"offset": 1, "leader_epoch": 2, "metadata": "m",
                                       "commit_timestamp": 3}, 4)
    assert body == struct.pack(">qi", 1, 2) + b"\x02m" + struct.pack(">q", 3) + b"\x00"


def test_consumer_group_records_layout():
    key = CONSUMER_GROUP_METADATA_KEY.encode({"group_id": "g"}, 3)
    assert key == s16("g")
    assert CONSUMER_GROUP_METADATA_VALUE.encode({"epoch": 5}, 0) == b"\x00\x00\x00\x05\x00"
    value = CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT_VALUE.encode({
        "member_epoch": 2, "previous_member_epoch": 1, "state": 0,
        "assigned_partitions": [{"topic_id": b"\x01" * 16, "partitions": [0, 1]}],
        "partitions_pending_revocation": []}, 0)
    assert value == (struct.pack(">iib", 2, 1, 0) + b"\x02" + b"\x01" * 16
                     + b"\x03" + struct.pack(">ii", 0, 1) + b"\x00" + b"\x01" + b"\x00")
    assert sorted(RECORD_TYPES) == list(range(9))


def test_subscribed_topics_reads_consumer_protocol_subscription():
    v0 = b"\x00\x00" + struct.pack(">i", 2) + s16("a") + s16("b") + b"\xff\xff\xff\xff"
    assert subscribed_topics(v0) == {"a", "b"}
    assert subscribed_topics(b"\x00") is None

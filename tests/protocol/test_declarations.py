"""Consistency checks over every message declaration in minikafka.protocol.messages.

These tests read only the declarations (never Kafka's JSON): they check the
rules any declaration must follow, and pin the fields that real clients are
most sensitive to (a wrong version or a missing tagged field breaks them in
subtle ways).
"""

from __future__ import annotations

import pathlib
import re

import pytest

from minikafka.protocol import messages
from minikafka.protocol.schema import Field, Message, Versions

PAIRS = [(messages.REQUESTS[key], messages.RESPONSES[key]) for key in sorted(messages.REQUESTS)]
ALL_MESSAGES = [message for pair in PAIRS for message in pair]

# Apache Kafka 4.0's lowest versions after KIP-896; every other API starts at 0.
KIP_896_FLOORS = {
    0: 3,  # Produce
    1: 4,  # Fetch
    2: 1,  # ListOffsets
    23: 2,  # OffsetForLeaderEpoch
    56: 2,  # AlterPartition
    19: 2,  # CreateTopics
    20: 1,  # DeleteTopics
    32: 1,  # DescribeConfigs
    35: 1,  # DescribeLogDirs
    8: 2,  # OffsetCommit
    9: 1,  # OffsetFetch
    11: 2,  # JoinGroup
    27: 1,  # WriteTxnMarkers
}

SINGLE_BROKER_APIS = {
    18: "ApiVersions", 3: "Metadata", 0: "Produce", 1: "Fetch", 2: "ListOffsets",
    19: "CreateTopics", 20: "DeleteTopics", 37: "CreatePartitions", 32: "DescribeConfigs",
    33: "AlterConfigs", 44: "IncrementalAlterConfigs", 21: "DeleteRecords",
    60: "DescribeCluster", 35: "DescribeLogDirs", 22: "InitProducerId",
}

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def walk(fields: list[Field], path: str = ""):
    """Yield ``(path, field)`` for every field, nested struct fields included."""
    for field in fields:
        field_path = f"{path}.{field.name}" if path else field.name
        yield field_path, field
        if field.fields:
            yield from walk(field.fields, field_path)


def structs(message: Message):
    """Yield ``(path, fields)`` for the message's top level and every struct in it."""
    yield message.name, message.fields
    for path, field in walk(message.fields):
        if field.fields:
            yield f"{message.name}.{path}", field.fields


def field_named(message: Message, path: str) -> Field:
    """The field at a dotted path, e.g. ``"topics.partitions.records"``."""
    fields, field = message.fields, None
    for name in path.split("."):
        field = next(f for f in fields if f.name == name)
        fields = field.fields or []
    return field


def ids(message):
    return message.name


# --- registries ---------------------------------------------------------------------------


def test_registries_cover_the_single_broker_apis():
    for api_key, name in SINGLE_BROKER_APIS.items():
        assert messages.API_NAMES[api_key] == name
        assert messages.REQUESTS[api_key].name == f"{name}Request"
        assert messages.RESPONSES[api_key].name == f"{name}Response"
    assert messages.REQUESTS.keys() == messages.RESPONSES.keys() == messages.API_NAMES.keys()


def test_each_message_is_a_module_level_name():
    for message in ALL_MESSAGES:
        upper_snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", message.name).upper()
        assert getattr(messages, upper_snake) is message


@pytest.mark.parametrize("request_, response", PAIRS, ids=[r.name for r, _ in PAIRS])
def test_request_and_response_agree(request_, response):
    assert request_.kind == "request" and response.kind == "response"
    assert request_.api_key == response.api_key
    assert request_.valid_versions == response.valid_versions
    assert request_.flexible_versions == response.flexible_versions


@pytest.mark.parametrize("message", ALL_MESSAGES, ids=ids)
def test_valid_versions_start_at_the_kip_896_floor(message):
    assert message.valid_versions.lowest == KIP_896_FLOORS.get(message.api_key, 0)
    assert not message.valid_versions.empty
    assert message.valid_versions.highest != Versions.NO_UPPER  # a broker serves a finite set


# --- fields -------------------------------------------------------------------------------


@pytest.mark.parametrize("message", ALL_MESSAGES, ids=ids)
def test_field_versions_are_served_or_below_the_floor(message):
    valid = message.valid_versions
    for path, field in walk(message.fields):
        assert not field.versions.empty, path
        overlaps = field.versions.lowest <= valid.highest and field.versions.highest >= valid.lowest
        below_floor = field.versions.highest < valid.lowest and message.api_key in KIP_896_FLOORS
        assert overlaps or below_floor, f"{path}: {field.versions} vs {valid}"


@pytest.mark.parametrize("message", ALL_MESSAGES, ids=ids)
def test_names_are_snake_case_and_unique_per_struct(message):
    for path, fields in structs(message):
        names = [field.name for field in fields]
        assert len(names) == len(set(names)), path
        for name in names:
            assert SNAKE_CASE.match(name), f"{path}.{name}"


@pytest.mark.parametrize("message", ALL_MESSAGES, ids=ids)
def test_tags_unique_per_struct_and_only_in_flexible_versions(message):
    for path, fields in structs(message):
        tags = [field.tag for field in fields if field.is_tagged]
        assert len(tags) == len(set(tags)), path
        for field in fields:
            if field.is_tagged:
                tagged = field.tagged_versions
                assert message.flexible_versions.lowest <= tagged.lowest, f"{path}.{field.name}"


_TYPE_OF_DEFAULT = {
    "bool": bool, "int8": int, "int16": int, "int32": int, "int64": int, "uint16": int,
    "uint32": int, "float64": float, "string": str, "bytes": bytes, "uuid": bytes,
}
_INT_RANGE = {
    "int8": (-(2**7), 2**7 - 1), "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1),
    "uint16": (0, 2**16 - 1), "uint32": (0, 2**32 - 1),
}


@pytest.mark.parametrize("message", ALL_MESSAGES, ids=ids)
def test_defaults_have_the_field_type(message):
    for path, field in walk(message.fields):
        value = field.default_value()
        if value is None:
            # null only where the field may be null (records and structs excepted).
            assert not field.nullable.empty or field.is_struct or field.type == "records", path
        elif field.is_array:
            assert isinstance(value, list), path
        elif field.type in _TYPE_OF_DEFAULT:
            expected = _TYPE_OF_DEFAULT[field.type]
            assert type(value) is expected, f"{path}: {value!r} is not {expected.__name__}"
            low, high = _INT_RANGE.get(field.type, (value, value))
            assert low <= value <= high, path


def test_no_module_reads_kafkas_json_definitions():
    package = pathlib.Path(messages.__file__).parents[2]
    for source in package.rglob("*.py"):
        text = source.read_text()
        assert "kafka-messages" not in text, source
        assert "Request.json" not in text and "Response.json" not in text, source


# --- the fields real clients are most sensitive to ----------------------------------------


def assert_field(message, path, type_, versions, *, tag=None, nullable="none", default=None):
    field = field_named(message, path)
    assert field.type == type_, path
    assert str(field.versions) == versions, path
    assert field.tag == tag, path
    assert str(field.nullable) == nullable, path
    if default is not None:
        assert field.default_value() == default, path


def test_fetch_request_key_fields():
    m = messages.FETCH_REQUEST
    assert str(m.valid_versions) == "4-17" and str(m.flexible_versions) == "12+"
    assert_field(m, "cluster_id", "string", "12+", tag=0, nullable="12+")
    assert_field(m, "replica_id", "int32", "0-14", default=-1)
    assert_field(m, "replica_state", "ReplicaState", "15+", tag=1)
    assert_field(m, "max_bytes", "int32", "3+", default=0x7FFFFFFF)
    assert_field(m, "topics.topic", "string", "0-12")
    assert_field(m, "topics.topic_id", "uuid", "13+")
    assert_field(m, "topics.partitions.replica_directory_id", "uuid", "17+", tag=0)
    assert_field(m, "forgotten_topics_data.topic_id", "uuid", "13+")
    assert [f.name for f in m.fields][-1] == "rack_id"


def test_fetch_response_key_fields():
    m = messages.FETCH_RESPONSE
    partition = "responses.partitions"
    assert_field(m, "responses.topic_id", "uuid", "13+")
    assert_field(m, f"{partition}.diverging_epoch", "EpochEndOffset", "12+", tag=0)
    assert_field(m, f"{partition}.current_leader", "LeaderIdAndEpoch", "12+", tag=1)
    assert_field(m, f"{partition}.snapshot_id", "SnapshotId", "12+", tag=2)
    assert_field(m, f"{partition}.aborted_transactions", "[]AbortedTransaction", "4+",
                 nullable="4+")
    assert_field(m, f"{partition}.records", "records", "0+", nullable="0+")
    assert_field(m, "node_endpoints", "[]NodeEndpoint", "16+", tag=0)
    assert_field(m, "node_endpoints.rack", "string", "16+", nullable="16+")


def test_produce_key_fields():
    request, response = messages.PRODUCE_REQUEST, messages.PRODUCE_RESPONSE
    assert str(request.valid_versions) == "3-11" and str(request.flexible_versions) == "9+"
    assert_field(request, "transactional_id", "string", "3+", nullable="3+")
    assert_field(request, "topic_data.partition_data.records", "records", "0+", nullable="0+")
    partition = "responses.partition_responses"
    assert_field(response, f"{partition}.record_errors", "[]BatchIndexAndErrorMessage", "8+")
    assert_field(response, f"{partition}.error_message", "string", "8+", nullable="8+")
    assert_field(response, f"{partition}.current_leader", "LeaderIdAndEpoch", "10+", tag=0)
    assert_field(response, f"{partition}.current_leader.leader_id", "int32", "10+", default=-1)
    assert_field(response, "node_endpoints", "[]NodeEndpoint", "10+", tag=0)


def test_metadata_key_fields():
    request, response = messages.METADATA_REQUEST, messages.METADATA_RESPONSE
    assert_field(request, "topics", "[]MetadataRequestTopic", "0+", nullable="1+")
    assert_field(request, "topics.topic_id", "uuid", "10+")
    assert_field(request, "topics.name", "string", "0+", nullable="10+")
    assert field_named(request, "allow_auto_topic_creation").default_value() is True
    assert_field(request, "include_cluster_authorized_operations", "bool", "8-10")
    assert_field(request, "include_topic_authorized_operations", "bool", "8+")
    assert_field(response, "topics.topic_id", "uuid", "10+")
    assert_field(response, "cluster_authorized_operations", "int32", "8-10")


def test_api_versions_response_tagged_fields():
    m = messages.API_VERSIONS_RESPONSE
    assert str(m.valid_versions) == "0-4" and str(m.flexible_versions) == "3+"
    assert_field(m, "supported_features", "[]SupportedFeatureKey", "3+", tag=0)
    assert_field(m, "finalized_features_epoch", "int64", "3+", tag=1, default=-1)
    assert_field(m, "finalized_features", "[]FinalizedFeatureKey", "3+", tag=2)
    assert_field(m, "zk_migration_ready", "bool", "3+", tag=3)


def test_list_offsets_key_fields():
    request, response = messages.LIST_OFFSETS_REQUEST, messages.LIST_OFFSETS_RESPONSE
    assert_field(request, "timeout_ms", "int32", "10+")
    assert_field(request, "topics.partitions.current_leader_epoch", "int32", "4+", default=-1)
    assert_field(response, "topics.partitions.leader_epoch", "int32", "4+", default=-1)


def test_describe_configs_key_fields():
    m = messages.DESCRIBE_CONFIGS_RESPONSE
    configs = "results.configs"
    assert_field(m, f"{configs}.synonyms", "[]DescribeConfigsSynonym", "1+")
    assert_field(m, f"{configs}.config_type", "int8", "3+")
    assert_field(m, f"{configs}.documentation", "string", "3+", nullable="0+")


def test_create_topics_response_key_fields():
    m = messages.CREATE_TOPICS_RESPONSE
    assert_field(m, "topics.topic_id", "uuid", "7+")
    assert_field(m, "topics.topic_config_error_code", "int16", "5+", tag=0)
    assert_field(m, "topics.num_partitions", "int32", "5+", default=-1)
    assert_field(m, "topics.replication_factor", "int16", "5+", default=-1)
    assert_field(m, "topics.configs", "[]CreatableTopicConfigs", "5+", nullable="5+")


# --- known bytes: catch field-order mistakes ------------------------------------------------
#
# Each frame body below is written by hand from the protocol guide's BNF: fixed-width
# big-endian integers; in flexible versions, compact strings/arrays/records (length + 1
# as an unsigned varint, 0 = null) and a tagged-field section (a varint count, then
# tag, size, value per field) closing every struct.

from minikafka.protocol import codec  # noqa: E402  (installs Message.encode / decode)

NO_TAGS = b"\x00"
ZERO_UUID = bytes(16)
TOPIC_ID = bytes(range(1, 17))


def int16(value):
    return value.to_bytes(2, "big", signed=True)


def int32(value):
    return value.to_bytes(4, "big", signed=True)


def int64(value):
    return value.to_bytes(8, "big", signed=True)


def compact_string(text):
    return bytes([len(text) + 1]) + text.encode()


def assert_round_trip(message, version, obj, wire):
    """``obj`` encodes to exactly ``wire``, and ``wire`` decodes back to ``obj``'s fields."""
    assert message.encode(obj, version) == wire
    decoded = codec.as_dict(message.decode(wire, version))
    assert_subset(obj, decoded)


def assert_subset(expected, actual):
    if isinstance(expected, dict):
        for name, value in expected.items():
            assert_subset(value, actual[name])
    elif isinstance(expected, list):
        assert len(expected) == len(actual)
        for want, got in zip(expected, actual):
            assert_subset(want, got)
    else:
        assert (bytes(actual) if isinstance(actual, memoryview) else actual) == expected


def test_api_versions_v3_request_as_librdkafka_sends_it():
    wire = compact_string("librdkafka") + compact_string("2.0.2") + NO_TAGS
    obj = {"client_software_name": "librdkafka", "client_software_version": "2.0.2"}
    assert_round_trip(messages.API_VERSIONS_REQUEST, 3, obj, wire)


def test_api_versions_v3_response_without_features():
    wire = (int16(0) + b"\x02" + int16(0) + int16(3) + int16(11) + NO_TAGS
            + int32(0) + NO_TAGS)
    obj = {"error_code": 0, "api_keys": [{"api_key": 0, "min_version": 3, "max_version": 11}],
           "throttle_time_ms": 0}
    assert_round_trip(messages.API_VERSIONS_RESPONSE, 3, obj, wire)


def test_api_versions_v3_response_with_a_tagged_field():
    # zk_migration_ready (tag 3) is written only because it is not its default (False).
    wire = int16(0) + b"\x01" + int32(0) + b"\x01" + b"\x03\x01\x01"
    obj = {"error_code": 0, "api_keys": [], "zk_migration_ready": True}
    assert_round_trip(messages.API_VERSIONS_RESPONSE, 3, obj, wire)


def test_metadata_v12_request():
    topic = ZERO_UUID + compact_string("orders") + NO_TAGS
    wire = b"\x02" + topic + b"\x01" + b"\x00" + NO_TAGS
    obj = {"topics": [{"topic_id": ZERO_UUID, "name": "orders"}],
           "allow_auto_topic_creation": True, "include_topic_authorized_operations": False}
    assert_round_trip(messages.METADATA_REQUEST, 12, obj, wire)


def test_metadata_v12_request_for_all_topics():
    wire = b"\x00" + b"\x01" + b"\x00" + NO_TAGS  # null topics = every topic
    assert_round_trip(messages.METADATA_REQUEST, 12, {"topics": None}, wire)


def test_metadata_v1_request_is_not_flexible():
    wire = int32(1) + int16(6) + b"orders"
    assert_round_trip(messages.METADATA_REQUEST, 1, {"topics": [{"name": "orders"}]}, wire)


def test_produce_v9_request_with_one_partition():
    records = b"batch"
    partition = int32(0) + bytes([len(records) + 1]) + records + NO_TAGS
    topic = compact_string("orders") + b"\x02" + partition + NO_TAGS
    wire = b"\x00" + int16(-1) + int32(30000) + b"\x02" + topic + NO_TAGS
    obj = {"transactional_id": None, "acks": -1, "timeout_ms": 30000,
           "topic_data": [{"name": "orders", "partition_data": [
               {"index": 0, "records": records}]}]}
    assert_round_trip(messages.PRODUCE_REQUEST, 9, obj, wire)


def test_produce_v3_request_is_not_flexible():
    records = b"batch"
    partition = int32(2) + int32(len(records)) + records
    topic = int16(6) + b"orders" + int32(1) + partition
    wire = int16(-1) + int16(1) + int32(1500) + int32(1) + topic
    obj = {"transactional_id": None, "acks": 1, "timeout_ms": 1500,
           "topic_data": [{"name": "orders", "partition_data": [
               {"index": 2, "records": records}]}]}
    assert_round_trip(messages.PRODUCE_REQUEST, 3, obj, wire)


def test_produce_v10_response_with_current_leader_and_node_endpoints():
    leader = int32(2) + int32(7) + NO_TAGS
    partition = (int32(0) + int16(6) + int64(-1) + int64(-1) + int64(-1)
                 + b"\x01" + b"\x00"  # empty record_errors, null error_message
                 + b"\x01" + b"\x00" + bytes([len(leader)]) + leader)  # tag 0: current_leader
    topic = compact_string("orders") + b"\x02" + partition + NO_TAGS
    endpoint = int32(2) + compact_string("b2") + int32(9092) + b"\x00" + NO_TAGS
    endpoints = b"\x02" + endpoint
    wire = (b"\x02" + topic + int32(0)
            + b"\x01" + b"\x00" + bytes([len(endpoints)]) + endpoints)  # tag 0: node_endpoints
    obj = {"responses": [{"name": "orders", "partition_responses": [{
               "index": 0, "error_code": 6, "base_offset": -1,
               "record_errors": [], "error_message": None,
               "current_leader": {"leader_id": 2, "leader_epoch": 7}}]}],
           "throttle_time_ms": 0,
           "node_endpoints": [{"node_id": 2, "host": "b2", "port": 9092, "rack": None}]}
    assert_round_trip(messages.PRODUCE_RESPONSE, 10, obj, wire)


def test_fetch_v13_request_uses_topic_ids():
    partition = (int32(0) + int32(-1) + int64(42) + int32(-1) + int64(-1)
                 + int32(1048576) + NO_TAGS)
    topic = TOPIC_ID + b"\x02" + partition + NO_TAGS
    wire = (int32(-1) + int32(500) + int32(1) + int32(52428800) + b"\x00"
            + int32(0) + int32(-1) + b"\x02" + topic + b"\x01" + compact_string("")
            + NO_TAGS)
    obj = {"replica_id": -1, "max_wait_ms": 500, "min_bytes": 1, "max_bytes": 52428800,
           "isolation_level": 0, "session_id": 0, "session_epoch": -1,
           "topics": [{"topic_id": TOPIC_ID, "partitions": [{
               "partition": 0, "current_leader_epoch": -1, "fetch_offset": 42,
               "last_fetched_epoch": -1, "log_start_offset": -1,
               "partition_max_bytes": 1048576}]}],
           "forgotten_topics_data": [], "rack_id": ""}
    assert_round_trip(messages.FETCH_REQUEST, 13, obj, wire)


def test_fetch_v4_request_is_not_flexible():
    partition = int32(0) + int64(42) + int32(1048576)
    topic = int16(6) + b"orders" + int32(1) + partition
    wire = int32(-1) + int32(500) + int32(1) + int32(52428800) + b"\x01" + int32(1) + topic
    obj = {"replica_id": -1, "max_wait_ms": 500, "min_bytes": 1, "max_bytes": 52428800,
           "isolation_level": 1, "topics": [{"topic": "orders", "partitions": [
               {"partition": 0, "fetch_offset": 42, "partition_max_bytes": 1048576}]}]}
    assert_round_trip(messages.FETCH_REQUEST, 4, obj, wire)


def test_list_offsets_v10_request_ends_with_timeout_ms():
    partition = int32(0) + int32(-1) + int64(-2) + NO_TAGS
    topic = compact_string("orders") + b"\x02" + partition + NO_TAGS
    wire = int32(-1) + b"\x00" + b"\x02" + topic + int32(30000) + NO_TAGS
    obj = {"replica_id": -1, "isolation_level": 0, "topics": [{"name": "orders", "partitions": [
        {"partition_index": 0, "current_leader_epoch": -1, "timestamp": -2}]}],
        "timeout_ms": 30000}
    assert_round_trip(messages.LIST_OFFSETS_REQUEST, 10, obj, wire)


ALL_VERSIONS = [
    (message, version)
    for message in ALL_MESSAGES
    for version in range(message.valid_versions.lowest, message.valid_versions.highest + 1)
]


@pytest.mark.parametrize(
    "message, version", ALL_VERSIONS, ids=[f"{m.name}-v{v}" for m, v in ALL_VERSIONS])
def test_every_version_encodes_its_defaults_and_decodes_them_back(message, version):
    wire = message.encode({}, version)
    decoded = message.decode(wire, version)
    assert message.encode(decoded, version) == wire


# --- bodies captured from real clients (request header stripped) -------------------------


def test_librdkafka_2_16_api_versions_v3_request():
    wire = bytes.fromhex("17636f6e666c75656e742d6b61666b612d707974686f6e"
                         "16322e31362e312d72646b61666b612d322e31362e3000")
    request = messages.API_VERSIONS_REQUEST.decode(wire, 3)
    assert request.client_software_name == "confluent-kafka-python"
    assert request.client_software_version == "2.16.1-rdkafka-2.16.0"


def test_librdkafka_2_16_metadata_v12_request_for_brokers_only():
    request = messages.METADATA_REQUEST.decode(bytes.fromhex("01000000"), 12)
    assert request.topics == [] and request.allow_auto_topic_creation is False


def test_librdkafka_2_16_all_topics_metadata_v12_request_has_trailing_bytes():
    # librdkafka leaves its 4-byte array-count placeholder in the frame: Kafka
    # reads 0x00 as a null topic array (all topics) and ignores the 3 bytes left.
    wire = bytes.fromhex("00000000010000")
    request, end = codec.decode_from(messages.METADATA_REQUEST, memoryview(wire), 0, 12)
    assert request.topics is None and request.allow_auto_topic_creation is False
    assert end == len(wire) - 3

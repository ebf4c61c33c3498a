"""The client quota messages (DescribeClientQuotas 48, AlterClientQuotas 49).

Known bytes written by hand from the protocol guide's BNF (v0 classic, v1
flexible: compact strings and arrays, tagged-field sections), then a check
against an independent encoder: kafka-python's own message classes write
requests that our declarations decode and re-encode byte for byte, and read
the responses we encode. (No client this project captures golden frames from
has an admin call for these APIs, so there are no golden files for them.)
"""

from __future__ import annotations

import struct

import pytest
from kafka.protocol.admin import client_quotas as kp

from minikafka.protocol import codec, messages
from tests.protocol.test_declarations import NO_TAGS, assert_field, assert_round_trip, compact_string, int16, int32


def string(text):
    return int16(len(text)) + text.encode()


def float64(value):
    return struct.pack(">d", value)


NULL_STRING = int16(-1)
NULL_COMPACT_STRING = b"\x00"


def test_versions_and_names():
    for api_key, name in ((48, "DescribeClientQuotas"), (49, "AlterClientQuotas")):
        assert messages.API_NAMES[api_key] == name
        for registry in (messages.REQUESTS, messages.RESPONSES):
            message = registry[api_key]
            assert (str(message.valid_versions), str(message.flexible_versions)) == ("0-1", "1+")


def test_key_fields():
    assert_field(messages.DESCRIBE_CLIENT_QUOTAS_REQUEST, "components.match", "string", "0+", nullable="0+")
    assert_field(messages.DESCRIBE_CLIENT_QUOTAS_REQUEST, "components.match_type", "int8", "0+")
    assert_field(messages.DESCRIBE_CLIENT_QUOTAS_RESPONSE, "entries", "[]EntryData", "0+", nullable="0+")
    assert_field(messages.DESCRIBE_CLIENT_QUOTAS_RESPONSE, "entries.values.value", "float64", "0+")
    assert_field(messages.ALTER_CLIENT_QUOTAS_REQUEST, "entries.entity.entity_name", "string", "0+",
                 nullable="0+")
    assert_field(messages.ALTER_CLIENT_QUOTAS_REQUEST, "entries.ops.value", "float64", "0+")
    assert_field(messages.ALTER_CLIENT_QUOTAS_RESPONSE, "entries.error_message", "string", "0+",
                 nullable="0+")


# --- known bytes ------------------------------------------------------------------------------


def test_describe_v0_request():
    component = string("user") + b"\x00" + string("alice")  # MATCH_TYPE_EXACT
    wire = int32(1) + component + b"\x01"
    obj = {"components": [{"entity_type": "user", "match_type": 0, "match": "alice"}], "strict": True}
    assert_round_trip(messages.DESCRIBE_CLIENT_QUOTAS_REQUEST, 0, obj, wire)


def test_describe_v1_request_with_a_null_match():
    component = compact_string("client-id") + b"\x02" + NULL_COMPACT_STRING + NO_TAGS
    wire = b"\x02" + component + b"\x00" + NO_TAGS
    obj = {"components": [{"entity_type": "client-id", "match_type": 2, "match": None}], "strict": False}
    assert_round_trip(messages.DESCRIBE_CLIENT_QUOTAS_REQUEST, 1, obj, wire)


def test_describe_v1_response():
    entity = compact_string("user") + NULL_COMPACT_STRING + NO_TAGS
    value = compact_string("producer_byte_rate") + float64(1024.0) + NO_TAGS
    entry = b"\x02" + entity + b"\x02" + value + NO_TAGS
    wire = int32(0) + int16(0) + NULL_COMPACT_STRING + b"\x02" + entry + NO_TAGS
    obj = {"throttle_time_ms": 0, "error_code": 0, "error_message": None, "entries": [
        {"entity": [{"entity_type": "user", "entity_name": None}],
         "values": [{"key": "producer_byte_rate", "value": 1024.0}]}]}
    assert_round_trip(messages.DESCRIBE_CLIENT_QUOTAS_RESPONSE, 1, obj, wire)


def test_describe_v0_error_response_has_null_entries():
    wire = int32(0) + int16(42) + string("Unknown match type 7") + int32(-1)
    response = messages.DESCRIBE_CLIENT_QUOTAS_RESPONSE
    obj = {"throttle_time_ms": 0, "error_code": 42, "error_message": "Unknown match type 7", "entries": None}
    assert response.encode(obj, 0) == wire
    assert response.decode(wire, 0).entries is None


def test_alter_v0_request():
    entity = string("client-id") + string("app")
    op = string("request_percentage") + float64(12.5) + b"\x00"
    wire = int32(1) + int32(1) + entity + int32(1) + op + b"\x01"
    obj = {"entries": [{"entity": [{"entity_type": "client-id", "entity_name": "app"}],
                        "ops": [{"key": "request_percentage", "value": 12.5, "remove": False}]}],
           "validate_only": True}
    assert_round_trip(messages.ALTER_CLIENT_QUOTAS_REQUEST, 0, obj, wire)


def test_alter_v1_response():
    entity = compact_string("ip") + NULL_COMPACT_STRING + NO_TAGS
    entry = int16(42) + compact_string("boom") + b"\x02" + entity + NO_TAGS
    wire = int32(5) + b"\x02" + entry + NO_TAGS
    obj = {"throttle_time_ms": 5, "entries": [{"error_code": 42, "error_message": "boom",
                                               "entity": [{"entity_type": "ip", "entity_name": None}]}]}
    assert_round_trip(messages.ALTER_CLIENT_QUOTAS_RESPONSE, 1, obj, wire)


# --- kafka-python's encoder ---------------------------------------------------------------------


def kp_alter_request(version):
    r = kp.AlterClientQuotasRequest
    entry = r.EntryData
    return r(entries=[
        entry(entity=[entry.EntityData(entity_type="user", entity_name="alice"),
                      entry.EntityData(entity_type="client-id", entity_name=None)],
              ops=[entry.OpData(key="producer_byte_rate", value=1048576.0, remove=False),
                   entry.OpData(key="consumer_byte_rate", value=0.0, remove=True)]),
        entry(entity=[entry.EntityData(entity_type="ip", entity_name="10.0.0.1")],
              ops=[entry.OpData(key="connection_creation_rate", value=30.0, remove=False)]),
    ], validate_only=False, version=version)


def kp_describe_request(version):
    r = kp.DescribeClientQuotasRequest
    return r(components=[r.ComponentData(entity_type="user", match_type=0, match="alice"),
                         r.ComponentData(entity_type="client-id", match_type=1, match=None)],
             strict=True, version=version)


@pytest.mark.parametrize("version", [0, 1])
@pytest.mark.parametrize("build", [kp_alter_request, kp_describe_request])
def test_kafka_python_requests_decode_and_reencode_exactly(build, version):
    request = build(version)
    wire = request.encode(version=version)
    message = messages.REQUESTS[request.API_KEY]
    decoded = message.decode(wire, version, strict=True)
    assert message.encode(decoded, version) == wire
    assert codec.as_dict(decoded) == request.to_dict()


@pytest.mark.parametrize("version", [0, 1])
def test_kafka_python_reads_our_responses(version):
    describe = {"throttle_time_ms": 3, "error_code": 0, "error_message": None, "entries": [
        {"entity": [{"entity_type": "client-id", "entity_name": None}, {"entity_type": "user", "entity_name": "a"}],
         "values": [{"key": "request_percentage", "value": 12.5}]}]}
    wire = messages.DESCRIBE_CLIENT_QUOTAS_RESPONSE.encode(describe, version)
    assert kp.DescribeClientQuotasResponse.decode(wire, version=version).to_dict() == describe
    alter = {"throttle_time_ms": 0, "entries": [
        {"error_code": 42, "error_message": "Invalid configuration key bogus",
         "entity": [{"entity_type": "user", "entity_name": None}]}]}
    wire = messages.ALTER_CLIENT_QUOTAS_RESPONSE.encode(alter, version)
    assert kp.AlterClientQuotasResponse.decode(wire, version=version).to_dict() == alter

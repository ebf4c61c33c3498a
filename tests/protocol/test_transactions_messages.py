"""The transaction messages: the fields clients depend on, and known bytes.

Each frame body is written by hand from the protocol guide's BNF (see
``test_declarations.py`` for the encoding rules), so a field-order mistake in a
declaration shows up here and not only against a real client.
"""

from __future__ import annotations

from minikafka.protocol import codec, messages
from tests.protocol.test_declarations import (
    NO_TAGS,
    assert_field,
    assert_round_trip,
    compact_string,
    int16,
    int32,
    int64,
)


def string(text):
    return int16(len(text)) + text.encode()


def test_versions_are_kafka_4_0s():
    expected = {
        24: ("0-5", "3+"), 25: ("0-4", "3+"), 26: ("0-5", "3+"), 27: ("1", "1+"),
        28: ("0-4", "3+"), 61: ("0", "0+"), 65: ("0", "0+"), 66: ("0-1", "0+"),
    }
    for api_key, (valid, flexible) in expected.items():
        for registry in (messages.REQUESTS, messages.RESPONSES):
            message = registry[api_key]
            assert str(message.valid_versions) == valid, message.name
            assert str(message.flexible_versions) == flexible, message.name


def test_api_names():
    assert messages.API_NAMES[24] == "AddPartitionsToTxn"
    assert messages.API_NAMES[27] == "WriteTxnMarkers"
    assert messages.API_NAMES[61] == "DescribeProducers"
    assert messages.API_NAMES[66] == "ListTransactions"


def test_add_partitions_to_txn_has_a_client_form_and_a_broker_form():
    request, response = messages.ADD_PARTITIONS_TO_TXN_REQUEST, messages.ADD_PARTITIONS_TO_TXN_RESPONSE
    assert_field(request, "v3_and_below_transactional_id", "string", "0-3")
    assert_field(request, "v3_and_below_topics.partitions", "[]int32", "0+")
    assert_field(request, "transactions.verify_only", "bool", "4+", default=False)
    assert_field(request, "transactions.topics.name", "string", "0+")
    assert_field(response, "error_code", "int16", "4+")
    assert_field(response, "results_by_topic_v3_and_below.results_by_partition"
                 ".partition_error_code", "int16", "0+")
    assert_field(response, "results_by_transaction.topic_results.name", "string", "0+")


def test_end_txn_v5_response_carries_the_producer():
    response = messages.END_TXN_RESPONSE
    assert_field(response, "producer_id", "int64", "5+", default=-1)
    assert_field(response, "producer_epoch", "int16", "5+", default=-1)


def test_txn_offset_commit_group_membership_fields():
    request = messages.TXN_OFFSET_COMMIT_REQUEST
    assert_field(request, "generation_id", "int32", "3+", default=-1)
    assert_field(request, "member_id", "string", "3+")
    assert_field(request, "group_instance_id", "string", "3+", nullable="3+")
    assert field_default(request, "group_instance_id") is None
    assert_field(request, "topics.partitions.committed_leader_epoch", "int32", "2+", default=-1)
    assert_field(request, "topics.partitions.committed_metadata", "string", "0+", nullable="0+")


def field_default(message, name):
    return next(f for f in message.fields if f.name == name).default_value()


def test_describe_producers_epoch_is_an_int32():
    response = messages.DESCRIBE_PRODUCERS_RESPONSE
    producer = "topics.partitions.active_producers"
    assert_field(response, f"{producer}.producer_epoch", "int32", "0+")
    assert_field(response, f"{producer}.current_txn_start_offset", "int64", "0+", default=-1)
    assert_field(response, "topics.partitions.error_message", "string", "0+", nullable="0+")


def test_list_transactions_v1_adds_the_duration_filter():
    assert_field(messages.LIST_TRANSACTIONS_REQUEST, "duration_filter", "int64", "1+",
                 default=-1)


# --- known bytes ------------------------------------------------------------------------------


def test_add_partitions_to_txn_v0_request_is_not_flexible():
    topic = string("orders") + int32(2) + int32(0) + int32(3)
    wire = string("txn-1") + int64(4000) + int16(2) + int32(1) + topic
    obj = {"v3_and_below_transactional_id": "txn-1", "v3_and_below_producer_id": 4000,
           "v3_and_below_producer_epoch": 2,
           "v3_and_below_topics": [{"name": "orders", "partitions": [0, 3]}]}
    assert_round_trip(messages.ADD_PARTITIONS_TO_TXN_REQUEST, 0, obj, wire)


def test_add_partitions_to_txn_v4_verify_only_request():
    topic = compact_string("orders") + b"\x02" + int32(1) + NO_TAGS
    transaction = (compact_string("txn-1") + int64(4000) + int16(2) + b"\x01"
                   + b"\x02" + topic + NO_TAGS)
    wire = b"\x02" + transaction + NO_TAGS
    obj = {"transactions": [{"transactional_id": "txn-1", "producer_id": 4000,
                             "producer_epoch": 2, "verify_only": True,
                             "topics": [{"name": "orders", "partitions": [1]}]}]}
    assert_round_trip(messages.ADD_PARTITIONS_TO_TXN_REQUEST, 4, obj, wire)


def test_add_partitions_to_txn_v3_response():
    partition = int32(1) + int16(48) + NO_TAGS  # INVALID_TXN_STATE
    topic = compact_string("orders") + b"\x02" + partition + NO_TAGS
    wire = int32(0) + b"\x02" + topic + NO_TAGS
    obj = {"throttle_time_ms": 0, "results_by_topic_v3_and_below": [{
        "name": "orders",
        "results_by_partition": [{"partition_index": 1, "partition_error_code": 48}]}]}
    assert_round_trip(messages.ADD_PARTITIONS_TO_TXN_RESPONSE, 3, obj, wire)


def test_end_txn_v0_request():
    wire = string("txn-1") + int64(4000) + int16(2) + b"\x01"
    obj = {"transactional_id": "txn-1", "producer_id": 4000, "producer_epoch": 2,
           "committed": True}
    assert_round_trip(messages.END_TXN_REQUEST, 0, obj, wire)


def test_write_txn_markers_v1_request():
    topic = compact_string("orders") + b"\x03" + int32(0) + int32(2) + NO_TAGS
    marker = (int64(4000) + int16(2) + b"\x00"  # ABORT
              + b"\x02" + topic + int32(7) + NO_TAGS)
    wire = b"\x02" + marker + NO_TAGS
    obj = {"markers": [{"producer_id": 4000, "producer_epoch": 2, "transaction_result": False,
                        "topics": [{"name": "orders", "partition_indexes": [0, 2]}],
                        "coordinator_epoch": 7}]}
    assert_round_trip(messages.WRITE_TXN_MARKERS_REQUEST, 1, obj, wire)


def test_txn_offset_commit_v3_request():
    partition = int32(0) + int64(42) + int32(-1) + b"\x00" + NO_TAGS  # null metadata
    topic = compact_string("orders") + b"\x02" + partition + NO_TAGS
    wire = (compact_string("txn-1") + compact_string("group") + int64(4000) + int16(2)
            + int32(5) + compact_string("m-1") + b"\x00"  # null group_instance_id
            + b"\x02" + topic + NO_TAGS)
    obj = {"transactional_id": "txn-1", "group_id": "group", "producer_id": 4000,
           "producer_epoch": 2, "generation_id": 5, "member_id": "m-1",
           "group_instance_id": None,
           "topics": [{"name": "orders", "partitions": [{
               "partition_index": 0, "committed_offset": 42, "committed_leader_epoch": -1,
               "committed_metadata": None}]}]}
    assert_round_trip(messages.TXN_OFFSET_COMMIT_REQUEST, 3, obj, wire)


def test_describe_producers_v0_response():
    producer = (int64(4000) + int32(2) + int32(9) + int64(1_700_000_000_000) + int32(7)
                + int64(120) + NO_TAGS)
    partition = int32(0) + int16(0) + b"\x00" + b"\x02" + producer + NO_TAGS
    topic = compact_string("orders") + b"\x02" + partition + NO_TAGS
    wire = int32(0) + b"\x02" + topic + NO_TAGS
    obj = {"throttle_time_ms": 0, "topics": [{"name": "orders", "partitions": [{
        "partition_index": 0, "error_code": 0, "error_message": None,
        "active_producers": [{"producer_id": 4000, "producer_epoch": 2, "last_sequence": 9,
                              "last_timestamp": 1_700_000_000_000, "coordinator_epoch": 7,
                              "current_txn_start_offset": 120}]}]}]}
    assert_round_trip(messages.DESCRIBE_PRODUCERS_RESPONSE, 0, obj, wire)


def test_list_transactions_v1_request():
    wire = b"\x02" + compact_string("Ongoing") + b"\x01" + int64(60000) + NO_TAGS
    obj = {"state_filters": ["Ongoing"], "producer_id_filters": [], "duration_filter": 60000}
    assert_round_trip(messages.LIST_TRANSACTIONS_REQUEST, 1, obj, wire)


def test_describe_transactions_v0_response():
    topic = compact_string("orders") + b"\x02" + int32(3) + NO_TAGS
    state = (int16(0) + compact_string("txn-1") + compact_string("Ongoing") + int32(60000)
             + int64(1000) + int64(4000) + int16(2) + b"\x02" + topic + NO_TAGS)
    wire = int32(0) + b"\x02" + state + NO_TAGS
    decoded = codec.as_dict(messages.DESCRIBE_TRANSACTIONS_RESPONSE.decode(wire, 0))
    (entry,) = decoded["transaction_states"]
    assert entry["transaction_state"] == "Ongoing"
    assert entry["topics"] == [{"topic": "orders", "partitions": [3]}]
    assert messages.DESCRIBE_TRANSACTIONS_RESPONSE.encode(decoded, 0) == wire

"""Produce to topics with broker-side schema validation (Confluent Server's configs).

The handler is called directly, with requests and responses through the real
codec. The partitions record what was appended; the schema registry is a
small fake holding ``{subject: {ids}}`` that counts the questions (the real
client is tested in tests/server/test_schema_ids.py, and a real registry in
tests/integration/schema_validation/).
"""

from __future__ import annotations

import dataclasses

import pytest
import trio

from minikafka.config import BrokerConfig, RECORD_NAME_STRATEGY, TOPIC_NAME_STRATEGY, TOPIC_RECORD_NAME_STRATEGY
from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext, produce, schema_validation
from minikafka.handlers.services import SchemaRegistryUnavailable, TopicValidation
from minikafka.metadata.image import BROKER_RESOURCE, TOPIC_RESOURCE
from minikafka.protocol.messages import REQUESTS, RESPONSES
from minikafka.storage.unified_log import AppendResult
from minikafka_core.records import Record, build_batch

VALUE_ONLY = TopicValidation(key_strategy=None, value_strategy=TOPIC_NAME_STRATEGY)
KEY_AND_VALUE = TopicValidation(key_strategy=TOPIC_NAME_STRATEGY, value_strategy=TOPIC_NAME_STRATEGY)


def framed(schema_id: int, data: bytes = b"payload") -> bytes:
    """A payload in the schema registry's wire format."""
    return b"\x00" + schema_id.to_bytes(4, "big") + data


def batch(*values, keys=None, compression=0) -> bytes:
    keys = keys or [None] * len(values)
    return build_batch([Record(i, 1_000 + i, key, value) for i, (key, value) in enumerate(zip(keys, values))],
                       compression=compression)


class FakePartition:
    def __init__(self):
        self.appends = []

    def append_records(self, records, now_ms, *, single_batch, required_acks, allow_zstd,
                       verification_guard=None):
        self.appends.append(bytes(records))
        offset = len(self.appends) - 1
        return AppendResult(base_offset=offset, last_offset=offset, log_append_time_ms=-1, log_start_offset=0)


class FakePartitions:
    def __init__(self, partitions):
        self.partitions = partitions

    def leader_partition(self, topic, index):
        try:
            return self.partitions[(topic, index)]
        except KeyError:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) from None

    async def wait_for_isr(self, partition, required_offset, deadline_ms):
        return ErrorCode.NONE


class FakeRegistry:
    """``SchemaIds`` over ``{subject: {schema ids}}``; ``down`` makes every question fail."""

    def __init__(self, subjects=None, *, down=False, schemas=None):
        self.subjects = subjects or {}
        self.down = down
        self.record_names = schemas or {}  # {id: {"schema": text}}
        self.questions = []

    async def is_registered(self, schema_id, subject):
        self.questions.append((schema_id, subject))
        if self.down:
            raise SchemaRegistryUnavailable("http://127.0.0.1:1: ConnectError [Errno 111] Connection refused")
        return schema_id in self.subjects.get(subject, ())

    async def schema(self, schema_id):
        if self.down:
            raise SchemaRegistryUnavailable("down")
        return self.record_names.get(schema_id)


class FakeClock:
    def now_ms(self):
        return 1_000

    def monotonic_ms(self):
        return trio.current_time() * 1000


@dataclasses.dataclass
class Services:
    config: BrokerConfig
    partitions: FakePartitions
    schema_ids: FakeRegistry | None
    validated_topics: dict
    transaction_verifier: None = None
    clock: FakeClock = dataclasses.field(default_factory=FakeClock)
    quotas: None = None
    topic_stats: None = None


def call(services, data: dict, version: int = 9):
    """Produce ``{(topic, index): records}``; ``{(topic, index): partition response}``."""
    topics = {}
    for (topic, index), records in data.items():
        topics.setdefault(topic, []).append({"index": index, "records": records})
    request = {"transactional_id": None, "acks": 1, "timeout_ms": 1000,
               "topic_data": [{"name": name, "partition_data": parts} for name, parts in topics.items()]}
    decoded = REQUESTS[0].decode(REQUESTS[0].encode(request, version), version)
    ctx = RequestContext(0, version, 1, "test", "127.0.0.1:1", None)
    response = trio.run(produce.handle, services, decoded, ctx)
    response = RESPONSES[0].decode(RESPONSES[0].encode(response, version), version)
    return {(topic.name, p.index): p for topic in response.responses for p in topic.partition_responses}


@pytest.fixture
def orders():
    return FakePartition()


def services_for(tmp_path, partitions, registry, validated):
    return Services(BrokerConfig({"log.dirs": str(tmp_path)}), FakePartitions(partitions), registry, validated)


def test_validated_topics_come_from_the_topic_configs():
    configs = {
        (TOPIC_RESOURCE, "orders"): {"confluent.value.schema.validation": "true"},
        (TOPIC_RESOURCE, "keys"): {"confluent.key.schema.validation": "TRUE",
                                   "confluent.key.subject.name.strategy": RECORD_NAME_STRATEGY},
        (TOPIC_RESOURCE, "off"): {"confluent.value.schema.validation": "false", "retention.ms": "1000"},
        (BROKER_RESOURCE, ""): {"confluent.value.schema.validation": "true"},
    }
    assert schema_validation.validated_topics(configs) == {
        "orders": TopicValidation(None, TOPIC_NAME_STRATEGY),
        "keys": TopicValidation(RECORD_NAME_STRATEGY, None),
    }


def test_records_with_a_registered_id_are_appended(tmp_path, orders):
    registry = FakeRegistry({"orders-value": {7}})
    services = services_for(tmp_path, {("orders", 0): orders}, registry, {"orders": VALUE_ONLY})
    records = batch(framed(7, b"a"), framed(7, b"b"), framed(7, b"c"))
    answer = call(services, {("orders", 0): records})[("orders", 0)]
    assert answer.error_code == ErrorCode.NONE
    assert orders.appends == [records]
    assert registry.questions == [(7, "orders-value")]  # one question per (id, subject) and request


def test_raw_bytes_refuse_the_whole_batch_with_the_culprit_record(tmp_path, orders):
    registry = FakeRegistry({"orders-value": {7}})
    services = services_for(tmp_path, {("orders", 0): orders}, registry, {"orders": VALUE_ONLY})
    answer = call(services, {("orders", 0): batch(framed(7), b'{"raw": "json"}', framed(7))})[("orders", 0)]
    assert answer.error_code == ErrorCode.INVALID_RECORD
    assert [(e.batch_index, e.batch_index_error_message) for e in answer.record_errors] == [
        (1, "The value does not start with the schema registry wire format (magic byte 0 and a 4-byte "
            "schema id)")]
    assert "1 record(s) of the batch for orders-0 failed schema validation" in answer.error_message
    assert answer.base_offset == -1
    assert orders.appends == []


def test_an_id_not_registered_under_the_topic_subject_is_refused(tmp_path, orders):
    registry = FakeRegistry({"orders-value": {7}, "payments-value": {8}})
    services = services_for(tmp_path, {("orders", 0): orders}, registry, {"orders": VALUE_ONLY})
    answer = call(services, {("orders", 0): batch(framed(8), framed(9))})[("orders", 0)]
    assert answer.error_code == ErrorCode.INVALID_RECORD
    assert [(e.batch_index, e.batch_index_error_message) for e in answer.record_errors] == [
        (0, "The value has schema id 8, which is not registered under subject 'orders-value'"),
        (1, "The value has schema id 9, which is not registered under subject 'orders-value'")]
    assert orders.appends == []


def test_a_short_payload_with_the_magic_byte_is_not_the_wire_format(tmp_path, orders):
    services = services_for(tmp_path, {("orders", 0): orders}, FakeRegistry(), {"orders": VALUE_ONLY})
    answer = call(services, {("orders", 0): batch(b"\x00\x00\x01")})[("orders", 0)]
    assert answer.error_code == ErrorCode.INVALID_RECORD
    assert orders.appends == []


def test_tombstones_and_null_keys_pass_as_in_confluent_server(tmp_path, orders):
    registry = FakeRegistry({"orders-value": {7}, "orders-key": {3}})
    services = services_for(tmp_path, {("orders", 0): orders}, registry, {"orders": KEY_AND_VALUE})
    records = batch(None, framed(7), None, keys=[framed(3), None, None])
    assert call(services, {("orders", 0): records})[("orders", 0)].error_code == ErrorCode.NONE
    assert orders.appends == [records]


def test_keys_are_checked_under_the_key_subject(tmp_path, orders):
    registry = FakeRegistry({"orders-value": {7}, "orders-key": {3}})
    services = services_for(tmp_path, {("orders", 0): orders}, registry, {"orders": KEY_AND_VALUE})
    good = batch(framed(7), keys=[framed(3)])
    assert call(services, {("orders", 0): good})[("orders", 0)].error_code == ErrorCode.NONE
    answer = call(services, {("orders", 0): batch(framed(7), keys=[b"customer-42"])})[("orders", 0)]
    assert answer.error_code == ErrorCode.INVALID_RECORD
    assert answer.record_errors[0].batch_index_error_message.startswith("The key does not start")
    wrong_subject = call(services, {("orders", 0): batch(framed(7), keys=[framed(7)])})[("orders", 0)]
    assert "not registered under subject 'orders-key'" in wrong_subject.error_message
    assert orders.appends == [good]


@pytest.mark.parametrize("codec", [1, 2, 3, 4])  # gzip, snappy, lz4, zstd
def test_compressed_batches_are_read_too(tmp_path, orders, codec):
    registry = FakeRegistry({"orders-value": {7}})
    services = services_for(tmp_path, {("orders", 0): orders}, registry, {"orders": VALUE_ONLY})
    bad = batch(framed(7), b"raw", compression=codec)
    answer = call(services, {("orders", 0): bad})[("orders", 0)]
    assert answer.error_code == ErrorCode.INVALID_RECORD
    assert [e.batch_index for e in answer.record_errors] == [1]
    good = batch(framed(7), framed(7), compression=codec)
    assert call(services, {("orders", 0): good})[("orders", 0)].error_code == ErrorCode.NONE
    assert orders.appends == [good]


def test_the_registry_down_refuses_the_batch_never_appends_it_unchecked(tmp_path, orders):
    registry = FakeRegistry({"orders-value": {7}}, down=True)
    services = services_for(tmp_path, {("orders", 0): orders}, registry, {"orders": VALUE_ONLY})
    answer = call(services, {("orders", 0): batch(framed(7))})[("orders", 0)]
    assert answer.error_code == ErrorCode.INVALID_RECORD
    assert "the schema registry could not be reached" in answer.error_message
    assert "Connection refused" in answer.error_message
    assert list(answer.record_errors) == []
    assert orders.appends == []


def test_a_validating_topic_on_a_broker_without_a_registry_url_refuses_everything(tmp_path, orders):
    services = services_for(tmp_path, {("orders", 0): orders}, None, {"orders": VALUE_ONLY})
    answer = call(services, {("orders", 0): batch(framed(7))})[("orders", 0)]
    assert answer.error_code == ErrorCode.INVALID_RECORD
    assert "confluent.schema.registry.url" in answer.error_message
    assert orders.appends == []


def test_only_the_failing_partition_is_refused(tmp_path):
    partitions = {("orders", 0): FakePartition(), ("orders", 1): FakePartition(), ("logs", 0): FakePartition()}
    registry = FakeRegistry({"orders-value": {7}})
    services = services_for(tmp_path, partitions, registry, {"orders": VALUE_ONLY})
    answers = call(services, {("orders", 0): batch(b"raw"), ("orders", 1): batch(framed(7)),
                              ("logs", 0): batch(b"raw")})
    assert {key: a.error_code for key, a in answers.items()} == {
        ("orders", 0): ErrorCode.INVALID_RECORD, ("orders", 1): ErrorCode.NONE, ("logs", 0): ErrorCode.NONE}
    assert partitions[("orders", 0)].appends == []
    assert len(partitions[("orders", 1)].appends) == len(partitions[("logs", 0)].appends) == 1


def test_without_validated_topics_the_registry_is_never_asked(tmp_path, orders):
    registry = FakeRegistry(down=True)
    services = services_for(tmp_path, {("orders", 0): orders}, registry, {})
    assert call(services, {("orders", 0): batch(b"raw")})[("orders", 0)].error_code == ErrorCode.NONE
    assert registry.questions == []


ORDER_SCHEMA = {"schema": '{"type": "record", "name": "Order", "namespace": "com.acme", '
                          '"fields": [{"name": "id", "type": "long"}]}'}


@pytest.mark.parametrize("strategy, subject", [(RECORD_NAME_STRATEGY, "com.acme.Order"),
                                               (TOPIC_RECORD_NAME_STRATEGY, "orders-com.acme.Order")])
def test_record_name_strategies_name_the_subject_after_the_schema_record(tmp_path, orders, strategy, subject):
    registry = FakeRegistry({subject: {7}, "orders-value": {8}}, schemas={7: ORDER_SCHEMA, 8: ORDER_SCHEMA})
    services = services_for(tmp_path, {("orders", 0): orders}, registry,
                            {"orders": TopicValidation(None, strategy)})
    assert call(services, {("orders", 0): batch(framed(7))})[("orders", 0)].error_code == ErrorCode.NONE
    answer = call(services, {("orders", 0): batch(framed(8))})[("orders", 0)]
    assert answer.error_code == ErrorCode.INVALID_RECORD
    assert f"not registered under subject '{subject}'" in answer.error_message
    assert len(orders.appends) == 1


def test_a_record_name_strategy_needs_the_schema_the_id_names(tmp_path, orders):
    registry = FakeRegistry({"com.acme.Order": {7}})  # knows no schema text: no record name
    validation = TopicValidation(None, RECORD_NAME_STRATEGY)
    services = services_for(tmp_path, {("orders", 0): orders}, registry, {"orders": validation})
    answer = call(services, {("orders", 0): batch(framed(7))})[("orders", 0)]
    assert answer.error_code == ErrorCode.INVALID_RECORD
    assert "which the schema registry does not know" in answer.error_message
    assert orders.appends == []


def test_many_refused_records_are_all_listed_and_the_message_shows_the_first_three(tmp_path, orders):
    services = services_for(tmp_path, {("orders", 0): orders}, FakeRegistry(), {"orders": VALUE_ONLY})
    answer = call(services, {("orders", 0): batch(*[b"raw"] * 5)})[("orders", 0)]
    assert [e.batch_index for e in answer.record_errors] == [0, 1, 2, 3, 4]
    assert answer.error_message.endswith("(and 2 more)")


def test_a_partition_this_broker_does_not_lead_is_not_validated_but_redirected(tmp_path):
    registry = FakeRegistry(down=True)
    services = services_for(tmp_path, {}, registry, {"orders": VALUE_ONLY})
    answer = call(services, {("orders", 0): batch(b"raw")})[("orders", 0)]
    assert answer.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION  # what the append path answers
    assert registry.questions == []

"""Broker-side schema validation with confluent-kafka's producer and Avro serializer, unmodified.

A real broker (``confluent.schema.registry.url`` set) and a real minikafka
schema registry, both child processes; topics turn validation on with
Confluent Server's topic configs. What the producer sees is what its client
reports; what the partition holds is read back with a consumer.

What each client shows of a refusal: confluent-kafka reports INVALID_RECORD
for every record of the refused batch; librdkafka keeps the broker's
messages (KIP-467's ``record_errors`` and ``error_message``) in
``rd_kafka_message_produce_errstr()``, but confluent-kafka's Python API shows
only librdkafka's text for the code ("Broker failed to validate record").
kafka-python's producer raises the broker's message itself, so the tests read
the messages through it.
"""

from __future__ import annotations

import httpx
import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource
from confluent_kafka.schema_registry import SchemaRegistryClient, record_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from kafka import KafkaProducer
from kafka.errors import InvalidRecordError

pytestmark = pytest.mark.slow

ORDER_SCHEMA = """{"type": "record", "name": "Order", "namespace": "com.acme",
  "fields": [{"name": "id", "type": "long"}, {"name": "item", "type": "string"}]}"""
CUSTOMER_KEY_SCHEMA = '{"type": "record", "name": "CustomerKey", "fields": [{"name": "customer", "type": "string"}]}'


def produce(cluster, topic, values, keys=None, **config) -> list:
    """Send ``values`` (one batch: they are handed over within ``linger.ms``); the delivery errors.

    The topic's metadata is fetched first: a record produced before the producer
    knows the partition's leader may leave in a batch of its own once it does.
    """
    reports = []
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "linger.ms": 500, "message.timeout.ms": 20000,
                         **{key.replace("_", "."): value for key, value in config.items()}})
    assert producer.list_topics(topic, timeout=10).topics[topic].error is None
    for i, value in enumerate(values):
        producer.produce(topic, value=value, key=keys[i] if keys else None,
                         on_delivery=lambda err, msg: reports.append(err))
    assert producer.flush(30) == 0
    return reports


def end_offset(cluster, topic) -> int:
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "sv-watermarks"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    finally:
        consumer.close()


def read_all(cluster, topic, count) -> list:
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "sv-reader",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    messages = []
    try:
        while len(messages) < count:
            message = consumer.poll(10)
            assert message is not None, f"only {len(messages)} of {count} records came back"
            assert message.error() is None
            messages.append(message)
    finally:
        consumer.close()
    return messages


def avro_serializer(cluster, schema: str = ORDER_SCHEMA) -> AvroSerializer:
    return AvroSerializer(SchemaRegistryClient({"url": cluster.registry.url}), schema)


def value_of(serializer, topic, record) -> bytes:
    return serializer(record, SerializationContext(topic, MessageField.VALUE))


def assert_refused(errors: list) -> None:
    """confluent-kafka's delivery reports of one refused batch: INVALID_RECORD for the culprits."""
    assert errors and all(err is not None for err in errors), errors
    assert KafkaError.INVALID_RECORD in {err.code() for err in errors}, errors
    assert {err.code() for err in errors} <= {KafkaError.INVALID_RECORD, KafkaError._INVALID_DIFFERENT_RECORD}


def refusal_message(cluster, topic, value, key=None) -> str:
    """The broker's message for a refused record, as kafka-python's producer raises it."""
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap, retries=0)
    try:
        with pytest.raises(InvalidRecordError) as refused:
            producer.send(topic, value=value, key=key).get(timeout=20)
    finally:
        producer.close(timeout=5)
    return str(refused.value)


def test_avro_serializer_records_are_accepted_and_read_back(cluster):
    topic = cluster.create_topic(confluent_value_schema_validation="true")
    serializer = avro_serializer(cluster)  # registers under <topic>-value on first use
    orders = [{"id": i, "item": f"book {i}"} for i in range(5)]
    errors = produce(cluster, topic, [value_of(serializer, topic, order) for order in orders])
    assert errors == [None] * 5
    deserializer = AvroDeserializer(SchemaRegistryClient({"url": cluster.registry.url}))
    values = [deserializer(m.value(), SerializationContext(topic, MessageField.VALUE))
              for m in read_all(cluster, topic, 5)]
    assert values == orders


def test_raw_bytes_are_refused_with_the_broker_message_and_nothing_is_appended(cluster):
    topic = cluster.create_topic(confluent_value_schema_validation="true")
    serializer = avro_serializer(cluster)
    assert produce(cluster, topic, [value_of(serializer, topic, {"id": 1, "item": "pen"})]) == [None]
    # One batch: two good records around a raw JSON one. The whole batch is refused.
    good = value_of(serializer, topic, {"id": 2, "item": "ink"})
    errors = produce(cluster, topic, [good, b'{"id": 3, "item": "raw json"}', good])
    assert_refused(errors)
    assert "The value does not start with the schema registry wire format" in refusal_message(
        cluster, topic, b'{"id": 4}')
    assert end_offset(cluster, topic) == 1  # the first record only


@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_compressed_batches_are_checked_record_by_record(cluster, codec):
    topic = cluster.create_topic(confluent_value_schema_validation="true")
    serializer = avro_serializer(cluster)
    good = [value_of(serializer, topic, {"id": i, "item": "x" * 200}) for i in range(20)]
    assert produce(cluster, topic, good, compression_type=codec) == [None] * 20
    assert_refused(produce(cluster, topic, good[:10] + [b"raw"] + good[10:], compression_type=codec))
    assert end_offset(cluster, topic) == 20


def test_json_schema_serializer_records_are_accepted(cluster):
    topic = cluster.create_topic(confluent_value_schema_validation="true")
    schema = ('{"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"], '
              '"additionalProperties": false}')
    serializer = JSONSerializer(schema, SchemaRegistryClient({"url": cluster.registry.url}))
    values = [serializer({"id": i}, SerializationContext(topic, MessageField.VALUE)) for i in range(3)]
    assert produce(cluster, topic, values) == [None] * 3
    assert end_offset(cluster, topic) == 3


def test_record_name_strategy_on_the_topic_and_in_the_serializer(cluster):
    strategy = "io.confluent.kafka.serializers.subject.RecordNameStrategy"
    topic = cluster.create_topic(confluent_value_schema_validation="true",
                                 confluent_value_subject_name_strategy=strategy)
    serializer = AvroSerializer(SchemaRegistryClient({"url": cluster.registry.url}), ORDER_SCHEMA,
                                conf={"subject.name.strategy": record_subject_name_strategy})
    assert produce(cluster, topic, [value_of(serializer, topic, {"id": 1, "item": "pen"})]) == [None]
    assert "com.acme.Order" in httpx.get(f"{cluster.registry.url}/subjects").json()
    # The topic-named serializer registers under <topic>-value: not the subject this topic expects.
    by_topic = value_of(avro_serializer(cluster, CUSTOMER_KEY_SCHEMA), topic, {"customer": "c-1"})
    assert_refused(produce(cluster, topic, [by_topic]))
    assert "not registered under subject 'CustomerKey'" in refusal_message(cluster, topic, by_topic)
    assert end_offset(cluster, topic) == 1


def test_an_unknown_schema_id_is_refused(cluster):
    topic = cluster.create_topic(confluent_value_schema_validation="true")
    unknown = b"\x00" + (987654).to_bytes(4, "big") + b"\x02\x08book"
    assert_refused(produce(cluster, topic, [unknown]))
    assert "schema id 987654, which is not registered under subject" in refusal_message(cluster, topic, unknown)
    assert end_offset(cluster, topic) == 0


def test_an_id_registered_under_another_subject_is_refused(cluster):
    other = cluster.create_topic()
    topic = cluster.create_topic(confluent_value_schema_validation="true")
    elsewhere = value_of(avro_serializer(cluster, CUSTOMER_KEY_SCHEMA), other, {"customer": "c-1"})
    assert_refused(produce(cluster, topic, [elsewhere]))
    assert f"not registered under subject '{topic}-value'" in refusal_message(cluster, topic, elsewhere)
    assert end_offset(cluster, topic) == 0


def test_tombstones_pass(cluster):
    topic = cluster.create_topic(confluent_value_schema_validation="true", cleanup_policy="compact")
    assert produce(cluster, topic, [None], keys=[b"customer-1"]) == [None]
    assert end_offset(cluster, topic) == 1


def test_keys_are_validated_under_the_key_subject(cluster):
    topic = cluster.create_topic(confluent_key_schema_validation="true")
    key_serializer = avro_serializer(cluster, CUSTOMER_KEY_SCHEMA)
    key = key_serializer({"customer": "c-7"}, SerializationContext(topic, MessageField.KEY))
    assert produce(cluster, topic, [b"any value"], keys=[key]) == [None]
    assert_refused(produce(cluster, topic, [b"any value"], keys=[b"c-7"]))
    assert "The key does not start with the schema registry wire format" in refusal_message(
        cluster, topic, b"any value", key=b"c-7")
    assert end_offset(cluster, topic) == 1
    subjects = httpx.get(f"{cluster.registry.url}/subjects").json()
    assert f"{topic}-key" in subjects


def test_validation_is_a_topic_config_described_and_altered_at_run_time(cluster):
    topic = cluster.create_topic()
    assert produce(cluster, topic, [b"raw before"]) == [None]
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    described = cluster.admin.describe_configs([resource])[resource].result(timeout=10)
    assert described["confluent.value.schema.validation"].value == "false"
    assert described["confluent.value.subject.name.strategy"].value == \
        "io.confluent.kafka.serializers.subject.TopicNameStrategy"
    turn_on = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
        ConfigEntry("confluent.value.schema.validation", "true",
                    incremental_operation=AlterConfigOpType.SET)])
    cluster.admin.incremental_alter_configs([turn_on])[turn_on].result(timeout=10)
    described = cluster.admin.describe_configs([resource])[resource].result(timeout=10)
    assert described["confluent.value.schema.validation"].value == "true"
    assert_refused(produce(cluster, topic, [b"raw after"]))
    assert end_offset(cluster, topic) == 1
    broker = ConfigResource(ConfigResource.Type.BROKER, "1")
    entry = cluster.admin.describe_configs([broker])[broker].result(timeout=10)["confluent.schema.registry.url"]
    assert entry.value == cluster.registry.url and entry.is_read_only


def test_a_stopped_registry_fails_the_produce_clearly(own_cluster):
    cluster = own_cluster
    topic = cluster.create_topic(confluent_value_schema_validation="true")
    serializer = avro_serializer(cluster)
    assert produce(cluster, topic, [value_of(serializer, topic, {"id": 1, "item": "cached"})]) == [None]
    # A second version, registered while the registry runs but never produced: not in the broker's cache.
    newer = AvroSerializer(SchemaRegistryClient({"url": cluster.registry.url}), ORDER_SCHEMA.replace(
        '{"name": "item", "type": "string"}',
        '{"name": "item", "type": "string"}, {"name": "note", "type": "string", "default": ""}'))
    uncached = value_of(newer, topic, {"id": 2, "item": "new", "note": "x"})
    cluster.registry.stop()
    assert_refused(produce(cluster, topic, [uncached]))
    assert "the schema registry could not be reached" in refusal_message(cluster, topic, uncached)
    assert end_offset(cluster, topic) == 1
    # An id the registry confirmed before it stopped is still known to the broker.
    assert produce(cluster, topic, [value_of(serializer, topic, {"id": 3, "item": "cached"})]) == [None]

"""confluent-kafka's registry client and serializers, unmodified, against minikafka.

Each test produces records with one of Confluent's serializers through a
minikafka broker, with the schema registered in minikafka's registry, then
consumes and deserializes them: the bytes on the topic are the registry's
wire format and the schema comes back by id.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import AsyncSchemaRegistryClient, Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import (AsyncAvroDeserializer, AsyncAvroSerializer,
                                                  AvroDeserializer, AvroSerializer)
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

PAYMENT_V1 = json.dumps({
    "type": "record", "name": "Payment", "namespace": "com.acme",
    "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "long"}],
})
PAYMENT_V2 = json.dumps({
    "type": "record", "name": "Payment", "namespace": "com.acme",
    "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "long"},
               {"name": "currency", "type": "string", "default": "EUR"}],
})
ORDER_JSON_SCHEMA = json.dumps({
    "$schema": "http://json-schema.org/draft-07/schema#", "title": "Order", "type": "object",
    "properties": {"order_id": {"type": "string"}, "quantity": {"type": "integer"}},
    "required": ["order_id"],
})
PROTO_FILES = {
    "money.proto": 'syntax = "proto3";\npackage acme;\nmessage Money { string currency = 1; int64 units = 2; }\n',
    "invoice.proto": ('syntax = "proto3";\npackage acme;\nimport "money.proto";\n'
                      'import "google/protobuf/timestamp.proto";\n'
                      'message Invoice { string id = 1; Money total = 2; google.protobuf.Timestamp issued = 3;\n'
                      '  message Line { string sku = 1; }\n  repeated Line lines = 4; }\n'),
}


def topic_name() -> str:
    return f"sr-{uuid.uuid4().hex[:8]}"


def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for value in values:
        producer.produce(topic, value=value)
    assert producer.flush(15) == 0


def consume(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{topic}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    values = []
    try:
        for _ in range(200):
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                values.append(message.value())
            if len(values) == count:
                return values
    finally:
        consumer.close()
    raise AssertionError(f"consumed {len(values)} of {count} records of {topic}")


def test_avro_round_trip_and_a_refused_evolution(broker, registry_url):
    registry = SchemaRegistryClient({"url": registry_url})
    topic = topic_name()
    context = SerializationContext(topic, MessageField.VALUE)
    serialize = AvroSerializer(registry, PAYMENT_V1)
    payments = [{"id": f"p{i}", "amount": i * 100} for i in range(5)]
    produce(broker.bootstrap, topic, [serialize(payment, context) for payment in payments])

    deserialize = AvroDeserializer(registry)
    assert [deserialize(value, context) for value in consume(broker.bootstrap, topic, 5)] == payments

    # The compatible evolution: a reader on v2 reads v1's records, currency defaulted.
    assert registry.test_compatibility(f"{topic}-value", Schema(PAYMENT_V2, "AVRO"))
    registry.register_schema(f"{topic}-value", Schema(PAYMENT_V2, "AVRO"))
    read_as_v2 = AvroDeserializer(registry, PAYMENT_V2)
    assert read_as_v2(consume(broker.bootstrap, topic, 5)[0], context) == {**payments[0], "currency": "EUR"}

    # A breaking change (a new field without a default) is refused with 409.
    breaking = json.dumps({**json.loads(PAYMENT_V2), "fields": json.loads(PAYMENT_V2)["fields"]
                           + [{"name": "merchant", "type": "string"}]})
    assert not registry.test_compatibility(f"{topic}-value", Schema(breaking, "AVRO"))
    with pytest.raises(SchemaRegistryError) as refused:
        registry.register_schema(f"{topic}-value", Schema(breaking, "AVRO"))
    assert refused.value.http_status_code == 409


def test_json_schema_round_trip(broker, registry_url):
    registry = SchemaRegistryClient({"url": registry_url})
    topic = topic_name()
    context = SerializationContext(topic, MessageField.VALUE)
    serialize = JSONSerializer(ORDER_JSON_SCHEMA, registry)
    orders = [{"order_id": f"o{i}", "quantity": i} for i in range(3)]
    produce(broker.bootstrap, topic, [serialize(order, context) for order in orders])
    deserialize = JSONDeserializer(None, schema_registry_client=registry)
    assert [deserialize(value, context) for value in consume(broker.bootstrap, topic, 3)] == orders
    assert registry.get_latest_version(f"{topic}-value").schema.schema_type == "JSON"


def compile_protos(tmp_path):
    """Generated Python classes for PROTO_FILES, through grpc_tools' protoc."""
    from grpc_tools import protoc
    import importlib.resources

    for name, text in PROTO_FILES.items():
        (tmp_path / name).write_text(text)
    include = str(importlib.resources.files("grpc_tools") / "_proto")
    status = protoc.main(["protoc", f"-I{tmp_path}", f"-I{include}", f"--python_out={tmp_path}",
                          *[str(tmp_path / name) for name in PROTO_FILES]])
    assert status == 0
    sys.path.insert(0, str(tmp_path))
    try:
        import invoice_pb2
    finally:
        sys.path.remove(str(tmp_path))
    return invoice_pb2


def test_protobuf_round_trip_with_references(broker, registry_url, tmp_path):
    invoice_pb2 = compile_protos(tmp_path)
    registry = SchemaRegistryClient({"url": registry_url})
    topic = topic_name()
    context = SerializationContext(topic, MessageField.VALUE)
    serialize = ProtobufSerializer(invoice_pb2.Invoice, registry)
    invoice = invoice_pb2.Invoice(id="inv-1", lines=[invoice_pb2.Invoice.Line(sku="A")])
    invoice.total.currency, invoice.total.units = "EUR", 42
    invoice.issued.seconds = 1_700_000_000
    produce(broker.bootstrap, topic, [serialize(invoice, context)])

    deserialize = ProtobufDeserializer(invoice_pb2.Invoice)
    assert deserialize(consume(broker.bootstrap, topic, 1)[0], context) == invoice
    latest = registry.get_latest_version(f"{topic}-value")
    assert [reference.name for reference in latest.schema.references] == ["money.proto"]
    assert "money.proto" in registry.get_subjects()


def test_async_client_and_serializers(broker, registry_url):
    topic = topic_name()
    context = SerializationContext(topic, MessageField.VALUE)
    payment = {"id": "p-async", "amount": 7}

    async def serialize_then_deserialize():
        registry = AsyncSchemaRegistryClient({"url": registry_url})
        serialize = await AsyncAvroSerializer(registry, PAYMENT_V1)
        data = await serialize(payment, context)
        produce(broker.bootstrap, topic, [data])
        deserialize = await AsyncAvroDeserializer(registry)
        value = consume(broker.bootstrap, topic, 1)[0]
        return await deserialize(value, context), await registry.get_subjects()

    decoded, subjects = asyncio.run(serialize_then_deserialize())
    assert decoded == payment
    assert f"{topic}-value" in subjects


def test_python_schema_registry_client(registry_url):
    from schema_registry.client import SchemaRegistryClient as IndependentClient
    from schema_registry.client import schema as schema_module

    client = IndependentClient(url=registry_url)
    subject = f"{topic_name()}-value"
    schema_id = client.register(subject, schema_module.AvroSchema(PAYMENT_V1))
    assert client.get_by_id(schema_id).raw_schema["name"] == "Payment"
    assert client.test_compatibility(subject, schema_module.AvroSchema(PAYMENT_V2))
    version = client.check_version(subject, schema_module.AvroSchema(PAYMENT_V1))
    assert version.schema_id == schema_id and version.version == 1
    assert client.get_subjects() and subject in client.get_subjects()
    assert client.delete_subject(subject) == [1]


def test_bundled_serdes_read_confluents_bytes_and_back(registry_url):
    from minikafka_clients.schema_registry import AvroDeserializer as BundledDeserializer
    from minikafka_clients.schema_registry import AvroSerializer as BundledSerializer
    from minikafka_clients.schema_registry import SchemaRegistryClient as BundledClient

    topic = topic_name()
    context = SerializationContext(topic, MessageField.VALUE)
    confluent_registry = SchemaRegistryClient({"url": registry_url})
    with BundledClient(registry_url) as bundled_registry:
        payment = {"id": "p-x", "amount": 3}
        from_confluent = AvroSerializer(confluent_registry, PAYMENT_V1)(payment, context)
        from_bundled = BundledSerializer(bundled_registry, PAYMENT_V1)(payment, topic)
        assert from_confluent == from_bundled  # the same id, the same bytes
        assert BundledDeserializer(bundled_registry)(from_confluent) == payment
        assert AvroDeserializer(confluent_registry)(from_bundled, context) == payment


def test_schemas_command_refuses_a_breaking_change(registry_url, tmp_path):
    subject = f"{topic_name()}-value"
    v1, v2, breaking = tmp_path / "v1.avsc", tmp_path / "v2.avsc", tmp_path / "breaking.avsc"
    v1.write_text(PAYMENT_V1)
    v2.write_text(PAYMENT_V2)
    breaking.write_text(json.dumps({**json.loads(PAYMENT_V1), "fields": [{"name": "id", "type": "long"}]}))

    def schemas(*args):
        return subprocess.run([sys.executable, "-m", "minikafka", "schemas", *args,
                               "--schema-registry-url", registry_url], capture_output=True, text=True)

    assert "registered" in schemas("register", "--subject", subject, "--schema-file", str(v1)).stdout
    ok = schemas("check", "--subject", subject, "--schema-file", str(v2))
    assert ok.returncode == 0 and ok.stdout.startswith("compatible")
    refused = schemas("check", "--subject", subject, "--schema-file", str(breaking))
    assert refused.returncode == 1 and refused.stdout.startswith("incompatible")
    assert len(refused.stdout.splitlines()) > 1  # the registry's reasons follow
    assert schemas("config", "--subject", subject, "--compatibility", "FULL").stdout.strip() == f"{subject}: FULL"
    assert schemas("list", "--subject", subject).stdout.split() == ["1"]
    assert "deleted" in schemas("delete", "--subject", subject).stdout

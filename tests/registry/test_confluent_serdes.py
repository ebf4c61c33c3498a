"""confluent-kafka's serializers and deserializers register and fetch their schemas here, unmodified.

No broker is involved: the bytes a serializer produces are handed straight to
the deserializer, which reads the schema id from them and asks the registry.
"""

import json

import trio
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import timestamp_pb2

from .conftest import USER_V1, serving_registry


def round_trips(url: str) -> None:
    client = SchemaRegistryClient({"url": url})
    try:
        context = SerializationContext("users", MessageField.VALUE)
        avro_bytes = AvroSerializer(client, USER_V1)({"name": "ada"}, context)
        assert avro_bytes[0] == 0 and int.from_bytes(avro_bytes[1:5], "big") == 1
        assert AvroDeserializer(client)(avro_bytes, context) == {"name": "ada"}

        json_schema = json.dumps({"type": "object", "properties": {"n": {"type": "integer"}},
                                  "required": ["n"]})
        things = SerializationContext("things", MessageField.VALUE)
        json_bytes = JSONSerializer(json_schema, client)({"n": 3}, things)
        assert JSONDeserializer(None, schema_registry_client=client)(json_bytes, things) == {"n": 3}

        times = SerializationContext("times", MessageField.VALUE)
        stamp = timestamp_pb2.Timestamp(seconds=1_700_000_000, nanos=5)
        proto_bytes = ProtobufSerializer(timestamp_pb2.Timestamp, client,
                                         {"use.deprecated.format": False})(stamp, times)
        decoded = ProtobufDeserializer(timestamp_pb2.Timestamp, {"use.deprecated.format": False})(
            proto_bytes, times)
        assert decoded == stamp
        assert client.get_subjects() == ["things-value", "times-value", "users-value"]
    finally:
        client.__exit__()


async def test_serializers_round_trip_through_the_registry(service):
    async with serving_registry(service) as url:
        await trio.to_thread.run_sync(round_trips, url)

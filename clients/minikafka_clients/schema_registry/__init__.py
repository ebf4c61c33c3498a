"""Schema registry clients and serializers for the bundled clients.

The bundled producer and consumer take and return ``bytes``. These classes
turn objects into bytes the way Confluent's serializers do, so records can
be read by any Confluent-compatible deserializer (and the other way round):

- ``SchemaRegistryClient`` / ``AsyncSchemaRegistryClient``: the registry's
  REST API (Confluent's), blocking or async (Trio or asyncio);
- ``AvroSerializer`` / ``AvroDeserializer`` (fastavro),
  ``JSONSerializer`` / ``JSONDeserializer`` (jsonschema),
  ``ProtobufSerializer`` / ``ProtobufDeserializer`` (protobuf);
- ``wire_format``: the five bytes in front of every serialized record:
  magic byte 0, then the schema id as a 4-byte big-endian integer
  (Protobuf adds the message indexes, see ``protobuf.py``).

Example::

    registry = SchemaRegistryClient("http://127.0.0.1:8081")
    to_bytes = AvroSerializer(registry, PAYMENT_SCHEMA)
    await producer.send("payments", value=to_bytes(payment, "payments"))
"""

from .avro import AvroDeserializer, AvroSerializer
from .client import AsyncSchemaRegistryClient, RegisteredSchema, SchemaRegistryClient, SchemaRegistryError
from .json_schema import JSONDeserializer, JSONSerializer
from .protobuf import ProtobufDeserializer, ProtobufSerializer
from .subject_names import record_name_strategy, topic_name_strategy, topic_record_name_strategy

__all__ = [
    "AsyncSchemaRegistryClient", "AvroDeserializer", "AvroSerializer", "JSONDeserializer",
    "JSONSerializer", "ProtobufDeserializer", "ProtobufSerializer", "RegisteredSchema",
    "SchemaRegistryClient", "SchemaRegistryError", "record_name_strategy", "topic_name_strategy",
    "topic_record_name_strategy",
]

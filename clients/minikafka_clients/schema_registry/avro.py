"""Avro serializer and deserializer in the schema-registry wire format (fastavro).

Serializing: the first call registers the writer schema under the subject
(``<topic>-value`` by default) or, with ``auto_register=False``, looks it up;
either way the answer is the schema id, cached. Every record is then the
five-byte header and the Avro binary encoding of the object.

Deserializing: the id in the header names the writer schema; it is fetched
once. With a ``reader_schema``, Avro's schema resolution turns the writer's
data into the reader's shape (added fields get their defaults, removed
fields are skipped): that is what a compatible evolution promises.
"""

from __future__ import annotations

import io
import json

import fastavro

from . import wire_format
from .subject_names import topic_name_strategy


def _parse(schema: str | dict):
    return fastavro.parse_schema(json.loads(schema) if isinstance(schema, str) else schema)


def _full_name(schema: dict) -> str | None:
    if not isinstance(schema, dict) or "name" not in schema:
        return None
    name, namespace = schema["name"], schema.get("namespace")
    return name if "." in name or not namespace else f"{namespace}.{name}"


class AvroSerializer:
    """Objects (dicts) to Avro bytes with the schema id in front; ``__call__(obj, topic, field)``."""

    def __init__(self, registry, schema: str, *, subject_name_strategy=topic_name_strategy,
                 auto_register: bool = True, normalize: bool = False):
        self.registry = registry
        self.schema = schema
        self._parsed = _parse(schema)
        self._record_name = _full_name(json.loads(schema))
        self._strategy = subject_name_strategy
        self._auto_register = auto_register
        self._normalize = normalize
        self._ids: dict[str, int] = {}

    def schema_id(self, topic: str, field: str = "value") -> int:
        """The id of the writer schema under the topic's subject (registered once, then cached)."""
        subject = self._strategy(topic, field, self._record_name)
        if subject not in self._ids:
            if self._auto_register:
                self._ids[subject] = self.registry.register(subject, self.schema, normalize=self._normalize)
            else:
                self._ids[subject] = self.registry.lookup(subject, self.schema).schema_id
        return self._ids[subject]

    def __call__(self, obj, topic: str, field: str = "value") -> bytes | None:
        if obj is None:
            return None  # a tombstone stays a tombstone
        buffer = io.BytesIO()
        try:
            fastavro.schemaless_writer(buffer, self._parsed, obj)
        except (ValueError, TypeError, KeyError) as exc:
            raise wire_format.SerializationError(f"object does not match the Avro schema: {exc}") from exc
        return wire_format.pack(self.schema_id(topic, field), buffer.getvalue())


class AvroDeserializer:
    """Avro bytes in the wire format to objects; ``__call__(data)``."""

    def __init__(self, registry, reader_schema: str | None = None):
        self.registry = registry
        self._reader = _parse(reader_schema) if reader_schema else None
        self._writers: dict[int, dict] = {}

    def __call__(self, data: bytes | None, topic: str | None = None, field: str = "value"):
        if data is None:
            return None
        schema_id, payload = wire_format.unpack(data)
        if schema_id not in self._writers:
            self._writers[schema_id] = _parse(self.registry.get_schema(schema_id).schema)
        return fastavro.schemaless_reader(io.BytesIO(payload), self._writers[schema_id], self._reader)

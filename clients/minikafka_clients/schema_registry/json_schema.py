"""JSON Schema serializer and deserializer in the schema-registry wire format.

The payload is the object as UTF-8 JSON text. The serializer validates each
object against its schema first (jsonschema), so nothing the schema refuses
reaches the topic; the deserializer validates too, unless told not to.
"""

from __future__ import annotations

import json

import jsonschema

from . import wire_format
from .subject_names import topic_name_strategy


class JSONSerializer:
    """Objects to JSON bytes with the schema id in front; ``__call__(obj, topic, field)``."""

    def __init__(self, registry, schema: str, *, subject_name_strategy=topic_name_strategy,
                 auto_register: bool = True):
        self.registry = registry
        self.schema = schema
        self._schema = json.loads(schema)
        self._validator = jsonschema.validators.validator_for(self._schema)(self._schema)
        self._strategy = subject_name_strategy
        self._auto_register = auto_register
        self._ids: dict[str, int] = {}

    def schema_id(self, topic: str, field: str = "value") -> int:
        subject = self._strategy(topic, field, self._schema.get("title"))
        if subject not in self._ids:
            if self._auto_register:
                self._ids[subject] = self.registry.register(subject, self.schema, "JSON")
            else:
                self._ids[subject] = self.registry.lookup(subject, self.schema, "JSON").schema_id
        return self._ids[subject]

    def __call__(self, obj, topic: str, field: str = "value") -> bytes | None:
        if obj is None:
            return None
        try:
            self._validator.validate(obj)
        except jsonschema.ValidationError as exc:
            raise wire_format.SerializationError(f"object does not match the JSON schema: {exc.message}") from exc
        return wire_format.pack(self.schema_id(topic, field), json.dumps(obj).encode())


class JSONDeserializer:
    """JSON bytes in the wire format to objects, validated against the writer's schema."""

    def __init__(self, registry, *, validate: bool = True):
        self.registry = registry
        self._validate = validate
        self._validators: dict[int, object] = {}

    def __call__(self, data: bytes | None, topic: str | None = None, field: str = "value"):
        if data is None:
            return None
        schema_id, payload = wire_format.unpack(data)
        obj = json.loads(bytes(payload))
        if self._validate:
            if schema_id not in self._validators:
                schema = json.loads(self.registry.get_schema(schema_id).schema)
                self._validators[schema_id] = jsonschema.validators.validator_for(schema)(schema)
            try:
                self._validators[schema_id].validate(obj)
            except jsonschema.ValidationError as exc:
                raise wire_format.SerializationError(f"record does not match schema {schema_id}: {exc.message}") from exc
        return obj

"""Schemas: what a schema is, for each type, and which evolutions of it are compatible.

Sans-I/O: text in, parsed schemas and lists of reasons out. Modules:

- ``base``: the shared vocabulary (schema types, compatibility levels,
  ``ParsedSchema``, ``InvalidSchemaError``);
- ``avro`` / ``avro_model`` / ``avro_compatibility``: Avro schemas and
  Avro's schema-resolution rules;
- ``json_schema`` / ``json_compatibility``: JSON Schema;
- ``protobuf`` / ``protobuf_compatibility``: Protobuf;
- ``compatibility``: the levels (BACKWARD, FORWARD, FULL, transitive, NONE);
- ``wire_format``: magic byte and schema id before each key or value;
- ``subject_names``: the subject name strategies.

``parse()`` is the one entry point the registry uses: it picks the type's
module (imported on first use, so one type's dependencies are loaded only
when a schema of that type is seen).
"""

from __future__ import annotations

import importlib

from minikafka.schemas.base import InvalidSchemaError, ParsedSchema, SchemaType

_MODULES = {
    SchemaType.AVRO: "minikafka.schemas.avro",
    SchemaType.JSON: "minikafka.schemas.json_schema",
    SchemaType.PROTOBUF: "minikafka.schemas.protobuf",
}


def parse(schema_type: SchemaType | str, text: str, references: dict[str, str] | None = None) -> ParsedSchema:
    """Parse a schema's text.

    Args:
        schema_type: AVRO, JSON or PROTOBUF (Confluent's ``schemaType``; the API's default is AVRO).
        text: the schema as submitted.
        references: the referenced schemas' texts by reference name (Avro:
            any name; Protobuf: the imported file name), already resolved.

    Raises:
        InvalidSchemaError: unknown type, the text is not a valid schema of its
            type, or it is nested deeper than the parser's recursion can go.
    """
    try:
        schema_type = SchemaType(schema_type)
    except ValueError:
        raise InvalidSchemaError(f"unknown schema type {schema_type!r}") from None
    module = importlib.import_module(_MODULES[schema_type])
    try:
        return module.parse(text, dict(references or {}))
    except RecursionError:  # the parsers recurse into nested types: Python's stack is the limit
        raise InvalidSchemaError("the schema is nested too deeply to be parsed") from None


__all__ = ["InvalidSchemaError", "ParsedSchema", "SchemaType", "parse"]

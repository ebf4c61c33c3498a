"""What a client sends the registry, read and checked: request bodies and path parameters.

A register, lookup or compatibility request carries a ``SchemaRequest``
(``schema``, ``schemaType``, ``references``, and in IMPORT mode ``id`` and
``version``); paths carry versions (``1``, ``latest`` or ``-1``); config
bodies carry compatibility levels in any case. Each reader here turns bad
input into Confluent's error (42201 for a missing schema or unknown type,
42202 for a bad version, 42203 for a bad level, 422 for a malformed field),
so nothing a client sends reaches the service unchecked.
"""

from __future__ import annotations

import dataclasses

from minikafka.registry import errors
from minikafka.schemas.base import CompatibilityLevel, SchemaReference, SchemaType

MAX_VERSION = 2**31 - 1
LATEST = -1
"""``latest`` (or ``-1``) in a path or a reference: the newest live version."""


@dataclasses.dataclass(frozen=True)
class SchemaRequest:
    """The body of a register, lookup or compatibility request."""

    schema: str
    schema_type: SchemaType = SchemaType.AVRO
    references: tuple[SchemaReference, ...] = ()
    id: int | None = None
    version: int | None = None

    @classmethod
    def from_json(cls, body: object) -> "SchemaRequest":
        """Read a request body (``schema``, ``schemaType``, ``references``, ``id``, ``version``).

        Raises:
            RegistryError: 42201 for a missing schema or an unknown type, 422 for a bad field.
        """
        if not isinstance(body, dict):
            raise errors.http_error(422, "The request body must be a JSON object")
        schema = body.get("schema")
        if not isinstance(schema, str) or not schema.strip():
            raise errors.invalid_schema("Empty schema")
        return cls(schema, _schema_type(body.get("schemaType")), _references(body.get("references")),
                   _optional_int(body, "id", 0), _optional_int(body, "version", 1))


def _schema_type(value: object) -> SchemaType:
    if value is None:
        return SchemaType.AVRO
    if not isinstance(value, str) or value.upper() not in SchemaType.__members__:
        raise errors.invalid_schema(f"Invalid schema type {value}")
    return SchemaType(value.upper())


def _references(value: object) -> tuple[SchemaReference, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise errors.http_error(422, "references must be a list")
    refs = []
    for item in value:
        if not (isinstance(item, dict) and isinstance(item.get("name"), str)
                and isinstance(item.get("subject"), str) and _is_int(item.get("version"))):
            raise errors.http_error(422, f"Invalid reference {item!r}: needs name, subject and version")
        refs.append(SchemaReference(item["name"], item["subject"], item["version"]))
    return tuple(refs)


def _optional_int(body: dict, field: str, minimum: int) -> int | None:
    value = body.get(field)
    if value is None or (field == "id" and value == -1) or (field == "version" and value in (-1, 0)):
        return None  # Confluent's clients send -1 / 0 for "not given"
    if not _is_int(value) or not minimum <= value <= MAX_VERSION:
        raise errors.http_error(422, f"Invalid {field} {value!r}")
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_version(text: str | int) -> int:
    """A version in a path: ``latest`` or ``-1`` -> ``LATEST``, else 1..2^31-1.

    Raises:
        RegistryError: 42202 for anything else.
    """
    if str(text).lower() == "latest" or str(text) == "-1":
        return LATEST
    try:
        version = int(str(text))
    except ValueError:
        raise errors.invalid_version(text) from None
    if not 1 <= version <= MAX_VERSION:
        raise errors.invalid_version(text)
    return version


def parse_level(text: object) -> CompatibilityLevel:
    """A compatibility level, any case. Raises RegistryError 42203."""
    if not isinstance(text, str) or text.upper() not in CompatibilityLevel.__members__:
        raise errors.invalid_compatibility_level()
    return CompatibilityLevel(text.upper())

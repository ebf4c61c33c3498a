"""The vocabulary every schema type shares: types, compatibility levels, references.

A schema registry keeps schemas of three types (Avro, JSON Schema,
Protobuf). Each type module parses a schema's text into a ``ParsedSchema``
and knows which evolutions of it are compatible; the registry itself only
speaks this interface.

Compatibility is always asked one way round: ``new.backward_errors(old)``
says why data written with ``old`` could not be read with ``new`` (an empty
list: it can). The levels in ``compatibility.py`` combine that question:
FORWARD swaps the two schemas, FULL asks both ways, the transitive levels
ask it of every earlier version instead of the latest only.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import ClassVar, Protocol


class SchemaType(str, enum.Enum):
    """The schema types of Confluent's registry, spelled as its API spells them."""

    AVRO = "AVRO"
    JSON = "JSON"
    PROTOBUF = "PROTOBUF"


class CompatibilityLevel(str, enum.Enum):
    """Which earlier versions a new version must be compatible with, and in which direction."""

    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"


class InvalidSchemaError(ValueError):
    """A schema's text is not a valid schema of its type (the registry answers 42201)."""


@dataclasses.dataclass(frozen=True)
class SchemaReference:
    """A named reference from one schema to a version of another subject (an import)."""

    name: str
    subject: str
    version: int


@dataclasses.dataclass(frozen=True)
class Difference:
    """One difference between two versions of a schema, as Confluent's JSON Schema and
    Protobuf checkers name it: a type (``FIELD_REMOVED``, ``TYPE_NARROWED``, ...) and
    the path where it is (``#/properties/age``).

    Each of those schema types subclasses it, to list the types that are
    compatible changes and to describe the others in words.
    """

    type: str
    path: str
    COMPATIBLE_CHANGES: ClassVar[frozenset[str]] = frozenset()

    @property
    def compatible(self) -> bool:
        """True if the change never stops the new schema reading the old one's data."""
        return self.type in self.COMPATIBLE_CHANGES

    def description(self) -> str:
        """The difference in words (the subclass's)."""
        return ""

    def message(self) -> str:
        """The reason, in the shape Confluent's registry reports it."""
        return f'{{errorType:"{self.type}", description:"{self.description()}"}}'

    def __str__(self) -> str:
        return f"{self.type} {self.path}"


class ParsedSchema(Protocol):
    """One parsed schema, of any type."""

    schema_type: SchemaType
    canonical: str
    """The text the registry stores and compares (two schemas with equal text are one schema)."""

    def normalized(self) -> "ParsedSchema":
        """The same schema in its normalized form (registration with ``normalize=true``)."""

    def record_names(self) -> list[str]:
        """Full names of the top-level records or messages (for the record-name strategies)."""

    def formatted(self, fmt: str | None) -> str:
        """The schema's text in a format a client asked for (``?format=``).

        A format the type does not know gets the canonical text, never an
        error (Confluent's choice, so clients may ask for newer formats).
        """

    def backward_errors(self, previous: "ParsedSchema") -> list[str]:
        """Why data written with ``previous`` cannot be read with this schema; empty if it can."""

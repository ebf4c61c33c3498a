"""The object model of an Avro schema, shared by the parser and the compatibility rules.

A parsed schema is a graph of these nodes. Named types (``Record``,
``Enum``, ``Fixed``) are shared objects: every use of a name points to the
one definition, so a recursive schema (a record with a field of its own
type) is a cycle, and code that walks the model must remember where it
has been. Nodes compare by identity.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Union as TypingUnion

PRIMITIVE_TYPES = ("null", "boolean", "int", "long", "float", "double", "bytes", "string")


@dataclasses.dataclass(eq=False)
class Primitive:
    """``null``, ``boolean``, ``int``, ``long``, ``float``, ``double``, ``bytes`` or ``string``."""

    type: str
    props: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(eq=False)
class Named:
    """What records, enums and fixed types share: a full name, aliases, a doc."""

    fullname: str
    aliases: list[str]
    doc: str | None
    props: dict[str, Any]

    @property
    def name(self) -> str:
        """The name without its namespace."""
        return self.fullname.rpartition(".")[2]

    @property
    def namespace(self) -> str | None:
        """The namespace, or None for the null namespace."""
        return self.fullname.rpartition(".")[0] or None


@dataclasses.dataclass(eq=False)
class Field:
    """One field of a record. ``has_default`` tells a ``null`` default from none."""

    name: str
    type: "AvroType"
    doc: str | None = None
    has_default: bool = False
    default: Any = None
    order: str = "ascending"
    aliases: list[str] = dataclasses.field(default_factory=list)
    props: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(eq=False)
class Record(Named):
    """A record (or an ``error``, which Avro treats as a record)."""

    fields: list[Field] = dataclasses.field(default_factory=list)
    is_error: bool = False


@dataclasses.dataclass(eq=False)
class Enum(Named):
    """An enum; ``default`` is the symbol a reader uses for a symbol it does not know."""

    symbols: list[str] = dataclasses.field(default_factory=list)
    default: str | None = None


@dataclasses.dataclass(eq=False)
class Fixed(Named):
    """A fixed number of bytes."""

    size: int = 0


@dataclasses.dataclass(eq=False)
class Array:
    """An array of ``items``."""

    items: "AvroType"
    props: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(eq=False)
class Map:
    """A map from strings to ``values``."""

    values: "AvroType"
    props: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(eq=False)
class Union:
    """A union of branches: no union directly inside, no two branches of one type or name."""

    branches: list["AvroType"]


AvroType = TypingUnion[Primitive, Record, Enum, Fixed, Array, Map, Union]


def type_name(schema: AvroType) -> str:
    """The Avro type name of a node: ``int``, ``record``, ``union``..."""
    if isinstance(schema, Primitive):
        return schema.type
    return {Record: "record", Enum: "enum", Fixed: "fixed", Array: "array", Map: "map", Union: "union"}[
        type(schema)
    ]

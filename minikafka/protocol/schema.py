"""How a Kafka message is declared: ``Message`` and ``Field``, written as data.

Every API the broker speaks is declared once, in ``protocol/messages/``, in the
same terms Apache Kafka's own JSON message definitions use, so a student can
hold the two side by side:

- a *version range* is written as Kafka writes it: ``"0+"`` (from 0 up),
  ``"3-8"`` (3 to 8 inclusive), ``"5"`` (just 5) or ``"none"``;
- field names are Kafka's, in snake_case (``TimeoutMs`` -> ``timeout_ms``);
- types are Kafka's: ``bool``, ``int8``, ``int16``, ``int32``, ``int64``,
  ``uint16``, ``uint32``, ``float64``, ``string``, ``bytes``, ``records``,
  ``uuid``; ``[]T`` is an array of ``T``; any other name (``TopicData``,
  ``[]TopicData``) is a struct whose fields are given in ``fields=[...]``;
- ``flexible_versions`` are the versions that use compact strings, arrays and
  bytes and carry tagged fields (KIP-482);
- a *tagged* field (``tag=N``) is written only in flexible versions, in the
  tagged-field section after the regular fields, and only when it does not hold
  its default value.

These classes describe; ``codec.py`` turns a declaration into an encoder and
a decoder for each version, and ``Message.encode``/``decode`` are shortcuts
to it. The dependency runs one way: the codec does not import this module,
it reads declarations through the attributes it names
(``codec.FieldDeclaration``, ``codec.MessageDeclaration``).
"""

from __future__ import annotations

import dataclasses
import re

from . import codec

PRIMITIVE_TYPES = frozenset(
    {
        "bool", "int8", "int16", "int32", "int64", "uint16", "uint32",
        "float64", "string", "bytes", "records", "uuid",
    }
)

_RANGE = re.compile(r"^(?:(none)|(\d+)\+|(\d+)-(\d+)|(\d+))$")


@dataclasses.dataclass(frozen=True)
class Versions:
    """An inclusive range of versions; ``Versions.parse("3+")`` is 3 up."""

    lowest: int
    highest: int  # inclusive; a large number means "no upper bound"

    NO_UPPER = 0x7FFF

    @classmethod
    def parse(cls, text: str | "Versions") -> "Versions":
        if isinstance(text, Versions):
            return text
        match = _RANGE.match(text.strip())
        if not match:
            raise ValueError(f"not a version range: {text!r}")
        none, plus, low, high, single = match.groups()
        if none:
            return cls(1, 0)  # empty
        if plus is not None:
            return cls(int(plus), cls.NO_UPPER)
        if single is not None:
            return cls(int(single), int(single))
        return cls(int(low), int(high))

    def __contains__(self, version: int) -> bool:
        return self.lowest <= version <= self.highest

    @property
    def empty(self) -> bool:
        return self.lowest > self.highest

    def __str__(self) -> str:
        if self.empty:
            return "none"
        if self.highest == self.NO_UPPER:
            return f"{self.lowest}+"
        if self.lowest == self.highest:
            return str(self.lowest)
        return f"{self.lowest}-{self.highest}"


_NO_DEFAULT = object()


@dataclasses.dataclass
class Field:
    """One field of a message or struct.

    Args:
        name: Kafka's field name in snake_case.
        type: Kafka's type name (see the module docstring).
        versions: the versions in which the field is on the wire.
        nullable: the versions in which it may be null (strings, bytes,
            records, arrays, structs).
        default: the value when absent from a version (and the value a
            tagged field is not written with). Omitted: the type's zero
            (0, False, "" , b"", [] or the all-zero uuid; None if nullable
            in every version it has).
        tag: the tag number, for a tagged field.
        tagged_versions: versions in which a tagged field exists; defaults
            to ``versions``.
        ignorable: True if a writer may drop the field in versions that do
            not have it, instead of failing (as Kafka's ``ignorable``).
        fields: the fields of a struct type.
        about: what the field means (Kafka's ``about``).
        flexible_versions: for the rare field that keeps its non-compact
            encoding in a flexible version (RequestHeader's client_id,
            Kafka's field-level ``flexibleVersions``); None = as the message.
    """

    name: str
    type: str
    versions: str | Versions = "0+"
    nullable: str | Versions = "none"
    default: object = _NO_DEFAULT
    tag: int | None = None
    tagged_versions: str | Versions | None = None
    ignorable: bool = False
    fields: list["Field"] | None = None
    about: str = ""
    flexible_versions: str | Versions | None = None

    def __post_init__(self):
        self.versions = Versions.parse(self.versions)
        self.nullable = Versions.parse(self.nullable)
        if self.flexible_versions is not None:
            self.flexible_versions = Versions.parse(self.flexible_versions)
        if self.tagged_versions is not None:
            self.tagged_versions = Versions.parse(self.tagged_versions)
        elif self.tag is not None:
            self.tagged_versions = self.versions
        is_struct = self.element_type not in PRIMITIVE_TYPES
        if is_struct and self.fields is None:
            raise ValueError(f"field {self.name}: struct type {self.type} needs fields=[...]")
        if not is_struct and self.fields is not None:
            raise ValueError(f"field {self.name}: primitive type {self.type} takes no fields")

    @property
    def is_array(self) -> bool:
        return self.type.startswith("[]")

    @property
    def element_type(self) -> str:
        """The type of one element: ``[]int32`` -> ``int32``; ``Foo`` -> ``Foo``."""
        return self.type[2:] if self.is_array else self.type

    @property
    def is_struct(self) -> bool:
        return self.element_type not in PRIMITIVE_TYPES

    @property
    def is_tagged(self) -> bool:
        return self.tag is not None

    @property
    def has_default(self) -> bool:
        """Whether the declaration gives a default (else the type's zero applies)."""
        return self.default is not _NO_DEFAULT

    def default_value(self):
        """The value this field has when a version does not carry it."""
        if self.has_default:
            return self.default
        if not self.nullable.empty and self.nullable.lowest <= self.versions.lowest:
            return None
        if self.is_array:
            return []
        return _ZERO.get(self.type)  # None for structs: built by the codec


_ZERO = {
    "bool": False, "int8": 0, "int16": 0, "int32": 0, "int64": 0,
    "uint16": 0, "uint32": 0, "float64": 0.0, "string": "", "bytes": b"",
    "records": None, "uuid": b"\x00" * 16,
}


@dataclasses.dataclass
class Message:
    """One request or response of one API, over all its versions.

    Args:
        name: Kafka's message name (``ProduceRequest``).
        api_key: the API's number (0 for Produce).
        kind: ``"request"``, ``"response"`` or ``"header"``/``"data"`` for
            non-API structures (headers, internal-topic records).
        valid_versions: the versions this broker serves. Where it differs
            from Kafka's JSON, the declaration says why.
        flexible_versions: versions with compact encodings and tagged fields.
        fields: the top-level fields.
        about: a one-line summary.
    """

    name: str
    api_key: int | None
    kind: str
    valid_versions: str | Versions
    flexible_versions: str | Versions
    fields: list[Field]
    about: str = ""

    def __post_init__(self):
        self.valid_versions = Versions.parse(self.valid_versions)
        self.flexible_versions = Versions.parse(self.flexible_versions)

    def is_flexible(self, version: int) -> bool:
        return version in self.flexible_versions

    def decode(self, buf, version: int, strict: bool = False):
        """Decode ``buf`` at ``version``; returns a ``codec.Struct``.

        Raises ``codec.DecodeError`` on bad bytes (with ``strict``, also on
        bytes after the last field, which Kafka ignores) and
        ``codec.InvalidVersionError`` for a version not in ``valid_versions``.
        """
        return codec.decode(self, buf, version, strict)

    def encode(self, obj, version: int) -> bytes:
        """Encode ``obj`` (a ``codec.Struct`` or a dict) at ``version``.

        Raises ``codec.EncodeError`` for a value the version cannot carry and
        ``codec.InvalidVersionError`` for a version not in ``valid_versions``.
        """
        return codec.encode(self, obj, version)

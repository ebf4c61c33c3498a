"""Avro's schema resolution: can a reader schema read what a writer schema wrote?

Avro data carries no field names or types: a reader decodes bytes with the
schema they were written with (the *writer* schema) and resolves them into
the schema it wants (the *reader* schema). The Avro specification lists
the resolutions that work; this module checks them statically, walking both
schemas side by side, as Apache Avro's ``SchemaCompatibility`` (which
Confluent's registry runs) does:

- same primitive type: fine. Promotions: a writer ``int`` reads as
  ``long``, ``float`` or ``double``; ``long`` as ``float`` or ``double``;
  ``float`` as ``double``; ``string`` and ``bytes`` read as each other.
  Anything else is a TYPE_MISMATCH (``long`` does not read as ``int``).
- records: the names must match (NAME_MISMATCH), or the reader lists the
  writer's full name among its aliases. Fields are matched by name (or by
  one of the reader field's aliases); a matched field's types are checked
  recursively; a writer field the reader lacks is skipped when reading;
  a reader field the writer lacks must have a default
  (READER_FIELD_MISSING_DEFAULT_VALUE), which the reader fills in.
- enums: names as records; every writer symbol must be a reader symbol
  (MISSING_ENUM_SYMBOLS) unless the reader enum has a ``default`` symbol.
- fixed: names as records, and equal sizes (FIXED_SIZE_MISMATCH).
- arrays and maps: their items or values, recursively.
- unions: every branch the writer could have written must be readable
  (a writer union is checked branch by branch); a reader union reads a
  writer type when at least one of its branches can
  (MISSING_UNION_BRANCH otherwise). So widening a field to a union is
  backward compatible, and removing a branch from a union is not.

Every problem is reported with its *location*, a JSON-pointer-like path
into the reader schema (``/fields/2/type/items``; under two unions, the
index of the writer's branch that cannot be read), and the problem types
are Apache Avro's ``SchemaIncompatibilityType`` names. ``describe()``
writes one as Confluent's registry reports it.

Recursive schemas: named types are shared nodes, so a recursive record is
a cycle. The checker remembers the (reader, writer) pairs it is checking;
meeting one again while checking it, it assumes it compatible (whatever
is wrong with it is reported where the check started), so it terminates.
"""

from __future__ import annotations

import dataclasses
import enum

from minikafka.schemas.avro_model import (
    Array,
    AvroType,
    Enum,
    Fixed,
    Map,
    Named,
    Primitive,
    Record,
    Union,
    type_name,
)

# Which writer types each reader type can read, besides its own type.
PROMOTIONS: dict[str, frozenset[str]] = {
    "long": frozenset({"int"}),
    "float": frozenset({"int", "long"}),
    "double": frozenset({"int", "long", "float"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}


class SchemaIncompatibilityType(enum.Enum):
    """Apache Avro's names for the ways a reader cannot read a writer's data."""

    NAME_MISMATCH = "NAME_MISMATCH"
    FIXED_SIZE_MISMATCH = "FIXED_SIZE_MISMATCH"
    MISSING_ENUM_SYMBOLS = "MISSING_ENUM_SYMBOLS"
    READER_FIELD_MISSING_DEFAULT_VALUE = "READER_FIELD_MISSING_DEFAULT_VALUE"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    MISSING_UNION_BRANCH = "MISSING_UNION_BRANCH"


# Confluent's descriptions; "reader"/"writer" are renamed "new"/"old" by the
# compatibility levels, which know which schema is which.
_DESCRIPTIONS = {
    SchemaIncompatibilityType.FIXED_SIZE_MISMATCH: "The size of FIXED type field at path '{path}' in the "
    "reader schema does not match with the writer schema",
    SchemaIncompatibilityType.TYPE_MISMATCH: "The type (path '{path}') of a field in the reader schema "
    "does not match with the writer schema",
    SchemaIncompatibilityType.NAME_MISMATCH: "The name of the schema has changed (path '{path}')",
    SchemaIncompatibilityType.MISSING_ENUM_SYMBOLS: "The reader schema is missing enum symbols "
    "'{message}' at path '{path}' in the writer schema",
    SchemaIncompatibilityType.MISSING_UNION_BRANCH: "The reader schema is missing a type inside a "
    "union field at path '{path}' in the writer schema",
    SchemaIncompatibilityType.READER_FIELD_MISSING_DEFAULT_VALUE: "The field '{message}' at path "
    "'{path}' in the reader schema has no default value and is missing in the writer schema",
}


@dataclasses.dataclass(frozen=True)
class Incompatibility:
    """One reason a reader cannot read a writer's data.

    Attributes:
        type: Avro's name for the problem.
        location: where in the reader schema, as a path (``/fields/1/type``).
        message: the detail (a field name, the missing symbols, the two types).
    """

    type: SchemaIncompatibilityType
    location: str
    message: str

    def describe(self) -> str:
        """The problem as Confluent's registry writes it (with "reader"/"writer" roles)."""
        description = _DESCRIPTIONS[self.type].format(path=self.location, message=self.message)
        return (
            f"{{errorType:'{self.type.value}', description:'{description}', "
            f"additionalInfo:'{self.message}'}}"
        )


def reader_writer_incompatibilities(reader: AvroType, writer: AvroType) -> list[Incompatibility]:
    """Every reason data written with ``writer`` cannot be read with ``reader``; empty if it can."""
    return _Checker().check(reader, writer, [])


class _Checker:
    """One walk over a (reader, writer) pair; not shared between checks."""

    def __init__(self) -> None:
        self._in_progress: set[tuple[int, int]] = set()
        self._done: dict[tuple[int, int], list[Incompatibility]] = {}

    def check(self, reader: AvroType, writer: AvroType, path: list[str]) -> list[Incompatibility]:
        """The incompatibilities of ``reader`` reading ``writer``, found at ``path``."""
        key = (id(reader), id(writer))
        if key in self._done:
            return self._done[key]  # checked before (reported where first met)
        if key in self._in_progress:
            return []  # a recursive type met again: its check is already under way
        self._in_progress.add(key)
        try:
            self._done[key] = self._check_pair(reader, writer, path)
        finally:
            self._in_progress.discard(key)
        return self._done[key]

    def _check_pair(self, reader: AvroType, writer: AvroType, path: list[str]) -> list[Incompatibility]:
        reader_type, writer_type = type_name(reader), type_name(writer)
        if reader_type == writer_type:
            return self._check_same_type(reader, writer, path)
        if isinstance(writer, Union):
            return self._check_writer_union(reader, writer, path)
        if isinstance(reader, Union):
            return self._check_reader_union(reader, writer, path)
        if writer_type in PROMOTIONS.get(reader_type, ()):
            return []
        return [_type_mismatch(reader, writer, path)]

    def _check_same_type(self, reader: AvroType, writer: AvroType, path: list[str]) -> list[Incompatibility]:
        if isinstance(reader, Primitive):
            return []
        if isinstance(reader, Array):
            return self.check(reader.items, writer.items, path + ["items"])  # type: ignore[union-attr]
        if isinstance(reader, Map):
            return self.check(reader.values, writer.values, path + ["values"])  # type: ignore[union-attr]
        if isinstance(reader, Union):
            return self._check_union_branches(reader, writer, path)  # type: ignore[arg-type]
        problems = _check_names(reader, writer, path)  # type: ignore[arg-type]
        if isinstance(reader, Fixed):
            problems += _check_fixed_size(reader, writer, path)  # type: ignore[arg-type]
        elif isinstance(reader, Enum):
            problems += _check_enum_symbols(reader, writer, path)  # type: ignore[arg-type]
        elif isinstance(reader, Record):
            problems += self._check_record_fields(reader, writer, path)  # type: ignore[arg-type]
        return problems

    def _check_union_branches(self, reader: Union, writer: Union, path: list[str]) -> list[Incompatibility]:
        """Two unions: each branch the writer may have written must be readable by the reader union."""
        problems: list[Incompatibility] = []
        for index, branch in enumerate(writer.branches):
            if self.check(reader, branch, path):
                message = f"reader union lacking writer type: {type_name(branch).upper()}"
                location = _pointer(path + [str(index)])
                problems.append(Incompatibility(SchemaIncompatibilityType.MISSING_UNION_BRANCH, location, message))
        return problems

    def _check_writer_union(self, reader: AvroType, writer: Union, path: list[str]) -> list[Incompatibility]:
        """The writer may have written any of its branches: each must be readable.

        Locations are in the reader schema, which has no union here: the
        problems of every branch are reported at the reader's path.
        """
        problems: list[Incompatibility] = []
        for branch in writer.branches:
            problems += self.check(reader, branch, path)
        return problems

    def _check_reader_union(self, reader: Union, writer: AvroType, path: list[str]) -> list[Incompatibility]:
        """One branch of the reader's union able to read the writer's type is enough."""
        for branch in reader.branches:
            if not self.check(branch, writer, path):
                return []
        message = f"reader union lacking writer type: {type_name(writer).upper()}"
        return [Incompatibility(SchemaIncompatibilityType.MISSING_UNION_BRANCH, _pointer(path), message)]

    def _check_record_fields(self, reader: Record, writer: Record, path: list[str]) -> list[Incompatibility]:
        problems: list[Incompatibility] = []
        writer_fields = {field.name: field for field in writer.fields}
        for index, reader_field in enumerate(reader.fields):
            field_path = path + ["fields", str(index)]
            names = [reader_field.name, *reader_field.aliases]
            writer_field = next((writer_fields[n] for n in names if n in writer_fields), None)
            if writer_field is not None:
                problems += self.check(reader_field.type, writer_field.type, field_path + ["type"])
            elif not reader_field.has_default:
                problems.append(
                    Incompatibility(
                        SchemaIncompatibilityType.READER_FIELD_MISSING_DEFAULT_VALUE,
                        _pointer(field_path),
                        reader_field.name,
                    )
                )
        return problems


def _check_names(reader: Named, writer: Named, path: list[str]) -> list[Incompatibility]:
    """Named types match by unqualified name, or through the reader's aliases (full names)."""
    if reader.name == writer.name or writer.fullname in reader.aliases:
        return []
    message = f"expected: {writer.fullname}"
    return [Incompatibility(SchemaIncompatibilityType.NAME_MISMATCH, _pointer(path + ["name"]), message)]


def _check_fixed_size(reader: Fixed, writer: Fixed, path: list[str]) -> list[Incompatibility]:
    if reader.size == writer.size:
        return []
    message = f"expected: {writer.size}, found: {reader.size}"
    return [Incompatibility(SchemaIncompatibilityType.FIXED_SIZE_MISMATCH, _pointer(path + ["size"]), message)]


def _check_enum_symbols(reader: Enum, writer: Enum, path: list[str]) -> list[Incompatibility]:
    """Every symbol the writer may write must be known to the reader, or the reader has a default."""
    missing = sorted(set(writer.symbols) - set(reader.symbols))
    if not missing or reader.default is not None:
        return []
    message = "[" + ", ".join(missing) + "]"
    return [Incompatibility(SchemaIncompatibilityType.MISSING_ENUM_SYMBOLS, _pointer(path + ["symbols"]), message)]


def _type_mismatch(reader: AvroType, writer: AvroType, path: list[str]) -> Incompatibility:
    message = f"reader type: {type_name(reader).upper()} not compatible with writer type: {type_name(writer).upper()}"
    return Incompatibility(SchemaIncompatibilityType.TYPE_MISMATCH, _pointer(path), message)


def _pointer(path: list[str]) -> str:
    """A location as Avro writes it: ``/`` and the steps joined by ``/``."""
    return "/" + "/".join(path)

"""Avro schemas: parsing, named types, references, canonical and normalized text.

An Avro schema is JSON: a string names a primitive (``"int"``) or a named
type defined elsewhere, a list is a union, an object is a ``record``,
``enum``, ``fixed``, ``array``, ``map`` or a primitive with properties. Named
types (records, enums, fixed) have a *full name* ``namespace.name``; a name
without a dot takes its namespace from the ``namespace`` key or from the
enclosing named type. A full name is defined once and may then be used by
name, which is how a record refers to itself (a linked list, a tree).

This module turns the text into the object model of ``avro_model``
(``Primitive``, ``Record`` with its ``Field`` list, ``Enum``, ``Fixed``,
``Array``, ``Map``, ``Union``): named types are shared objects, so a
recursive schema is a cycle in the model, and the compatibility rules of
``avro_compatibility`` walk it.

Parsing is done twice, on purpose. Our own walk builds the model with the
strict checks of Apache Avro's Java parser, which Confluent's registry
uses (legal names, no duplicate fields or symbols, union rules, names
defined before use), each failure with a clear reason. Then fastavro (the
library the serializers use) parses the schema too: if fastavro cannot use
a schema the registry must not accept it, and fastavro checks that every
default value matches its field's type, which we do not repeat.

References: a schema may use named types defined in other registered
schemas (``references`` maps each reference's name to its text). The
referenced texts are parsed first into the same table of names; they are
not part of this schema's text, so the canonical text names them rather
than repeating them, as Confluent's does.

Two texts are stored and compared (``ParsedSchema.canonical``):

- ``canonical``: the schema written back as compact JSON in the key order
  Apache Avro's ``Schema.toString()`` uses (``type``, ``name``,
  ``namespace``, ``doc``, ``fields``...; fields ``name``, ``type``, ``doc``,
  ``default``, ``order``, ``aliases``), keeping docs, defaults, properties
  and field order. Whitespace and the order of keys in the submitted text
  do not matter; ``{"type": "int"}`` and ``"int"`` are one schema.
- ``normalized()`` (registration with ``normalize=true``): the same, with
  aliases and custom properties sorted, and logical-type properties first,
  as Confluent's ``AvroSchema.normalize()`` does.
"""

from __future__ import annotations

import json
import re
from typing import Any

import fastavro

from minikafka.schemas import avro_compatibility
from minikafka.schemas.avro_model import (
    PRIMITIVE_TYPES,
    Array,
    AvroType,
    Enum,
    Field,
    Fixed,
    Map,
    Named,
    Primitive,
    Record,
    Union,
    type_name,
)
from minikafka.schemas.base import InvalidSchemaError, SchemaType

FIELD_ORDERS = ("ascending", "descending", "ignore")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RESERVED_FIELD_KEYS = frozenset({"name", "type", "doc", "default", "order", "aliases"})
_RESERVED_SCHEMA_KEYS = frozenset(
    {"type", "name", "namespace", "doc", "aliases", "fields", "symbols", "size", "items", "values"}
)
_LOGICAL_KEYS = ("logicalType", "precision", "scale")


# --------------------------------------------------------------------------- parser


class _Parser:
    """Builds the model from JSON, resolving names against one table of named types.

    One parser is used for a schema and the schemas it references, so the
    names they define are visible to one another.
    """

    def __init__(self) -> None:
        self.names: dict[str, Named] = {}

    def parse(self, node: Any, namespace: str | None) -> AvroType:
        """Parse one JSON node found inside ``namespace``."""
        if isinstance(node, str):
            return self._parse_name_or_primitive(node, namespace)
        if isinstance(node, list):
            return self._parse_union(node, namespace)
        if isinstance(node, dict):
            return self._parse_object(node, namespace)
        raise InvalidSchemaError(f"not a schema: {json.dumps(node)}")

    def _parse_name_or_primitive(self, name: str, namespace: str | None) -> AvroType:
        if name in PRIMITIVE_TYPES:
            return Primitive(name)
        candidates = [name] if "." in name else ([f"{namespace}.{name}"] if namespace else []) + [name]
        for fullname in candidates:
            if fullname in self.names:
                return self.names[fullname]  # type: ignore[return-value]
        raise InvalidSchemaError(f'"{name}" is not a defined name (nor a primitive type)')

    def _parse_union(self, node: list[Any], namespace: str | None) -> Union:
        branches = [self.parse(branch, namespace) for branch in node]
        seen: set[str] = set()
        for branch in branches:
            if isinstance(branch, Union):
                raise InvalidSchemaError("a union may not immediately contain another union")
            key = branch.fullname if isinstance(branch, Named) else type_name(branch)
            if key in seen:
                raise InvalidSchemaError(f"duplicate in union: {key}")
            seen.add(key)
        return Union(branches)

    def _parse_object(self, node: dict[str, Any], namespace: str | None) -> AvroType:
        if "type" not in node:
            raise InvalidSchemaError(f"no type: {json.dumps(node)}")
        kind = node["type"]
        if isinstance(kind, (dict, list)):
            return self.parse(kind, namespace)
        if not isinstance(kind, str):
            raise InvalidSchemaError(f"type must be a string, an object or a list: {json.dumps(kind)}")
        props = {k: v for k, v in node.items() if k not in _RESERVED_SCHEMA_KEYS}
        if kind in PRIMITIVE_TYPES:
            return Primitive(kind, props)
        if kind == "array":
            return Array(self.parse(_required(node, "items", "array"), namespace), props)
        if kind == "map":
            return Map(self.parse(_required(node, "values", "map"), namespace), props)
        if kind in ("record", "error"):
            return self._parse_record(node, namespace, props)
        if kind == "enum":
            return self._parse_enum(node, namespace, props)
        if kind == "fixed":
            return self._parse_fixed(node, namespace, props)
        return self._parse_name_or_primitive(kind, namespace)

    def _define(self, named: Named) -> None:
        if named.fullname in self.names:
            raise InvalidSchemaError(f"can't redefine: {named.fullname}")
        self.names[named.fullname] = named

    def _parse_record(self, node: dict[str, Any], namespace: str | None, props: dict[str, Any]) -> Record:
        fullname, aliases, doc = _named_parts(node, namespace)
        record = Record(fullname, aliases, doc, _without_default(props), is_error=node["type"] == "error")
        self._define(record)  # before the fields: a field may name its own record
        fields = _required(node, "fields", "record")
        if not isinstance(fields, list):
            raise InvalidSchemaError(f"record {fullname}: fields must be a list")
        for field_node in fields:
            record.fields.append(self._parse_field(field_node, record))
        names = [field.name for field in record.fields]
        for name in names:
            if names.count(name) > 1:
                raise InvalidSchemaError(f"record {fullname}: duplicate field {name}")
        return record

    def _parse_field(self, node: Any, record: Record) -> Field:
        if not isinstance(node, dict):
            raise InvalidSchemaError(f"record {record.fullname}: a field must be an object")
        name = _required(node, "name", "field")
        _check_name(name, f"field of {record.fullname}")
        field = Field(name, self.parse(_required(node, "type", f"field {name}"), record.namespace))
        field.doc = _optional_string(node, "doc")
        field.has_default = "default" in node
        field.default = node.get("default")
        field.order = node.get("order", "ascending")
        if field.order not in FIELD_ORDERS:
            raise InvalidSchemaError(f"field {name}: order must be one of {', '.join(FIELD_ORDERS)}")
        field.aliases = _string_list(node.get("aliases", []), f"aliases of field {name}")
        for alias in field.aliases:
            _check_name(alias, f"alias of field {name}")
        field.props = {k: v for k, v in node.items() if k not in _RESERVED_FIELD_KEYS}
        return field

    def _parse_enum(self, node: dict[str, Any], namespace: str | None, props: dict[str, Any]) -> Enum:
        fullname, aliases, doc = _named_parts(node, namespace)
        symbols = _string_list(_required(node, "symbols", "enum"), f"symbols of enum {fullname}")
        for symbol in symbols:
            _check_name(symbol, f"symbol of enum {fullname}")
        if len(set(symbols)) != len(symbols):
            raise InvalidSchemaError(f"enum {fullname}: duplicate symbol")
        default = node.get("default")
        if default is not None and default not in symbols:
            raise InvalidSchemaError(f"enum {fullname}: default {default!r} is not one of its symbols")
        enum = Enum(fullname, aliases, doc, _without_default(props), symbols, default)
        self._define(enum)
        return enum

    def _parse_fixed(self, node: dict[str, Any], namespace: str | None, props: dict[str, Any]) -> Fixed:
        fullname, aliases, doc = _named_parts(node, namespace)
        size = _required(node, "size", "fixed")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidSchemaError(f"fixed {fullname}: size must be a non-negative integer")
        fixed = Fixed(fullname, aliases, doc, props, size)
        self._define(fixed)
        return fixed


def _required(node: dict[str, Any], key: str, what: str) -> Any:
    if key not in node:
        raise InvalidSchemaError(f"{what} has no {key!r}: {json.dumps(node)}")
    return node[key]


def _optional_string(node: dict[str, Any], key: str) -> str | None:
    value = node.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidSchemaError(f"{key} must be a string: {json.dumps(value)}")
    return value


def _string_list(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidSchemaError(f"{what} must be a list of strings")
    return list(value)


def _check_name(name: Any, what: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidSchemaError(f"illegal name {name!r} for a {what}: [A-Za-z_][A-Za-z0-9_]* expected")


def _without_default(props: dict[str, Any]) -> dict[str, Any]:
    # An enum's "default" is its own attribute, not a custom property.
    return {k: v for k, v in props.items() if k != "default"}


def _named_parts(node: dict[str, Any], namespace: str | None) -> tuple[str, list[str], str | None]:
    """The full name, qualified aliases and doc of a named type found inside ``namespace``."""
    name = _required(node, "name", node.get("type", "named type"))
    if not isinstance(name, str):
        raise InvalidSchemaError(f"name must be a string: {json.dumps(name)}")
    if "." in name:
        namespace = name.rpartition(".")[0]
    elif "namespace" in node:
        namespace = node["namespace"]
        if namespace is not None and not isinstance(namespace, str):
            raise InvalidSchemaError(f"namespace must be a string: {json.dumps(namespace)}")
    namespace = namespace or None
    fullname = name if "." in name else (f"{namespace}.{name}" if namespace else name)
    for part in fullname.split("."):
        _check_name(part, "named type")
    aliases = _string_list(node.get("aliases", []), f"aliases of {fullname}")
    qualified = [a if "." in a else (f"{namespace}.{a}" if namespace else a) for a in aliases]
    for alias in qualified:
        for part in alias.split("."):
            _check_name(part, f"alias of {fullname}")
    return fullname, qualified, _optional_string(node, "doc")


# --------------------------------------------------------------------------- writing back


class _Writer:
    """Writes the model back as JSON data in Apache Avro's ``Schema.toString()`` order.

    ``known`` holds the full names already written (or defined by a
    reference): those are written as names. ``normalize`` sorts aliases
    and custom properties, logical-type properties first.
    """

    def __init__(self, known: set[str], normalize: bool) -> None:
        self.known = set(known)
        self.normalize = normalize

    def write(self, schema: AvroType, namespace: str | None) -> Any:
        """The JSON data of ``schema`` written inside ``namespace``."""
        if isinstance(schema, Primitive):
            if not schema.props:
                return schema.type
            return {"type": schema.type, **self._props(schema.props)}
        if isinstance(schema, Union):
            return [self.write(branch, namespace) for branch in schema.branches]
        if isinstance(schema, Array):
            return {"type": "array", "items": self.write(schema.items, namespace), **self._props(schema.props)}
        if isinstance(schema, Map):
            return {"type": "map", "values": self.write(schema.values, namespace), **self._props(schema.props)}
        return self._write_named(schema, namespace)

    def _write_named(self, schema: Named, namespace: str | None) -> Any:
        if schema.fullname in self.known:
            return schema.name if schema.namespace == namespace else schema.fullname
        self.known.add(schema.fullname)
        kind = type_name(schema)  # type: ignore[arg-type]
        if isinstance(schema, Record) and schema.is_error:
            kind = "error"
        data: dict[str, Any] = {"type": kind, "name": schema.name}
        if schema.namespace != namespace:
            data["namespace"] = schema.namespace or ""
        if schema.doc is not None:
            data["doc"] = schema.doc
        if isinstance(schema, Record):
            data["fields"] = [self._write_field(field, schema.namespace) for field in schema.fields]
        elif isinstance(schema, Enum):
            data["symbols"] = list(schema.symbols)
            if schema.default is not None:
                data["default"] = schema.default
        elif isinstance(schema, Fixed):
            data["size"] = schema.size
        data.update(self._props(schema.props))
        if schema.aliases:
            data["aliases"] = [self._alias(alias, schema.namespace) for alias in self._sorted(schema.aliases)]
        return data

    def _write_field(self, field: Field, namespace: str | None) -> dict[str, Any]:
        data: dict[str, Any] = {"name": field.name, "type": self.write(field.type, namespace)}
        if field.doc is not None:
            data["doc"] = field.doc
        if field.has_default:
            data["default"] = field.default
        if field.order != "ascending":
            data["order"] = field.order
        if field.aliases:
            data["aliases"] = self._sorted(field.aliases)
        data.update(self._props(field.props))
        return data

    def _props(self, props: dict[str, Any]) -> dict[str, Any]:
        if not self.normalize:
            return dict(props)
        logical = {k: props[k] for k in _LOGICAL_KEYS if k in props}
        if logical.get("scale") == 0:
            del logical["scale"]  # scale 0 is the default, Confluent drops it
        others = {k: props[k] for k in sorted(props) if k not in _LOGICAL_KEYS}
        return {**logical, **others}

    def _sorted(self, names: list[str]) -> list[str]:
        return sorted(names) if self.normalize else list(names)

    @staticmethod
    def _alias(alias: str, namespace: str | None) -> str:
        prefix, _, name = alias.rpartition(".")
        return name if (prefix or None) == namespace else alias


def _compact(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- the ParsedSchema


class AvroSchema:
    """One parsed Avro schema (immutable once built; safe to share between tasks).

    Attributes:
        root: the model of the schema.
        references: the referenced schemas' texts, by reference name.
        named_types: every named type visible to the schema (its own and its references').
    """

    schema_type = SchemaType.AVRO

    def __init__(self, text: str, references: dict[str, str] | None = None) -> None:
        self.references = dict(references or {})
        data = _load_json(text)
        # The same schema may be reached through two references (a diamond): parse it once.
        reference_data = [_load_json(ref_text) for ref_text in dict.fromkeys(self.references.values())]
        parser = _Parser()
        _parse_references(parser, reference_data)
        self.referenced_names = frozenset(parser.names)
        self.root: AvroType = parser.parse(data, None)
        _check_with_fastavro(data, reference_data)
        self.named_types = dict(parser.names)
        self.canonical = _compact(_Writer(set(self.referenced_names), normalize=False).write(self.root, None))

    def __repr__(self) -> str:
        return f"AvroSchema({self.canonical!r})"

    def normalized(self) -> "AvroSchema":
        """The normalized schema (aliases and properties sorted), for ``normalize=true``."""
        text = _compact(_Writer(set(self.referenced_names), normalize=True).write(self.root, None))
        return AvroSchema(text, self.references)

    def record_names(self) -> list[str]:
        """The full name of the top-level named type, if the schema is one."""
        return [self.root.fullname] if isinstance(self.root, Named) else []

    def formatted(self, fmt: str | None) -> str:
        """``resolved`` writes referenced types inline; anything else is the canonical text."""
        if fmt == "resolved":
            return _compact(_Writer(set(), normalize=False).write(self.root, None))
        return self.canonical

    def backward_errors(self, previous: object) -> list[str]:
        """Why data written with ``previous`` cannot be read with this schema (reader = self)."""
        if not isinstance(previous, AvroSchema):
            return ["Incompatible because of different schema type"]
        problems = avro_compatibility.reader_writer_incompatibilities(self.root, previous.root)
        return [problem.describe() for problem in problems]


def parse(text: str, references: dict[str, str] | None = None) -> AvroSchema:
    """Parse an Avro schema's text; raises ``InvalidSchemaError`` with the reason."""
    return AvroSchema(text, references)


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise InvalidSchemaError(f"Invalid Avro schema: not JSON ({exc})") from exc


def _parse_references(parser: _Parser, reference_data: list[Any]) -> None:
    """Parse the referenced schemas, each after the ones it names (in any given order)."""
    pending = list(reference_data)
    while pending:
        progress = False
        for data in list(pending):
            saved = dict(parser.names)
            try:
                parser.parse(data, None)
            except InvalidSchemaError:
                parser.names = saved
                continue
            pending.remove(data)
            progress = True
        if not progress:
            parser.parse(pending[0], None)  # raises the reason of the first that fails


def _check_with_fastavro(data: Any, reference_data: list[Any]) -> None:
    """Let fastavro parse the schema (and check defaults); its complaint becomes ours."""
    named: dict[str, Any] = {}
    pending = list(reference_data)
    try:
        while pending:  # references in any order: parse each after the names it uses
            for item in list(pending):
                attempt = dict(named)
                try:
                    fastavro.parse_schema(item, named_schemas=attempt, _write_hint=False)
                except fastavro.schema.UnknownType:
                    continue
                named = attempt
                pending.remove(item)
                break
            else:
                fastavro.parse_schema(pending[0], named_schemas=named, _write_hint=False)
        fastavro.parse_schema(data, named_schemas=named, _write_hint=False)
    except Exception as exc:  # fastavro raises several kinds (SchemaParseException, KeyError...)
        raise InvalidSchemaError(f"Invalid Avro schema: {type(exc).__name__}: {exc}") from exc

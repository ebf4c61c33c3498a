"""Which Protobuf evolutions are compatible: Confluent's rules, on descriptors.

The question is always *backward*: can a reader using the ``update`` schema
read bytes written with the ``original`` one? Protobuf's wire format answers
most of it by itself. A record is a list of ``(field number, wire type,
value)``; a reader skips numbers it does not know and leaves absent fields at
their defaults. So adding or removing an optional field is harmless, while
reusing a number with a value the reader decodes differently is not.

The comparison walks both files side by side and lists every *difference*,
each with a type named as Confluent names it and a path such as
``#/Order/3`` (message ``Order``, field number 3). Some difference types are
compatible (``COMPATIBLE_CHANGES``); any other one makes the evolution
incompatible, and is reported as the reason.

The rules, message by message (fields are matched by number, never by name):

* package changed: every message's full name changes -> incompatible;
* message removed -> incompatible (old data may name it, by subject or as a
  field's type); message added, moved or reordered -> compatible (a record's
  message index refers to the schema it was written with);
* field added or removed -> compatible (unknown numbers are skipped, missing
  fields take their default); a *required* (proto2) field added or removed ->
  incompatible;
* field renamed -> compatible (names are not on the wire);
* field type changed: compatible only inside one group of scalar types that
  share a wire encoding: ``int32 uint32 int64 uint64 bool`` (and enums),
  ``sint32 sint64``, ``fixed32 sfixed32``, ``fixed64 sfixed64``,
  ``string bytes``; ``float`` and ``double`` stand alone. A scalar becoming a
  message or a map (or back) is incompatible; a message field whose type's
  name changes, or whose type changed incompatibly, is incompatible;
* label changed (singular <-> ``repeated``): fine for strings, bytes and
  messages (length-delimited either way), incompatible for numbers (packed
  encoding differs);
* oneofs: adding a oneof, adding a new field to one, moving a field out of a
  oneof or renaming a oneof -> compatible; removing a field from a oneof ->
  incompatible; putting two fields that were independent into one oneof ->
  incompatible (old data may set both);
* enums: constants added, removed or renamed, enums added or removed ->
  compatible (an unknown number is kept as an unknown value).
"""

from __future__ import annotations

import dataclasses
from typing import Iterator, Protocol

from google.protobuf.descriptor_pb2 import (
    DescriptorProto,
    EnumDescriptorProto,
    FieldDescriptorProto,
    FileDescriptorProto,
)

from minikafka.schemas import base


class ProtobufSchemaLike(Protocol):
    """What the rules need of a parsed Protobuf schema (``protobuf.ProtobufSchema`` is one)."""

    file: FileDescriptorProto
    imports: dict[str, FileDescriptorProto]

COMPATIBLE_CHANGES = frozenset({
    "MESSAGE_ADDED", "MESSAGE_MOVED",
    "ENUM_ADDED", "ENUM_REMOVED", "ENUM_CONST_ADDED", "ENUM_CONST_CHANGED", "ENUM_CONST_REMOVED",
    "FIELD_ADDED", "FIELD_REMOVED", "FIELD_NAME_CHANGED", "FIELD_STRING_OR_BYTES_LABEL_CHANGED",
    "ONEOF_ADDED", "ONEOF_REMOVED", "ONEOF_FIELD_ADDED", "ONEOF_FIELD_MOVED_TO_TOP_LEVEL",
})
"""Difference types that never stop a reader of the update from reading the original's data."""

# "reader": the schema that must read the data; "writer": the one it was written with
# (the compatibility levels rename them "new"/"old" for the direction they check).
DESCRIPTIONS = {
    "PACKAGE_CHANGED":
        "The reader schema's package differs from the writer schema's, so every full name at '{path}' changed",
    "MESSAGE_REMOVED":
        "The message at path '{path}' of the writer schema is gone from the reader schema",
    "FIELD_KIND_CHANGED":
        "The field at path '{path}' changed between scalar, message and map from the writer to the reader schema",
    "FIELD_SCALAR_KIND_CHANGED":
        "The field at path '{path}' has a scalar type in the reader schema that decodes the writer "
        "schema's wire values differently",
    "FIELD_NAMED_TYPE_CHANGED":
        "The message type of the field at path '{path}' in the reader schema is not the writer "
        "schema's (or changed incompatibly)",
    "FIELD_NUMERIC_LABEL_CHANGED":
        "The numeric field at path '{path}' is repeated in one schema and singular in the other "
        "(reader and writer schema)",
    "REQUIRED_FIELD_ADDED":
        "The reader schema requires the field at path '{path}', which the writer schema does not have",
    "REQUIRED_FIELD_REMOVED":
        "The writer schema's required field at path '{path}' is gone from the reader schema",
    "ONEOF_FIELD_REMOVED":
        "The oneof member at path '{path}' of the writer schema is gone from the reader schema",
    "MULTIPLE_FIELDS_MOVED_TO_ONEOF":
        "The oneof at path '{path}' in the reader schema holds several fields the writer schema "
        "could set together",
    "FIELD_MOVED_TO_EXISTING_ONEOF":
        "The oneof at path '{path}' in the reader schema took in a field the writer schema could set "
        "beside its other members",
}

# Scalar types that share a wire encoding, so a reader can take one for another.
_SCALAR_GROUPS = {
    "int32": "GENERAL_NUMBER", "int64": "GENERAL_NUMBER", "uint32": "GENERAL_NUMBER",
    "uint64": "GENERAL_NUMBER", "bool": "GENERAL_NUMBER",
    "sint32": "SIGNED_NUMBER", "sint64": "SIGNED_NUMBER",
    "string": "STRING_OR_BYTES", "bytes": "STRING_OR_BYTES",
    "fixed32": "FIXED32", "sfixed32": "FIXED32",
    "fixed64": "FIXED64", "sfixed64": "FIXED64",
    "float": "FLOAT", "double": "DOUBLE",
}
_NUMERIC_GROUPS = {"GENERAL_NUMBER", "SIGNED_NUMBER", "FIXED32", "FIXED64", "FLOAT", "DOUBLE"}
_SCALAR_NAMES = {
    value: name[len("TYPE_"):].lower()
    for name, value in FieldDescriptorProto.Type.items()
    if name not in ("TYPE_MESSAGE", "TYPE_ENUM", "TYPE_GROUP")
}


class Difference(base.Difference):
    """A difference between two Protobuf schemas (Confluent's ``SchemaDiff`` names)."""

    COMPATIBLE_CHANGES = COMPATIBLE_CHANGES

    def description(self) -> str:
        return DESCRIPTIONS.get(self.type, "").format(path=self.path)


def backward_errors(update: ProtobufSchemaLike, original: ProtobufSchemaLike) -> list[str]:
    """Why data written with ``original`` cannot be read with ``update`` (empty: it can)."""
    return [d.message() for d in differences(original, update) if not d.compatible]


def differences(original: ProtobufSchemaLike, update: ProtobufSchemaLike) -> list[Difference]:
    """Every difference from ``original`` to ``update``, compatible ones included."""
    ctx = _Context(_TypeIndex(original), _TypeIndex(update))
    if original.file.package != update.file.package:
        ctx.add("PACKAGE_CHANGED", [])
    _compare_scopes(ctx, [], original.file.message_type, original.file.enum_type,
                    update.file.message_type, update.file.enum_type, original.file.package)
    return list(ctx.found)


# --- types: where every message and enum of a file (and its imports) is ------


@dataclasses.dataclass(frozen=True)
class _TypeInfo:
    full_name: str
    package: str
    message: DescriptorProto | None = None
    enum: EnumDescriptorProto | None = None

    @property
    def local_name(self) -> str:
        prefix = f"{self.package}." if self.package else ""
        return self.full_name[len(prefix):] if self.full_name.startswith(prefix) else self.full_name

    @property
    def is_map(self) -> bool:
        return self.message is not None and self.message.options.map_entry


class _TypeIndex:
    """Every message and enum type visible to one schema, by full name."""

    def __init__(self, schema: ProtobufSchemaLike) -> None:
        self.types: dict[str, _TypeInfo] = {}
        self.proto3 = schema.file.syntax == "proto3"
        for file in [*schema.imports.values(), schema.file]:
            self._add_file(file)

    def _add_file(self, file: FileDescriptorProto) -> None:
        prefix = f"{file.package}." if file.package else ""
        for message, full_name in _walk_messages(file.message_type, prefix):
            self.types[full_name] = _TypeInfo(full_name, file.package, message=message)
            for enum in message.enum_type:
                self.types[f"{full_name}.{enum.name}"] = _TypeInfo(
                    f"{full_name}.{enum.name}", file.package, enum=enum)
        for enum in file.enum_type:
            self.types[prefix + enum.name] = _TypeInfo(prefix + enum.name, file.package, enum=enum)

    def get(self, type_name: str) -> _TypeInfo | None:
        return self.types.get(type_name.lstrip("."))


def _walk_messages(messages, prefix: str) -> Iterator[tuple[DescriptorProto, str]]:
    for message in messages:
        full_name = prefix + message.name
        yield message, full_name
        yield from _walk_messages(message.nested_type, full_name + ".")


class _Context:
    """The two type indexes, the differences found so far, and the message pairs compared."""

    def __init__(self, original: _TypeIndex, update: _TypeIndex) -> None:
        self.original = original
        self.update = update
        self.found: dict[Difference, None] = {}  # ordered set
        self.compared: dict[tuple[str, str], bool] = {}  # pair -> compatible

    def add(self, kind: str, path: list[str]) -> None:
        self.found[Difference(kind, "#/" + "/".join(path))] = None


# --- scopes: the messages and enums declared in one file or message ---------


def _compare_scopes(ctx: _Context, path: list[str], original_messages, original_enums,
                    update_messages, update_enums, package: str) -> None:
    """Compare the messages and enums declared side by side, matched by name."""
    originals = _by_name(m for m in original_messages if not m.options.map_entry)
    updates = _by_name(m for m in update_messages if not m.options.map_entry)
    for name in _union(originals, updates):
        here = path + [name]
        if name not in updates:
            ctx.add("MESSAGE_REMOVED", here)
        elif name not in originals:
            ctx.add("MESSAGE_ADDED", here)
        else:
            full_names = [_full_name(package, here)] * 2
            _compare_message_pair(ctx, here, originals[name], updates[name], full_names, package)
            if list(originals).index(name) != list(updates).index(name):
                ctx.add("MESSAGE_MOVED", here)
    original_enums, update_enums = _by_name(original_enums), _by_name(update_enums)
    for name in _union(original_enums, update_enums):
        if name not in update_enums:
            ctx.add("ENUM_REMOVED", path + [name])
        elif name not in original_enums:
            ctx.add("ENUM_ADDED", path + [name])
        else:
            _compare_enums(ctx, path + [name], original_enums[name], update_enums[name])


def _compare_message_pair(ctx: _Context, path: list[str], original: DescriptorProto,
                          update: DescriptorProto, full_names: list[str], package: str) -> bool:
    """Compare two messages once (a pair seen before answers from memory). True if compatible."""
    key = (full_names[0], full_names[1])
    if key in ctx.compared:
        return ctx.compared[key]
    ctx.compared[key] = True  # a recursive reference to this pair assumes compatible
    before = set(ctx.found)
    _compare_messages(ctx, path, original, update)
    _compare_scopes(ctx, path, original.nested_type, original.enum_type,
                    update.nested_type, update.enum_type, package)
    compatible = all(d.compatible for d in ctx.found if d not in before)
    ctx.compared[key] = compatible
    return compatible


def _compare_enums(ctx: _Context, path: list[str], original: EnumDescriptorProto,
                   update: EnumDescriptorProto) -> None:
    originals = {value.number: value.name for value in original.value}
    updates = {value.number: value.name for value in update.value}
    for number in sorted(originals.keys() | updates.keys()):
        here = path + [str(number)]
        if number not in updates:
            ctx.add("ENUM_CONST_REMOVED", here)
        elif number not in originals:
            ctx.add("ENUM_CONST_ADDED", here)
        elif originals[number] != updates[number]:
            ctx.add("ENUM_CONST_CHANGED", here)


# --- one message: its fields by number, and its oneofs ----------------------


@dataclasses.dataclass
class _Fields:
    """A message's fields by number, and the real oneof (if any) each belongs to."""

    by_number: dict[int, FieldDescriptorProto]
    oneof_of: dict[int, str]
    oneofs: dict[str, list[int]]


def _fields(message: DescriptorProto) -> _Fields:
    # A proto3 ``optional`` field sits in a synthetic oneof of its own: not a real oneof.
    real = {
        index: decl.name for index, decl in enumerate(message.oneof_decl)
        if not any(f.proto3_optional for f in message.field if f.HasField("oneof_index")
                   and f.oneof_index == index)
    }
    fields = _Fields({f.number: f for f in message.field}, {}, {name: [] for name in real.values()})
    for field in message.field:
        if field.HasField("oneof_index") and field.oneof_index in real:
            name = real[field.oneof_index]
            fields.oneof_of[field.number] = name
            fields.oneofs[name].append(field.number)
    return fields


def _compare_messages(ctx: _Context, path: list[str], original: DescriptorProto,
                      update: DescriptorProto) -> None:
    before, after = _fields(original), _fields(update)
    _check_oneof_grouping(ctx, path, before, after)
    for name in sorted(before.oneofs.keys() | after.oneofs.keys()):
        if name not in after.oneofs:
            ctx.add("ONEOF_REMOVED", path + [name])
        elif name not in before.oneofs:
            ctx.add("ONEOF_ADDED", path + [name])
    deleted_oneofs = {
        name for name, numbers in before.oneofs.items()
        if name not in after.oneofs and not any(n in after.by_number for n in numbers)
    }
    for number in sorted(before.by_number.keys() | after.by_number.keys()):
        _compare_field_number(ctx, path, number, before, after, deleted_oneofs)


def _check_oneof_grouping(ctx: _Context, path: list[str], before: _Fields, after: _Fields) -> None:
    """Old data may set two fields at once: they must not end up in one oneof."""
    for name, numbers in after.oneofs.items():
        origins: set[str] = set()
        moved_in = 0
        for number in numbers:
            if number in before.oneof_of:
                origins.add("oneof:" + before.oneof_of[number])
            elif number in before.by_number:
                origins.add(f"field:{number}")
                moved_in += 1
        if len(origins) > 1:
            kind = "MULTIPLE_FIELDS_MOVED_TO_ONEOF" if moved_in > 1 else "FIELD_MOVED_TO_EXISTING_ONEOF"
            ctx.add(kind, path + [name])


def _compare_field_number(ctx: _Context, path: list[str], number: int, before: _Fields,
                          after: _Fields, deleted_oneofs: set[str]) -> None:
    old, new = before.by_number.get(number), after.by_number.get(number)
    old_oneof, new_oneof = before.oneof_of.get(number), after.oneof_of.get(number)
    if new is None:
        if old_oneof is not None:
            if old_oneof not in deleted_oneofs:
                ctx.add("ONEOF_FIELD_REMOVED", path + [old_oneof, str(number)])
        else:
            required = old.label == FieldDescriptorProto.LABEL_REQUIRED
            ctx.add("REQUIRED_FIELD_REMOVED" if required else "FIELD_REMOVED", path + [str(number)])
    elif old is None:
        if new_oneof is not None:
            ctx.add("ONEOF_FIELD_ADDED", path + [new_oneof, str(number)])
        else:
            required = new.label == FieldDescriptorProto.LABEL_REQUIRED
            ctx.add("REQUIRED_FIELD_ADDED" if required else "FIELD_ADDED", path + [str(number)])
    else:
        if old_oneof is not None and new_oneof is None:
            ctx.add("ONEOF_FIELD_MOVED_TO_TOP_LEVEL", path + [str(number)])
        here = path + ([new_oneof] if new_oneof else []) + [str(number)]
        _compare_fields(ctx, here, old, new, old_oneof, new_oneof)


# --- one field: name, kind, scalar group, label -----------------------------


def _compare_fields(ctx: _Context, path: list[str], old: FieldDescriptorProto,
                    new: FieldDescriptorProto, old_oneof: str | None, new_oneof: str | None) -> None:
    if old.name != new.name:
        ctx.add("FIELD_NAME_CHANGED", path)
    old_label = _label(old, old_oneof, ctx.original.proto3)
    new_label = _label(new, new_oneof, ctx.update.proto3)
    _compare_types(ctx, path, (old_label, _field_type(ctx.original, old)),
                   (new_label, _field_type(ctx.update, new)))


def _label(field: FieldDescriptorProto, oneof: str | None, proto3: bool) -> str | None:
    """The label as written in the ``.proto`` text (None: none was written)."""
    if field.label == FieldDescriptorProto.LABEL_REPEATED:
        return "repeated"
    if field.label == FieldDescriptorProto.LABEL_REQUIRED:
        return "required"
    if oneof is not None or (proto3 and not field.proto3_optional):
        return None
    return "optional"


def _field_type(index: _TypeIndex, field: FieldDescriptorProto):
    """A field's type: a scalar name, an enum or message ``_TypeInfo``, or a map's (key, value)."""
    if field.type not in (FieldDescriptorProto.TYPE_MESSAGE, FieldDescriptorProto.TYPE_ENUM,
                          FieldDescriptorProto.TYPE_GROUP):
        return _SCALAR_NAMES[field.type]
    info = index.get(field.type_name)
    if info is not None and info.is_map:
        key, value = sorted(info.message.field, key=lambda f: f.number)
        return (_field_type(index, key), _field_type(index, value))
    return info if info is not None else field.type_name.lstrip(".")


def _kind(field_type) -> str:
    if isinstance(field_type, tuple):
        return "MAP"
    if isinstance(field_type, str) and field_type in _SCALAR_GROUPS:
        return "SCALAR"
    if isinstance(field_type, _TypeInfo) and field_type.enum is not None:
        return "SCALAR"
    return "MESSAGE"


def _scalar_group(field_type) -> str:
    return "GENERAL_NUMBER" if isinstance(field_type, _TypeInfo) else _SCALAR_GROUPS[field_type]


def _compare_types(ctx: _Context, path: list[str], old, new) -> None:
    (old_label, old_type), (new_label, new_type) = old, new
    old_kind, new_kind = _kind(old_type), _kind(new_type)
    if old_kind != new_kind:
        ctx.add("FIELD_KIND_CHANGED", path)
    elif old_kind == "SCALAR":
        old_group, new_group = _scalar_group(old_type), _scalar_group(new_type)
        if old_group != new_group:
            ctx.add("FIELD_SCALAR_KIND_CHANGED", path)
        elif old_label is not None and new_label is not None and old_label != new_label:
            if old_group in _NUMERIC_GROUPS:
                ctx.add("FIELD_NUMERIC_LABEL_CHANGED", path)
            else:
                ctx.add("FIELD_STRING_OR_BYTES_LABEL_CHANGED", path)
    elif old_kind == "MAP":
        _compare_types(ctx, path, (None, old_type[0]), (None, new_type[0]))
        _compare_types(ctx, path, (None, old_type[1]), (None, new_type[1]))
    else:
        _compare_message_types(ctx, path, old_type, new_type)


def _compare_message_types(ctx: _Context, path: list[str], old, new) -> None:
    """A message field's type: the same name (without package), and compatible contents."""
    if not isinstance(old, _TypeInfo) or not isinstance(new, _TypeInfo):
        if str(old) != str(new):
            ctx.add("FIELD_NAMED_TYPE_CHANGED", path)
        return
    if old.local_name != new.local_name:
        ctx.add("FIELD_NAMED_TYPE_CHANGED", path)
        return
    type_path = old.local_name.split(".")
    compatible = _compare_message_pair(ctx, type_path, old.message, new.message,
                                       [old.full_name, new.full_name], old.package)
    if not compatible:
        ctx.add("FIELD_NAMED_TYPE_CHANGED", path)


# --- small helpers ------------------------------------------------------------


def _by_name(items) -> dict:
    return {item.name: item for item in items}


def _union(first: dict, second: dict) -> list[str]:
    return list(first) + [name for name in second if name not in first]


def _full_name(package: str, path: list[str]) -> str:
    return ".".join(([package] if package else []) + path)

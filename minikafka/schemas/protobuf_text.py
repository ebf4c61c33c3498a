"""Print a ``FileDescriptorProto`` back as ``.proto`` text.

The registry shows Protobuf schemas as ``.proto`` text, whichever spelling
they were registered in, the way Confluent's registry does. protoc turns
text into a descriptor; this module goes the other way, printing one
declaration per line in a fixed order, so equal descriptors print as equal
text. Type names are printed fully qualified (``.shop.Money``), which protoc
reads exactly as written, so no scope rules are needed.

It covers proto2 and proto3 files: messages, nested types, fields with their
labels and ``[default = ...]``/``[packed = ...]`` options, maps, oneofs
(proto3 ``optional`` fields are printed as such, not as their synthetic
oneofs), enums, reserved numbers and names, extension ranges, ``extend``
blocks, services and the standard options with scalar values. What it does
not print (groups, editions, custom or message-valued options) raises
``Unprintable``; the caller then keeps the serialized form instead, so a
printed text is only ever used when it compiles back to the same descriptor.
"""

from __future__ import annotations

import math

from google.protobuf import descriptor_pb2, text_encoding
from google.protobuf.descriptor_pb2 import (
    DescriptorProto,
    EnumDescriptorProto,
    FieldDescriptorProto,
    FileDescriptorProto,
)

_MAX_FIELD_NUMBER = 536_870_911
_MAX_ENUM_NUMBER = 2_147_483_647


class Unprintable(ValueError):
    """The descriptor uses something this printer does not write."""


def to_proto_text(file: FileDescriptorProto) -> str:
    """The ``.proto`` text of ``file``."""
    if file.syntax not in ("", "proto2", "proto3"):
        raise Unprintable(f"syntax {file.syntax!r}")
    proto3 = file.syntax == "proto3"
    lines = [f'syntax = "{file.syntax or "proto2"}";']
    if file.package:
        lines.append(f"package {file.package};")
    public, weak = set(file.public_dependency), set(file.weak_dependency)
    for index, name in enumerate(file.dependency):
        modifier = "public " if index in public else "weak " if index in weak else ""
        lines.append(f'import {modifier}"{name}";')
    lines += [f"option {option};" for option in _options(file.options)]
    for enum in file.enum_type:
        lines += _enum(enum)
    for message in file.message_type:
        lines += _message(message, proto3)
    lines += _extends(file.extension, proto3)
    for service in file.service:
        lines += _service(service)
    return "\n".join(lines) + "\n"


def _indent(lines: list[str]) -> list[str]:
    return ["  " + line for line in lines]


def _message(message: DescriptorProto, proto3: bool) -> list[str]:
    body = [f"option {option};" for option in _options(message.options)]
    body += _fields_and_nested_messages(message, proto3)
    for enum in message.enum_type:
        body += _enum(enum)
    body += _extends(message.extension, proto3)
    body += _ranges("extensions", message.extension_range, end_inclusive=False, maximum=_MAX_FIELD_NUMBER,
                    with_options=True)
    body += _ranges("reserved", message.reserved_range, end_inclusive=False, maximum=_MAX_FIELD_NUMBER)
    if message.reserved_name:
        body.append("reserved " + ", ".join(_quote(n) for n in message.reserved_name) + ";")
    return [f"message {message.name} {{", *_indent(body), "}"]


def _fields_and_nested_messages(message: DescriptorProto, proto3: bool) -> list[str]:
    """Fields in order, oneof members as one block, nested messages where protoc expects them.

    protoc declares a map field's entry type among the nested types at the
    point the field is read, so a nested message listed before that entry is
    printed before the map field.
    """
    maps = {nested.name: nested for nested in message.nested_type if nested.options.map_entry}
    position = {nested.name: index for index, nested in enumerate(message.nested_type)}
    real_oneofs = _real_oneofs(message)
    pending = [nested for nested in message.nested_type if not nested.options.map_entry]
    body: list[str] = []
    printed_oneofs: set[int] = set()
    for field in message.field:
        entry = _map_entry(field, maps)
        if entry is not None:
            while pending and position[pending[0].name] < position[entry.name]:
                body += _message(pending.pop(0), proto3)
        if field.HasField("oneof_index") and field.oneof_index in real_oneofs:
            if field.oneof_index not in printed_oneofs:
                printed_oneofs.add(field.oneof_index)
                body += _oneof(message, field.oneof_index, proto3, maps)
        else:
            body.append(_field(field, proto3, maps, in_oneof=False))
    for nested in pending:
        body += _message(nested, proto3)
    return body


def _oneof(message: DescriptorProto, index: int, proto3: bool, maps: dict[str, DescriptorProto]) -> list[str]:
    decl = message.oneof_decl[index]
    members = [_field(f, proto3, maps, in_oneof=True) for f in message.field
               if f.HasField("oneof_index") and f.oneof_index == index]
    return [f"oneof {decl.name} {{", *_indent(_list_options(decl.options) + members), "}"]


def _list_options(options) -> list[str]:
    return [f"option {option};" for option in _options(options)]


def _real_oneofs(message: DescriptorProto) -> set[int]:
    """Indexes of the oneofs written as such (a proto3 ``optional`` field's is synthetic)."""
    synthetic = {f.oneof_index for f in message.field if f.proto3_optional and f.HasField("oneof_index")}
    return {index for index in range(len(message.oneof_decl)) if index not in synthetic}


def _field(field: FieldDescriptorProto, proto3: bool, maps: dict[str, DescriptorProto],
           in_oneof: bool) -> str:
    if field.type == FieldDescriptorProto.TYPE_GROUP:
        raise Unprintable("groups")
    entry = _map_entry(field, maps)
    if entry is not None:
        key, value = sorted(entry.field, key=lambda f: f.number)
        declaration = f"map<{_type(key)}, {_type(value)}> {field.name} = {field.number}"
    else:
        declaration = f"{_label(field, proto3, in_oneof)}{_type(field)} {field.name} = {field.number}"
    options = _field_options(field)
    return declaration + (f" [{', '.join(options)}]" if options else "") + ";"


def _map_entry(field: FieldDescriptorProto, maps: dict[str, DescriptorProto]) -> DescriptorProto | None:
    if field.label != FieldDescriptorProto.LABEL_REPEATED or field.type != FieldDescriptorProto.TYPE_MESSAGE:
        return None
    local = field.type_name.rsplit(".", 1)[-1]
    return maps.get(local)


def _label(field: FieldDescriptorProto, proto3: bool, in_oneof: bool) -> str:
    if field.label == FieldDescriptorProto.LABEL_REPEATED:
        return "repeated "
    if field.label == FieldDescriptorProto.LABEL_REQUIRED:
        return "required "
    if in_oneof or (proto3 and not field.proto3_optional):
        return ""
    return "optional "


def _type(field: FieldDescriptorProto) -> str:
    if field.type in (FieldDescriptorProto.TYPE_MESSAGE, FieldDescriptorProto.TYPE_ENUM):
        return field.type_name
    return FieldDescriptorProto.Type.Name(field.type)[len("TYPE_"):].lower()


def _field_options(field: FieldDescriptorProto) -> list[str]:
    options = []
    if field.HasField("default_value"):
        options.append(f"default = {_default(field)}")
    if field.HasField("json_name"):
        options.append(f"json_name = {_quote(field.json_name)}")
    return options + _options(field.options)


def _default(field: FieldDescriptorProto) -> str:
    value = field.default_value
    if field.type == FieldDescriptorProto.TYPE_STRING:
        return '"' + text_encoding.CEscape(value, as_utf8=True) + '"'
    if field.type == FieldDescriptorProto.TYPE_BYTES:
        return f'"{value}"'  # already C-escaped in the descriptor
    return value


def _enum(enum: EnumDescriptorProto) -> list[str]:
    body = [f"option {option};" for option in _options(enum.options)]
    for value in enum.value:
        options = _options(value.options)
        suffix = f" [{', '.join(options)}]" if options else ""
        body.append(f"{value.name} = {value.number}{suffix};")
    body += _ranges("reserved", enum.reserved_range, end_inclusive=True, maximum=_MAX_ENUM_NUMBER)
    if enum.reserved_name:
        body.append("reserved " + ", ".join(_quote(n) for n in enum.reserved_name) + ";")
    return [f"enum {enum.name} {{", *_indent(body), "}"]


def _extends(extensions, proto3: bool) -> list[str]:
    """``extend`` blocks, one per extended message, in first-seen order."""
    blocks: dict[str, list[str]] = {}
    for extension in extensions:
        blocks.setdefault(extension.extendee, []).append(_field(extension, False, {}, in_oneof=False))
    return [line for extendee, fields in blocks.items()
            for line in [f"extend {extendee} {{", *_indent(fields), "}"]]


def _ranges(keyword: str, ranges, end_inclusive: bool, maximum: int, with_options: bool = False) -> list[str]:
    parts = []
    for item in ranges:
        if with_options and item.HasField("options"):
            raise Unprintable("extension range options")
        last = item.end if end_inclusive else item.end - 1
        if last == item.start:
            parts.append(str(item.start))
        else:
            parts.append(f"{item.start} to {'max' if last >= maximum else last}")
    return [f"{keyword} {', '.join(parts)};"] if parts else []


def _service(service: descriptor_pb2.ServiceDescriptorProto) -> list[str]:
    body = [f"option {option};" for option in _options(service.options)]
    for method in service.method:
        client = "stream " if method.client_streaming else ""
        server = "stream " if method.server_streaming else ""
        signature = f"rpc {method.name} ({client}{method.input_type}) returns ({server}{method.output_type})"
        options = _options(method.options)
        if options:
            body.append(signature + " {")
            body += _indent([f"option {option};" for option in options])
            body.append("}")
        else:
            body.append(signature + ";")
    return [f"service {service.name} {{", *_indent(body), "}"]


def _options(options) -> list[str]:
    """``name = value`` for each standard option set to a scalar or enum value."""
    found = []
    for descriptor, value in options.ListFields():
        if descriptor.is_extension or descriptor.name == "uninterpreted_option":
            raise Unprintable(f"custom option {descriptor.full_name}")
        if descriptor.is_repeated or descriptor.message_type is not None:
            raise Unprintable(f"option {descriptor.name}")
        found.append(f"{descriptor.name} = {_option_value(descriptor, value)}")
    return found


def _option_value(descriptor, value) -> str:
    if descriptor.enum_type is not None:
        return descriptor.enum_type.values_by_number[value].name
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + text_encoding.CEscape(value, as_utf8=True) + '"'
    if isinstance(value, bytes):
        return '"' + text_encoding.CEscape(value, as_utf8=False) + '"'
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else "-inf" if value < 0 else "nan"
    return repr(value)


def _quote(text: str) -> str:
    return '"' + text_encoding.CEscape(text, as_utf8=True) + '"'

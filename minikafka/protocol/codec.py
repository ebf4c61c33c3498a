"""One generic codec for every declared message: declaration -> encoder/decoder.

A ``schema.Message`` only *describes* a message. The first time a (message,
version) pair is used, this module *compiles* the declaration into two
closures and caches them on the message:

- ``read(buf, pos) -> (Struct, pos)`` reads the fields that exist in that
  version, in declaration order, then (flexible versions only) the
  tagged-field section that ends every struct;
- ``write(out, obj)`` appends the encoded parts to the list ``out``.

Compiling once means the per-request work is a loop over a precomputed plan
of ``(name, reader)`` pairs: no version checks, no type dispatch.

Rules the compiler applies (all from Kafka's message generator, KIP-482):

- In a *flexible* version, strings, bytes, records and arrays use their
  compact forms (length + 1 as an unsigned varint, 0 = null), and every
  struct, the message itself included, ends with a tagged-field section.
- A tagged field is written only when its encoding differs from its
  default's: older clients (librdkafka before 2.x) misread default-valued
  tagged fields, and Kafka never sends them either. Tags we do not declare
  are skipped when decoding.
- ``None`` is a legal value only in the versions listed in ``nullable``.
  A nullable struct (not an array) is prefixed by an int8: -1 null, 1 present.
- A field that a version does not carry decodes as its default; on encode
  it is ignored. A field missing from the object being encoded takes its
  default.
- ``records`` decode to a ``memoryview`` slice of the input: a fetched or
  produced batch is never copied by the codec.
- Zero copy (Kafka's ``FileRecords`` in a fetch response): a ``records``
  value may also be a *file region*, any object that is not bytes-like and
  has a ``length`` (the storage core's ``FileRegion``: file, position,
  length). The codec writes the length prefix from ``region.length`` and puts
  the region itself in the list of parts, unread; ``encode`` then returns
  that list (bytes runs joined, regions in between) instead of one
  ``bytes``, and the server sends the regions with sendfile.

The codec is pure and synchronous: bytes in, ``Struct`` out, and back.
"""

from __future__ import annotations

import struct as _struct
from typing import Protocol

from . import primitives as p
from .primitives import DecodeError

__all__ = ["Struct", "DecodeError", "EncodeError", "InvalidVersionError",
           "decode", "decode_from", "encode", "encode_into", "as_dict", "join_parts",
           "part_size"]


# --- what the codec reads of a declaration -------------------------------------
#
# The declarations are ``schema.Field`` and ``schema.Message``. This module does
# not import ``schema``: ``Message.encode``/``decode`` call the codec, so the
# codec sits below the schema and names here the few attributes it reads.


class VersionRange(Protocol):
    """An inclusive range of versions (``schema.Versions``)."""

    lowest: int
    highest: int

    @property
    def empty(self) -> bool: ...

    def __contains__(self, version: int) -> bool: ...


class FieldDeclaration(Protocol):
    """One declared field (``schema.Field``)."""

    name: str
    type: str
    versions: VersionRange
    nullable: VersionRange
    default: object
    tag: int | None
    tagged_versions: VersionRange | None
    fields: list[FieldDeclaration] | None

    @property
    def has_default(self) -> bool: ...

    @property
    def is_array(self) -> bool: ...

    @property
    def element_type(self) -> str: ...

    @property
    def is_struct(self) -> bool: ...

    @property
    def is_tagged(self) -> bool: ...


class MessageDeclaration(Protocol):
    """One declared message, over all its versions (``schema.Message``)."""

    name: str
    valid_versions: VersionRange
    fields: list[FieldDeclaration]

    def is_flexible(self, version: int) -> bool: ...


class EncodeError(ValueError):
    """A value cannot be encoded in the requested version (wrong type, a null
    where the version does not allow one, out of range)."""


class InvalidVersionError(ValueError):
    """The message has no such version (not in its ``valid_versions``)."""


class Struct:
    """A decoded message or struct: one attribute per declared field.

    Built by the codec (every declared field present) or by hand with
    ``Struct(field=value, ...)``. Plain data: not shared between tasks unless
    the owner says so. Two structs are equal when their fields are equal.
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __eq__(self, other):
        if isinstance(other, Struct):
            return self.__dict__ == other.__dict__
        return NotImplemented

    __hash__ = None  # mutable, like a dict

    def __repr__(self):
        parts = ", ".join(f"{k}={_short_repr(v)}" for k, v in self.__dict__.items())
        return f"Struct({parts})"


def _short_repr(value):
    if isinstance(value, memoryview):
        return f"<memoryview {value.nbytes} bytes>"
    return repr(value)


def as_dict(value):
    """Turn a Struct (recursively, through lists) into plain dicts."""
    if isinstance(value, Struct):
        return {k: as_dict(v) for k, v in value.__dict__.items()}
    if isinstance(value, list):
        return [as_dict(v) for v in value]
    return value


_MISSING = object()

# --- primitive readers/writers by type -----------------------------------

# type -> ((regular read, write), (compact read, write)).
_PRIMITIVES = {
    "bool": ((p.read_bool, p.write_bool),) * 2,
    "int8": ((p.read_int8, p.write_int8),) * 2,
    "int16": ((p.read_int16, p.write_int16),) * 2,
    "int32": ((p.read_int32, p.write_int32),) * 2,
    "int64": ((p.read_int64, p.write_int64),) * 2,
    "uint16": ((p.read_uint16, p.write_uint16),) * 2,
    "uint32": ((p.read_uint32, p.write_uint32),) * 2,
    "float64": ((p.read_float64, p.write_float64),) * 2,
    "uuid": ((p.read_uuid, p.write_uuid),) * 2,
    "string": ((p.read_string, p.write_string),
               (p.read_compact_string, p.write_compact_string)),
    "bytes": ((p.read_bytes, p.write_bytes),
              (p.read_compact_bytes, p.write_compact_bytes)),
    "records": ((p.read_bytes_view, None), (p.read_compact_bytes_view, None)),  # below
}

_BYTES_LIKE = (bytes, bytearray, memoryview)


def _write_records(out, value):
    """``records`` (int32 length): bytes as ``bytes`` are, a file region unread."""
    if value is None or isinstance(value, _BYTES_LIKE):
        p.write_bytes(out, value)
    else:
        out.append(p.INT32.pack(value.length))
        out.append(value)


def _write_compact_records(out, value):
    """``records`` in flexible versions (unsigned varint length + 1)."""
    if value is None or isinstance(value, _BYTES_LIKE):
        p.write_compact_bytes(out, value)
    else:
        out.append(p.encode_unsigned_varint(value.length + 1))
        out.append(value)


_PRIMITIVES["records"] = ((p.read_bytes_view, _write_records),
                          (p.read_compact_bytes_view, _write_compact_records))

# Types whose wire form can say "null" (the others can never decode to None).
_NULLABLE_KINDS = frozenset({"string", "bytes", "records"})

_INT_TYPES = frozenset({"int8", "int16", "int32", "int64", "uint16", "uint32"})
_ZERO = {"bool": False, "float64": 0.0, "string": "", "bytes": b"",
         "records": None, "uuid": p.ZERO_UUID, **{t: 0 for t in _INT_TYPES}}


# --- defaults --------------------------------------------------------------


def _coerce_default(field: FieldDeclaration, value):
    """Accept defaults written as Kafka's JSON writes them ("-1", "null")."""
    if not isinstance(value, str) or field.is_array:
        return value
    if value == "null" and not field.nullable.empty:
        return None
    if field.type == "string":
        return value
    if field.type in _INT_TYPES:
        return int(value, 0)
    if field.type == "bool":
        return value.lower() == "true"
    if field.type == "float64":
        return float(value)
    return value


def default_factory(field: FieldDeclaration):
    """Return a zero-argument function making the field's default value.

    Mutable defaults (lists, structs) are built fresh on every call so that
    two decoded messages never share one.
    """
    if field.has_default:
        value = _coerce_default(field, field.default)
    elif not field.nullable.empty and field.nullable.lowest <= field.versions.lowest:
        value = None
    elif field.is_array:
        return list
    elif field.is_struct:
        children = [(f.name, default_factory(f)) for f in field.fields]
        return lambda: Struct(**{name: make() for name, make in children})
    else:
        value = _ZERO[field.type]
    if isinstance(value, list):
        return lambda: list(value)
    return lambda: value


# --- compiling ---------------------------------------------------------------


class _Plan:
    """What one struct looks like in one version; built once, then read-only."""

    __slots__ = ("regular", "absent", "order", "tagged", "by_tag", "flexible", "path")


def _field_is_flexible(field: FieldDeclaration, version: int, flexible: bool) -> bool:
    # A field may opt out of compact encodings (RequestHeader's client_id).
    override = getattr(field, "flexible_versions", None)
    return flexible and (override is None or version in override)


def _compile_value(field: FieldDeclaration, version: int, flexible: bool, path: str):
    """Build (read, write) for one field's value in one version."""
    compact = _field_is_flexible(field, version, flexible)
    if field.is_struct:
        read, write = _compile_struct(field.fields, version, flexible, path)
        if not field.is_array and version in field.nullable:
            read, write = _nullable_struct(read, write)
    else:
        read, write = _PRIMITIVES[field.element_type][compact]
    if field.is_array:
        read, write = _array(read, write, compact)
    return read, write


def _nullable_struct(read_struct, write_struct):
    """Prefix a struct with Kafka's presence byte: -1 null, 1 present."""

    def read(buf, pos):
        marker, pos = p.read_int8(buf, pos)
        if marker < 0:
            return None, pos
        return read_struct(buf, pos)

    def write(out, value):
        if value is None:
            out.append(b"\xff")
        else:
            out.append(b"\x01")
            write_struct(out, value)

    return read, write


def _array(read_element, write_element, compact):
    read_array = p.read_compact_array if compact else p.read_array
    write_array = p.write_compact_array if compact else p.write_array

    def read(buf, pos):
        return read_array(buf, pos, read_element)

    def write(out, values):
        write_array(out, values, write_element)

    return read, write


def _may_be_null_on_wire(field: FieldDeclaration, version: int) -> bool:
    return (field.is_array or field.element_type in _NULLABLE_KINDS
            or (field.is_struct and version in field.nullable))


def _plan_struct(fields, version, flexible, path) -> _Plan:
    plan = _Plan()
    plan.regular, plan.absent, plan.order, plan.tagged = [], [], [], []
    plan.flexible, plan.path = flexible, path
    for field in fields:
        plan.order.append(field.name)
        fpath = f"{path}.{field.name}"
        tagged = field.is_tagged and flexible and version in field.tagged_versions
        if version not in field.versions or (field.is_tagged and not tagged):
            plan.absent.append((field.name, default_factory(field)))
            continue
        read, write = _compile_value(field, version, flexible, fpath)
        nullable = version in field.nullable
        make_default = default_factory(field)
        default = make_default()
        if default is None and not nullable:  # e.g. nullable only in later versions
            default = [] if field.is_array else ({} if field.is_struct else _ZERO[field.type])
        if tagged:
            plan.tagged.append((field.tag, field.name, read, write, default, nullable, fpath,
                                make_default))
        else:
            check = not nullable and _may_be_null_on_wire(field, version)
            plan.regular.append((field.name, read, write, default, nullable, check, fpath))
    plan.tagged.sort(key=lambda entry: entry[0])
    plan.by_tag = {tag: (name, read) for tag, name, read, *_ in plan.tagged}
    return plan


def _compile_struct(fields, version, flexible, path):
    """Build (read, write) closures for a struct (or a whole message)."""
    plan = _plan_struct(fields, version, flexible, path)
    return _struct_reader(plan), _struct_writer(plan)


def _struct_reader(plan: _Plan):
    regular = [(name, read, check, fpath) for name, read, _, _, _, check, fpath in plan.regular]
    absent, order, by_tag, flexible = plan.absent, plan.order, plan.by_tag, plan.flexible
    tagged_defaults = [(entry[1], entry[-1]) for entry in plan.tagged]
    # Absent and tagged fields are filled in last; put the dict back in
    # declaration order so that repr() reads like the declaration.
    needs_reorder = bool(absent or tagged_defaults)

    def read(buf, pos):
        values = {}
        for name, read_value, check, fpath in regular:
            value, pos = read_value(buf, pos)
            if value is None and check:
                raise DecodeError(f"{fpath} is null but not nullable in this version")
            values[name] = value
        for name, make in absent:
            values[name] = make()
        if flexible:
            for name, make in tagged_defaults:
                values[name] = make()
            if pos < len(buf) and buf[pos] == 0:
                pos += 1  # the usual case: an empty tagged-field section
            else:
                pos = _read_tags(buf, pos, by_tag, values)
        if needs_reorder:
            values = {name: values[name] for name in order}
        result = Struct.__new__(Struct)
        result.__dict__ = values
        return result, pos

    return read


def _read_tags(buf, pos, by_tag, values):
    tags, pos = p.read_tagged_fields(buf, pos)
    for tag, raw in tags.items():
        known = by_tag.get(tag)
        if known is not None:  # unknown tags are skipped (KIP-482)
            name, read_value = known
            values[name], _ = read_value(raw, 0)
    return pos


def _struct_writer(plan: _Plan):
    regular, flexible = plan.regular, plan.flexible
    tagged = [(tag, name, write, default, nullable, fpath, _encoded(write, default))
              for tag, name, _, write, default, nullable, fpath, _ in plan.tagged]

    def write(out, obj):
        values = _fields_of(obj, plan.path)
        get = values.get
        fpath = plan.path
        try:
            for name, _, write_value, default, nullable, _, fpath in regular:
                value = get(name, _MISSING)
                if value is _MISSING:
                    value = default
                elif value is None and not nullable:
                    raise EncodeError(f"{fpath} is None but not nullable in this version")
                write_value(out, value)
            if flexible:
                _write_tags(out, get, tagged)
        except (EncodeError, RecursionError):
            raise
        except (TypeError, ValueError, AttributeError, OverflowError, _struct.error) as exc:
            raise EncodeError(f"{fpath}: {exc}") from exc

    return write


def _encoded(write, value) -> bytes:
    out = []
    write(out, value)
    return b"".join(out)


def _write_tags(out, get, tagged):
    """Write the tagged-field section: only fields that differ from default."""
    present = []
    for tag, name, write_value, default, nullable, fpath, default_bytes in tagged:
        value = get(name, _MISSING)
        if value is _MISSING or value is default:
            continue
        if value is None and not nullable:
            raise EncodeError(f"{fpath} is None but not nullable in this version")
        raw = _encoded(write_value, value)
        if raw != default_bytes:
            present.append((tag, raw))
    if present:
        p.write_tagged_fields(out, present)
    else:
        out.append(p.EMPTY_TAGGED_FIELDS)


def _fields_of(obj, path):
    if isinstance(obj, Struct):
        return obj.__dict__
    if isinstance(obj, dict):
        return obj
    if obj is None:
        raise EncodeError(f"{path} is None but not nullable in this version")
    try:
        return vars(obj)
    except TypeError:
        raise EncodeError(f"{path}: cannot encode a {type(obj).__name__} as a struct") from None


# --- public API ---------------------------------------------------------------


def compiled(message: MessageDeclaration, version: int):
    """Return the cached (read, write) pair for ``message`` at ``version``."""
    cache = message.__dict__.setdefault("_compiled", {})
    pair = cache.get(version)
    if pair is None:
        if version not in message.valid_versions:
            raise InvalidVersionError(
                f"{message.name} has no version {version} "
                f"(valid versions: {message.valid_versions})")
        pair = _compile_struct(message.fields, version,
                               message.is_flexible(version), message.name)
        cache[version] = pair
    return pair


def decode_from(message: MessageDeclaration, buf, pos: int, version: int):
    """Decode ``message`` at ``buf[pos:]``; return (Struct, end position).

    Raises:
        DecodeError: the bytes are not a valid ``message`` at ``version``.
        InvalidVersionError: ``version`` is not one of the message's.
    """
    read, _ = compiled(message, version)
    try:
        return read(buf, pos)
    except DecodeError as exc:
        raise DecodeError(f"{message.name} v{version}: {exc}") from None


def decode(message: MessageDeclaration, buf, version: int, strict: bool = False) -> Struct:
    """Decode ``buf`` as ``message`` at ``version``.

    Like Kafka's generated readers, bytes after the last field are ignored:
    real clients send some (librdkafka, 2.16 included, writes a null topic array
    in Metadata v9+ as four bytes instead of one, confluentinc/librdkafka#5049,
    and Kafka reads on regardless). Tests pass ``strict=True`` to reject them,
    as trailing bytes usually mean a declaration disagrees with the sender.
    """
    if not isinstance(buf, memoryview):
        buf = memoryview(buf)
    value, end = decode_from(message, buf, 0, version)
    if strict and end != len(buf):
        raise DecodeError(
            f"{message.name} v{version}: {len(buf) - end} unexpected bytes after the message")
    return value


def encode_into(out: list, message: MessageDeclaration, obj, version: int) -> None:
    """Append the encoding of ``obj`` to the list of parts ``out``."""
    _, write = compiled(message, version)
    write(out, obj)


def encode(message: MessageDeclaration, obj, version: int):
    """Encode ``obj`` (a Struct or a dict) as ``message`` at ``version``.

    Returns:
        ``bytes``; or, when a ``records`` field holds a file region, the list
        of parts from ``join_parts``.
    """
    out = []
    encode_into(out, message, obj, version)
    return join_parts(out)


def part_size(part) -> int:
    """Bytes a part of an encoding stands for: its length, or a region's ``length``."""
    if type(part) is bytes:  # nearly every part: checked first, it is per part of every frame
        return len(part)
    if isinstance(part, _BYTES_LIKE):
        return memoryview(part).nbytes
    return part.length


def join_parts(parts):
    """Join encoded parts into one ``bytes``, unless file regions are among them.

    With regions, return a list in which each run of bytes-like parts is
    joined into one ``bytes`` (one send each) and each region stays as it is:
    ``[bytes, region, bytes, region, ..., bytes]``.
    """
    try:
        return b"".join(parts)  # the common case: bytes-like parts only
    except TypeError:
        pass  # a file region among them (join takes only bytes-like objects)
    joined, run = [], []
    for part in parts:
        if isinstance(part, _BYTES_LIKE):
            run.append(part)
            continue
        if run:
            joined.append(b"".join(run))
            run = []
        joined.append(part)
    if run:
        joined.append(b"".join(run))
    return joined

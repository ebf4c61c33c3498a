"""Protobuf schemas: ``.proto`` text or a serialized descriptor, parsed into descriptors.

A Protobuf schema reaches the registry in one of two spellings:

* ``.proto`` text, as a person writes it (``syntax = "proto3"; message ...``);
* a base64 ``FileDescriptorProto``, as confluent-kafka's Python
  ``ProtobufSerializer`` registers the file its generated message class came
  from (and as its deserializer asks for it back with ``?format=serialized``).

Both become one ``FileDescriptorProto``. Text goes through ``protoc``, the real
Protobuf compiler bundled with grpcio-tools (so no grammar is re-implemented
here); serialized descriptors are decoded and checked by the same compiler
(``--descriptor_set_in``), which resolves every type name and import.

References are imports: ``references`` maps an import path (``"common.proto"``)
to the imported schema's text, in either spelling. The well-known types
(``google/protobuf/*.proto``, and ``google/type/*.proto`` when
googleapis-common-protos is installed) are always importable, as in
Confluent's registry, so a schema may import them without a reference.

Canonical form: the file printed back as ``.proto`` text (``protobuf_text``)
from its descriptor, without comments, in a fixed layout, as Confluent's
registry shows it; so a schema registered as text and the same file
registered as a descriptor by a client are one schema, with one id. The
printed text is kept only if protoc compiles it back into the very same
descriptor; otherwise (groups, custom options, editions) the canonical form is
the serialized one. ``formatted("serialized")`` is always the descriptor:
the ``FileDescriptorProto`` without its name, source locations (comments,
line numbers) or derived ``json_name`` values, serialized deterministically
and base64-encoded.
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import re
import tempfile
from pathlib import Path, PurePosixPath

from google.protobuf import descriptor_pb2
from google.protobuf.message import DecodeError

from minikafka.schemas import protobuf_compatibility, protobuf_text
from minikafka.schemas.base import InvalidSchemaError, ParsedSchema, SchemaType

MAIN_FILE_NAME = "schema.proto"
"""The file name a parsed schema is compiled under (its canonical form has no name)."""

_BASE64_TEXT = re.compile(r"^[A-Za-z0-9+/=\s]+$")


class ProtobufSchema:
    """One parsed Protobuf file and every file it imports.

    Immutable by convention: the descriptors are never changed after parsing.

    Attributes:
        file: the schema's own ``FileDescriptorProto``.
        imports: every file it imports, directly or not, by import path.
    """

    schema_type = SchemaType.PROTOBUF

    def __init__(
        self, file: descriptor_pb2.FileDescriptorProto,
        imports: dict[str, descriptor_pb2.FileDescriptorProto],
        text: str | None = None,
    ) -> None:
        self.file = file
        self.imports = imports
        self.serialized = _to_base64(_canonical_proto(file))
        self.canonical = text if text is not None else self.serialized

    def normalized(self) -> "ProtobufSchema":
        """The same schema: the canonical form is already normalized."""
        return self

    def record_names(self) -> list[str]:
        """Full names of the file's top-level messages, in declaration order."""
        prefix = f"{self.file.package}." if self.file.package else ""
        return [prefix + message.name for message in self.file.message_type]

    def formatted(self, fmt: str | None) -> str:
        """The schema as a client asked for it.

        ``serialized`` (what confluent-kafka's deserializer asks for) answers
        the base64 ``FileDescriptorProto``; anything else the canonical text,
        as Confluent answers a format it does not know (for forward
        compatibility). Confluent's ``ignore_extensions`` is not implemented:
        it gets the canonical text too.
        """
        if fmt == "serialized":
            return self.serialized
        return self.canonical

    def file_descriptor_set(self) -> descriptor_pb2.FileDescriptorSet:
        """The file and its imports, imports first, ready for a ``DescriptorPool``."""
        files = descriptor_pb2.FileDescriptorSet()
        files.file.extend(self.imports.values())
        main = descriptor_pb2.FileDescriptorProto()
        main.CopyFrom(self.file)
        main.name = main.name or MAIN_FILE_NAME
        files.file.append(main)
        return files

    def backward_errors(self, previous: ParsedSchema) -> list[str]:
        """Why data written with ``previous`` cannot be read with this schema."""
        if not isinstance(previous, ProtobufSchema):
            return ["Incompatible because of different schema type"]
        return protobuf_compatibility.backward_errors(self, previous)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProtobufSchema) and other.canonical == self.canonical

    def __hash__(self) -> int:
        return hash(self.canonical)

    def __repr__(self) -> str:
        return f"ProtobufSchema(record_names={self.record_names()!r})"


def parse(text: str, references: dict[str, str]) -> ProtobufSchema:
    """Parse a Protobuf schema given as ``.proto`` text or as a base64 descriptor.

    Args:
        text: the schema, ``.proto`` text or base64 ``FileDescriptorProto``.
        references: import path -> the imported schema's text (either spelling).

    Raises:
        InvalidSchemaError: the text does not compile, an import is missing, or
            a type name does not resolve.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidSchemaError("Invalid schema: an empty Protobuf schema")
    for name in references:
        _check_import_path(name)
    with tempfile.TemporaryDirectory(prefix="minikafka-proto-") as work_dir:
        compiled = _compile(Path(work_dir), text, references)
    main = _canonical_proto(next(f for f in compiled if f.name == MAIN_FILE_NAME))
    imports = {f.name: f for f in compiled if f.name != MAIN_FILE_NAME}
    return ProtobufSchema(main, imports, _printed_text(main, imports))


def _printed_text(
    main: descriptor_pb2.FileDescriptorProto, imports: dict[str, descriptor_pb2.FileDescriptorProto]
) -> str | None:
    """``main`` as ``.proto`` text, if that text compiles back into the same descriptor."""
    try:
        text = protobuf_text.to_proto_text(main)
    except protobuf_text.Unprintable:
        return None
    references = {name: _to_base64(file) for name, file in imports.items()}
    try:
        with tempfile.TemporaryDirectory(prefix="minikafka-proto-") as work_dir:
            compiled = _compile(Path(work_dir), text, references)
    except InvalidSchemaError:
        return None
    again = _canonical_proto(next(f for f in compiled if f.name == MAIN_FILE_NAME))
    return text if again == main else None


def is_serialized(text: str) -> bool:
    """Whether a schema's text is a base64 descriptor rather than ``.proto`` text."""
    return bool(_BASE64_TEXT.match(text)) and _decode(MAIN_FILE_NAME, text) is not None


# --- compiling with protoc --------------------------------------------------


def _compile(
    work_dir: Path, text: str, references: dict[str, str]
) -> list[descriptor_pb2.FileDescriptorProto]:
    """Write the schema and its imports under ``work_dir`` and run protoc on them.

    ``.proto`` texts become files on protoc's import path; base64 descriptors
    go in through ``--descriptor_set_in``, which protoc reads instead of a file.
    """
    source_dir = work_dir / "src"
    source_dir.mkdir()
    given = descriptor_pb2.FileDescriptorSet()
    for name, ref_text in {**references, MAIN_FILE_NAME: text}.items():
        decoded = _decode(name, ref_text) if _BASE64_TEXT.match(ref_text) else None
        if decoded is not None:
            given.file.append(decoded)
        else:
            path = source_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(ref_text, encoding="utf-8")
    argv = ["protoc", f"-I{source_dir}"] + [f"-I{p}" for p in _well_known_include_paths()]
    if given.file:
        given_path = work_dir / "given.pb"
        given_path.write_bytes(given.SerializeToString())
        argv.append(f"--descriptor_set_in={given_path}")
    out_path = work_dir / "out.pb"
    argv += ["--include_imports", f"--descriptor_set_out={out_path}", MAIN_FILE_NAME]
    from grpc_tools import _protoc_compiler

    if _protoc_compiler.run_main([arg.encode() for arg in argv]) != 0:
        raise InvalidSchemaError(_explain_failure(source_dir, given))
    return list(descriptor_pb2.FileDescriptorSet.FromString(out_path.read_bytes()).file)


def _explain_failure(source_dir: Path, given: descriptor_pb2.FileDescriptorSet) -> str:
    """protoc's own error messages for a schema that did not compile."""
    from grpc_tools import _protoc_compiler

    if any(f.name == MAIN_FILE_NAME for f in given.file):
        return _explain_descriptor_failure(given)
    include = [str(source_dir).encode()] + [p.encode() for p in _well_known_include_paths()]
    try:
        _protoc_compiler.get_protos(MAIN_FILE_NAME.encode(), include)
    except _protoc_compiler.ProtocErrors as exc:
        problems = "; ".join(
            f"{_text(e.filename)}:{e.line + 1}:{e.column + 1}: {_text(e.message)}"
            for e in exc.errors()
        )
        return f"Invalid schema: {problems}"
    return "Invalid schema: protoc could not compile it or one of its imports"


def _explain_descriptor_failure(given: descriptor_pb2.FileDescriptorSet) -> str:
    """Why a serialized descriptor does not build (the Python runtime's own message)."""
    from google.protobuf import descriptor_pool

    pool = descriptor_pool.DescriptorPool()
    for file in given.file:
        try:
            pool.Add(file)
        except (TypeError, ValueError) as exc:
            return f"Invalid schema: {file.name}: {exc}"
    return "Invalid schema: the descriptor does not build (an import or type is missing)"


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _well_known_include_paths() -> list[str]:
    """Where protoc finds ``google/protobuf/*.proto`` (and ``google/type``)."""
    import grpc_tools

    paths = [str(Path(grpc_tools.__file__).parent / "_proto")]
    spec = importlib.util.find_spec("google.type")
    if spec is not None and spec.submodule_search_locations:
        paths.append(str(Path(list(spec.submodule_search_locations)[0]).parent.parent))
    return paths


def _check_import_path(name: str) -> None:
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or not name.endswith(".proto"):
        raise InvalidSchemaError(
            f"Invalid schema: reference name {name!r} is not a relative import path ending in .proto"
        )


# --- the serialized spelling -------------------------------------------------


def _decode(name: str, text: str) -> descriptor_pb2.FileDescriptorProto | None:
    """A base64 ``FileDescriptorProto``, named ``name``; None if ``text`` is not one."""
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
        file = descriptor_pb2.FileDescriptorProto.FromString(raw)
    except (binascii.Error, DecodeError, ValueError):
        return None
    if not file.message_type and not file.enum_type and not file.package:
        return None
    file.name = name
    return file


def _canonical_proto(file: descriptor_pb2.FileDescriptorProto) -> descriptor_pb2.FileDescriptorProto:
    """A copy without the parts that do not change the schema's meaning."""
    copy = descriptor_pb2.FileDescriptorProto()
    copy.CopyFrom(file)
    copy.ClearField("source_code_info")
    fields = [*copy.extension]
    for message in _all_messages(copy.message_type):
        fields += [*message.field, *message.extension]
    for field in fields:
        if field.json_name == _default_json_name(field.name):
            field.ClearField("json_name")  # protoc fills in the derived name; only a chosen one counts
    if not copy.syntax:
        copy.syntax = "proto2"
    return copy


def _default_json_name(name: str) -> str:
    """protoc's JSON name for a field: underscores dropped, the next letter upper-cased."""
    parts = name.split("_")
    return parts[0] + "".join(part[:1].upper() + part[1:] for part in parts[1:])


def _to_base64(file: descriptor_pb2.FileDescriptorProto) -> str:
    nameless = descriptor_pb2.FileDescriptorProto()
    nameless.CopyFrom(file)
    nameless.ClearField("name")
    return base64.standard_b64encode(nameless.SerializeToString(deterministic=True)).decode("ascii")


def _all_messages(messages):
    for message in messages:
        yield message
        yield from _all_messages(message.nested_type)


__all__ = ["MAIN_FILE_NAME", "ProtobufSchema", "is_serialized", "parse"]

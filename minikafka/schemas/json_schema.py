"""JSON Schema schemas: checked against their metaschema, references resolved by name.

A JSON Schema is a JSON document (an object, or ``true``/``false``). Its
``$schema`` keyword names its draft; drafts 4, 6, 7, 2019-09 and 2020-12 are
known, and a schema without ``$schema`` is read as draft 7, as Confluent's
registry reads it. Parsing checks the document against its draft's
metaschema with the jsonschema library, then resolves every ``$ref``:

* ``#/definitions/x`` (or ``#/$defs/x``) points inside the schema itself;
* ``other.json`` or ``other.json#/definitions/x`` points into a *referenced*
  schema: ``references`` maps each reference's name (the URI used in
  ``$ref``) to that schema's text, as the registry resolved it.

A ``$ref`` that resolves nowhere makes the schema invalid, as in Confluent.

Canonical form: the document as compact JSON (no whitespace, keys in the
order written), like Confluent's canonical string. ``normalized()`` also
sorts the keys, so two schemas that differ only in key order become one.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any, Iterator

import jsonschema
import referencing
from jsonschema_specifications import REGISTRY as METASCHEMAS
import referencing.exceptions
import referencing.jsonschema

from minikafka.schemas import json_compatibility
from minikafka.schemas.base import InvalidSchemaError, ParsedSchema, SchemaType

DEFAULT_DRAFT = referencing.jsonschema.DRAFT7
"""The draft of a schema without ``$schema`` (Confluent's default)."""

KNOWN_DRAFTS = {
    "http://json-schema.org/draft-04/schema": referencing.jsonschema.DRAFT4,
    "http://json-schema.org/draft-06/schema": referencing.jsonschema.DRAFT6,
    "http://json-schema.org/draft-07/schema": referencing.jsonschema.DRAFT7,
    "https://json-schema.org/draft/2019-09/schema": referencing.jsonschema.DRAFT201909,
    "https://json-schema.org/draft/2020-12/schema": referencing.jsonschema.DRAFT202012,
}


class JsonSchema:
    """One parsed JSON Schema, with the schemas it references.

    Immutable by convention: the parsed documents are never changed.

    Attributes:
        schema: the parsed document (a dict, or a bool).
        references: reference name -> the referenced parsed document.
        registry: every document by URI, for resolving ``$ref``.
    """

    schema_type = SchemaType.JSON

    def __init__(self, schema: Any, references: dict[str, Any], sort_keys: bool = False) -> None:
        self.schema = schema
        self.references = references
        self.sort_keys = sort_keys
        self.canonical = json.dumps(
            schema, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys)
        self.registry = _registry(schema, references)

    @property
    def specification(self) -> referencing.Specification:
        return _specification(self.schema)

    def normalized(self) -> "JsonSchema":
        """The same schema with its keys sorted."""
        return JsonSchema(self.schema, self.references, sort_keys=True)

    def record_names(self) -> list[str]:
        """The schema's ``title``: what Confluent's record-name strategies use as its name."""
        title = self.schema.get("title") if isinstance(self.schema, dict) else None
        return [title] if isinstance(title, str) else []

    def formatted(self, fmt: str | None) -> str:
        """The canonical text: JSON Schema has one spelling, and Confluent answers
        an unknown format with the canonical text rather than an error."""
        return self.canonical

    def resolver(self) -> referencing.Resolver:
        """A resolver for ``$ref`` starting at this schema's root."""
        return self.registry.resolver(base_uri=_base_uri(self.schema))

    def validator(self) -> jsonschema.protocols.Validator:
        """A jsonschema validator for data, which follows ``$ref`` into the references."""
        cls = jsonschema.validators.validator_for(self.schema, default=jsonschema.Draft7Validator)
        return cls(self.schema, registry=self.registry)

    def backward_errors(self, previous: ParsedSchema) -> list[str]:
        """Why data written with ``previous`` cannot be read with this schema."""
        if not isinstance(previous, JsonSchema):
            return ["Incompatible because of different schema type"]
        return json_compatibility.backward_errors(self, previous)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JsonSchema) and other.canonical == self.canonical

    def __hash__(self) -> int:
        return hash(self.canonical)

    def __repr__(self) -> str:
        return f"JsonSchema({self.canonical[:60]!r})"


def parse(text: str, references: dict[str, str]) -> JsonSchema:
    """Parse a JSON Schema and check it against its draft's metaschema.

    Args:
        text: the schema's JSON text.
        references: reference name (the URI ``$ref`` uses) -> the referenced schema's text.

    Raises:
        InvalidSchemaError: not JSON, not a valid schema of its draft, or a
            ``$ref`` that resolves nowhere.
    """
    schema = _load("the schema", text)
    loaded = {name: _load(f"reference {name!r}", ref_text) for name, ref_text in references.items()}
    for document in [schema, *loaded.values()]:
        _check_against_metaschema(document)
    parsed = JsonSchema(schema, loaded)
    _check_references(parsed)
    return parsed


def _load(what: str, text: str) -> Any:
    try:
        document = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise InvalidSchemaError(f"Invalid schema: {what} is not JSON: {exc}") from None
    if not isinstance(document, (dict, bool)):
        raise InvalidSchemaError(f"Invalid schema: {what} is not a JSON object or boolean")
    return document


def _check_against_metaschema(document: Any) -> None:
    if isinstance(document, dict) and "$schema" in document:
        uri = str(document["$schema"]).rstrip("#")
        if uri not in KNOWN_DRAFTS:
            raise InvalidSchemaError(f"Invalid schema: unknown $schema {document['$schema']!r}")
    cls = jsonschema.validators.validator_for(document, default=jsonschema.Draft7Validator)
    try:
        cls.check_schema(document)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        raise InvalidSchemaError(f"Invalid schema: {exc.message} (at #/{where})") from None


def _check_references(parsed: JsonSchema) -> None:
    """Every ``$ref``, in the schema and in its references, must resolve."""
    roots = [(parsed.schema, parsed.resolver())]
    for name, document in parsed.references.items():
        roots.append((document, parsed.registry.resolver(base_uri=name)))
    for document, resolver in roots:
        for ref, ref_resolver in _refs(document, resolver):
            try:
                ref_resolver.lookup(ref)
            except referencing.exceptions.Unresolvable:
                raise InvalidSchemaError(f"Invalid schema: $ref {ref!r} does not resolve") from None


def _refs(node: Any, resolver: referencing.Resolver) -> Iterator[tuple[str, referencing.Resolver]]:
    """Every ``$ref`` under ``node``, with the resolver of its base URI."""
    if isinstance(node, dict):
        if isinstance(node.get("$id"), str):
            resolver = resolver.in_subresource(
                referencing.Resource.from_contents(node, default_specification=DEFAULT_DRAFT))
        if isinstance(node.get("$ref"), str):
            yield node["$ref"], resolver
        for key, value in node.items():
            if key not in ("enum", "const", "default", "examples"):
                yield from _refs(value, resolver)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value, resolver)


def _specification(document: Any) -> referencing.Specification:
    if isinstance(document, dict) and "$schema" in document:
        return KNOWN_DRAFTS.get(str(document["$schema"]).rstrip("#"), DEFAULT_DRAFT)
    return DEFAULT_DRAFT


def _base_uri(document: Any) -> str:
    if isinstance(document, dict) and isinstance(document.get("$id"), str):
        return document["$id"]
    return ""


def _registry(schema: Any, references: dict[str, Any]) -> referencing.Registry:
    """Every document by URI: the schema at its ``$id`` (or ""), each reference at its name."""
    resources = [(_base_uri(schema), referencing.Resource.from_contents(
        schema, default_specification=_specification(schema)))]
    for name, document in references.items():
        resource = referencing.Resource.from_contents(
            document, default_specification=_specification(document))
        resources.append((name, resource))
        if _base_uri(schema):  # a relative name also resolves against the schema's own $id
            resources.append((urllib.parse.urljoin(_base_uri(schema), name), resource))
        if _base_uri(document):
            resources.append((_base_uri(document), resource))
    # Start from the drafts' own metaschemas, so a $ref to one resolves too.
    return METASCHEMAS.with_resources(resources).crawl()

"""Schemas parsed with their references resolved from the store.

A schema may name others (Avro named types, Protobuf imports, JSON Schema
``$ref``) through references: ``{"name", "subject", "version"}``. Before
``minikafka.schemas.parse`` sees a schema, ``SchemaParser`` looks every
reference up in the store, transitively, and hands the parser the
referenced texts by name. A reference to version ``-1`` is pinned to the
subject's latest version at registration, and stored pinned.

Parsing never fails with anything but Confluent's 42201 for a client's
schema (whatever a parser raises is the schema's fault, never a 500), or
50001 for a stored schema that no longer parses. Stored schemas are parsed
once and cached: a compatibility check parses the subject's history.
"""

from __future__ import annotations

import dataclasses
import logging

from minikafka import schemas
from minikafka.registry import errors
from minikafka.registry.inputs import LATEST, SchemaRequest
from minikafka.registry.store import SchemaStore, SchemaVersion
from minikafka.schemas.base import InvalidSchemaError, ParsedSchema, SchemaReference, SchemaType

log = logging.getLogger(__name__)


class SchemaParser:
    """Parses request and stored schemas against one store. Owned by the service."""

    def __init__(self, store: SchemaStore) -> None:
        self.store = store
        self._parsed: dict[tuple, ParsedSchema] = {}

    def parse_request(self, request: SchemaRequest, normalize: bool
                      ) -> tuple[ParsedSchema, tuple[SchemaReference, ...]]:
        """The request's schema, parsed (normalized if asked), and its references pinned."""
        references = tuple(self._pin(r) for r in request.references)
        parsed = self._parse(request.schema_type, request.schema, references)
        return (self.normalized(parsed) if normalize else parsed), references

    def parse_stored(self, entry: SchemaVersion) -> ParsedSchema:
        """A stored version, parsed (cached by its text and its references' texts)."""
        resolved = self._resolve_references(entry.references)
        key = (entry.identity, tuple(sorted(resolved.items())))
        parsed = self._parsed.get(key)
        if parsed is None:
            try:
                parsed = schemas.parse(entry.schema_type, entry.schema, resolved)
            except Exception as exc:  # noqa: BLE001 - an unreadable stored schema is a store error
                raise errors.store_error(f"Stored schema {entry.id} (subject '{entry.subject}' version "
                                         f"{entry.version}) cannot be parsed: {exc}") from None
            self._parsed[key] = parsed
        return parsed

    @staticmethod
    def normalized(parsed: ParsedSchema) -> ParsedSchema:
        try:
            return parsed.normalized()
        except Exception as exc:  # noqa: BLE001 - see _parse
            raise errors.invalid_schema(f"Invalid schema, details: cannot normalize: {exc}") from None

    def _pin(self, ref: SchemaReference) -> SchemaReference:
        """A reference to ``latest`` (-1) as the version it is now."""
        if ref.version != LATEST:
            return ref
        latest = self.store.latest(ref.subject)
        if latest is None:
            raise errors.invalid_schema(f"Invalid schema: reference {ref.name!r} names subject "
                                        f"'{ref.subject}', which has no versions")
        return dataclasses.replace(ref, version=latest.version)

    def _parse(self, schema_type: SchemaType, text: str,
               references: tuple[SchemaReference, ...]) -> ParsedSchema:
        resolved = self._resolve_references(references)
        try:
            return schemas.parse(schema_type, text, resolved)
        except InvalidSchemaError as exc:
            raise errors.invalid_schema(f"Invalid schema of type {schema_type.value}, details: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - any parser failure is the schema's, never a 500
            log.warning("parsing a %s schema failed", schema_type.value, exc_info=True)
            raise errors.invalid_schema(
                f"Invalid schema of type {schema_type.value}, details: {type(exc).__name__}: {exc}") from None

    def _resolve_references(self, references: tuple[SchemaReference, ...]) -> dict[str, str]:
        """Every schema the references name, transitively, by reference name."""
        resolved: dict[str, str] = {}
        pending = list(references)
        seen: set[tuple[str, int]] = set()
        while pending:
            ref = pending.pop()
            if (ref.subject, ref.version) in seen:
                continue
            seen.add((ref.subject, ref.version))
            entry = self.store.get(ref.subject, ref.version)
            if entry is None:
                raise errors.invalid_schema(
                    f"Invalid schema: reference {ref.name!r} names subject '{ref.subject}' "
                    f"version {ref.version}, which does not exist")
            resolved.setdefault(ref.name, entry.schema)
            pending.extend(entry.references)
        return resolved

"""The registry's state, rebuilt from the ``_schemas`` records (sans-I/O).

``SchemaStore`` owns what the registry knows: every subject's versions
(live or soft deleted), the schemas by global id, the compatibility
configs and the modes. It changes only through ``apply(key, value)``, one
``_schemas`` record at a time (the JSON of ``records.py``, decoded), so the
running registry and one that restarts and reads the topic from the start
run the same code and end in the same state. It performs no I/O and keeps
no clock.

Invariants:
    * A version is a ``SchemaVersion``; soft deleting it keeps it with
      ``deleted=True``; a tombstone on its key (a permanent delete) removes it.
    * Ids are global: one (schema type, schema text, references) has one id,
      whichever subjects hold it. An id is known while some version, live
      or soft deleted, carries it.
    * ``max_id`` is the highest id any record carried; the next new schema
      gets ``max_id + 1`` (Confluent's incremental id generator).
    * A record the store cannot read is skipped and counted, never fatal:
      one bad record must not stop a registry from starting.

``referenced_by`` is computed on demand by scanning the versions: a small
registry holds a few thousand versions, and a scan is plainly right.
"""

from __future__ import annotations

import dataclasses
import logging

from minikafka.registry.records import KeyType
from minikafka.schemas.base import SchemaReference, SchemaType

log = logging.getLogger(__name__)

DEFAULT_COMPATIBILITY_LEVEL = "BACKWARD"
DEFAULT_MODE = "READWRITE"


@dataclasses.dataclass(frozen=True)
class SchemaVersion:
    """One version of a subject: what a SCHEMA record's value says."""

    subject: str
    version: int
    id: int
    schema_type: SchemaType
    references: tuple[SchemaReference, ...]
    schema: str
    deleted: bool = False

    @property
    def identity(self) -> tuple:
        """What makes two registrations one schema (and so one id)."""
        return (self.schema_type, self.schema, self.references)

    def references_json(self) -> list[dict]:
        return [{"name": r.name, "subject": r.subject, "version": r.version} for r in self.references]

    def to_json(self) -> dict:
        """The version as the REST API shows it (``schemaType`` and ``references`` only when set)."""
        body: dict = {"subject": self.subject, "version": self.version, "id": self.id}
        if self.schema_type != SchemaType.AVRO:
            body["schemaType"] = self.schema_type.value
        if self.references:
            body["references"] = self.references_json()
        body["schema"] = self.schema
        return body


def _references_from_json(items: list | None) -> tuple[SchemaReference, ...]:
    return tuple(SchemaReference(str(r["name"]), str(r["subject"]), int(r["version"]))
                 for r in items or [])


def version_from_record(key: dict, value: dict) -> SchemaVersion:
    """A SCHEMA record as a ``SchemaVersion`` (the key names the subject and version)."""
    return SchemaVersion(
        subject=str(key["subject"]),
        version=int(key["version"]),
        id=int(value["id"]),
        schema_type=SchemaType(value.get("schemaType") or "AVRO"),
        references=_references_from_json(value.get("references")),
        schema=str(value["schema"]),
        deleted=bool(value.get("deleted", False)),
    )


class SchemaStore:
    """Subjects, versions, ids, configs and modes, as the applied records left them.

    Owned by one registry instance; not task-safe on its own (the registry
    applies records from one task and reads between awaits).
    """

    def __init__(self) -> None:
        self._subjects: dict[str, dict[int, SchemaVersion]] = {}
        self._by_id: dict[int, dict[tuple[str, int], SchemaVersion]] = {}
        self._id_by_identity: dict[tuple, int] = {}
        self._configs: dict[str | None, str] = {}
        self._modes: dict[str | None, str] = {}
        self.max_id = 0
        self.applied_records = 0
        self.skipped_records = 0

    # -- applying records ---------------------------------------------------

    def apply(self, key: dict, value: dict | None) -> None:
        """Apply one decoded ``_schemas`` record (``value`` None: a tombstone)."""
        try:
            self._apply(key, value)
        except (KeyError, TypeError, ValueError) as exc:
            self.skipped_records += 1
            log.warning("skipped an unreadable _schemas record %r -> %r: %s", key, value, exc)
            return
        self.applied_records += 1

    def _apply(self, key: dict, value: dict | None) -> None:
        key_type = KeyType(key["keytype"])
        if key_type is KeyType.SCHEMA:
            self._apply_schema(key, value)
        elif key_type is KeyType.CONFIG:
            self._apply_setting(self._configs, key, value, "compatibilityLevel")
        elif key_type is KeyType.MODE:
            self._apply_setting(self._modes, key, value, "mode")
        elif key_type is KeyType.DELETE_SUBJECT and value is not None:
            self._soft_delete_up_to(str(value["subject"]), int(value["version"]))
        elif key_type is KeyType.CLEAR_SUBJECT and value is not None:
            self._clear_subject(str(value["subject"]))
        # NOOP (and a tombstone on DELETE_SUBJECT / CLEAR_SUBJECT) changes nothing.

    def _apply_schema(self, key: dict, value: dict | None) -> None:
        subject, version = str(key["subject"]), int(key["version"])
        if value is None:
            self._remove(subject, version)
            return
        self._put(version_from_record(key, value))

    @staticmethod
    def _apply_setting(settings: dict, key: dict, value: dict | None, field: str) -> None:
        subject = key.get("subject")
        if value is None:
            settings.pop(subject, None)
        else:
            settings[subject] = str(value[field])

    def _put(self, entry: SchemaVersion) -> None:
        self._remove(entry.subject, entry.version)
        self._subjects.setdefault(entry.subject, {})[entry.version] = entry
        self._by_id.setdefault(entry.id, {})[(entry.subject, entry.version)] = entry
        self._id_by_identity.setdefault(entry.identity, entry.id)
        self.max_id = max(self.max_id, entry.id)

    def _remove(self, subject: str, version: int) -> None:
        versions = self._subjects.get(subject, {})
        old = versions.pop(version, None)
        if not versions:
            self._subjects.pop(subject, None)
        if old is None:
            return
        holders = self._by_id.get(old.id, {})
        holders.pop((subject, version), None)
        if not holders:  # no version carries the id any more: the schema is gone
            self._by_id.pop(old.id, None)
            if self._id_by_identity.get(old.identity) == old.id:
                del self._id_by_identity[old.identity]

    def _soft_delete_up_to(self, subject: str, up_to_version: int) -> None:
        for entry in list(self._subjects.get(subject, {}).values()):
            if entry.version <= up_to_version and not entry.deleted:
                self._put(dataclasses.replace(entry, deleted=True))

    def _clear_subject(self, subject: str) -> None:
        for version in list(self._subjects.get(subject, {})):
            self._remove(subject, version)

    # -- queries --------------------------------------------------------------

    def subjects(self, include_deleted: bool = False) -> list[str]:
        """Subject names, sorted; a subject whose versions are all soft deleted only if asked."""
        return sorted(s for s, versions in self._subjects.items()
                      if include_deleted or any(not v.deleted for v in versions.values()))

    def versions(self, subject: str, include_deleted: bool = False) -> list[SchemaVersion]:
        """A subject's versions, oldest first."""
        versions = self._subjects.get(subject, {})
        return [versions[n] for n in sorted(versions) if include_deleted or not versions[n].deleted]

    def get(self, subject: str, version: int) -> SchemaVersion | None:
        """One version, live or soft deleted (None if never registered or permanently deleted)."""
        return self._subjects.get(subject, {}).get(version)

    def latest(self, subject: str, include_deleted: bool = False) -> SchemaVersion | None:
        versions = self.versions(subject, include_deleted)
        return versions[-1] if versions else None

    def has_subject(self, subject: str, include_deleted: bool = False) -> bool:
        return bool(self.versions(subject, include_deleted))

    def id_of(self, schema_type: SchemaType, schema: str,
              references: tuple[SchemaReference, ...]) -> int | None:
        """The id this schema already has, in any subject (None: a new schema)."""
        return self._id_by_identity.get((schema_type, schema, references))

    def versions_with_id(self, schema_id: int, include_deleted: bool = False) -> list[SchemaVersion]:
        """Every (subject, version) holding the schema with this id, sorted."""
        holders = self._by_id.get(schema_id, {})
        return [holders[k] for k in sorted(holders) if include_deleted or not holders[k].deleted]

    def schema_with_id(self, schema_id: int) -> SchemaVersion | None:
        """One version holding this id (its schema, type and references are the id's)."""
        holders = self.versions_with_id(schema_id, include_deleted=True)
        return holders[0] if holders else None

    def referenced_by(self, subject: str, version: int,
                      include_deleted: bool = False) -> list[SchemaVersion]:
        """The versions whose references name ``subject`` version ``version``."""
        return [entry for versions in self._subjects.values() for entry in versions.values()
                if (include_deleted or not entry.deleted)
                and any(r.subject == subject and r.version == version for r in entry.references)]

    def compatibility_level(self, subject: str | None) -> str | None:
        """The level configured for ``subject`` (None: the global one), or None if unset."""
        return self._configs.get(subject)

    def mode(self, subject: str | None) -> str | None:
        """The mode set for ``subject`` (None: the global one), or None if unset."""
        return self._modes.get(subject)

    def snapshot(self) -> dict:
        """Everything the store holds, as plain data (two equal snapshots: the same state)."""
        return {
            "subjects": {s: [dataclasses.asdict(v) for v in self.versions(s, True)]
                         for s in self.subjects(True)},
            "configs": dict(self._configs),
            "modes": dict(self._modes),
            "max_id": self.max_id,
        }

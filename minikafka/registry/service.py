"""The registry's operations: Confluent Schema Registry's rules, one async method each.

``RegistryService`` answers every request of the REST API. Reads are
answered from the ``SchemaStore`` at once. A write follows one path, the
registry's version of Kafka's coordinator runtime:

    1. validate the request against the store (modes, versions, references;
       request bodies are read in ``inputs.py``);
    2. parse the schema (``parsing.py`` resolves its references, then
       ``minikafka.schemas``) and check compatibility;
    3. build the ``_schemas`` record (``records.py``) and ``await log.append``;
    4. answer from the store, which the log applied the record to before
       ``append`` returned.

The store changes only through records, so an instance that restarts, or
a second instance reading the same topic, holds the same state. Writes are
serialized by one lock (the next id and version are read from the store and
must not be handed out twice), and only the leader writes (``Leadership``;
the app forwards a follower's writes to the leader).

Registration, as Confluent does it:
    * a schema already live in the subject returns its id (nothing written);
    * otherwise it must be compatible with the subject's live versions at the
      subject's level (the global level if it has none; BACKWARD by default);
    * its id is the id the same schema has in any subject, or ``max_id + 1``;
      its version is one more than the subject's highest (soft deleted ones
      count, permanently deleted ones do not).
    * registering a soft deleted schema again tombstones its older, soft
      deleted versions (unless referenced);
    * ``normalize=true`` stores the schema's normalized form; IMPORT mode
      takes the id (and version) from the request and checks nothing.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Protocol

import trio

from minikafka.registry import errors, records
from minikafka.registry.inputs import LATEST, SchemaRequest, parse_level, parse_version
from minikafka.registry.parsing import SchemaParser
from minikafka.registry.store import DEFAULT_COMPATIBILITY_LEVEL, DEFAULT_MODE, SchemaStore, SchemaVersion
from minikafka.schemas import compatibility
from minikafka.schemas.base import CompatibilityLevel, ParsedSchema, SchemaType

log = logging.getLogger(__name__)

MODES = ("READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT")
SCHEMA_TYPES = ["JSON", "PROTOBUF", "AVRO"]  # the order Confluent lists them in


class SchemaLog(Protocol):
    """Where the registry's records go: the ``_schemas`` topic, or a list in tests."""

    async def append(self, key: bytes, value: bytes | None) -> None:
        """Write one record; return once it is written AND applied to the store."""


class Leadership(Protocol):
    """Whether this instance is the one that writes, and where the one that does is."""

    def is_leader(self) -> bool: ...

    def leader_url(self) -> str | None: ...


class SoleLeader:
    """The ``Leadership`` of a registry that runs alone: always the leader."""

    def is_leader(self) -> bool:
        return True

    def leader_url(self) -> str | None:
        return None


class RegistryService:
    """Every registry operation over one store, its log and this instance's leadership.

    Owned by one Trio run; task-safe: writes take ``_write_lock``.

    Args:
        store: the state the log applies records to.
        log: appends records and returns once the store applied them.
        leadership: says whether this instance may write (default: it always may).
        kafka_cluster_id: the Kafka cluster's id, for ``/v1/metadata/id`` (if known).
    """

    def __init__(self, store: SchemaStore, log: SchemaLog, leadership: Leadership | None = None, *,
                 kafka_cluster_id: str | None = None) -> None:
        self.store = store
        self.kafka_cluster_id = kafka_cluster_id
        self.log = log
        self.leadership = leadership if leadership is not None else SoleLeader()
        self._write_lock = trio.Lock()
        self.parser = SchemaParser(store)

    def is_leader(self) -> bool:
        return self.leadership.is_leader()

    # -- subjects and versions --------------------------------------------------

    async def subjects(self, prefix: str = "", deleted: bool = False,
                       deleted_only: bool = False) -> list[str]:
        """``GET /subjects``: live subjects (``deleted``: also soft deleted ones)."""
        names = self.store.subjects(include_deleted=deleted or deleted_only)
        if deleted_only:
            names = [s for s in names if not self.store.has_subject(s)]
        return [s for s in names if s.startswith(prefix)]

    async def versions(self, subject: str, deleted: bool = False,
                       deleted_only: bool = False) -> list[int]:
        """``GET /subjects/{subject}/versions``."""
        if not self.store.has_subject(subject, include_deleted=deleted or deleted_only):
            raise errors.subject_not_found(subject)
        entries = self.store.versions(subject, include_deleted=True)
        return [v.version for v in entries
                if (v.deleted and (deleted or deleted_only)) or (not v.deleted and not deleted_only)]

    async def get_version(self, subject: str, version: str | int, deleted: bool = False) -> SchemaVersion:
        """``GET /subjects/{subject}/versions/{version}`` (``latest`` or ``-1``: the newest)."""
        return self._resolve(subject, parse_version(version), deleted)

    def _resolve(self, subject: str, version: int, deleted: bool) -> SchemaVersion:
        if not self.store.has_subject(subject, include_deleted=deleted):
            raise errors.subject_not_found(subject)
        entry = (self.store.latest(subject, deleted) if version == LATEST
                 else self.store.get(subject, version))
        if entry is None or (entry.deleted and not deleted):
            raise errors.version_not_found(version)
        return entry

    async def referenced_by(self, subject: str, version: str | int) -> list[int]:
        """``GET .../versions/{version}/referencedby``: ids of the live schemas that reference it."""
        entry = self._resolve(subject, parse_version(version), deleted=True)
        return sorted({v.id for v in self.store.referenced_by(subject, entry.version)})

    async def lookup(self, subject: str, request: SchemaRequest, normalize: bool = False,
                     deleted: bool = False) -> SchemaVersion:
        """``POST /subjects/{subject}``: the version of ``subject`` holding this schema."""
        if not self.store.has_subject(subject, include_deleted=deleted):
            raise errors.subject_not_found(subject)
        parsed, references = self.parser.parse_request(request, normalize)
        wanted = {(request.schema_type, parsed.canonical, references)}
        if not normalize:  # a schema registered with normalize=true is found by its normal form too
            wanted.add((request.schema_type, self.parser.normalized(parsed).canonical, references))
        for entry in reversed(self.store.versions(subject, include_deleted=deleted)):
            if entry.identity in wanted:
                return entry
        raise errors.schema_not_found()

    # -- registering ------------------------------------------------------------

    async def register(self, subject: str, request: SchemaRequest, normalize: bool = False) -> int:
        """``POST /subjects/{subject}/versions``: the schema's id, registering it if it is new here.

        Raises:
            RegistryError: 42201 invalid schema, 409 incompatible, 42205 the mode forbids it.
        """
        async with self._write_lock:
            self._require_leader()
            self._check_register_mode(subject, request)
            parsed, references = self.parser.parse_request(request, normalize)
            identity = (request.schema_type, parsed.canonical, references)
            for entry in reversed(self.store.versions(subject)):
                if entry.identity == identity and request.id in (None, entry.id):
                    return entry.id
            if request.id is not None:
                schema_id, version = self._import_slot(subject, request, identity)
            else:
                self._check_compatible(subject, parsed)
                schema_id = self.store.id_of(*identity) or self.store.max_id + 1
                version = self._next_version(subject)
            value = records.schema_value(subject, version, schema_id, request.schema_type.value,
                                         [dataclasses.asdict(r) for r in references],
                                         parsed.canonical, deleted=False)
            await self._append(records.schema_key(subject, version), value)
            await self._drop_replaced_versions(subject, version, schema_id)
            return schema_id

    async def _drop_replaced_versions(self, subject: str, version: int, schema_id: int) -> None:
        """Permanently delete the soft deleted versions a re-registration replaces.

        Registering a schema the subject once held (and soft deleted) again
        makes a new version; Confluent then tombstones the older, soft deleted
        versions with the same id, unless something (even a soft deleted
        schema) still references them. The new version is written first, so
        a crash in between leaves only a soft deleted leftover.
        """
        for entry in self.store.versions(subject, include_deleted=True):
            if (entry.deleted and entry.id == schema_id and entry.version < version
                    and not self.store.referenced_by(subject, entry.version, include_deleted=True)):
                await self._append(records.schema_key(subject, entry.version), None)

    def _check_register_mode(self, subject: str, request: SchemaRequest) -> None:
        mode = self.effective_mode(subject)
        if mode in ("READONLY", "READONLY_OVERRIDE"):
            raise errors.operation_not_permitted(f"Subject {subject} is in read-only mode")
        if request.id is not None and mode != "IMPORT":
            raise errors.operation_not_permitted(f"Subject {subject} is not in import mode")
        if request.id is None and mode != "READWRITE":
            raise errors.operation_not_permitted(f"Subject {subject} is not in read-write mode")

    def _import_slot(self, subject: str, request: SchemaRequest, identity: tuple) -> tuple[int, int]:
        """The (id, version) an IMPORT registration asked for, if neither clashes."""
        holder = self.store.schema_with_id(request.id)
        if holder is not None and holder.identity != identity:
            raise errors.id_does_not_match(
                f"Overwrite new schema with id {request.id} is not permitted: "
                "the id belongs to another schema")
        version = request.version or self._next_version(subject)
        existing = self.store.get(subject, version)
        if existing is not None and existing.identity != identity:
            raise errors.operation_not_permitted(
                f"Subject {subject} version {version} already holds another schema")
        return request.id, version

    def _next_version(self, subject: str) -> int:
        latest = self.store.latest(subject, include_deleted=True)
        return latest.version + 1 if latest else 1

    def _check_compatible(self, subject: str, parsed: ParsedSchema) -> None:
        level = self.effective_level(subject)
        previous = self.store.versions(subject)
        reasons = self._compatibility_errors(level, parsed, previous)
        if reasons:
            raise errors.incompatible_schema(subject, reasons)

    def _compatibility_errors(self, level: CompatibilityLevel, parsed: ParsedSchema,
                              previous: list[SchemaVersion]) -> list[str]:
        """Why ``parsed`` may not follow ``previous`` (oldest first) at ``level``; empty if it may."""
        if level is CompatibilityLevel.NONE or not previous:
            return []  # nothing to parse the history for
        reasons = compatibility.check(level, parsed, [self.parser.parse_stored(v) for v in previous],
                                      [v.version for v in previous])
        # Confluent ends the reasons with the settings they were judged under
        return reasons + [f"{{validateFields: 'false', compatibility: '{level.value}'}}"] if reasons else []

    # -- compatibility ----------------------------------------------------------

    async def test_compatibility(self, subject: str, version: str | int | None, request: SchemaRequest,
                                 normalize: bool = False, verbose: bool = False) -> dict:
        """``POST /compatibility/subjects/{subject}/versions[/{version}]``.

        Against one version (``latest``: the newest live one; a subject with no
        versions is compatible), or against all of them at the subject's level.
        With ``verbose``, an invalid schema is an answer (not compatible, and
        why) rather than a 42201, as Confluent does.

        Raises:
            RegistryError: 42202 invalid version, 40402 no such live version,
                42201 invalid schema (unless ``verbose``).
        """
        previous = self._versions_to_test(subject, version)
        try:
            parsed, _ = self.parser.parse_request(request, normalize)
            reasons = self._compatibility_errors(self.effective_level(subject), parsed, previous)
        except errors.RegistryError as exc:
            if not (verbose and exc.error_code == errors.INVALID_SCHEMA):
                raise
            reasons = [exc.message]
        result: dict = {"is_compatible": not reasons}
        if verbose:
            result["messages"] = reasons
        return result

    def _versions_to_test(self, subject: str, version: str | int | None) -> list[SchemaVersion]:
        """The live versions a compatibility test compares with (None: all of them)."""
        live = self.store.versions(subject)
        if version is None:
            return live
        number = parse_version(version)
        if number == LATEST:
            return live[-1:]
        entry = self.store.get(subject, number)
        if entry is None or entry.deleted:  # a missing subject too: Confluent says 40402 here
            raise errors.version_not_found(number)
        return [entry]

    # -- deleting ---------------------------------------------------------------

    async def delete_subject(self, subject: str, permanent: bool = False) -> list[int]:
        """``DELETE /subjects/{subject}``: soft (then ``permanent=true``) delete every version."""
        async with self._write_lock:
            self._require_leader()
            self._check_not_read_only(subject)
            if not self.store.has_subject(subject, include_deleted=True):
                raise errors.subject_not_found(subject)
            if not permanent and not self.store.has_subject(subject):
                raise errors.subject_soft_deleted(subject)
            targets = self.store.versions(subject, include_deleted=permanent)
            for entry in targets:
                self._check_unreferenced(entry, permanent, other_subjects_only=True)
                if permanent and not entry.deleted:
                    raise errors.subject_not_soft_deleted(subject)
            if permanent:
                for entry in reversed(targets):  # newest first: intra-subject references
                    await self._append(records.schema_key(subject, entry.version), None)
                await self._drop_subject_settings(subject)
            else:
                await self._append(records.delete_subject_key(subject),
                                   records.delete_subject_value(subject, targets[-1].version))
            return [v.version for v in targets]

    async def delete_version(self, subject: str, version: str | int, permanent: bool = False) -> int:
        """``DELETE /subjects/{subject}/versions/{version}``: soft, then ``permanent=true``."""
        number = parse_version(version)
        async with self._write_lock:
            self._require_leader()
            self._check_not_read_only(subject)
            entry = self._version_to_delete(subject, number, permanent)
            self._check_unreferenced(entry, permanent, other_subjects_only=False)
            if permanent and not entry.deleted:
                raise errors.version_not_soft_deleted(subject, entry.version)
            key = records.schema_key(subject, entry.version)
            if permanent:
                await self._append(key, None)
                if not self.store.has_subject(subject, include_deleted=True):
                    await self._drop_subject_settings(subject)
            else:
                await self._append(key, records.schema_value(
                    subject, entry.version, entry.id, entry.schema_type.value,
                    entry.references_json(), entry.schema, deleted=True))
            return entry.version

    def _version_to_delete(self, subject: str, number: int, permanent: bool) -> SchemaVersion:
        """The version a DELETE names, with Confluent's codes: a numbered version is
        found even when soft deleted (to say so, 40406), ``latest`` is the newest
        live one, and a subject counts while it has any version (else 40401)."""
        if not self.store.has_subject(subject, include_deleted=True):
            raise errors.subject_not_found(subject)
        entry = self.store.latest(subject) if number == LATEST else self.store.get(subject, number)
        if entry is None:
            raise errors.version_not_found(number)
        if entry.deleted and not permanent:
            raise errors.version_soft_deleted(subject, entry.version)
        return entry

    def _check_unreferenced(self, entry: SchemaVersion, permanent: bool, other_subjects_only: bool) -> None:
        users = self.store.referenced_by(entry.subject, entry.version, include_deleted=permanent)
        if other_subjects_only:
            users = [u for u in users if u.subject != entry.subject]
        if users:
            raise errors.reference_exists(entry.subject, entry.version)

    async def _drop_subject_settings(self, subject: str) -> None:
        if self.store.mode(subject) is not None:
            await self._append(records.mode_key(subject), None)
        if self.store.compatibility_level(subject) is not None:
            await self._append(records.config_key(subject), None)

    # -- schemas by id ----------------------------------------------------------

    async def schema_by_id(self, schema_id: int, fmt: str | None = None) -> dict:
        """``GET /schemas/ids/{id}``: ``{"schemaType"?, "schema", "references"?}``."""
        entry = self._schema_with_id(schema_id)
        body: dict = {}
        if entry.schema_type != SchemaType.AVRO:
            body["schemaType"] = entry.schema_type.value
        body["schema"] = self.formatted(entry, fmt)
        if entry.references:
            body["references"] = entry.references_json()
        return body

    async def schema_text_by_id(self, schema_id: int, fmt: str | None = None) -> str:
        """``GET /schemas/ids/{id}/schema``: the schema's text alone."""
        return self.formatted(self._schema_with_id(schema_id), fmt)

    async def subjects_by_id(self, schema_id: int, subject: str | None = None,
                             deleted: bool = False) -> list[str]:
        """``GET /schemas/ids/{id}/subjects``."""
        return sorted({v.subject for v in await self.versions_by_id(schema_id, subject, deleted)})

    async def versions_by_id(self, schema_id: int, subject: str | None = None,
                             deleted: bool = False) -> list[SchemaVersion]:
        """``GET /schemas/ids/{id}/versions``: every (subject, version) holding the id."""
        self._schema_with_id(schema_id)
        return [v for v in self.store.versions_with_id(schema_id, include_deleted=deleted)
                if subject is None or v.subject == subject]

    async def schemas(self, prefix: str = "", deleted: bool = False,
                      latest_only: bool = False) -> list[SchemaVersion]:
        """``GET /schemas``: the versions of every subject starting with ``prefix``."""
        found = []
        for subject in self.store.subjects(include_deleted=deleted):
            if subject.startswith(prefix):
                versions = self.store.versions(subject, include_deleted=deleted)
                found.extend(versions[-1:] if latest_only else versions)
        return found

    def _schema_with_id(self, schema_id: int) -> SchemaVersion:
        entry = self.store.schema_with_id(schema_id)
        if entry is None:
            raise errors.schema_not_found(schema_id)
        return entry

    def formatted(self, entry: SchemaVersion, fmt: str | None) -> str:
        """The schema text in the format a client asked for (``?format=``; None: as stored)."""
        if not fmt:
            return entry.schema
        return self.parser.parse_stored(entry).formatted(fmt)

    # -- config and mode ----------------------------------------------------------

    def effective_level(self, subject: str | None) -> CompatibilityLevel:
        """The subject's level, else the global one, else BACKWARD."""
        level = (subject is not None and self.store.compatibility_level(subject)) or \
            self.store.compatibility_level(None) or DEFAULT_COMPATIBILITY_LEVEL
        return CompatibilityLevel(level)

    def effective_mode(self, subject: str | None) -> str:
        """The subject's mode, else the global one, else READWRITE."""
        return ((subject is not None and self.store.mode(subject)) or self.store.mode(None)
                or DEFAULT_MODE)

    async def get_config(self, subject: str | None = None, default_to_global: bool = False) -> str:
        """``GET /config[/{subject}]``: the compatibility level."""
        if subject is not None and self.store.compatibility_level(subject) is None \
                and not default_to_global:
            raise errors.subject_compatibility_not_configured(subject)
        return self.effective_level(subject).value

    async def set_config(self, subject: str | None, level: object) -> str:
        """``PUT /config[/{subject}]``."""
        parsed = parse_level(level)
        async with self._write_lock:
            self._require_leader()
            await self._append(records.config_key(subject), records.config_value(subject, parsed.value))
        return parsed.value

    async def delete_config(self, subject: str | None = None) -> str:
        """``DELETE /config[/{subject}]``: the deleted level; the subject falls back to the global one."""
        return await self._delete_setting(subject, self.store.compatibility_level,
                                          DEFAULT_COMPATIBILITY_LEVEL, records.config_key(subject))

    async def get_mode(self, subject: str | None = None, default_to_global: bool = False) -> str:
        """``GET /mode[/{subject}]``."""
        if subject is not None and self.store.mode(subject) is None and not default_to_global:
            raise errors.subject_mode_not_configured(subject)
        return self.effective_mode(subject)

    async def set_mode(self, subject: str | None, mode: object, force: bool = False) -> str:
        """``PUT /mode[/{subject}]``: READWRITE, READONLY or IMPORT.

        Switching to IMPORT needs no live subject (in the registry, or the
        subject) unless ``force``: imported ids must not collide with ids
        handed out here. Soft deleted subjects do not count, as in Confluent.
        """
        if not isinstance(mode, str) or mode.upper() not in MODES:
            raise errors.invalid_mode()
        mode = mode.upper()
        async with self._write_lock:
            self._require_leader()
            if mode == "IMPORT" and self.effective_mode(subject) != "IMPORT" and not force \
                    and self._has_live_subjects(subject):
                raise errors.operation_not_permitted("Cannot import since found existing subjects")
            await self._append(records.mode_key(subject), records.mode_value(subject, mode))
        return mode

    async def delete_mode(self, subject: str | None = None) -> str:
        """``DELETE /mode[/{subject}]``: the deleted mode; the subject falls back to the global one."""
        return await self._delete_setting(subject, self.store.mode, DEFAULT_MODE, records.mode_key(subject))

    async def _delete_setting(self, subject: str | None, read_own: Callable[[str | None], str | None],
                              default: str, key: dict) -> str:
        """Tombstone a config or mode record; answer the value it held.

        With nothing set, the global setting answers the default, and a
        subject is Confluent's 40401.
        """
        async with self._write_lock:
            self._require_leader()
            own = read_own(subject)
            if own is None:
                if subject is not None:
                    raise errors.subject_not_found(subject)
                return default
            await self._append(key, None)
            return own

    def _has_live_subjects(self, subject: str | None) -> bool:
        if subject is None:
            return bool(self.store.subjects())
        return self.store.has_subject(subject)

    def _check_not_read_only(self, subject: str) -> None:
        if self.effective_mode(subject) in ("READONLY", "READONLY_OVERRIDE"):
            raise errors.operation_not_permitted(f"Subject {subject} is in read-only mode")

    # -- writing ----------------------------------------------------------------

    def _require_leader(self) -> None:
        if not self.leadership.is_leader():
            raise errors.unknown_leader("This instance is not the leader; the write must be forwarded")

    async def _append(self, key: dict, value: dict | None) -> None:
        """Append one record; a failing log is Confluent's 50001 (or 50002 on a timeout)."""
        try:
            await self.log.append(records.encode(key), records.encode(value))
        except errors.RegistryError:
            raise
        except (TimeoutError, trio.TooSlowError) as exc:
            raise errors.operation_timeout(f"Write to the Kafka store timed out: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - the client gets a store error, the log the cause
            log.exception("writing to the schema log failed")
            raise errors.store_error(f"Error while writing to the Kafka store: {exc}") from exc

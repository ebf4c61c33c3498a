"""The ``_schemas`` topic's records: Confluent Schema Registry's key and value JSON.

The registry keeps everything it knows in one compacted, single-partition
topic, ``_schemas``, in the format Confluent's registry writes, so either
registry can read the other's topic. Keys and values are UTF-8 JSON objects
written compactly (no spaces), with the fields in Confluent's order; a
``None`` value is a tombstone that compaction later removes with its key.

Keys (``keytype`` names the record; ``magic`` is 1 for schema keys, 0 otherwise)::

    {"keytype":"SCHEMA","subject":"orders-value","version":1,"magic":1}
    {"keytype":"CONFIG","subject":"orders-value","magic":0}    (no subject: global)
    {"keytype":"MODE","magic":0}                                (no subject: global)
    {"keytype":"DELETE_SUBJECT","subject":"orders-value","magic":0}
    {"keytype":"CLEAR_SUBJECT","subject":"orders-value","magic":0}
    {"keytype":"NOOP","magic":0}

Values::

    SCHEMA          {"subject":"orders-value","version":1,"id":1,"schemaType":"PROTOBUF",
                     "references":[{"name":..,"subject":..,"version":..}],
                     "schema":"...","deleted":false}
                    (``schemaType`` absent for AVRO, ``references`` absent when empty)
    CONFIG          {"subject":"orders-value","compatibilityLevel":"FULL"}
    MODE            {"subject":"orders-value","mode":"READONLY"}
    DELETE_SUBJECT  {"subject":"orders-value","version":3}   (versions 1..3 are soft deleted)
    CLEAR_SUBJECT   {"subject":"orders-value"}
    NOOP            null   (a marker a reader waits for to know it reached the end)

A permanent delete of a version is a tombstone on its SCHEMA key. Readers
ignore fields they do not know (Confluent adds ``md5``, ``metadata`` and
``ruleSet``), so newer records still load.
"""

from __future__ import annotations

import enum
import json

SCHEMA_KEY_MAGIC = 1
OTHER_KEY_MAGIC = 0


class KeyType(str, enum.Enum):
    """The ``keytype`` of a ``_schemas`` key (Confluent's SchemaRegistryKeyType)."""

    CONFIG = "CONFIG"
    SCHEMA = "SCHEMA"
    MODE = "MODE"
    NOOP = "NOOP"
    DELETE_SUBJECT = "DELETE_SUBJECT"
    CLEAR_SUBJECT = "CLEAR_SUBJECT"


# -- keys ---------------------------------------------------------------------

def schema_key(subject: str, version: int) -> dict:
    """The key of one version of a subject."""
    return {"keytype": KeyType.SCHEMA.value, "subject": subject, "version": version,
            "magic": SCHEMA_KEY_MAGIC}


def _subject_key(key_type: KeyType, subject: str | None) -> dict:
    key: dict = {"keytype": key_type.value}
    if subject is not None:  # Confluent leaves an absent (global) subject out
        key["subject"] = subject
    key["magic"] = OTHER_KEY_MAGIC
    return key


def config_key(subject: str | None) -> dict:
    """The key of a subject's compatibility config (None: the global one)."""
    return _subject_key(KeyType.CONFIG, subject)


def mode_key(subject: str | None) -> dict:
    """The key of a subject's mode (None: the global one)."""
    return _subject_key(KeyType.MODE, subject)


def delete_subject_key(subject: str) -> dict:
    return _subject_key(KeyType.DELETE_SUBJECT, subject)


def clear_subject_key(subject: str) -> dict:
    return _subject_key(KeyType.CLEAR_SUBJECT, subject)


def noop_key() -> dict:
    return {"keytype": KeyType.NOOP.value, "magic": OTHER_KEY_MAGIC}


# -- values -------------------------------------------------------------------

def schema_value(subject: str, version: int, schema_id: int, schema_type: str,
                 references: list[dict], schema: str, deleted: bool) -> dict:
    """The value of one version of a subject.

    Args:
        schema_type: ``AVRO``, ``JSON`` or ``PROTOBUF``; AVRO is left out, as Confluent does.
        references: ``{"name", "subject", "version"}`` objects; left out when empty.
    """
    value: dict = {"subject": subject, "version": version, "id": schema_id}
    if schema_type != "AVRO":
        value["schemaType"] = schema_type
    if references:
        value["references"] = [dict(r) for r in references]
    value["schema"] = schema
    value["deleted"] = deleted
    return value


def config_value(subject: str | None, compatibility_level: str) -> dict:
    value: dict = {} if subject is None else {"subject": subject}
    value["compatibilityLevel"] = compatibility_level
    return value


def mode_value(subject: str | None, mode: str) -> dict:
    value: dict = {} if subject is None else {"subject": subject}
    value["mode"] = mode
    return value


def delete_subject_value(subject: str, version: int) -> dict:
    """Soft deletes versions 1..``version`` of ``subject``."""
    return {"subject": subject, "version": version}


def clear_subject_value(subject: str) -> dict:
    return {"subject": subject}


# -- bytes --------------------------------------------------------------------

def encode(record: dict | None) -> bytes | None:
    """A key or value as the topic holds it (compact UTF-8 JSON; None stays a tombstone)."""
    if record is None:
        return None
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode(data: bytes | None) -> dict | None:
    """A key or value read from the topic; None (or the JSON ``null``) is a tombstone.

    Raises:
        ValueError: the bytes are not a JSON object.
    """
    if data is None:
        return None
    record = json.loads(data.decode("utf-8"))
    if record is None:
        return None
    if not isinstance(record, dict):
        raise ValueError(f"a _schemas record must be a JSON object, got {type(record).__name__}")
    return record

"""Compatibility levels: which earlier versions a new schema is checked against, and how.

A subject's versions form a history. Its compatibility level says what a
new version must preserve (Confluent's definitions):

- BACKWARD: the new schema can read data written with the latest version
  (consumers upgrade first). The default.
- FORWARD: data written with the new schema can be read with the latest
  version (producers upgrade first).
- FULL: both.
- the ``_TRANSITIVE`` variants: the same against *every* earlier version,
  not only the latest. Checking the latest alone is not enough: adding a
  field with a default (v2) then removing the default (v3) is backward
  compatible at each step, yet v3 cannot read v1's data.
- NONE: no check.

Each schema type answers one question, ``reader.backward_errors(writer)``
(can ``reader`` read what ``writer`` wrote?); this module asks it in the
right direction(s) and against the right versions. Like Confluent's
``CompatibilityChecker``, the transitive levels walk the earlier versions
newest first and stop at the first one that fails, and the reasons name the
schemas by role: "new" and "old" instead of "reader" and "writer". Each
failed check ends with ``{oldSchemaVersion: n}`` (when known) and
``{oldSchema: '...'}``, as Confluent's verbose answers do. The rules recurse
into nested types; a pair nested too deeply for Python's stack is refused
(``TOO_DEEP``) rather than let through unchecked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from minikafka.schemas.base import CompatibilityLevel, ParsedSchema

DIFFERENT_SCHEMA_TYPE = "Incompatible because of different schema type"
TOO_DEEP = "Incompatible because the schemas are nested too deeply to be compared"
MAX_SCHEMA_SIZE_FOR_LOGGING = 10 * 1024

_TRANSITIVE = {
    CompatibilityLevel.BACKWARD_TRANSITIVE,
    CompatibilityLevel.FORWARD_TRANSITIVE,
    CompatibilityLevel.FULL_TRANSITIVE,
}
_ROLE = re.compile(r"\b(reader|writer) schema\b")


def check(
    level: CompatibilityLevel | str,
    new: ParsedSchema,
    previous: Sequence[ParsedSchema],
    previous_versions: Sequence[int] | None = None,
) -> list[str]:
    """Why ``new`` may not follow ``previous`` at ``level``; an empty list if it may.

    Args:
        level: the subject's compatibility level.
        new: the schema being registered or tested.
        previous: the subject's earlier schemas, oldest first.
        previous_versions: their version numbers (same order), if known, for the reasons.
    """
    level = CompatibilityLevel(level)
    if level is CompatibilityLevel.NONE or not previous:
        return []
    versions: list[int | None] = list(previous_versions) if previous_versions else [None] * len(previous)
    pairs = list(zip(previous, versions))[::-1]  # newest first
    if level not in _TRANSITIVE:
        pairs = pairs[:1]
    for old, version in pairs:
        try:
            errors = _check_one(level, new, old, version)
        except RecursionError:  # the rules recurse into nested types; never pass what was not checked
            errors = [TOO_DEEP, *_old_schema_notes(old, version)]
        if errors:
            return errors
    return []


def _check_one(level: CompatibilityLevel, new: ParsedSchema, old: ParsedSchema, version: int | None) -> list[str]:
    """One new/old pair at ``level``: FORWARD swaps the roles, FULL asks both ways."""
    if new.schema_type != old.schema_type:
        return [DIFFERENT_SCHEMA_TYPE]
    errors: list[str] = []
    if level.name.startswith(("FORWARD", "FULL")):
        errors += _name_roles(old.backward_errors(new), reader="old", writer="new")
    if level.name.startswith(("BACKWARD", "FULL")):
        errors += _name_roles(new.backward_errors(old), reader="new", writer="old")
    if errors:
        errors += _old_schema_notes(old, version)
    return errors


def _name_roles(errors: list[str], reader: str, writer: str) -> list[str]:
    """Rename "the reader schema"/"the writer schema" to "new"/"old" in every reason."""
    roles = {"reader": reader, "writer": writer}
    return [_ROLE.sub(lambda match: f"{roles[match.group(1)]} schema", error) for error in errors]


def _old_schema_notes(old: ParsedSchema, version: int | None) -> list[str]:
    notes = [] if version is None else [f"{{oldSchemaVersion: {version}}}"]
    text = old.canonical
    if len(text) <= MAX_SCHEMA_SIZE_FOR_LOGGING:
        notes.append(f"{{oldSchema: '{text}'}}")
    else:
        notes.append(f"{{oldSchema: <truncated> '{text[:MAX_SCHEMA_SIZE_FOR_LOGGING]}...'}}")
    return notes


def is_compatible(level: CompatibilityLevel | str, new: ParsedSchema, previous: Sequence[ParsedSchema]) -> bool:
    """True if ``new`` may follow ``previous`` at ``level``."""
    return not check(level, new, previous)

"""Compatibility levels: the direction of the check, and transitive versus latest-only."""

import json

import pytest

from minikafka.schemas import compatibility, parse
from minikafka.schemas.base import CompatibilityLevel, InvalidSchemaError


def user(*fields):
    return parse("AVRO", json.dumps({"type": "record", "name": "User", "fields": [
        {"name": "id", "type": "long"}, *fields,
    ]}), {})


# Confluent's own example: v1 -> v2 adds a field with a default, v3 drops the default.
V1 = user()
V2 = user({"name": "email", "type": "string", "default": ""})
V3 = user({"name": "email", "type": "string"})
V4 = user({"name": "email", "type": "string", "default": ""}, {"name": "age", "type": "int", "default": 0})


def nested_arrays(depth: int) -> str:
    return '{"type": "array", "items": ' * depth + '"int"' + "}" * depth


def test_too_deep_a_schema_is_invalid_and_too_deep_a_pair_is_refused_never_a_crash():
    with pytest.raises(InvalidSchemaError, match="nested too deeply"):
        parse("AVRO", nested_arrays(5_000), {})
    for depth in (100, 300, 400, 600, 800):
        try:
            schema = parse("AVRO", nested_arrays(depth), {})
        except InvalidSchemaError:
            continue
        # the schema against itself: compatible if it can be compared at all, never an exception
        reasons = compatibility.check("FULL", schema, [schema])
        assert reasons == [] or reasons[0] == compatibility.TOO_DEEP, reasons[:1]


@pytest.mark.parametrize(
    ("level", "new", "previous", "compatible"),
    [
        # Each step is fine on its own...
        ("BACKWARD", V2, [V1], True),
        ("BACKWARD", V3, [V2], True),
        # ...latest-only levels look at v2 alone...
        ("BACKWARD", V3, [V1, V2], True),
        # ...transitive ones also at v1, whose data v3 cannot read (no email, no default).
        ("BACKWARD_TRANSITIVE", V3, [V1, V2], False),
        ("BACKWARD_TRANSITIVE", V4, [V1, V2], True),
        # Forward: the old schemas read the new one's data.
        ("FORWARD", V1, [V3, V2], True),
        ("FORWARD_TRANSITIVE", V1, [V3, V2], False),
        ("FORWARD_TRANSITIVE", V1, [V4, V2], True),
        ("FULL", V3, [V1, V2], True),
        ("FULL", V1, [V3, V2], True),
        ("FULL_TRANSITIVE", V3, [V1, V2], False),
        ("FULL_TRANSITIVE", V1, [V2, V3], False),
        ("FULL_TRANSITIVE", V4, [V1, V2], True),
        ("FULL_TRANSITIVE", V1, [V4, V2], True),
        ("NONE", V3, [V1, V2], True),
        ("BACKWARD_TRANSITIVE", V3, [], True),
    ],
)
def test_levels(level, new, previous, compatible):
    assert compatibility.is_compatible(level, new, previous) is compatible
    assert compatibility.is_compatible(CompatibilityLevel(level), new, previous) is compatible


def test_transitive_levels_check_newest_first_and_stop_at_the_first_failure():
    v0 = user({"name": "nick", "type": "string"})
    errors = compatibility.check("BACKWARD_TRANSITIVE", V3, [v0, V1, V2], previous_versions=[1, 2, 3])
    # v3 is fine with v3's predecessor (version 3), fails on version 2; version 1 is not reached.
    assert "{oldSchemaVersion: 2}" in errors
    assert "{oldSchemaVersion: 1}" not in errors
    assert sum(e.startswith("{errorType") for e in errors) == 1


def test_full_reports_both_directions():
    a = user({"name": "n", "type": "int"})
    b = user({"name": "n", "type": "long"}, {"name": "email", "type": "string"})
    errors = compatibility.check("FULL", b, [a], previous_versions=[7])
    kinds = [e.split("'")[1] for e in errors if e.startswith("{errorType")]
    # forward first (old reads new: long -> int), then backward (new reads old: email has no default)
    assert kinds == ["TYPE_MISMATCH", "READER_FIELD_MISSING_DEFAULT_VALUE"]
    assert errors[-2:] == ["{oldSchemaVersion: 7}", f"{{oldSchema: '{a.canonical}'}}"]


def test_different_schema_types_are_incompatible():
    class Json:
        schema_type = "JSON"
        canonical = "{}"

    assert compatibility.check("BACKWARD", V1, [Json()]) == ["Incompatible because of different schema type"]
    assert compatibility.check("NONE", V1, [Json()]) == []


def test_unknown_level_is_refused():
    with pytest.raises(ValueError):
        compatibility.check("SIDEWAYS", V1, [V2])

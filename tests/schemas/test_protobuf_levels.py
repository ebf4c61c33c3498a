"""Protobuf evolutions at every compatibility level, through the registry's entry points."""

from __future__ import annotations

import pytest

from minikafka.schemas import compatibility, parse
from minikafka.schemas.base import CompatibilityLevel, SchemaType

P3 = 'syntax = "proto3";\npackage shop;\n'
V1 = P3 + "message Order { string id = 1; int32 quantity = 2; }"
V2_REMOVE_QUANTITY = P3 + "message Order { string id = 1; }"
V3_REUSE_NUMBER_2 = P3 + "message Order { string id = 1; string note = 2; }"
V2_ADD_REQUIRED = 'syntax = "proto2";\npackage shop;\nmessage Order { optional string id = 1; required int32 n = 2; }'
V1_PROTO2 = 'syntax = "proto2";\npackage shop;\nmessage Order { optional string id = 1; }'


def verdicts(versions: list[str]) -> dict[str, bool]:
    schemas = [parse(SchemaType.PROTOBUF, text, {}) for text in versions]
    *previous, new = schemas
    return {level.value: compatibility.check(level, new, previous) == [] for level in CompatibilityLevel}


def test_field_number_reuse_passes_against_the_latest_only():
    result = verdicts([V1, V2_REMOVE_QUANTITY, V3_REUSE_NUMBER_2])
    assert result == {
        "BACKWARD": True, "FORWARD": True, "FULL": True,
        "BACKWARD_TRANSITIVE": False, "FORWARD_TRANSITIVE": False, "FULL_TRANSITIVE": False,
        "NONE": True,
    }


def test_a_required_field_added_is_neither_backward_nor_forward_compatible():
    # The new reader requires a field old data lacks (REQUIRED_FIELD_ADDED); seen from the
    # old schema, a required field was removed (REQUIRED_FIELD_REMOVED): Confluent refuses both.
    result = verdicts([V1_PROTO2, V2_ADD_REQUIRED])
    assert result["BACKWARD"] is False
    assert result["FORWARD"] is False
    assert result["NONE"] is True


@pytest.mark.parametrize("level", ["BACKWARD", "FORWARD", "FULL"])
def test_an_added_optional_field_is_fully_compatible(level):
    new = parse(SchemaType.PROTOBUF, P3 + "message Order { string id = 1; int32 quantity = 2; int64 at = 3; }", {})
    assert compatibility.check(level, new, [parse(SchemaType.PROTOBUF, V1, {})]) == []


def test_reasons_name_old_and_new_schemas():
    old, new = parse(SchemaType.PROTOBUF, V1, {}), parse(SchemaType.PROTOBUF, V3_REUSE_NUMBER_2, {})
    reasons = compatibility.check("BACKWARD", new, [old], previous_versions=[1])
    assert reasons[0].startswith('{errorType:"FIELD_SCALAR_KIND_CHANGED"')
    assert "has a scalar type in the new schema that decodes the old schema's wire values" in reasons[0]
    assert "{oldSchemaVersion: 1}" in reasons

"""JSON Schema evolutions at every compatibility level, through the registry's entry points."""

from __future__ import annotations

import json

from minikafka.schemas import compatibility, parse
from minikafka.schemas.base import CompatibilityLevel, SchemaType


def closed(**properties) -> str:
    return json.dumps({"type": "object", "properties": properties, "additionalProperties": False})


def opened(**properties) -> str:
    return json.dumps({"type": "object", "properties": properties})


S, I, N = {"type": "string"}, {"type": "integer"}, {"type": "number"}


def verdicts(versions: list[str]) -> dict[str, bool]:
    schemas = [parse(SchemaType.JSON, text, {}) for text in versions]
    *previous, new = schemas
    return {level.value: compatibility.check(level, new, previous) == [] for level in CompatibilityLevel}


def test_adding_a_property_to_a_closed_model_is_backward_only():
    assert verdicts([closed(id=S), closed(id=S, email=S)]) == {
        "BACKWARD": True, "BACKWARD_TRANSITIVE": True, "FORWARD": False, "FORWARD_TRANSITIVE": False,
        "FULL": False, "FULL_TRANSITIVE": False, "NONE": True}


def test_removing_a_property_from_an_open_model_is_backward_only():
    assert verdicts([opened(id=S, email=S), opened(id=S)]) == {
        "BACKWARD": True, "BACKWARD_TRANSITIVE": True, "FORWARD": False, "FORWARD_TRANSITIVE": False,
        "FULL": False, "FULL_TRANSITIVE": False, "NONE": True}


def test_widening_then_checking_against_every_version():
    # integer -> number -> number: each step reads the one before, and v1 too.
    result = verdicts([closed(n=I), closed(n=N), closed(n=N)])
    assert result["BACKWARD_TRANSITIVE"] is True
    assert result["FORWARD"] is True and result["FORWARD_TRANSITIVE"] is False


def test_reasons_name_old_and_new_schemas():
    old, new = parse(SchemaType.JSON, closed(n=N), {}), parse(SchemaType.JSON, closed(n=I), {})
    reasons = compatibility.check("BACKWARD", new, [old])
    assert reasons[0].startswith('{errorType:"TYPE_NARROWED"')
    assert "in the new schema accepts fewer values than in the old schema" in reasons[0]

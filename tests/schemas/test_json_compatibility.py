"""JSON Schema evolutions, each with the verdict Confluent's registry gives it.

Every case is an (old, new) pair, the incompatible difference types found
when ``new`` must accept ``old``'s documents (BACKWARD), the same the other
way round (FORWARD: ``old`` must accept ``new``'s documents), and documents
valid under ``old``. FULL is both directions.

The documents make each verdict concrete: when BACKWARD is compatible,
every one of them is still valid under ``new``; when it is not, at least one
of them (the witness) is refused by ``new``.
"""

from __future__ import annotations

import json

import pytest

from minikafka.schemas import json_compatibility
from minikafka.schemas.json_schema import parse


def obj(properties: dict, closed: bool = False, required: list | None = None, **extra) -> dict:
    schema = {"type": "object", "properties": properties, **extra}
    if closed:
        schema["additionalProperties"] = False
    if required:
        schema["required"] = required
    return schema


S = {"type": "string"}
I = {"type": "integer"}
N = {"type": "number"}

# (case, old, new, incompatible BACKWARD types, incompatible FORWARD types, documents valid under old)
CASES = [
    ("closed model: add an optional property",
     obj({"id": S}, closed=True), obj({"id": S, "email": S}, closed=True),
     [], ["PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"], [{"id": "a"}]),
    ("closed model: remove a property",
     obj({"id": S, "email": S}, closed=True), obj({"id": S}, closed=True),
     ["PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"], [], [{"id": "a", "email": "x@y"}]),
    ("open model: add an optional property",
     obj({"id": S}), obj({"id": S, "email": S}),
     ["OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"], [], [{"id": "a", "email": 42}]),
    ("open model: remove a property",
     obj({"id": S, "email": S}), obj({"id": S}),
     [], ["OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"], [{"id": "a", "email": "x@y"}]),
    ("open model: add a property with an empty schema",
     obj({"id": S}), obj({"id": S, "note": {}}), [], [], [{"id": "a", "note": [1]}]),
    ("partially open model: added property covered by additionalProperties",
     obj({"id": S}, additionalProperties=S), obj({"id": S, "email": S}, additionalProperties=S),
     [], [], [{"id": "a", "email": "x@y"}]),
    ("partially open model: added property not covered",
     obj({"id": S}, additionalProperties=S), obj({"id": S, "age": I}, additionalProperties=S),
     ["PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "TYPE_CHANGED"],
     ["PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "TYPE_CHANGED"],
     [{"id": "a", "age": "old"}]),
    ("close an open model (additionalProperties: false)",
     obj({"id": S}), obj({"id": S}, closed=True),
     ["ADDITIONAL_PROPERTIES_REMOVED"], [], [{"id": "a", "other": 1}]),
    ("widen integer to number", obj({"n": I}), obj({"n": N}),
     [], ["TYPE_NARROWED"], [{"n": 3}]),
    ("narrow number to integer", obj({"n": N}), obj({"n": I}),
     ["TYPE_NARROWED"], [], [{"n": 2.5}]),
    ("change string to integer", obj({"n": S}), obj({"n": I}),
     ["TYPE_CHANGED"], ["TYPE_CHANGED"], [{"n": "3"}]),
    ("make a property required", obj({"id": S, "email": S}), obj({"id": S, "email": S}, required=["email"]),
     ["REQUIRED_ATTRIBUTE_ADDED"], [], [{"id": "a"}]),
    ("make a property required, with a default",
     obj({"id": S, "email": S}), obj({"id": S, "email": {"type": "string", "default": ""}}, required=["email"]),
     [], [], [{"id": "a", "email": "x@y"}]),
    ("drop a required property from required", obj({"id": S}, required=["id"]), obj({"id": S}),
     [], ["REQUIRED_ATTRIBUTE_ADDED"], [{"id": "a"}]),
    ("extend an enum", {"enum": ["RED", "GREEN"]}, {"enum": ["RED", "GREEN", "BLUE"]},
     [], ["ENUM_ARRAY_NARROWED"], ["RED", "GREEN"]),
    ("narrow an enum", {"enum": ["RED", "GREEN"]}, {"enum": ["RED"]},
     ["ENUM_ARRAY_NARROWED"], [], ["RED", "GREEN"]),
    ("typed enum extended (an implicit allOf of type and enum)",
     {"type": "string", "enum": ["RED"]}, {"type": "string", "enum": ["RED", "BLUE"]},
     [], ["COMBINED_TYPE_SUBSCHEMAS_CHANGED"], ["RED"]),
    ("drop the enum, keep the type", {"type": "string", "enum": ["RED"]}, S, [], ["TYPE_CHANGED"], ["RED"]),
    ("raise maxLength", {"type": "string", "maxLength": 5}, {"type": "string", "maxLength": 10},
     [], ["MAX_LENGTH_DECREASED"], ["abcde"]),
    ("add maxLength", S, {"type": "string", "maxLength": 3},
     ["MAX_LENGTH_ADDED"], [], ["abcdef"]),
    ("add a minimum", I, {"type": "integer", "minimum": 0},
     ["MINIMUM_ADDED"], [], [-1]),
    ("lower a minimum", {"type": "integer", "minimum": 10}, {"type": "integer", "minimum": 0},
     [], ["MINIMUM_INCREASED"], [10, 11]),
    ("add a pattern", S, {"type": "string", "pattern": "^[a-z]+$"},
     ["PATTERN_ADDED"], [], ["ABC"]),
    ("array items widened", {"type": "array", "items": I}, {"type": "array", "items": N},
     [], ["TYPE_NARROWED"], [[1, 2]]),
    ("array items changed", {"type": "array", "items": I}, {"type": "array", "items": S},
     ["TYPE_CHANGED"], ["TYPE_CHANGED"], [[1, 2]]),
    ("raise maxItems", {"type": "array", "maxItems": 2}, {"type": "array", "maxItems": 3},
     [], ["MAX_ITEMS_DECREASED"], [[1, 2]]),
    ("make a string nullable with oneOf", S, {"oneOf": [S, {"type": "null"}]},
     [], ["TYPE_CHANGED"], ["a"]),
    ("make a string nullable with a type list", S, {"type": ["string", "null"]},
     [], ["TYPE_CHANGED"], ["a"]),
    ("add a branch to a oneOf", {"oneOf": [S, I]}, {"oneOf": [S, I, {"type": "boolean"}]},
     [], ["SUM_TYPE_NARROWED"], ["a", 1]),
    ("change a oneOf branch", {"oneOf": [S, I]}, {"oneOf": [S, {"type": "boolean"}]},
     ["COMBINED_TYPE_SUBSCHEMAS_CHANGED"], ["COMBINED_TYPE_SUBSCHEMAS_CHANGED"], ["a", 1]),
    ("oneOf to anyOf", {"oneOf": [S, I]}, {"anyOf": [S, I]},
     [], ["COMBINED_TYPE_CHANGED"], ["a", 1]),
    ("nested object: property type narrowed",
     obj({"address": obj({"zip": N})}), obj({"address": obj({"zip": I})}),
     ["TYPE_NARROWED"], [], [{"address": {"zip": 1.5}}]),
    ("a change behind a $ref to definitions",
     {**obj({"a": {"$ref": "#/definitions/amount"}}), "definitions": {"amount": I}},
     {**obj({"a": {"$ref": "#/definitions/amount"}}), "definitions": {"amount": S}},
     ["TYPE_CHANGED"], ["TYPE_CHANGED"], [{"a": 5}]),
    ("title and description changes are harmless",
     {**S, "title": "Name"}, {**S, "title": "Full name", "description": "as written"},
     [], [], ["a"]),
]


def _incompatible(new: dict, old: dict) -> list[str]:
    old_schema, new_schema = parse(json.dumps(old), {}), parse(json.dumps(new), {})
    found = json_compatibility.differences(old_schema, new_schema)
    return sorted(d.type for d in found if not d.compatible)


@pytest.mark.parametrize("case, old, new, backward, forward, documents", CASES, ids=[c[0] for c in CASES])
def test_confluent_verdicts_backward_and_forward(case, old, new, backward, forward, documents):
    assert _incompatible(new, old) == sorted(backward)
    assert _incompatible(old, new) == sorted(forward)
    old_schema, new_schema = parse(json.dumps(old), {}), parse(json.dumps(new), {})
    assert (new_schema.backward_errors(old_schema) == []) == (not backward)
    assert (old_schema.backward_errors(new_schema) == []) == (not forward)


@pytest.mark.parametrize("case, old, new, backward, forward, documents", CASES, ids=[c[0] for c in CASES])
def test_old_documents_against_the_new_schema(case, old, new, backward, forward, documents):
    old_validator = parse(json.dumps(old), {}).validator()
    new_validator = parse(json.dumps(new), {}).validator()
    for document in documents:
        assert old_validator.is_valid(document), document
    accepted = [new_validator.is_valid(document) for document in documents]
    if backward:
        assert not all(accepted), "an incompatible evolution needs a witness document"
    else:
        assert all(accepted)


def test_reasons_name_the_difference_and_its_path():
    old = parse(json.dumps(obj({"n": N})), {})
    new = parse(json.dumps(obj({"n": I})), {})
    (reason,) = new.backward_errors(old)
    assert 'errorType:"TYPE_NARROWED"' in reason
    assert "'#/properties/n'" in reason


def test_compatible_differences_are_listed_too():
    old = parse(json.dumps(obj({"id": S}, closed=True)), {})
    new = parse(json.dumps(obj({"id": S, "email": S}, closed=True)), {})
    assert [str(d) for d in json_compatibility.differences(old, new)] == [
        "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL #/properties/email"]


def test_a_change_in_a_referenced_schema_is_found():
    order = json.dumps(obj({"customer": {"$ref": "customer.json"}}))
    v1 = json.dumps(obj({"name": S, "age": I}))
    v2 = json.dumps(obj({"name": S, "age": S}))
    old, new = parse(order, {"customer.json": v1}), parse(order, {"customer.json": v2})
    found = [str(d) for d in json_compatibility.differences(old, new) if not d.compatible]
    assert found == ["TYPE_CHANGED #/properties/customer/properties/age"]


def test_recursive_schemas_compare_without_looping():
    tree = {"type": "object", "properties": {"value": I, "children": {
        "type": "array", "items": {"$ref": "#"}}}}
    wider = {"type": "object", "properties": {"value": N, "children": {
        "type": "array", "items": {"$ref": "#"}}}}
    old, new = parse(json.dumps(tree), {}), parse(json.dumps(wider), {})
    assert new.backward_errors(old) == []
    assert old.backward_errors(new) != []


def test_draft_2020_12_prefix_items():
    old = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "array",
           "prefixItems": [S, I], "items": False}
    new = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "array",
           "prefixItems": [S, I, S], "items": False}
    assert _incompatible(new, old) == []
    assert _incompatible(old, new) == ["ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL"]

"""Parsing JSON Schemas: drafts, metaschema checks, references, canonical form."""

from __future__ import annotations

import json

import pytest

from minikafka.schemas.base import InvalidSchemaError, SchemaType
from minikafka.schemas.json_schema import parse

ORDER = {
    "title": "Order",
    "type": "object",
    "properties": {"id": {"type": "string"}, "total": {"$ref": "#/definitions/amount"}},
    "required": ["id"],
    "definitions": {"amount": {"type": "number", "minimum": 0}},
}


def test_canonical_form_is_compact_json_in_written_order():
    schema = parse(json.dumps(ORDER, indent=4), {})
    assert schema.schema_type is SchemaType.JSON
    assert schema.canonical == json.dumps(ORDER, separators=(",", ":"))
    assert schema.formatted(None) == schema.canonical
    assert schema.formatted("serialized") == schema.canonical  # unknown formats: the canonical text


def test_whitespace_does_not_change_the_schema_but_key_order_does_until_normalized():
    compact = parse(json.dumps(ORDER), {})
    assert parse(json.dumps(ORDER, indent=2), {}) == compact
    reordered = parse(json.dumps(dict(reversed(list(ORDER.items())))), {})
    assert reordered != compact
    assert reordered.normalized() == compact.normalized()


def test_record_name_is_the_title():
    assert parse(json.dumps(ORDER), {}).record_names() == ["Order"]
    assert parse('{"type": "string"}', {}).record_names() == []


def test_boolean_schemas_are_schemas():
    assert parse("true", {}).validator().is_valid({"anything": 1})
    assert not parse("false", {}).validator().is_valid(1)


@pytest.mark.parametrize("text, words", [
    ("{", "not JSON"),
    ("[1, 2]", "not a JSON object or boolean"),
    ('"string"', "not a JSON object or boolean"),
    ('{"type": "strng"}', "#/type"),
    ('{"type": "object", "required": "id"}', "#/required"),
    ('{"minLength": -1}', "#/minLength"),
    ('{"$schema": "http://example.com/my-draft", "type": "string"}', "unknown $schema"),
    ('{"properties": {"a": {"$ref": "#/definitions/missing"}}}', "does not resolve"),
    ('{"properties": {"a": {"$ref": "customer.json"}}}', "does not resolve"),
])
def test_invalid_schemas_are_refused(text, words):
    with pytest.raises(InvalidSchemaError) as raised:
        parse(text, {})
    assert words in str(raised.value)


def test_an_invalid_reference_is_refused_too():
    with pytest.raises(InvalidSchemaError):
        parse('{"$ref": "other.json"}', {"other.json": '{"type": 5}'})


@pytest.mark.parametrize("draft, schema", [
    ("http://json-schema.org/draft-04/schema#", {"type": "integer", "maximum": 5, "exclusiveMaximum": True}),
    ("http://json-schema.org/draft-06/schema#", {"type": "integer", "exclusiveMaximum": 5}),
    ("http://json-schema.org/draft-07/schema#", {"type": "integer", "exclusiveMaximum": 5}),
    ("https://json-schema.org/draft/2019-09/schema", {"type": "integer", "exclusiveMaximum": 5}),
    ("https://json-schema.org/draft/2020-12/schema", {"type": "integer", "exclusiveMaximum": 5}),
])
def test_each_draft_is_read_by_its_own_rules(draft, schema):
    validator = parse(json.dumps({"$schema": draft, **schema}), {}).validator()
    assert validator.is_valid(4)
    assert not validator.is_valid(5)


def test_a_schema_without_schema_keyword_is_draft_7():
    # Draft 4 spelled exclusiveMaximum as a boolean; draft 7's metaschema refuses it.
    with pytest.raises(InvalidSchemaError):
        parse('{"type": "integer", "maximum": 5, "exclusiveMaximum": true}', {})


def test_references_resolve_by_name_for_validation():
    customer = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"],
                "definitions": {"email": {"type": "string", "pattern": "@"}}}
    order = {"type": "object", "properties": {
        "customer": {"$ref": "customer.json"},
        "email": {"$ref": "customer.json#/definitions/email"}}}
    schema = parse(json.dumps(order), {"customer.json": json.dumps(customer)})
    validator = schema.validator()
    assert validator.is_valid({"customer": {"name": "Ada"}, "email": "ada@example.com"})
    assert not validator.is_valid({"customer": {}})
    assert not validator.is_valid({"email": "no-at-sign"})


def test_references_relative_to_the_schema_id():
    order = {"$id": "https://example.com/schemas/order.json", "type": "object",
             "properties": {"customer": {"$ref": "customer.json"}}}
    schema = parse(json.dumps(order), {"customer.json": '{"type": "object", "required": ["name"]}'})
    assert not schema.validator().is_valid({"customer": {}})


def test_a_ref_to_a_metaschema_resolves():
    schema = parse('{"properties": {"inner": {"$ref": "http://json-schema.org/draft-07/schema#"}}}', {})
    assert schema.validator().is_valid({"inner": {"type": "string"}})
    assert not schema.validator().is_valid({"inner": {"type": 5}})

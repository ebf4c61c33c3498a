"""Avro schemas: parsing, the canonical and normalized texts, references, invalid schemas."""

import json

import pytest

from minikafka.schemas import parse
from minikafka.schemas.avro import AvroSchema
from minikafka.schemas.base import InvalidSchemaError, SchemaType

USER = {
    "namespace": "com.acme",
    "type": "record",
    "name": "User",
    "doc": "a user",
    "fields": [
        {"type": "string", "name": "name"},
        {"name": "age", "type": ["null", "int"], "default": None},
    ],
}


def avro(schema, references=None):
    return parse(SchemaType.AVRO, json.dumps(schema), references or {})


def test_parse_dispatches_avro():
    schema = avro(USER)
    assert isinstance(schema, AvroSchema)
    assert schema.schema_type is SchemaType.AVRO


def test_canonical_is_compact_json_in_avro_key_order():
    schema = avro(USER)
    assert schema.canonical == (
        '{"type":"record","name":"User","namespace":"com.acme","doc":"a user","fields":['
        '{"name":"name","type":"string"},{"name":"age","type":["null","int"],"default":null}]}'
    )


def test_canonical_ignores_whitespace_and_key_order():
    text = json.dumps(USER, indent=4)
    reordered = {key: USER[key] for key in reversed(list(USER))}
    assert parse("AVRO", text, {}).canonical == avro(reordered).canonical


def test_canonical_keeps_field_order_docs_and_defaults():
    swapped = dict(USER, fields=list(reversed(USER["fields"])))
    assert avro(swapped).canonical != avro(USER).canonical
    undocumented = {k: v for k, v in USER.items() if k != "doc"}
    assert avro(undocumented).canonical != avro(USER).canonical


def test_primitive_written_as_object_is_the_same_schema():
    assert avro({"type": "string"}).canonical == avro("string").canonical == '"string"'


def test_canonical_matches_confluent_for_a_documented_record():
    # The example of Confluent's own normalization test: fields get "name" first.
    text = (
        '{"type":"record","name":"myrecord","doc":"hi\\"there","fields":'
        '[{"type":"string","name":"f1","doc":"bye\\"now"}]}'
    )
    expected = (
        '{"type":"record","name":"myrecord","doc":"hi\\"there","fields":'
        '[{"name":"f1","type":"string","doc":"bye\\"now"}]}'
    )
    schema = parse("AVRO", text, {})
    assert schema.canonical == expected
    assert schema.normalized().canonical == expected


def test_full_names_are_split_into_name_and_namespace():
    schema = avro({"type": "record", "name": "some.scope.Envelope", "fields": [
        {"name": "v", "type": {"type": "record", "name": "Value", "fields": []}},
    ]})
    assert schema.canonical == (
        '{"type":"record","name":"Envelope","namespace":"some.scope","fields":'
        '[{"name":"v","type":{"type":"record","name":"Value","fields":[]}}]}'
    )
    assert sorted(schema.named_types) == ["some.scope.Envelope", "some.scope.Value"]


def test_normalized_sorts_aliases_and_properties_logical_type_first():
    schema = avro({"type": "record", "name": "R", "aliases": ["Z", "A"], "zeta": 1, "alpha": 2, "fields": [
        {"name": "t", "aliases": ["y", "b"], "type": {"type": "long", "x-note": "n", "logicalType": "timestamp-millis"}},
    ]})
    assert schema.canonical == (
        '{"type":"record","name":"R","fields":[{"name":"t","type":{"type":"long","x-note":"n",'
        '"logicalType":"timestamp-millis"},"aliases":["y","b"]}],"zeta":1,"alpha":2,"aliases":["Z","A"]}'
    )
    normalized = schema.normalized()
    assert normalized.canonical == (
        '{"type":"record","name":"R","fields":[{"name":"t","type":{"type":"long",'
        '"logicalType":"timestamp-millis","x-note":"n"},"aliases":["b","y"]}],"alpha":2,"zeta":1,'
        '"aliases":["A","Z"]}'
    )
    assert normalized.normalized().canonical == normalized.canonical


def test_recursive_record_writes_itself_by_name():
    linked_list = {"type": "record", "name": "Node", "fields": [
        {"name": "value", "type": "long"},
        {"name": "next", "type": ["null", "Node"], "default": None},
    ]}
    schema = avro(linked_list)
    assert '"type":["null","Node"]' in schema.canonical
    assert schema.backward_errors(schema) == []


def test_references_define_named_types():
    address = {"type": "record", "name": "Address", "namespace": "com.acme",
               "fields": [{"name": "city", "type": "string"}]}
    customer = {"type": "record", "name": "Customer", "namespace": "com.acme",
                "fields": [{"name": "address", "type": "Address"}]}
    schema = avro(customer, {"address.avsc": json.dumps(address)})
    # The referenced type is named, not repeated: it is another subject's schema.
    assert schema.canonical == (
        '{"type":"record","name":"Customer","namespace":"com.acme","fields":'
        '[{"name":"address","type":"Address"}]}'
    )
    assert '"city"' in schema.formatted("resolved")
    assert schema.formatted(None) == schema.canonical
    assert schema.normalized().canonical == schema.canonical
    assert schema.record_names() == ["com.acme.Customer"]


def test_references_may_reference_each_other_in_any_order():
    a = {"type": "enum", "name": "A", "symbols": ["X"]}
    b = {"type": "record", "name": "B", "fields": [{"name": "a", "type": "A"}]}
    c = {"type": "record", "name": "C", "fields": [{"name": "b", "type": "B"}]}
    schema = avro(c, {"b": json.dumps(b), "a": json.dumps(a)})
    assert set(schema.named_types) == {"A", "B", "C"}


def test_unresolved_reference_is_invalid():
    with pytest.raises(InvalidSchemaError, match="Address"):
        avro({"type": "record", "name": "C", "fields": [{"name": "a", "type": "Address"}]})


def test_record_names_only_for_named_top_level_types():
    assert avro(USER).record_names() == ["com.acme.User"]
    assert avro("string").record_names() == []
    assert avro({"type": "enum", "name": "e.Suit", "symbols": ["S"]}).record_names() == ["e.Suit"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not JSON"),
        ('"strng"', "strng"),
        ('{"type": "record", "name": "R"}', "fields"),
        ('{"type": "record", "name": "1R", "fields": []}', "illegal name"),
        ('{"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}, {"name": "a", "type": "int"}]}',
         "duplicate field"),
        ('{"type": "record", "name": "R", "fields": [{"name": "a", "type": "int", "default": "x"}]}', "Default"),
        ('{"type": "enum", "name": "E", "symbols": ["A", "A"]}', "duplicate symbol"),
        ('{"type": "enum", "name": "E", "symbols": ["A"], "default": "B"}', "symbols"),
        ('{"type": "fixed", "name": "F"}', "size"),
        ('{"type": "array"}', "items"),
        ('["int", "int"]', "duplicate in union"),
        ('["null", ["int"]]', "union"),
        ('{"type": "record", "name": "R", "fields": [{"name": "r", "type": '
         '{"type": "record", "name": "R", "fields": []}}]}', "redefine"),
        ('{"type": "record", "name": "R", "fields": [{"name": "a", "type": "int", "order": "up"}]}', "order"),
        ("42", "not a schema"),
    ],
)
def test_invalid_schemas_raise_with_a_reason(text, reason):
    with pytest.raises(InvalidSchemaError) as caught:
        parse("AVRO", text, {})
    assert reason.lower() in str(caught.value).lower()


def test_unknown_schema_type_is_invalid():
    with pytest.raises(InvalidSchemaError, match="unknown schema type"):
        parse("XML", "<a/>", {})


def test_backward_errors_across_types_say_so():
    class Other:
        schema_type = SchemaType.JSON

    assert avro(USER).backward_errors(Other()) == ["Incompatible because of different schema type"]


def test_a_schema_reached_through_two_references_is_parsed_once():
    money = json.dumps({"type": "fixed", "name": "Money", "size": 8})
    order = {"type": "record", "name": "Order", "fields": [{"name": "total", "type": "Money"}]}
    schema = avro(order, {"money.avsc": money, "com/acme/money.avsc": money})
    assert schema.canonical == '{"type":"record","name":"Order","fields":[{"name":"total","type":"Money"}]}'


def test_a_name_defined_twice_is_invalid():
    money = json.dumps({"type": "fixed", "name": "Money", "size": 8})
    order = {"type": "record", "name": "Order", "fields": [
        {"name": "total", "type": {"type": "fixed", "name": "Money", "size": 4}}]}
    with pytest.raises(InvalidSchemaError, match="redefine"):
        avro(order, {"money.avsc": money})

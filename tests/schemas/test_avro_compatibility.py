"""Avro evolutions, one per row, with the verdicts Confluent's registry gives at each level.

BACKWARD: the new schema reads the old one's data. FORWARD: the old schema
reads the new one's data. FULL: both. Each row is also checked against
Apache Avro's own Python implementation of the same rules.
"""

import json

import avro.compatibility
import avro.schema
import pytest

from minikafka.schemas import compatibility, parse
from minikafka.schemas.avro_compatibility import SchemaIncompatibilityType


def record(*fields, name="User", **extra):
    return {"type": "record", "name": name, "namespace": "com.acme", "fields": list(fields), **extra}


def field(name, type_, **extra):
    return {"name": name, "type": type_, **extra}


ID = field("id", "long")
EMAIL = field("email", "string")
EMAIL_DEFAULT = field("email", "string", default="")
SUIT = {"type": "enum", "name": "Suit", "symbols": ["HEARTS", "SPADES"]}
SUIT_MORE = {"type": "enum", "name": "Suit", "symbols": ["HEARTS", "SPADES", "CLUBS"]}
SUIT_DEFAULT = {**SUIT, "default": "HEARTS"}
SUIT_MORE_DEFAULT = {**SUIT_MORE, "default": "HEARTS"}
ADDRESS = {"type": "record", "name": "Address", "fields": [field("city", "string")]}
ADDRESS_ZIP = {"type": "record", "name": "Address", "fields": [field("city", "string"), field("zip", "string")]}
ADDRESS_ZIP_DEFAULT = {"type": "record", "name": "Address",
                       "fields": [field("city", "string"), field("zip", "string", default="")]}

# (case, old schema, new schema, BACKWARD, FORWARD, FULL)
EVOLUTIONS = [
    ("add a field with a default", record(ID), record(ID, EMAIL_DEFAULT), True, True, True),
    ("add a field without a default", record(ID), record(ID, EMAIL), False, True, False),
    ("remove a field with a default", record(ID, EMAIL_DEFAULT), record(ID), True, True, True),
    ("remove a field without a default", record(ID, EMAIL), record(ID), True, False, False),
    ("add a default to a field", record(ID, EMAIL), record(ID, EMAIL_DEFAULT), True, True, True),
    ("rename a field with an alias", record(ID), record(field("user_id", "long", aliases=["id"])),
     True, False, False),
    ("rename a field without an alias", record(ID), record(field("user_id", "long")), False, False, False),
    ("rename a field, both with aliases", record(field("id", "long", aliases=["user_id"])),
     record(field("user_id", "long", aliases=["id"])), True, True, True),
    ("rename the record with an alias", record(ID), record(ID, name="Person", aliases=["com.acme.User"]),
     True, False, False),
    ("rename the record without an alias", record(ID), record(ID, name="Person"), False, False, False),
    ("change only the namespace", record(ID), {**record(ID), "namespace": "org.other"}, True, True, True),
    ("widen int to long", record(field("n", "int")), record(field("n", "long")), True, False, False),
    ("narrow long to int", record(field("n", "long")), record(field("n", "int")), False, True, False),
    ("widen long to double", record(field("n", "long")), record(field("n", "double")), True, False, False),
    ("widen float to double", record(field("n", "float")), record(field("n", "double")), True, False, False),
    ("string to bytes", record(field("s", "string")), record(field("s", "bytes")), True, True, True),
    ("change string to int", record(field("s", "string")), record(field("s", "int")), False, False, False),
    ("add an enum symbol", record(field("suit", SUIT)), record(field("suit", SUIT_MORE)), True, False, False),
    ("remove an enum symbol", record(field("suit", SUIT_MORE)), record(field("suit", SUIT)), False, True, False),
    ("add an enum symbol, enums with a default", record(field("suit", SUIT_DEFAULT)),
     record(field("suit", SUIT_MORE_DEFAULT)), True, True, True),
    ("make a field a union with it", record(field("s", "string")), record(field("s", ["null", "string"])),
     True, False, False),
    ("add a type to a union", record(field("s", ["null", "string"])),
     record(field("s", ["null", "string", "int"])), True, False, False),
    ("remove a type from a union", record(field("s", ["null", "string", "int"])),
     record(field("s", ["null", "string"])), False, True, False),
    ("reorder a union", record(field("s", ["null", "string"])), record(field("s", ["string", "null"])),
     True, True, True),
    ("union branch widened", record(field("n", ["null", "int"])), record(field("n", ["null", "long"])),
     True, False, False),
    ("nested record: add a field with a default", record(field("a", ADDRESS)),
     record(field("a", ADDRESS_ZIP_DEFAULT)), True, True, True),
    ("nested record: add a field without a default", record(field("a", ADDRESS)),
     record(field("a", ADDRESS_ZIP)), False, True, False),
    ("array items widened", record(field("xs", {"type": "array", "items": "int"})),
     record(field("xs", {"type": "array", "items": "long"})), True, False, False),
    ("map values changed", record(field("m", {"type": "map", "values": "int"})),
     record(field("m", {"type": "map", "values": "string"})), False, False, False),
    ("fixed size changed", record(field("f", {"type": "fixed", "name": "Hash", "size": 16})),
     record(field("f", {"type": "fixed", "name": "Hash", "size": 32})), False, False, False),
    ("record to its only field's type", record(ID), "long", False, False, False),
    ("primitive to a union with it", "string", ["null", "string"], True, False, False),
    ("add a doc only", record(ID), record(ID, doc="the users"), True, True, True),
]


def avro_schema(data):
    return parse("AVRO", json.dumps(data), {})


def apache_avro_can_read(reader, writer):
    result = avro.compatibility.ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    return result.compatibility is avro.compatibility.SchemaCompatibilityType.compatible


@pytest.mark.parametrize(("case", "old", "new", "backward", "forward", "full"), EVOLUTIONS,
                         ids=[row[0] for row in EVOLUTIONS])
def test_evolution_verdicts_per_level(case, old, new, backward, forward, full):
    old_schema, new_schema = avro_schema(old), avro_schema(new)
    verdicts = {
        level: compatibility.is_compatible(level, new_schema, [old_schema])
        for level in ("BACKWARD", "FORWARD", "FULL", "BACKWARD_TRANSITIVE", "FORWARD_TRANSITIVE",
                      "FULL_TRANSITIVE", "NONE")
    }
    assert verdicts == {
        "BACKWARD": backward, "FORWARD": forward, "FULL": full,
        "BACKWARD_TRANSITIVE": backward, "FORWARD_TRANSITIVE": forward, "FULL_TRANSITIVE": full,
        "NONE": True,
    }


@pytest.mark.parametrize(("case", "old", "new", "backward", "forward", "full"), EVOLUTIONS,
                         ids=[row[0] for row in EVOLUTIONS])
def test_verdicts_agree_with_apache_avro(case, old, new, backward, forward, full):
    assert apache_avro_can_read(reader=new, writer=old) is backward
    assert apache_avro_can_read(reader=old, writer=new) is forward


def reasons(old, new, level="BACKWARD"):
    return compatibility.check(level, avro_schema(new), [avro_schema(old)])


def test_missing_default_reason_names_the_field_and_its_location():
    errors = reasons(record(ID), record(ID, EMAIL))
    assert errors[0] == (
        "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'email' at path "
        "'/fields/1' in the new schema has no default value and is missing in the old schema', "
        "additionalInfo:'email'}"
    )
    assert errors[-1].startswith("{oldSchema: '{\"type\":\"record\"")


def test_forward_reasons_name_the_old_schema_as_reader():
    errors = reasons(record(ID, EMAIL), record(ID), level="FORWARD")
    assert "in the old schema has no default value and is missing in the new schema" in errors[0]


def test_type_mismatch_reason_and_location():
    errors = reasons(record(ID, field("n", "long")), record(ID, field("n", "int")))
    assert errors[0].startswith("{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/1/type')")
    assert "additionalInfo:'reader type: INT not compatible with writer type: LONG'" in errors[0]


def test_enum_reason_lists_the_missing_symbols():
    errors = reasons(record(field("suit", SUIT_MORE)), record(field("suit", SUIT)))
    assert "errorType:'MISSING_ENUM_SYMBOLS'" in errors[0]
    assert "'[CLUBS]' at path '/fields/0/type/symbols'" in errors[0]


def test_union_reason_points_at_the_unreadable_branch():
    errors = reasons(record(field("s", ["null", "string", "int"])), record(field("s", ["null", "string"])))
    assert "errorType:'MISSING_UNION_BRANCH'" in errors[0]
    assert "path '/fields/0/type/2'" in errors[0]
    assert "additionalInfo:'reader union lacking writer type: INT'" in errors[0]


def test_record_aliases_are_qualified_with_the_namespace():
    # As in Apache Avro's Java parser: alias "User" in namespace com.acme is com.acme.User.
    assert reasons(record(ID), record(ID, name="Person", aliases=["User"])) == []
    assert reasons(record(ID), record(ID, name="Person", aliases=["org.other.User"])) != []


def test_name_and_fixed_size_reasons():
    errors = reasons(record(ID), record(ID, name="Person"))
    assert errors[0].startswith("{errorType:'NAME_MISMATCH', description:'The name of the schema has changed "
                                "(path '/name')'")
    hash16 = {"type": "fixed", "name": "Hash", "size": 16}
    errors = reasons(record(field("f", hash16)), record(field("f", {**hash16, "size": 32})))
    assert "errorType:'FIXED_SIZE_MISMATCH'" in errors[0] and "/fields/0/type/size" in errors[0]


def test_every_problem_is_reported():
    errors = reasons(record(ID, field("n", "long")), record(field("id", "int"), field("n", "int"), EMAIL))
    kinds = [e.split("'")[1] for e in errors if e.startswith("{errorType")]
    assert kinds == ["TYPE_MISMATCH", "TYPE_MISMATCH", "READER_FIELD_MISSING_DEFAULT_VALUE"]


def test_recursive_schemas_terminate():
    tree = {"type": "record", "name": "Tree", "fields": [
        field("value", "int"),
        field("children", {"type": "array", "items": "Tree"}),
    ]}
    wider = {"type": "record", "name": "Tree", "fields": [
        field("value", "long"),
        field("children", {"type": "array", "items": "Tree"}),
        field("label", ["null", "string"], default=None),
    ]}
    assert reasons(tree, wider) == []
    errors = reasons(wider, tree)
    assert "TYPE_MISMATCH" in errors[0] and "/fields/0/type" in errors[0]


def test_incompatibility_types_are_avros():
    assert {t.name for t in SchemaIncompatibilityType} == {
        "NAME_MISMATCH", "FIXED_SIZE_MISMATCH", "MISSING_ENUM_SYMBOLS",
        "READER_FIELD_MISSING_DEFAULT_VALUE", "TYPE_MISMATCH", "MISSING_UNION_BRANCH",
    }


def test_writer_union_read_by_a_plain_type_reports_at_the_readers_path():
    errors = reasons(record(field("s", ["null", "string"])), record(field("s", "string")))
    assert errors[0] == (
        "{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/0/type') of a field in the new "
        "schema does not match with the old schema', additionalInfo:'reader type: STRING not compatible "
        "with writer type: NULL'}"
    )

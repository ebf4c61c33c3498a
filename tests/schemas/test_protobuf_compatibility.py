"""Protobuf evolutions, each with the verdict Confluent's registry gives it.

Every case is an (old, new) pair of ``.proto`` files, the incompatible
difference types found when ``new`` reads ``old`` data (BACKWARD), and the
same the other way round (FORWARD: ``old`` reads ``new`` data). FULL is both.
"""

from __future__ import annotations

import pytest

from minikafka.schemas import protobuf_compatibility
from minikafka.schemas.protobuf import parse

P3 = 'syntax = "proto3";\npackage shop;\n'
P2 = 'syntax = "proto2";\npackage shop;\n'

# (case, old, new, incompatible types for BACKWARD, incompatible types for FORWARD)
CASES = [
    ("add a field", P3 + "message Order { string id = 1; }",
     P3 + "message Order { string id = 1; int64 amount = 2; }", [], []),
    ("remove a field", P3 + "message Order { string id = 1; int64 amount = 2; }",
     P3 + "message Order { string id = 1; }", [], []),
    ("rename a field (same number)", P3 + "message Order { string id = 1; }",
     P3 + "message Order { string order_id = 1; }", [], []),
    ("widen int32 to int64", P3 + "message Order { int32 qty = 1; }",
     P3 + "message Order { int64 qty = 1; }", [], []),
    ("uint32 to bool, same varint group", P3 + "message Order { uint32 flag = 1; }",
     P3 + "message Order { bool flag = 1; }", [], []),
    ("sint32 to sint64", P3 + "message Order { sint32 delta = 1; }",
     P3 + "message Order { sint64 delta = 1; }", [], []),
    ("fixed32 to sfixed32", P3 + "message Order { fixed32 n = 1; }",
     P3 + "message Order { sfixed32 n = 1; }", [], []),
    ("string to bytes", P3 + "message Order { string note = 1; }",
     P3 + "message Order { bytes note = 1; }", [], []),
    ("int32 to sint32 (zigzag differs)", P3 + "message Order { int32 n = 1; }",
     P3 + "message Order { sint32 n = 1; }",
     ["FIELD_SCALAR_KIND_CHANGED"], ["FIELD_SCALAR_KIND_CHANGED"]),
    ("field number reused with another type", P3 + "message Order { int64 amount = 2; }",
     P3 + "message Order { string currency = 2; }",
     ["FIELD_SCALAR_KIND_CHANGED"], ["FIELD_SCALAR_KIND_CHANGED"]),
    ("float to double", P3 + "message Order { float price = 1; }",
     P3 + "message Order { double price = 1; }",
     ["FIELD_SCALAR_KIND_CHANGED"], ["FIELD_SCALAR_KIND_CHANGED"]),
    ("scalar to message", P3 + "message Order { int64 total = 2; }",
     P3 + "message Money { int64 units = 1; }\nmessage Order { Money total = 2; }",
     ["FIELD_KIND_CHANGED"], ["FIELD_KIND_CHANGED", "MESSAGE_REMOVED"]),
    ("int32 to an enum", P3 + "message Order { int32 status = 1; }",
     P3 + "enum Status { NEW = 0; PAID = 1; }\nmessage Order { Status status = 1; }", [], []),
    ("enum symbol added", P3 + "enum Status { NEW = 0; }\nmessage Order { Status s = 1; }",
     P3 + "enum Status { NEW = 0; PAID = 1; }\nmessage Order { Status s = 1; }", [], []),
    ("message type renamed", P3 + "message A { int32 x = 1; }\nmessage Order { A a = 1; }",
     P3 + "message B { int32 x = 1; }\nmessage Order { B a = 1; }",
     ["MESSAGE_REMOVED", "FIELD_NAMED_TYPE_CHANGED"], ["MESSAGE_REMOVED", "FIELD_NAMED_TYPE_CHANGED"]),
    ("message removed", P3 + "message Order { int32 x = 1; }\nmessage Refund { int32 y = 1; }",
     P3 + "message Order { int32 x = 1; }", ["MESSAGE_REMOVED"], []),
    ("message added and messages reordered", P3 + "message Order { int32 x = 1; }",
     P3 + "message Refund { int32 y = 1; }\nmessage Order { int32 x = 1; }", [], ["MESSAGE_REMOVED"]),
    ("package changed", P3 + "message Order { int32 x = 1; }",
     'syntax = "proto3";\npackage billing;\nmessage Order { int32 x = 1; }',
     ["PACKAGE_CHANGED"], ["PACKAGE_CHANGED"]),
    ("singular number to repeated (proto2 labels)", P2 + "message Order { optional int32 n = 1; }",
     P2 + "message Order { repeated int32 n = 1; }",
     ["FIELD_NUMERIC_LABEL_CHANGED"], ["FIELD_NUMERIC_LABEL_CHANGED"]),
    ("singular string to repeated", P2 + "message Order { optional string tag = 1; }",
     P2 + "message Order { repeated string tag = 1; }", [], []),
    ("required field added (proto2)", P2 + "message Order { optional int32 n = 1; }",
     P2 + "message Order { optional int32 n = 1; required string id = 2; }",
     ["REQUIRED_FIELD_ADDED"], ["REQUIRED_FIELD_REMOVED"]),
    ("new field into a new oneof", P3 + "message Order { int32 a = 1; }",
     P3 + "message Order { int32 a = 1; oneof payment { string card = 2; string iban = 3; } }", [], []),
    ("existing field moved into a new oneof", P3 + "message Order { int32 a = 1; string card = 2; }",
     P3 + "message Order { int32 a = 1; oneof payment { string card = 2; } }",
     [], []),
    ("two independent fields moved into one oneof",
     P3 + "message Order { string card = 2; string iban = 3; }",
     P3 + "message Order { oneof payment { string card = 2; string iban = 3; } }",
     ["MULTIPLE_FIELDS_MOVED_TO_ONEOF"], []),
    ("field moved into an existing oneof",
     P3 + "message Order { string iban = 3; oneof payment { string card = 2; } }",
     P3 + "message Order { oneof payment { string card = 2; string iban = 3; } }",
     ["FIELD_MOVED_TO_EXISTING_ONEOF"], []),
    ("oneof field removed",
     P3 + "message Order { oneof payment { string card = 2; string iban = 3; } }",
     P3 + "message Order { oneof payment { string card = 2; } }",
     ["ONEOF_FIELD_REMOVED"], []),
    ("oneof renamed", P3 + "message Order { oneof pay { string card = 2; } }",
     P3 + "message Order { oneof payment { string card = 2; } }", [], []),
    ("proto3 optional added (no real oneof)", P3 + "message Order { int32 n = 1; }",
     P3 + "message Order { optional int32 n = 1; }", [], []),
    ("field in a nested message changes type",
     P3 + "message Order { message Line { int32 qty = 1; } Line line = 1; }",
     P3 + "message Order { message Line { string qty = 1; } Line line = 1; }",
     ["FIELD_NAMED_TYPE_CHANGED", "FIELD_SCALAR_KIND_CHANGED"],
     ["FIELD_NAMED_TYPE_CHANGED", "FIELD_SCALAR_KIND_CHANGED"]),
    ("map value widened", P3 + "message Order { map<string, int32> qty = 1; }",
     P3 + "message Order { map<string, int64> qty = 1; }", [], []),
    ("map value changed kind", P3 + "message Order { map<string, int32> qty = 1; }",
     P3 + "message Order { map<string, string> qty = 1; }",
     ["FIELD_SCALAR_KIND_CHANGED"], ["FIELD_SCALAR_KIND_CHANGED"]),
]


def _incompatible_types(new_text: str, old_text: str) -> list[str]:
    old, new = parse(old_text, {}), parse(new_text, {})
    return sorted(d.type for d in protobuf_compatibility.differences(old, new) if not d.compatible)


@pytest.mark.parametrize("case, old, new, backward, forward", CASES, ids=[c[0] for c in CASES])
def test_confluent_verdicts_backward_and_forward(case, old, new, backward, forward):
    assert _incompatible_types(new, old) == sorted(backward)
    assert _incompatible_types(old, new) == sorted(forward)
    old_schema, new_schema = parse(old, {}), parse(new, {})
    assert (new_schema.backward_errors(old_schema) == []) == (not backward)
    assert (old_schema.backward_errors(new_schema) == []) == (not forward)


def test_reasons_name_the_difference_and_its_path():
    old = parse(P3 + "message Order { int64 amount = 2; }", {})
    new = parse(P3 + "message Order { string amount = 2; }", {})
    (reason,) = new.backward_errors(old)
    assert 'errorType:"FIELD_SCALAR_KIND_CHANGED"' in reason
    assert "'#/Order/2'" in reason


def test_compatible_differences_are_listed_too():
    old = parse(P3 + "message Order { int32 a = 1; }", {})
    new = parse(P3 + "message Order { int32 b = 1; int64 c = 2; }", {})
    found = [str(d) for d in protobuf_compatibility.differences(old, new)]
    assert found == ["FIELD_NAME_CHANGED #/Order/1", "FIELD_ADDED #/Order/2"]


LIB_V1 = 'syntax = "proto3";\npackage lib;\nmessage Money { int64 units = 1; }'
LIB_V2 = 'syntax = "proto3";\npackage lib;\nmessage Money { string units = 1; }'
ORDER = P3 + 'import "lib/money.proto";\nmessage Order { lib.Money total = 1; }'


def test_an_imported_type_that_changed_incompatibly_breaks_the_field():
    old = parse(ORDER, {"lib/money.proto": LIB_V1})
    new = parse(ORDER, {"lib/money.proto": LIB_V2})
    found = {str(d) for d in protobuf_compatibility.differences(old, new)}
    assert "FIELD_SCALAR_KIND_CHANGED #/Money/1" in found
    assert "FIELD_NAMED_TYPE_CHANGED #/Order/1" in found
    assert new.backward_errors(old)


def test_moving_a_message_into_an_import_removes_it_from_the_file():
    old = parse(P3 + "message Money { int64 units = 1; }\nmessage Order { Money total = 1; }", {})
    moved = 'syntax = "proto3";\npackage shop;\nmessage Money { int64 units = 1; }'
    new = parse(P3 + 'import "money.proto";\nmessage Order { Money total = 1; }', {"money.proto": moved})
    assert [d.type for d in protobuf_compatibility.differences(old, new) if not d.compatible] == [
        "MESSAGE_REMOVED"]
    back = {str(d) for d in protobuf_compatibility.differences(new, old)}
    assert back == {"MESSAGE_ADDED #/Money", "MESSAGE_MOVED #/Order"}


def test_recursive_messages_compare_without_looping():
    tree = P3 + "message Node { int32 value = 1; repeated Node children = 2; }"
    wider = P3 + "message Node { int64 value = 1; repeated Node children = 2; string label = 3; }"
    assert parse(wider, {}).backward_errors(parse(tree, {})) == []

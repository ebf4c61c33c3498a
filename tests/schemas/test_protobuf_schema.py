"""Parsing Protobuf schemas: ``.proto`` text, serialized descriptors, imports, round trips."""

from __future__ import annotations

import base64

import pytest
from confluent_kafka.schema_registry.common.protobuf import _init_pool, _schema_to_str, _str_to_proto
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, struct_pb2, timestamp_pb2

from minikafka.schemas.base import InvalidSchemaError, SchemaType
from minikafka.schemas.protobuf import is_serialized, parse

ORDER_V1 = """
syntax = "proto3";
package shop;

import "google/protobuf/timestamp.proto";

// An order as the shop writes it.
message Order {
  string id = 1;
  int32 quantity = 2;
  string note = 3;
  google.protobuf.Timestamp placed_at = 4;
  Status status = 5;
  message Line { string sku = 1; }
  repeated Line lines = 6;
  map<string, string> labels = 7;
}

enum Status { NEW = 0; PAID = 1; }

message Refund { string order_id = 1; }
"""

# A compatible evolution: wider quantity, renamed and retyped note, one more field.
ORDER_V2 = """
syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";
message Order {
  string id = 1;
  int64 quantity = 2;
  bytes comment = 3;
  google.protobuf.Timestamp placed_at = 4;
  Status status = 5;
  message Line { string sku = 1; int32 count = 2; }
  repeated Line lines = 6;
  map<string, string> labels = 7;
  double discount = 8;
}
enum Status { NEW = 0; PAID = 1; REFUNDED = 2; }
message Refund { string order_id = 1; }
"""


def message_class(schema, full_name: str):
    pool = descriptor_pool.DescriptorPool()
    for file in schema.file_descriptor_set().file:
        pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(full_name))


def test_text_parses_into_a_descriptor():
    schema = parse(ORDER_V1, {})
    assert schema.schema_type is SchemaType.PROTOBUF
    assert schema.record_names() == ["shop.Order", "shop.Refund"]
    assert schema.file.package == "shop"
    assert list(schema.imports) == ["google/protobuf/timestamp.proto"]


def test_comments_and_whitespace_do_not_change_the_canonical_form():
    squeezed = " ".join(line for line in ORDER_V1.splitlines() if not line.strip().startswith("//"))
    assert parse(squeezed, {}).canonical == parse(ORDER_V1, {}).canonical


def test_the_canonical_form_is_printed_proto_text_that_parses_back():
    schema = parse(ORDER_V1, {})
    assert not is_serialized(schema.canonical)
    assert schema.formatted(None) == schema.canonical
    assert schema.formatted("bogus") == schema.canonical  # unknown formats: the canonical text, as Confluent
    again = parse(schema.canonical, {})
    assert again == schema and again.file == schema.file
    assert parse(schema.formatted("serialized"), {}) == schema


def test_the_printed_layout():
    schema = parse('syntax = "proto3";\npackage shop;\n// comment\nmessage Order {\n'
                   "  oneof payment { string card = 2; string iban = 3; }\n"
                   "  map<string, int64> totals = 4; optional string note = 5; string id = 1;\n"
                   "  reserved 9, 11 to 20; reserved \"old\";\n}\n", {})
    assert schema.canonical == "\n".join([
        'syntax = "proto3";',
        "package shop;",
        "message Order {",
        "  oneof payment {",
        "    string card = 2;",
        "    string iban = 3;",
        "  }",
        "  map<string, int64> totals = 4;",
        "  optional string note = 5;",
        "  string id = 1;",
        "  reserved 9, 11 to 20;",
        '  reserved "old";',
        "}",
        "",
    ])


def test_a_file_the_printer_cannot_write_keeps_the_serialized_form():
    # descriptor.proto carries message-valued options (editions features): not printed.
    schema = parse(_schema_to_str(descriptor_pb2.DESCRIPTOR), {})
    assert is_serialized(schema.canonical)
    assert parse(schema.canonical, {}) == schema


def test_proto2_defaults_extensions_and_services_print_and_parse_back():
    text = """
    syntax = "proto2";
    package legacy;
    option java_package = "com.example.legacy";
    message Item {
      optional string name = 1 [default = "a \\"quoted\\" name"];
      optional bytes raw = 2 [default = "\\001\\377"];
      optional int32 count = 3 [default = -5, deprecated = true];
      repeated int32 codes = 4 [packed = true];
      required Kind kind = 5 [default = SMALL];
      extensions 100 to max;
    }
    enum Kind { SMALL = 1; LARGE = 2; reserved 5 to 9; }
    extend Item { optional string tag = 100; }
    service Catalog { rpc Find (Item) returns (stream Item); }
    """
    schema = parse(text, {})
    assert not is_serialized(schema.canonical)
    assert parse(schema.canonical, {}).file == schema.file


def test_serialized_format_is_what_confluent_kafka_deserializers_read():
    schema = parse(ORDER_V1, {})
    proto = _str_to_proto("order.proto", schema.formatted("serialized"))
    assert [m.name for m in proto.message_type] == ["Order", "Refund"]
    assert proto.dependency == ["google/protobuf/timestamp.proto"]
    # As confluent-kafka's deserializer builds its pool: well-known files first, then the writer's.
    pool = descriptor_pool.DescriptorPool()
    _init_pool(pool)
    pool.Add(proto)
    order = message_factory.GetMessageClass(pool.FindMessageTypeByName("shop.Order"))
    assert order(id="o-1").placed_at.seconds == 0


def test_a_descriptor_registered_by_confluent_kafkas_serializer_parses():
    # confluent-kafka's ProtobufSerializer registers a generated class's file as base64.
    text = _schema_to_str(struct_pb2.DESCRIPTOR)
    schema = parse(text, {})
    assert schema.record_names() == ["google.protobuf.Struct", "google.protobuf.Value",
                                     "google.protobuf.ListValue"]
    assert schema == parse(schema.formatted("serialized"), {})


def test_the_same_file_as_text_or_descriptor_is_one_schema():
    from_text = parse(ORDER_V1, {})
    cls = message_class(from_text, "shop.Order")
    from_descriptor = parse(_schema_to_str(cls.DESCRIPTOR.file), {})
    assert from_descriptor.canonical == from_text.canonical


def test_imports_are_references_in_either_spelling():
    money = 'syntax = "proto3";\npackage lib;\nmessage Money { int64 units = 1; string currency = 2; }'
    order = 'syntax = "proto3";\npackage shop;\nimport "lib/money.proto";\nmessage Order { lib.Money total = 1; }'
    as_text = parse(order, {"lib/money.proto": money})
    as_descriptor = parse(order, {"lib/money.proto": parse(money, {}).formatted("serialized")})
    assert as_text == as_descriptor
    assert list(as_text.imports) == ["lib/money.proto"]
    descriptor_main = parse(as_text.formatted("serialized"), {"lib/money.proto": money})
    assert descriptor_main == as_text
    total = message_class(as_text, "shop.Order")(total={"units": 5, "currency": "EUR"})
    assert total.total.units == 5


def test_well_known_types_need_no_reference():
    schema = parse(_schema_to_str(timestamp_pb2.DESCRIPTOR), {})
    assert schema.record_names() == ["google.protobuf.Timestamp"]
    wrapped = parse('syntax = "proto3"; import "google/protobuf/wrappers.proto";'
                    " message M { google.protobuf.Int64Value v = 1; }", {})
    assert "google/protobuf/wrappers.proto" in wrapped.imports


@pytest.mark.parametrize("text, references, words", [
    ("", {}, "empty"),
    ('syntax = "proto3"; message A { int32 x = 1 }', {}, 'Expected ";"'),
    ('syntax = "proto3"; message A { Missing x = 1; }', {}, "Missing"),
    ('syntax = "proto3"; import "nowhere.proto"; message A {}', {}, "nowhere.proto"),
    ('syntax = "proto3"; message A { int32 x = 1; int64 y = 1; }', {}, "has already been used"),
    ('syntax = "proto3"; message A {}', {"../escape.proto": 'syntax = "proto3";'}, "reference name"),
])
def test_invalid_schemas_are_refused(text, references, words):
    with pytest.raises(InvalidSchemaError) as raised:
        parse(text, references)
    assert words in str(raised.value)


def test_a_serialized_descriptor_naming_an_unknown_type_is_refused():
    file = descriptor_pb2.FileDescriptorProto(name="x.proto", package="p", syntax="proto3")
    message = file.message_type.add(name="M")
    message.field.add(name="f", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
                      label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL, type_name=".p.Nope")
    with pytest.raises(InvalidSchemaError) as raised:
        parse(base64.b64encode(file.SerializeToString()).decode(), {})
    assert "p.Nope" in str(raised.value)


def test_a_compatible_evolution_reads_old_bytes():
    old, new = parse(ORDER_V1, {}), parse(ORDER_V2, {})
    assert new.backward_errors(old) == []
    OldOrder, NewOrder = message_class(old, "shop.Order"), message_class(new, "shop.Order")
    written = OldOrder(id="o-1", quantity=-7, note="fragile", status=1,
                       lines=[{"sku": "A"}, {"sku": "B"}], labels={"k": "v"})
    written.placed_at.seconds = 1_700_000_000
    read = NewOrder.FromString(written.SerializeToString())
    assert (read.id, read.quantity, read.comment) == ("o-1", -7, b"fragile")
    assert read.placed_at.seconds == 1_700_000_000
    assert read.status == 1 and [line.sku for line in read.lines] == ["A", "B"]
    assert dict(read.labels) == {"k": "v"} and read.discount == 0.0


def test_an_incompatible_evolution_misreads_old_bytes():
    old = parse('syntax = "proto3"; message M { int32 n = 1; }', {})
    new = parse('syntax = "proto3"; message M { sint32 n = 1; }', {})
    assert new.backward_errors(old)
    written = message_class(old, "M")(n=3)
    assert message_class(new, "M").FromString(written.SerializeToString()).n != 3

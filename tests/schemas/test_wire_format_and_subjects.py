"""The registry's wire format and the subject name strategies."""

import pytest

from minikafka.schemas import subject_names, wire_format


def test_pack_and_split():
    payload = wire_format.pack(258, b"avro")
    assert payload == b"\x00\x00\x00\x01\x02avro"
    assert wire_format.split(payload) == (258, b"avro")
    assert wire_format.split(bytearray(b"\x00\x00\x00\x00\x07")) == (7, b"")


def test_schema_id_reads_the_header_only():
    assert wire_format.schema_id(wire_format.pack(258, b"x" * 1000)) == 258
    assert wire_format.schema_id(memoryview(b"\x00\xff\xff\xff\xfe")) == -2  # a signed int32, as Java's
    for payload in (None, b"", b"\x00\x00\x00\x01", b"\x01\x00\x00\x00\x01x"):
        assert wire_format.schema_id(payload) is None


@pytest.mark.parametrize(
    ("payload", "reason"),
    [(None, "null"), (b"", "too short"), (b"\x00\x00\x00\x01", "too short"), (b"\x01\x00\x00\x00\x01x", "magic")],
)
def test_split_refuses_what_is_not_the_wire_format(payload, reason):
    with pytest.raises(ValueError, match=reason):
        wire_format.split(payload)


def test_topic_name_strategy_is_the_default():
    assert subject_names.DEFAULT_STRATEGY == "io.confluent.kafka.serializers.subject.TopicNameStrategy"
    assert subject_names.subject_name(subject_names.DEFAULT_STRATEGY, "orders", is_key=False) == "orders-value"
    assert subject_names.subject_name("TopicNameStrategy", "orders", is_key=True) == "orders-key"
    assert not subject_names.uses_record_name("TopicNameStrategy")


def test_record_name_strategies():
    record = "io.confluent.kafka.serializers.subject.RecordNameStrategy"
    topic_record = "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy"
    assert subject_names.subject_name(record, "orders", False, "com.acme.Order") == "com.acme.Order"
    assert subject_names.subject_name(topic_record, "orders", True, "com.acme.Order") == "orders-com.acme.Order"
    assert subject_names.uses_record_name(record) and subject_names.uses_record_name(topic_record)
    with pytest.raises(ValueError, match="record"):
        subject_names.subject_name(record, "orders", False)


def test_unknown_strategy():
    with pytest.raises(ValueError, match="unknown subject name strategy"):
        subject_names.strategy_class("com.example.MyStrategy")

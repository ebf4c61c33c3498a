"""The generic codec and framing, on small declarations written here."""

import pytest

from minikafka.protocol import codec, framing
from minikafka.protocol.codec import DecodeError, EncodeError, InvalidVersionError, Struct
from minikafka.protocol.schema import Field, Message

ALL_TYPES = Message(
    "AllTypesRequest", 1000, "request", valid_versions="0-1", flexible_versions="1+",
    fields=[
        Field("b", "bool"), Field("i8", "int8"), Field("i16", "int16"),
        Field("i32", "int32"), Field("i64", "int64"), Field("u16", "uint16"),
        Field("u32", "uint32"), Field("f64", "float64"), Field("s", "string"),
        Field("ns", "string", nullable="0+"), Field("by", "bytes"),
        Field("id", "uuid"), Field("ints", "[]int32"), Field("strs", "[]string"),
        Field("recs", "records", nullable="0+"),
    ],
)

ALL_VALUES = dict(b=True, i8=-8, i16=-16, i32=-32, i64=-64, u16=16, u32=32, f64=0.5,
                  s="s", ns=None, by=b"\x01\x02", id=bytes(range(16)), ints=[1, -1],
                  strs=["a", ""], recs=b"RECS")

V0_BYTES = (b"\x01" b"\xf8" b"\xff\xf0" b"\xff\xff\xff\xe0" + b"\xff" * 7 + b"\xc0"
            b"\x00\x10" b"\x00\x00\x00\x20" b"\x3f\xe0" + b"\x00" * 6 +
            b"\x00\x01s" b"\xff\xff" b"\x00\x00\x00\x02\x01\x02" + bytes(range(16)) +
            b"\x00\x00\x00\x02\x00\x00\x00\x01\xff\xff\xff\xff"
            b"\x00\x00\x00\x02\x00\x01a\x00\x00" b"\x00\x00\x00\x04RECS")

V1_BYTES = (b"\x01" b"\xf8" b"\xff\xf0" b"\xff\xff\xff\xe0" + b"\xff" * 7 + b"\xc0"
            b"\x00\x10" b"\x00\x00\x00\x20" b"\x3f\xe0" + b"\x00" * 6 +
            b"\x02s" b"\x00" b"\x03\x01\x02" + bytes(range(16)) +
            b"\x03\x00\x00\x00\x01\xff\xff\xff\xff"
            b"\x03\x02a\x01" b"\x05RECS" b"\x00")


@pytest.mark.parametrize("version, raw", [(0, V0_BYTES), (1, V1_BYTES)])
def test_every_type_regular_and_compact(version, raw):
    assert ALL_TYPES.encode(ALL_VALUES, version) == raw
    decoded = ALL_TYPES.decode(raw, version, strict=True)
    assert decoded == Struct(**ALL_VALUES)
    assert decoded.i64 == -64 and decoded.ns is None
    assert ALL_TYPES.encode(decoded, version) == raw


def test_records_decode_is_zero_copy():
    raw = bytearray(ALL_TYPES.encode(ALL_VALUES, 1))
    decoded = ALL_TYPES.decode(raw, 1)
    assert isinstance(decoded.recs, memoryview)
    assert decoded.recs.obj is raw  # a slice of the input, not a copy
    raw[-5] = ord("X")
    assert bytes(decoded.recs) == b"XECS"


def test_records_encode_from_any_bytes_like_and_none():
    for value in (b"RECS", bytearray(b"RECS"), memoryview(b"..RECS")[2:]):
        assert ALL_TYPES.encode({**ALL_VALUES, "recs": value}, 0) == V0_BYTES
    assert ALL_TYPES.decode(ALL_TYPES.encode({**ALL_VALUES, "recs": None}, 1), 1).recs is None


def test_big_records_are_not_copied_twice():
    big = b"x" * (4 << 20)
    frame = ALL_TYPES.encode({**ALL_VALUES, "recs": big}, 1)
    assert ALL_TYPES.decode(frame, 1).recs == big


VERSIONED = Message(
    "VersionedRequest", 1001, "request", valid_versions="0-3", flexible_versions="3+",
    fields=[
        Field("name", "string", "0+", nullable="2+"),
        Field("added_in_v1", "int32", "1+", default=-1),
        Field("removed_after_v1", "int16", "0-1"),
        Field("topics", "[]Topic", "0+", nullable="2+", fields=[
            Field("topic", "string", "0+"),
            Field("partitions", "[]Partition", "0+", fields=[
                Field("index", "int32", "0+"),
                Field("leader", "int32", "1+", default=-1),
            ]),
        ]),
        Field("leader", "Leader", "2+", nullable="3+", fields=[
            Field("id", "int32", "0+", default=-1),
            Field("epoch", "int32", "0+", default=-1),
        ]),
        Field("throttle_ms", "int32", "3+", tag=0, default=0),
        Field("hint", "string", "3+", tag=5, nullable="3+", default=None),
        Field("nested", "Nested", "3+", tag=2, fields=[
            Field("x", "int8", "0+"),
        ]),
    ],
)


def test_fields_absent_from_a_version_decode_as_default():
    raw = VERSIONED.encode({"name": "n", "added_in_v1": 9, "topics": []}, 0)
    assert raw == b"\x00\x01n" b"\x00\x00" b"\x00\x00\x00\x00"  # added_in_v1 dropped
    decoded = VERSIONED.decode(raw, 0)
    assert decoded.added_in_v1 == -1
    assert decoded.leader == Struct(id=-1, epoch=-1)
    assert decoded.throttle_ms == 0 and decoded.hint is None
    assert decoded.nested == Struct(x=0)
    assert list(vars(decoded)) == [f.name for f in VERSIONED.fields]  # declaration order


def test_missing_fields_take_their_default():
    assert VERSIONED.decode(VERSIONED.encode({}, 1), 1) == Struct(
        name="", added_in_v1=-1, removed_after_v1=0, topics=[],
        leader=Struct(id=-1, epoch=-1), throttle_ms=0, hint=None, nested=Struct(x=0))


def test_default_structs_and_lists_are_not_shared():
    a = VERSIONED.decode(VERSIONED.encode({}, 0), 0)
    b = VERSIONED.decode(VERSIONED.encode({}, 0), 0)
    a.leader.id = 5
    a.topics.append(1)
    assert b.leader.id == -1 and b.topics == []


def test_nested_arrays_of_structs_per_version():
    value = {"name": "n", "topics": [
        {"topic": "t", "partitions": [{"index": 0, "leader": 3}, {"index": 1}]}]}
    v0 = VERSIONED.decode(VERSIONED.encode(value, 0), 0)
    assert [p.leader for p in v0.topics[0].partitions] == [-1, -1]
    v1 = VERSIONED.decode(VERSIONED.encode(value, 1), 1)
    assert [p.leader for p in v1.topics[0].partitions] == [3, -1]
    assert v1.topics[0].partitions[0] == Struct(index=0, leader=3)
    # Structs and dicts mix freely on encode.
    mixed = {"name": "n", "topics": [Struct(topic="t", partitions=[{"index": 0, "leader": 3},
                                                                      Struct(index=1)])]}
    assert VERSIONED.encode(mixed, 1) == VERSIONED.encode(value, 1)


def test_nullable_only_in_some_versions():
    assert VERSIONED.decode(VERSIONED.encode({"name": None, "topics": None}, 2), 2).name is None
    with pytest.raises(EncodeError, match=r"VersionedRequest\.name is None but not nullable"):
        VERSIONED.encode({"name": None}, 1)
    with pytest.raises(EncodeError, match="topics"):
        VERSIONED.encode({"topics": None}, 1)
    with pytest.raises(DecodeError, match="not nullable"):
        VERSIONED.decode(b"\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00", 1)


def test_nullable_struct_has_a_presence_byte():
    flexible = VERSIONED.encode({"leader": None}, 3)
    present = VERSIONED.encode({"leader": {"id": 1, "epoch": 2}}, 3)
    assert VERSIONED.decode(flexible, 3).leader is None
    assert VERSIONED.decode(present, 3).leader == Struct(id=1, epoch=2)
    # name, added_in_v1, topics, then the leader: marker -1 or 1 + two int32.
    assert flexible == b"\x01" b"\xff\xff\xff\xff" b"\x01" b"\xff" b"\x00"
    assert present == b"\x01" b"\xff\xff\xff\xff" b"\x01" b"\x01" + \
        b"\x00\x00\x00\x01\x00\x00\x00\x02" b"\x00" b"\x00"
    with pytest.raises(EncodeError):  # not nullable in v2: no marker there
        VERSIONED.encode({"leader": None}, 2)


def test_tagged_fields_only_when_not_default():
    base = VERSIONED.encode({}, 3)
    assert base.endswith(b"\x00")  # empty tagged-field section
    assert VERSIONED.encode({"throttle_ms": 0, "hint": None, "nested": {"x": 0}}, 3) == base
    raw = VERSIONED.encode({"throttle_ms": 7, "hint": "h", "nested": {"x": 1}}, 3)
    # Written in tag order: 0 (throttle_ms), 2 (nested + its own empty tags), 5 (hint).
    assert raw == base[:-1] + (b"\x03" b"\x00\x04\x00\x00\x00\x07"
                              b"\x02\x02\x01\x00" b"\x05\x02\x02h")
    decoded = VERSIONED.decode(raw, 3)
    assert (decoded.throttle_ms, decoded.hint, decoded.nested) == (7, "h", Struct(x=1))


def test_unknown_tags_are_skipped():
    base = VERSIONED.encode({}, 3)
    # Tag 0 (throttle_ms) and tag 9, which the declaration does not know.
    with_unknown = base[:-1] + b"\x02" b"\x00\x04\x00\x00\x00\x07" b"\x09\x03abc"
    decoded = VERSIONED.decode(with_unknown, 3)
    assert decoded.throttle_ms == 7
    assert not hasattr(decoded, "tag_9")


def test_tagged_fields_not_written_in_non_flexible_versions():
    assert VERSIONED.encode({"throttle_ms": 7}, 2) == VERSIONED.encode({}, 2)


def test_fields_not_in_version_are_ignored_on_encode():
    assert VERSIONED.encode({"removed_after_v1": 5}, 2) == VERSIONED.encode({}, 2)


def test_invalid_version_is_a_clear_error():
    with pytest.raises(InvalidVersionError, match=r"no version 4 \(valid versions: 0-3\)"):
        VERSIONED.encode({}, 4)
    with pytest.raises(InvalidVersionError):
        VERSIONED.decode(b"", 7)


def test_wrong_types_name_the_field():
    with pytest.raises(EncodeError, match=r"topics\.topic"):
        VERSIONED.encode({"topics": [{"topic": 5}]}, 1)
    with pytest.raises(EncodeError, match="added_in_v1"):
        VERSIONED.encode({"added_in_v1": 2**40}, 1)


def test_truncated_and_trailing_bytes_are_decode_errors():
    raw = VERSIONED.encode({"name": "abc"}, 1)
    for cut in range(len(raw)):
        with pytest.raises(DecodeError):
            VERSIONED.decode(raw[:cut], 1)
    with pytest.raises(DecodeError, match="unexpected bytes"):
        VERSIONED.decode(raw + b"\x00", 1, strict=True)
    # Like Kafka, trailing bytes are ignored by default (see test_golden.py).
    assert VERSIONED.decode(raw + b"\x00", 1) == VERSIONED.decode(raw, 1)
    assert isinstance(DecodeError("x"), ValueError)


def test_kafka_style_string_defaults_are_coerced():
    message = Message("D", None, "data", "0", "0+", fields=[
        Field("a", "int64", "1+", default="-1"), Field("b", "bool", "1+", default="true"),
        Field("c", "string", "1+", nullable="0+", default="null")])
    assert message.decode(b"\x00", 0) == Struct(a=-1, b=True, c=None)


def test_struct_basics():
    s = Struct(a=1, b=[Struct(c=memoryview(b"xy"))])
    assert s == Struct(a=1, b=[Struct(c=b"xy")])
    assert s != Struct(a=2, b=[])
    assert "a=1" in repr(s) and "<memoryview 2 bytes>" in repr(s)
    assert codec.as_dict(s) == {"a": 1, "b": [{"c": memoryview(b"xy")}]}
    with pytest.raises(TypeError):
        hash(s)


# --- framing ----------------------------------------------------------------

ECHO_REQUEST = Message("EchoRequest", 7, "request", "0-3", "2+",
                       fields=[Field("text", "string", "0+")])
ECHO_RESPONSE = Message("EchoResponse", 7, "response", "0-3", "2+",
                        fields=[Field("text", "string", "0+")])
API_VERSIONS_REQUEST = Message("ApiVersionsRequest", 18, "request", "0-4", "3+", fields=[])
API_VERSIONS_RESPONSE = Message("ApiVersionsResponse", 18, "response", "0-4", "3+",
                                fields=[Field("error_code", "int16", "0+")])
REQUESTS = {7: ECHO_REQUEST, 18: API_VERSIONS_REQUEST}
RESPONSES = {7: ECHO_RESPONSE, 18: API_VERSIONS_RESPONSE}


@pytest.mark.parametrize("version, header_bytes", [
    (0, b"\x00\x07\x00\x00\x00\x00\x00\x2a"),  # ControlledShutdown v0 quirk: header v0
    (1, b"\x00\x07\x00\x01\x00\x00\x00\x2a\x00\x03cli"),  # v1: int16-length client id
    (2, b"\x00\x07\x00\x02\x00\x00\x00\x2a\x00\x03cli\x00"),  # v2: still int16! + tags
])
def test_request_header_versions(version, header_bytes):
    frame = framing.encode_request(7, version, 42, "cli", {"text": "hi"}, requests=REQUESTS)
    body = ECHO_REQUEST.encode({"text": "hi"}, version)
    assert frame[4:] == header_bytes + body
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    header, offset = framing.read_request_header(frame[4:], requests=REQUESTS)
    assert (header.request_api_key, header.request_api_version, header.correlation_id) == \
        (7, version, 42)
    assert header.client_id == ("cli" if version else None)
    assert offset == len(header_bytes)
    decoded = ECHO_REQUEST.decode(frame[4 + offset:], version)
    assert decoded.text == "hi"


def test_null_client_id():
    frame = framing.encode_request(7, 2, 1, None, {"text": ""}, requests=REQUESTS)
    assert frame[4:15] == b"\x00\x07\x00\x02\x00\x00\x00\x01\xff\xff\x00"
    header, _ = framing.read_request_header(frame[4:], requests=REQUESTS)
    assert header.client_id is None


def test_unknown_api_and_unsupported_version():
    with pytest.raises(framing.UnknownApiError) as info:
        framing.read_request_header(b"\x00\x63\x00\x00\x00\x00\x00\x05", requests=REQUESTS)
    assert (info.value.api_key, info.value.correlation_id) == (99, 5)
    with pytest.raises(framing.UnsupportedVersionError) as info:
        framing.read_request_header(b"\x00\x12\x00\x09\x00\x00\x00\x06\x00\x00",
                                    requests=REQUESTS)
    assert (info.value.api_key, info.value.api_version, info.value.correlation_id) == (18, 9, 6)
    with pytest.raises(DecodeError):
        framing.read_request_header(b"\x00\x07\x00", requests=REQUESTS)
    with pytest.raises(DecodeError):  # v1 header cut inside the client id
        framing.read_request_header(b"\x00\x07\x00\x01\x00\x00\x00\x06\x00\x09ab",
                                    requests=REQUESTS)


def test_response_header_versions():
    flexible = framing.encode_response(7, 2, 9, {"text": "x"}, responses=RESPONSES)
    assert flexible == b"\x00\x00\x00\x08" b"\x00\x00\x00\x09" b"\x00" b"\x02x" b"\x00"
    old = framing.encode_response(7, 1, 9, {"text": "x"}, responses=RESPONSES)
    assert old == b"\x00\x00\x00\x07" b"\x00\x00\x00\x09" b"\x00\x01x"
    # ApiVersions always uses response header v0, even in flexible versions.
    api_versions = framing.encode_response(18, 3, 9, {}, responses=RESPONSES)
    assert api_versions == b"\x00\x00\x00\x07" b"\x00\x00\x00\x09" b"\x00\x00" b"\x00"
    assert framing.read_response(flexible[4:], 7, 2, responses=RESPONSES) == (9, Struct(text="x"))
    assert framing.read_response(api_versions[4:], 18, 3, responses=RESPONSES) == \
        (9, Struct(error_code=0))


def test_pre_encoded_body():
    body = ECHO_RESPONSE.encode({"text": "x"}, 2)
    assert framing.encode_response(7, 2, 9, body, responses=RESPONSES) == \
        framing.encode_response(7, 2, 9, {"text": "x"}, responses=RESPONSES)


def test_frame_reader_reassembles_frames_from_any_chunks():
    frames = [framing.encode_request(7, 1, i, "c", {"text": "x" * i}, requests=REQUESTS)
              for i in range(20)]
    stream = b"".join(frames)
    reader = framing.FrameReader(max_bytes=1000)
    got = []
    for start in range(0, len(stream), 7):
        reader.receive_data(stream[start:start + 7])
        got.extend(reader.frames())
    assert got == [f[4:] for f in frames]
    assert reader.buffered_bytes == 0
    assert reader.next_frame() is None


def test_frame_size_limits():
    assert framing.frame_size(b"\x00\x00") is None
    assert framing.frame_size(b"\x00\x00\x00\x05") == 5
    with pytest.raises(framing.InvalidFrameSizeError):
        framing.frame_size(b"\xff\xff\xff\xff")
    with pytest.raises(framing.FrameTooLargeError) as info:
        framing.frame_size(b"\x00\x10\x00\x00", max_bytes=1024)
    assert (info.value.size, info.value.max_bytes) == (1 << 20, 1024)
    reader = framing.FrameReader(max_bytes=10)
    reader.receive_data(b"\x00\x00\x00\x0b")  # rejected before the body arrives
    with pytest.raises(framing.FrameTooLargeError):
        reader.next_frame()

"""minikafka_core.records: encode -> decode round trips, and compiled == pure.

Random records (null and empty keys/values, headers with null values,
timestamps anywhere in int64, offsets with gaps), all codecs and control
batches go through ``build_batch`` and come back equal from ``read_batches``.
The uncompiled source of the same module, loaded beside the compiled one,
must write the same bytes and read the same records.
"""

import importlib.util
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minikafka_core
from minikafka_core import records as core
from minikafka_core.batch import validate_batches

_SOURCE = os.path.join(os.path.dirname(minikafka_core.__file__), "records.py")
_spec = importlib.util.spec_from_file_location("minikafka_core_records_pure", _SOURCE)
pure = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pure)

INT64 = st.integers(-(2**63), 2**63 - 1)
nullable_bytes = st.one_of(st.none(), st.binary(max_size=300))
headers = st.lists(st.tuples(st.text(max_size=20), nullable_bytes), max_size=4)


@st.composite
def record_lists(draw):
    """Records in offset order, with gaps (as compaction leaves them)."""
    base_timestamp = draw(st.integers(0, 2**62))
    count = draw(st.integers(1, 12))
    offset, out = 0, []
    for _ in range(count):
        offset += draw(st.integers(0, 3))
        timestamp = base_timestamp + draw(st.integers(-(2**40), 2**40))
        out.append((offset, timestamp, draw(nullable_bytes), draw(nullable_bytes), draw(headers)))
        offset += 1
    return out


def build(module, fields, **kwargs) -> bytes:
    return module.build_batch([module.Record(*f) for f in fields], **kwargs)


def decoded(module, data: bytes) -> list[tuple]:
    return [(b.base_offset, b.record_count, b.crc_valid,
             [(r.offset, r.timestamp, r.key, r.value, r.headers) for r in b.records])
            for b in module.read_batches(data)]


def test_the_compiled_codec_is_the_one_loaded():
    if minikafka_core.PURE:
        pytest.skip("MINIKAFKA_PURE=1 asks for the uncompiled core")
    assert not core.__file__.endswith(".py")
    assert pure.__file__.endswith(".py")


@settings(max_examples=150, deadline=None)
@given(record_lists(), st.sampled_from([0, 1, 2, 3, 4]), st.integers(0, 2**40),
       st.integers(-1, 2**31 - 1))
def test_round_trip_and_compiled_equals_pure(fields, codec, base_offset, producer_id):
    kwargs = dict(base_offset=base_offset, compression=codec, producer_id=producer_id,
                  producer_epoch=0 if producer_id >= 0 else -1,
                  base_sequence=0 if producer_id >= 0 else -1)
    fields = [(base_offset + f[0],) + f[1:] for f in fields]
    data = build(core, fields, **kwargs)
    if codec == 0:  # compressors may differ between runs; their input may not
        assert build(pure, fields, **kwargs) == data
    [batch] = list(core.read_batches(data))
    assert batch.crc_valid and batch.compression == codec
    assert batch.base_offset == base_offset and batch.last_offset == fields[-1][0]
    assert [(r.offset, r.timestamp, r.key, r.value, r.headers) for r in batch.records] == \
        [(o, t, k, v, h) for o, t, k, v, h in fields]
    assert decoded(pure, data) == decoded(core, data)
    if [f[0] for f in fields] == list(range(base_offset, base_offset + len(fields))):
        validate_batches(data, 2**31 - 1, from_client=False)  # no gaps: the broker accepts it


@settings(max_examples=200, deadline=None)
@given(INT64, st.integers(-(2**31), 2**31 - 1), nullable_bytes, nullable_bytes, headers)
def test_one_record_compiled_equals_pure(timestamp_delta, offset_delta, key, value, record_headers):
    encoded = core.encode_record(offset_delta, timestamp_delta, key, value, record_headers)
    assert pure.encode_record(offset_delta, timestamp_delta, key, value, record_headers) == encoded
    for module in (core, pure):
        [record] = module.decode_records(encoded, 0, len(encoded), 10, 0, core.NO_TIMESTAMP, 1)
        assert record.offset == 10 + offset_delta
        assert (record.key, record.value, record.headers) == (key, value, record_headers)


@given(INT64)
def test_varints_agree(value):
    encoded = core.encode_varint(value)
    assert pure.encode_varint(value) == encoded and len(encoded) == core.varint_size(value)
    assert core.RecordReader(encoded, 0, len(encoded)).varlong() == value
    assert pure.RecordReader(encoded, 0, len(encoded)).varlong() == value


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(list(core.ControlRecordType)[:2]), st.integers(0, 2**40),
       st.integers(0, 2**31 - 1), st.integers(0, 2**62), st.integers(0, 2**31 - 1))
def test_control_batches_round_trip(kind, producer_id, coordinator_epoch, timestamp, base_offset):
    kwargs = dict(producer_id=producer_id, producer_epoch=3, timestamp=timestamp,
                  coordinator_epoch=coordinator_epoch, base_offset=base_offset)
    data = core.build_control_batch(kind, **kwargs)
    assert pure.build_control_batch(pure.ControlRecordType(kind), **kwargs) == data
    [batch] = list(core.read_batches(data))
    assert batch.is_control and batch.is_transactional and batch.producer_id == producer_id
    assert batch.control_records == [core.ControlRecord(0, kind, coordinator_epoch)]
    assert batch.records[0].offset == base_offset and batch.records[0].timestamp == timestamp


def test_log_append_time_reports_the_batch_timestamp():
    data = build(core, [(0, 5, b"k", b"v", []), (1, 9, None, None, [])], timestamp_type=core.LOG_APPEND_TIME)
    [batch] = list(core.read_batches(data))
    assert [r.timestamp for r in batch.records] == [9, 9]  # max_timestamp, as Kafka's iterator


def test_core_errors_carry_kafka_codes():
    data = bytearray(build(core, [(0, 5, b"k", b"v", [])]))
    data[16] = 1
    with pytest.raises(core.InvalidBatchError) as info:
        list(core.read_batches(bytes(data)))
    assert info.value.code == core.CORRUPT_MESSAGE and "magic 1" in info.value.reason
    assert isinstance(info.value, ValueError)

"""minikafka.protocol.records: build, read, and agree with real clients' codecs."""

import gzip
import struct

import crc32c
import pytest
from aiokafka.record.default_records import DefaultRecordBatchBuilder as AiokafkaBuilder
from aiokafka.record.memory_records import MemoryRecords as AiokafkaMemoryRecords
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.record.default_records import DefaultRecordBatchBuilder as KafkaPythonBuilder
from kafka.record.memory_records import MemoryRecords as KafkaPythonMemoryRecords

from minikafka.protocol import records as rec
from minikafka.protocol.records import ControlRecordType, Record, build_batch, read_batches

T0 = 1_700_000_000_000


def sample_records(base_offset=0, count=5):
    return [
        Record(
            offset=base_offset + i,
            timestamp=T0 + 3 * i,
            key=None if i == 1 else b"key-%d" % i,
            value=None if i == 2 else b"v" * (50 * i),
            headers=[("trace", b"abc"), ("empty", None)] if i == 3 else [],
        )
        for i in range(count)
    ]


# --- round trips ---------------------------------------------------------

nullable_bytes = st.one_of(st.none(), st.binary(max_size=40))
headers = st.lists(st.tuples(st.text(max_size=8), nullable_bytes), max_size=3)


@st.composite
def record_lists(draw):
    count = draw(st.integers(1, 8))
    base_timestamp = draw(st.integers(0, 2**41))
    offset = 0
    out = []
    for _ in range(count):
        offset += draw(st.integers(0, 3))  # compacted logs leave gaps
        timestamp = base_timestamp + draw(st.integers(-1000, 1000))
        out.append(Record(offset, timestamp, draw(nullable_bytes), draw(nullable_bytes), draw(headers)))
        offset += 1
    return out


@settings(max_examples=60, deadline=None)
@given(
    records=record_lists(),
    compression=st.sampled_from([0, 1, 2, 3, 4]),
    base_offset=st.integers(0, 2**40),
    base_sequence=st.integers(-1, 2**31 - 1),
)
def test_build_then_read_round_trip(records, compression, base_offset, base_sequence):
    shifted = [Record(r.offset + base_offset, r.timestamp, r.key, r.value, r.headers) for r in records]
    data = build_batch(
        shifted, base_offset=base_offset, compression=compression, producer_id=7, producer_epoch=1,
        base_sequence=base_sequence,
    )
    (batch,) = read_batches(data)
    assert batch.crc_valid
    assert batch.records == shifted
    assert batch.compression == compression
    assert batch.base_offset == base_offset
    assert batch.last_offset == shifted[-1].offset
    assert batch.base_timestamp == shifted[0].timestamp
    assert batch.max_timestamp == max(r.timestamp for r in shifted)
    assert batch.record_count == len(shifted)
    assert batch.size == len(data)
    # aiokafka, an independent reader, agrees
    their_batch = AiokafkaMemoryRecords(data).next_batch()
    assert their_batch.validate_crc()
    assert [(r.offset, r.timestamp, r.key, r.value, list(r.headers)) for r in their_batch] == [
        (r.offset, r.timestamp, r.key, r.value, r.headers) for r in shifted
    ]


# --- byte-for-byte against the clients' own builders ----------------------


def _build_with(builder_class, records, compression):
    builder = builder_class(2, compression, False, 1000, 3, 7, 1 << 20)
    for record in records:
        builder.append(record.offset, record.timestamp, record.key, record.value, record.headers)
    return bytes(builder.build())


@pytest.fixture
def gzip_mtime_zero(monkeypatch):
    """The clients' gzip writes the current time into the header; Java writes 0."""
    monkeypatch.setattr(gzip.time, "time", lambda: 0)


@pytest.mark.parametrize("compression", [0, 1])
def test_same_bytes_as_kafka_python_builder(compression, gzip_mtime_zero):
    records = sample_records()
    theirs = _build_with(KafkaPythonBuilder, records, compression)
    # kafka-python writes partition leader epoch 0 where Java writes -1;
    # its gzip level is 9 where Kafka's default is 6.
    ours = build_batch(
        records, compression=compression, producer_id=1000, producer_epoch=3, base_sequence=7,
        partition_leader_epoch=0, compression_level=9,
    )
    assert ours == theirs
    assert theirs[21:23] == struct.pack(">h", compression)  # really compressed


@pytest.mark.parametrize("compression", [0, 1])
def test_same_bytes_as_aiokafka_builder(compression, gzip_mtime_zero):
    records = sample_records()
    theirs = _build_with(AiokafkaBuilder, records, compression)
    ours = build_batch(
        records, compression=compression, producer_id=1000, producer_epoch=3, base_sequence=7,
        compression_level=9,
    )
    assert ours == theirs


def test_crc_known_vector():
    # A one-record batch computed by hand: key "k", value "v", no headers.
    record = b"\x00" + b"\x00" + b"\x00" + b"\x02k" + b"\x02v" + b"\x00"
    body = struct.pack(">hiqqqhii", 0, 0, T0, T0, -1, -1, -1, 1) + bytes([len(record) * 2]) + record
    header = struct.pack(">qiibI", 0, 4 + 1 + 4 + len(body), -1, 2, crc32c.crc32c(body))
    assert build_batch([Record(0, T0, b"k", b"v")]) == header + body


# --- reading what real clients write --------------------------------------


@pytest.mark.parametrize("compression", [0, 1, 2, 3, 4])
def test_reads_aiokafka_batches_for_every_codec(compression):
    records = sample_records(count=20)
    (batch,) = read_batches(_build_with(AiokafkaBuilder, records, compression))
    assert batch.crc_valid and batch.compression == compression
    assert batch.records == records
    assert (batch.producer_id, batch.producer_epoch, batch.base_sequence) == (1000, 3, 7)
    assert batch.last_sequence == 7 + 19


@pytest.mark.parametrize("compression", [0, 1])
def test_reads_kafka_python_batches(compression):
    records = sample_records(count=20)
    (batch,) = read_batches(_build_with(KafkaPythonBuilder, records, compression))
    assert batch.records == records


@pytest.mark.parametrize("compression", [0, 1])
def test_kafka_python_reads_our_batches(compression):
    records = sample_records()
    their_batch = KafkaPythonMemoryRecords(build_batch(records, compression=compression)).next_batch()
    assert their_batch.validate_crc()
    assert [(r.offset, r.key, r.value) for r in their_batch] == [(r.offset, r.key, r.value) for r in records]


# --- framing of several batches, partial and corrupt ones ----------------


def test_reads_consecutive_batches_and_stops_at_a_partial_one():
    first = build_batch(sample_records(0, 3))
    second = build_batch(sample_records(3, 2), base_offset=3, compression=4)
    data = first + second
    for cut in range(len(first), len(data)):
        batches = list(read_batches(data[:cut]))
        assert [b.base_offset for b in batches] == [0]
    batches = list(read_batches(memoryview(bytearray(data))))
    assert [b.position for b in batches] == [0, len(first)]
    assert [r.offset for b in batches for r in b.records] == [0, 1, 2, 3, 4]


def test_crc_mismatch_is_reported_not_raised():
    data = bytearray(build_batch(sample_records()))
    data[-1] ^= 0xFF
    (batch,) = read_batches(data)
    assert not batch.crc_valid
    assert batch.records is None


def test_decode_records_false_leaves_records_undecoded():
    (batch,) = read_batches(build_batch(sample_records()), decode_records=False)
    assert batch.crc_valid and batch.records is None and batch.record_count == 5


def test_wrong_magic_and_impossible_length_raise_value_error():
    data = bytearray(build_batch(sample_records()))
    data[16] = 1
    with pytest.raises(ValueError, match="magic 1"):
        list(read_batches(data))
    data = bytearray(build_batch(sample_records()))
    data[8:12] = struct.pack(">i", 10)
    with pytest.raises(ValueError, match="too small"):
        list(read_batches(data))


def test_record_count_mismatch_is_a_value_error():
    data = bytearray(build_batch(sample_records()))
    data[57:61] = struct.pack(">i", 4)
    data[17:21] = struct.pack(">I", crc32c.crc32c(bytes(data[21:])))
    with pytest.raises(ValueError, match="remain after"):
        list(read_batches(data))


def test_empty_batch_is_refused():
    with pytest.raises(ValueError):
        build_batch([])


# --- attributes ------------------------------------------------------------


def test_log_append_time_gives_every_record_the_max_timestamp():
    data = build_batch(sample_records(), timestamp_type=rec.LOG_APPEND_TIME)
    (batch,) = read_batches(data)
    assert batch.timestamp_type == rec.LOG_APPEND_TIME
    assert {r.timestamp for r in batch.records} == {T0 + 12}


def test_transactional_flag_and_sequence_wrap():
    data = build_batch(sample_records(), is_transactional=True, producer_id=5, producer_epoch=0,
                       base_sequence=2**31 - 2)
    (batch,) = read_batches(data)
    assert batch.is_transactional and not batch.is_control
    assert batch.last_sequence == 2  # wraps past int32 max like Kafka
    assert batch.delete_horizon_ms is None


@pytest.mark.parametrize("control_type", [ControlRecordType.ABORT, ControlRecordType.COMMIT])
def test_control_batches_decode_as_transaction_markers(control_type):
    data = rec.build_control_batch(control_type, producer_id=42, producer_epoch=3, timestamp=T0,
                                   coordinator_epoch=9, base_offset=100)
    (batch,) = read_batches(data)
    assert batch.is_control and batch.is_transactional
    assert batch.base_sequence == rec.NO_SEQUENCE
    assert batch.control_records == [rec.ControlRecord(version=0, type=control_type, coordinator_epoch=9)]
    # aiokafka recognises the marker too
    their_batch = AiokafkaMemoryRecords(data).next_batch()
    assert their_batch.is_control_batch


def test_non_control_batch_has_no_control_records():
    (batch,) = read_batches(build_batch(sample_records()))
    assert batch.control_records == []

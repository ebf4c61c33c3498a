"""Log and LogManager behaviour beyond the model test: timestamps, LogAppendTime,
retention.ms, truncation, Kafka's file formats and names."""

import os
import struct
import uuid

import crc32c
import pytest

from minikafka.errors import ErrorCode, KafkaError
from minikafka.storage import Log, LogConfig, LogManager
from minikafka.storage.checkpoints import read_offset_checkpoint, read_partition_metadata
from minikafka_core.batch import read_batch_header, validate_batches
from minikafka_core.records import build_batch_of_values as build_batch

NOW = 1_700_000_000_000


def append(log, values, timestamps=None, now_ms=NOW, **kwargs):
    data = build_batch(values, timestamps=timestamps, base_timestamp=now_ms, **kwargs)
    return log.append(data, log.validate(data, now_ms=now_ms), now_ms)


@pytest.fixture
def log(tmp_path):
    log = Log(str(tmp_path / "topic-a-0"), LogConfig(segment_bytes=400, index_interval_bytes=64), NOW)
    yield log
    log.close()


def test_append_assigns_offsets_and_patches_only_offset_and_epoch(log):
    original = build_batch([b"a", b"b"], base_timestamp=NOW, producer_id=3, producer_epoch=0, base_sequence=0)
    log.leader_epoch = 7
    first = log.append(original, log.validate(original, now_ms=NOW), NOW)
    second = log.append(original, log.validate(original, now_ms=NOW), NOW)
    assert (first.first_offset, first.last_offset, second.first_offset) == (0, 1, 2)
    assert (second.log_append_time_ms, second.max_timestamp, second.offset_of_max_timestamp) == (-1, NOW, 3)
    stored = log.read(2, 1000)
    assert stored == struct.pack(">q", 2) + original[8:12] + struct.pack(">i", 7) + original[16:]
    assert (log.topic, log.partition) == ("topic-a", 0)


def test_log_append_time_rewrites_max_timestamp_and_crc(tmp_path):
    log = Log(str(tmp_path / "t-0"), LogConfig(message_timestamp_type="LogAppendTime"), NOW)
    info = append(log, [b"x", b"y"], timestamps=[5, 6], now_ms=NOW + 99)
    assert (info.log_append_time_ms, info.max_timestamp) == (NOW + 99, NOW + 99)
    stored = log.read(0, 1000)
    header = read_batch_header(stored, 0)
    assert header.timestamp_type == 1 and header.max_timestamp == NOW + 99
    assert header.crc == crc32c.crc32c(stored[21:])
    validate_batches(stored, 10**6, from_client=False)
    assert log.offset_for_timestamp(NOW + 50) == (0, NOW + 99)
    log.close()


def test_offset_for_timestamp_and_max_timestamp(log):
    append(log, [b"a", b"b", b"c"], timestamps=[NOW + 10, NOW + 30, NOW + 20])
    for i in range(20):
        append(log, [b"x" * 30], timestamps=[NOW + 100 + i])
    assert log.offset_for_timestamp(NOW) == (0, NOW + 10)
    assert log.offset_for_timestamp(NOW + 25) == (1, NOW + 30)
    assert log.offset_for_timestamp(NOW + 110) == (13, NOW + 110)
    assert log.offset_for_timestamp(NOW + 1000) is None
    assert log.max_timestamp_and_offset() == (NOW + 119, 22)
    assert len(log.segments) > 2


def test_max_timestamp_picks_the_record_inside_the_batch(log):
    append(log, [b"a", b"b", b"c"], timestamps=[NOW + 10, NOW + 30, NOW + 20])
    assert log.max_timestamp_and_offset() == (NOW + 30, 1)


def test_read_range_errors(log):
    append(log, [b"a"])
    assert log.read(1, 100) == b""
    for offset in (-1, 2):
        with pytest.raises(KafkaError) as info:
            log.read(offset, 100)
        assert info.value.code == ErrorCode.OFFSET_OUT_OF_RANGE


def test_retention_ms_by_largest_timestamp_never_active(log):
    for i in range(30):
        append(log, [b"v" * 40], timestamps=[NOW + i])
    count = len(log.segments)
    log.config.retention_ms = 1000
    log.maintenance(NOW + 10**6)
    assert len(log.segments) == 1 < count
    assert log.log_start_offset == log.active_segment.base_offset
    assert not os.path.exists(os.path.join(log.dir, "00000000000000000000.log"))


def test_truncate_to_drops_whole_batches(log):
    for i in range(12):
        append(log, [b"a" * 20, b"b"])
    log.truncate_to(9)  # offset 9 is inside the batch [8, 9]
    assert log.log_end_offset == 8
    assert read_batch_header(log.read(6, 1000), 0).base_offset == 6
    append(log, [b"c"])
    assert log.log_end_offset == 9
    log.truncate_to(0)
    assert (log.log_start_offset, log.log_end_offset, log.size_in_bytes) == (0, 0, 0)


def test_batches_iterates_headers(log):
    for i in range(10):
        append(log, [b"z" * 30] * 2, producer_id=1, producer_epoch=0, base_sequence=2 * i)
    infos = list(log.batches(5))
    assert [info.base_offset for info in infos] == list(range(4, 20, 2))
    assert infos[-1].last_sequence == 19


def test_segment_files_and_index_bytes(log):
    for i in range(40):
        append(log, [b"q" * 20], timestamps=[NOW + i])
    names = sorted(os.listdir(log.dir))
    assert "00000000000000000000.log" in names and "00000000000000000000.timeindex" in names
    assert all(len(name.split(".")[0]) == 20 for name in names if name.endswith(".log"))
    with open(os.path.join(log.dir, "00000000000000000000.index"), "rb") as f:
        entries = list(struct.iter_unpack(">ii", f.read()))
    assert entries and all(position > 64 for _, position in entries)
    with open(os.path.join(log.dir, "leader-epoch-checkpoint")) as f:
        assert f.read() == "0\n1\n0 0\n"


def test_manager_checkpoints_and_reload(tmp_path):
    dirs = [str(tmp_path / "d1"), str(tmp_path / "d2")]
    manager = LogManager(dirs)
    topic_id = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
    logs = [manager.create("orders", p, topic_id, LogConfig(segment_bytes=300), NOW) for p in range(2)]
    assert {manager.log_dir_of("orders", 0), manager.log_dir_of("orders", 1)} == set(dirs)
    for i in range(10):
        append(logs[0], [b"m" * 30])
    logs[0].delete_records_before(4)
    meta = open(os.path.join(logs[0].dir, "partition.metadata")).read()
    assert meta == "version: 0\ntopic_id: a6e4EJ2tEdGAtADAT9QwyA\n"
    assert read_partition_metadata(os.path.join(logs[0].dir, "partition.metadata")) == topic_id
    manager.close()
    d0 = manager.log_dir_of("orders", 0)
    assert open(os.path.join(d0, "log-start-offset-checkpoint")).read() == "0\n1\norders 0 4\n"
    assert read_offset_checkpoint(os.path.join(d0, "recovery-point-offset-checkpoint")) == {("orders", 0): 10}
    again = LogManager(dirs).load(now_ms=NOW)
    assert (again[("orders", 0)].log_start_offset, again[("orders", 0)].log_end_offset) == (4, 10)
    reloaded = LogManager(dirs)
    reloaded.load()
    reloaded.delete("orders", 1)
    assert not os.path.exists(os.path.join(manager.log_dir_of("orders", 1), "orders-1"))
    reloaded.close()
    for log in again.values():
        log.close()


def test_torn_tail_of_zeros_is_truncated_and_logged(tmp_path, caplog):
    path = str(tmp_path / "t-0")
    log = Log(path, LogConfig(), NOW)
    for i in range(5):
        append(log, [b"r" * 10])
    log.close()
    with open(os.path.join(path, "00000000000000000000.log"), "ab") as f:
        f.write(b"\x00" * 100)
    with caplog.at_level("WARNING", logger="minikafka.storage"):
        log = Log(path, LogConfig(), NOW)
    assert log.log_end_offset == 5 and "truncated 100 bytes" in caplog.text
    append(log, [b"after"])
    assert read_batch_header(log.read(5, 1000), 0).base_offset == 5
    log.close()


def test_large_batches_read_whole_with_min_one_batch(tmp_path):
    log = Log(str(tmp_path / "big-0"), LogConfig(), NOW)
    big = build_batch([b"x" * 1024] * 900, base_timestamp=NOW)
    for _ in range(3):
        log.append(big, log.validate(big, now_ms=NOW), NOW)
    data = log.read(950, 1000)
    assert len(data) == len(big) and read_batch_header(data, 0).base_offset == 900
    assert len(log.read(0, 3 * len(big))) == 3 * len(big)
    assert log.read(0, 1000, min_one_batch=False) == b""
    log.close()

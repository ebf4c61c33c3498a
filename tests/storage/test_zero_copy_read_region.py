"""Log.read_region finds exactly the batches Log.read returns, without reading them,
and a region outlives its segment."""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minikafka.errors import KafkaError
from minikafka.storage import Log, LogConfig
from minikafka_core import segment as segment_module
from minikafka_core.records import build_batch_of_values as build_batch
from minikafka_core.segment import FileRegion

NOW = 1_700_000_000_000


def append(log, values):
    data = build_batch(values, base_timestamp=NOW)
    return log.append(data, log.validate(data, now_ms=NOW), NOW)


def region_bytes(log, *args):
    result = log.read_region(*args)
    if isinstance(result, bytes):
        return result
    with result:
        return result.read()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sizes=st.lists(st.lists(st.integers(0, 40_000), min_size=1, max_size=3), min_size=1, max_size=25),
    index_interval=st.sampled_from([1, 64, 4096, 20_000]),
    reads=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 120_000), st.floats(0, 1.2),
                             st.booleans()), min_size=1, max_size=12),
)
def test_region_matches_read(tmp_path_factory, sizes, index_interval, reads):
    # Batches from a few bytes to 2.5 header windows, segments of a few batches.
    dir = tmp_path_factory.mktemp("log") / "t-0"
    log = Log(str(dir), LogConfig(segment_bytes=100_000, index_interval_bytes=index_interval), NOW)
    try:
        for batch in sizes:
            append(log, [os.urandom(n) for n in batch])
        end = log.log_end_offset
        for where, max_bytes, hw, min_one in reads:
            offset = int(where * end)
            max_offset = max(offset, min(end, int(hw * end)))
            args = (offset, max_bytes, max_offset, min_one)
            assert region_bytes(log, *args) == log.read(*args), args
    finally:
        log.close()


def test_region_is_whole_batches_of_one_segment(tmp_path):
    log = Log(str(tmp_path / "t-0"), LogConfig(segment_bytes=5_000, index_interval_bytes=100), NOW)
    for _ in range(20):
        append(log, [b"v" * 1000])
    region = log.read_region(0, 10**6)
    try:
        assert isinstance(region, FileRegion)
        assert region.position == 0
        assert region.length == len(log.read(0, 10**6)) == log.segments[0].size
        assert len(region) == region.length
    finally:
        region.close()
    assert region.fd == -1
    region.close()  # closing twice is harmless


def test_empty_answers_hold_no_descriptor(tmp_path):
    log = Log(str(tmp_path / "t-0"), LogConfig(), NOW)
    append(log, [b"a", b"b"])
    assert log.read_region(2, 1000) == b""  # at the log end
    assert log.read_region(0, 1000, max_offset=0) == b""  # nothing below the high watermark
    assert log.read_region(0, 10, min_one_batch=False) == b""  # over the budget
    with pytest.raises(KafkaError):
        log.read_region(3, 1000)
    log.close()


def test_region_survives_segment_deletion(tmp_path):
    log = Log(str(tmp_path / "t-0"), LogConfig(segment_bytes=3_000, retention_bytes=0), NOW)
    for i in range(9):
        append(log, [bytes([i]) * 1000])
    expected = log.read(0, 10**6)
    region = log.read_region(0, 10**6)
    old_path = log.segments[0].log_path
    log.maintenance(NOW)  # retention.bytes=0 deletes every inactive segment
    assert not os.path.exists(old_path) and log.log_start_offset > 0
    with region:
        assert region.read() == expected  # the unlinked file's data is still there


def test_header_walk_reads_headers_only(tmp_path, monkeypatch):
    """Big batches are stepped over: one small pread per batch, never the payload."""
    log = Log(str(tmp_path / "t-0"), LogConfig(), NOW)
    for _ in range(8):
        append(log, [os.urandom(100_000)])
    preads = []
    real_pread = os.pread

    def counting_pread(fd, n, position):
        preads.append(n)
        return real_pread(fd, n, position)

    monkeypatch.setattr(segment_module.os, "pread", counting_pread)
    region = log.read_region(0, 1_000_000)
    region.close()
    assert region.length > 800_000
    assert 1 <= len(preads) <= 9 and max(preads) <= segment_module._HEADER_WINDOW_BYTES

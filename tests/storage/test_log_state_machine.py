"""Log against a plain-list model (Hypothesis RuleBasedStateMachine).

Appends, reads at random offsets and sizes, rolls (tiny segments and
indexes), retention, DeleteRecords, clean close + reopen, crash + a torn
tail at a random byte + recovery, and damaged index files + reopen.
"""

import os
import shutil
import struct
import tempfile

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from minikafka.errors import ErrorCode, KafkaError
from minikafka.storage import LogConfig, LogManager
from minikafka_core.batch import read_batch_header
from minikafka_core.records import build_batch_of_values as build_batch

NOW = 1_700_000_000_000
TOPIC = "events"


def stored_form(original: bytes, base_offset: int, leader_epoch: int = 0) -> bytes:
    """What the log must hold: the producer's bytes with offset and epoch patched."""
    return struct.pack(">q", base_offset) + original[8:12] + struct.pack(">i", leader_epoch) + original[16:]


def split_batches(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        size = read_batch_header(data, pos).size
        out.append(data[pos:pos + size])
        pos += size
    assert pos == len(data)
    return out


class LogMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # tmpfs when there is one: the log fsyncs at every roll and close.
        self.root = tempfile.mkdtemp(prefix="minikafka-log-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        self.config = LogConfig(segment_bytes=700, index_interval_bytes=150, segment_index_bytes=48,
                                retention_ms=-1)
        self.manager = LogManager(self.root)
        self.log = self.manager.create(TOPIC, 0, b"\x01" * 16, self.config, NOW)
        self.batches: list[tuple[int, bytes]] = []  # (base_offset, stored bytes)
        self.log_start_offset = 0
        self.log_end_offset = 0
        self.clock = NOW

    def teardown(self):
        self.manager.close()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- helpers ----------------------------------------------------------

    def _reopen(self):
        self.manager = LogManager(self.root)
        self.log = self.manager.load(config_for=lambda topic: self.config, now_ms=self.clock)[(TOPIC, 0)]

    def _crash(self):
        """Close the file descriptors without a clean shutdown (no flush, no checkpoint)."""
        for segment in self.log.segments:
            segment.close()

    def _read_all(self, max_offset):
        """Every batch below ``max_offset``, fetch after fetch (a read stops at a segment's end)."""
        got, offset = [], self.log_start_offset
        while offset < max_offset:
            batches = split_batches(self.log.read(offset, 10**7, max_offset=max_offset))
            if not batches:
                break
            got += batches
            header = read_batch_header(batches[-1], 0)
            offset = header.base_offset + header.last_offset_delta + 1
        return got

    @property
    def visible(self):
        """The model's batches at or above the log start offset."""
        return [(base, data) for base, data in self.batches
                if base + read_batch_header(data, 0).last_offset_delta >= self.log_start_offset]

    # -- rules --------------------------------------------------------------

    @rule(values=st.lists(st.binary(max_size=40), min_size=1, max_size=6), tick=st.integers(0, 50))
    def append(self, values, tick):
        self.clock += tick
        original = build_batch(values, base_timestamp=self.clock)
        infos = self.log.validate(original, now_ms=self.clock)
        info = self.log.append(original, infos, self.clock)
        assert info.first_offset == self.log_end_offset
        assert info.last_offset == self.log_end_offset + len(values) - 1
        self.batches.append((self.log_end_offset, stored_form(original, self.log_end_offset)))
        self.log_end_offset += len(values)

    @rule(data=st.data(), max_bytes=st.integers(0, 1500), min_one_batch=st.booleans())
    def read(self, data, max_bytes, min_one_batch):
        offset = data.draw(st.integers(self.log_start_offset, self.log_end_offset))
        got = split_batches(self.log.read(offset, max_bytes, min_one_batch=min_one_batch))
        expected = [stored for base, stored in self.visible
                    if base + read_batch_header(stored, 0).last_offset_delta >= offset]
        if offset == self.log_end_offset:
            assert got == []
            return
        assert got == expected[:len(got)]
        total = sum(map(len, got))
        if min_one_batch:
            assert got, "the first batch always comes back with min_one_batch"
        if len(got) > 1 or not min_one_batch:
            assert total <= max_bytes
        if got and len(got) < len(expected):  # stopped by max_bytes, or a fetch's one-segment limit
            next_base = read_batch_header(expected[len(got)], 0).base_offset
            segment_bases = [segment.base_offset for segment in self.log.segments]
            assert total + len(expected[len(got)]) > max_bytes or next_base in segment_bases

    @rule(data=st.data())
    def read_with_high_watermark(self, data):
        if not self.visible:
            return
        high_watermark = data.draw(st.sampled_from([base for base, _ in self.visible] + [self.log_end_offset]))
        got = self._read_all(high_watermark)
        assert got == [stored for base, stored in self.visible if base < high_watermark]

    @rule(below=st.integers(-3, -1))
    def read_out_of_range(self, below):
        for offset in (self.log_start_offset + below, self.log_end_offset - below):
            try:
                self.log.read(offset, 100)
            except KafkaError as exc:
                assert exc.code == ErrorCode.OFFSET_OUT_OF_RANGE
            else:
                raise AssertionError(f"read({offset}) should be out of range")

    @rule(retention_bytes=st.integers(0, 2000))
    def retention_by_size(self, retention_bytes):
        self.config.retention_bytes = retention_bytes
        active_base = self.log.active_segment.base_offset
        self.log.maintenance(self.clock)
        self.config.retention_bytes = -1
        # never the active segment
        assert self.log.log_start_offset <= max(active_base, self.log_start_offset)
        assert self.log.log_start_offset >= self.log_start_offset
        self.log_start_offset = self.log.log_start_offset
        if self.visible:  # the first batch left holds the log start offset
            base, stored = self.visible[0]
            assert base <= self.log_start_offset <= base + read_batch_header(stored, 0).last_offset_delta

    @rule(data=st.data())
    def delete_records_before(self, data):
        offset = data.draw(st.integers(self.log_start_offset, self.log_end_offset))
        self.log.delete_records_before(offset)
        self.log_start_offset = offset

    @rule()
    def roll(self):
        self.log.roll(self.clock)

    @rule()
    def close_and_reopen(self):
        self.manager.close()
        self._reopen()

    @rule(data=st.data())
    def crash_with_torn_tail(self, data):
        active = self.log.active_segment
        cut = data.draw(st.integers(0, active.size))
        path = active.log_path
        self._crash()
        with open(path, "r+b") as f:
            f.truncate(cut)
        self._reopen()
        # The model keeps exactly the active segment's batches that end before the cut.
        position, kept = 0, []
        for base, stored in self.batches:
            if base >= active.base_offset:
                position += len(stored)
                if position > cut:
                    break
            kept.append((base, stored))
        self.batches = kept
        if kept:
            base, stored = kept[-1]
            self.log_end_offset = base + read_batch_header(stored, 0).last_offset_delta + 1
        else:
            self.log_end_offset = active.base_offset
        self.log_end_offset = max(self.log_end_offset, self.log_start_offset)

    @precondition(lambda self: self.log.size_in_bytes > 0)
    @rule(data=st.data(), how=st.sampled_from(["odd-size", "past-end", "decreasing", "missing"]))
    def damage_an_index_and_reopen(self, data, how):
        segments = [s for s in self.log.segments if s.size]
        segment = data.draw(st.sampled_from(segments))
        path = segment.log_path[:-4] + ".index"
        self.manager.close()
        with open(path, "r+b") as f:
            if how == "odd-size":
                f.seek(0, 2)
                f.write(b"\x00\x00\x00")
            elif how == "past-end":
                f.seek(0, 2)
                f.write(struct.pack(">ii", 2**30, 2**30))
            elif how == "decreasing":
                f.seek(0, 2)
                f.write(struct.pack(">ii", 0, 0) * 2)
        if how == "missing":
            os.unlink(path)
        self._reopen()

    # -- invariants ---------------------------------------------------------

    @invariant()
    def offsets_match(self):
        assert self.log.log_end_offset == self.log_end_offset
        assert self.log.log_start_offset == self.log_start_offset

    @invariant()
    def whole_log_matches(self):
        assert self._read_all(self.log_end_offset) == [stored for _, stored in self.visible]


LogMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
TestLogStateMachine = LogMachine.TestCase

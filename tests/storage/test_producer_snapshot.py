"""Producer state snapshots: naming, atomic writes, retention, corruption, recovery."""

from __future__ import annotations

import dataclasses
import os

import msgpack

from minikafka.storage.producer_state import (
    INT32_MAX,
    ProducerStateManager,
    list_snapshot_offsets,
    snapshot_file_name,
)

PID = 77


@dataclasses.dataclass
class Batch:
    producer_id: int
    producer_epoch: int
    base_sequence: int
    record_count: int = 1
    base_offset: int = 0
    max_timestamp: int = 1_000
    is_transactional: bool = False
    is_control: bool = False

    @property
    def last_offset_delta(self) -> int:
        return self.record_count - 1

    @property
    def last_sequence(self) -> int:
        last = self.base_sequence + self.last_offset_delta
        return last - 2**31 if last > INT32_MAX else last


def build_log(count: int, producers: int = 2) -> list[Batch]:
    """``count`` batches of 2 records, round-robin over ``producers``, offsets assigned."""
    batches, next_seq = [], [0] * producers
    for i in range(count):
        p = i % producers
        batches.append(Batch(PID + p, 0, next_seq[p], 2, base_offset=2 * i, max_timestamp=i))
        next_seq[p] += 2
    return batches


def state_of(batches) -> ProducerStateManager:
    state = ProducerStateManager()
    state.load_from_batches(batches)
    return state


def batches_after(log: list[Batch]):
    return lambda offset: (b for b in log if b.base_offset >= offset)


def test_snapshot_file_name_is_kafkas():
    assert snapshot_file_name(1234) == "00000000000000001234.snapshot"


def test_snapshot_round_trip_keeps_all_five_batches(tmp_path):
    state = state_of(build_log(20))
    path = state.write_snapshot(tmp_path, 40)
    assert os.path.basename(path) == "00000000000000000040.snapshot"
    assert sorted(os.listdir(tmp_path)) == ["00000000000000000040.snapshot"]  # no .tmp left
    loaded = ProducerStateManager()
    assert loaded.load_snapshot(tmp_path) == 40
    assert loaded.producers == state.producers
    assert all(len(e.batches) == 5 for e in loaded.producers.values())
    assert loaded.map_end_offset == 40


def test_snapshot_content_is_msgpack(tmp_path):
    path = state_of(build_log(1)).write_snapshot(tmp_path, 2)
    with open(path, "rb") as f:
        data = msgpack.unpackb(f.read())
    assert data["version"] == 2 and data["producers"][0][0] == PID


def test_only_the_latest_two_snapshots_are_kept(tmp_path):
    state = ProducerStateManager()
    for offset in (10, 20, 30, 40):
        state.write_snapshot(tmp_path, offset)
    assert list_snapshot_offsets(tmp_path) == [30, 40]


def test_load_snapshot_without_any_gives_empty_state(tmp_path):
    state = state_of(build_log(3))
    assert state.load_snapshot(tmp_path) is None
    assert state.producers == {}


def test_corrupt_snapshot_is_deleted_and_the_older_one_used(tmp_path):
    log = build_log(10)
    state_of(log[:5]).write_snapshot(tmp_path, 10)
    (tmp_path / snapshot_file_name(20)).write_bytes(b"\xc1 not msgpack")
    loaded = ProducerStateManager()
    assert loaded.load_snapshot(tmp_path) == 10
    assert loaded.producers == state_of(log[:5]).producers
    assert list_snapshot_offsets(tmp_path) == [10]


def test_recover_loads_snapshot_and_replays_the_batches_after_it(tmp_path):
    log = build_log(12)
    state_of(log[:6]).write_snapshot(tmp_path, 12)
    recovered = ProducerStateManager()
    replayed = []

    def batches_from(offset):
        replayed.append(offset)
        return batches_after(log)(offset)

    recovered.recover(tmp_path, 0, 24, batches_from, now_ms=0)
    assert replayed == [12]
    assert recovered.producers == state_of(log).producers
    assert recovered.map_end_offset == 24


def test_recover_after_truncation_ignores_snapshots_above_the_log_end(tmp_path):
    log = build_log(12)
    state_of(log[:3]).write_snapshot(tmp_path, 6)
    state_of(log).write_snapshot(tmp_path, 24)
    truncated = log[:8]  # the log now ends at offset 16
    recovered = ProducerStateManager()
    recovered.recover(tmp_path, 0, 16, batches_after(truncated), now_ms=0)
    assert recovered.producers == state_of(truncated).producers
    assert list_snapshot_offsets(tmp_path) == [6]


def test_recover_without_snapshot_replays_from_the_log_start(tmp_path):
    log = build_log(6)
    recovered = ProducerStateManager()
    recovered.recover(tmp_path, 4, 12, batches_after(log), now_ms=0)
    assert recovered.producers == state_of(log[2:]).producers


def test_recover_drops_producers_expired_in_the_snapshot(tmp_path):
    log = build_log(4)  # producer PID last wrote at ts 2, PID+1 at ts 3
    state_of(log).write_snapshot(tmp_path, 8)
    recovered = ProducerStateManager(producer_id_expiration_ms=100)
    recovered.recover(tmp_path, 0, 8, batches_after(log), now_ms=102)
    assert list(recovered.producers) == [PID + 1]


def test_recovered_state_still_detects_duplicates(tmp_path):
    log = build_log(10, producers=1)
    state_of(log).write_snapshot(tmp_path, 20)
    recovered = ProducerStateManager()
    recovered.recover(tmp_path, 0, 20, batches_after(log), now_ms=0)
    for batch in log[-5:]:
        duplicate = recovered.check(batch)
        assert (duplicate.first_offset, duplicate.last_offset) == (
            batch.base_offset,
            batch.base_offset + 1,
        )
    assert recovered.check(Batch(PID, 0, 20)) is None

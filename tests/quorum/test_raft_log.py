"""Unit tests of the in-memory Raft log and the memory storage."""

import pytest

from minikafka.quorum.log import Entry, RaftLog, Snapshot, SnapshotId
from minikafka.quorum.ready import HardState, Ready
from minikafka.quorum.storage import MemoryStorage


def make_log(epochs, snapshot=None):
    start = snapshot.snapshot_id.end_offset if snapshot else 0
    return RaftLog(snapshot, [Entry(start + i, e, b"d%d" % i) for i, e in enumerate(epochs)])


def test_end_offset_for_epoch_is_kafkas_leader_epoch_lookup():
    log = make_log([1, 1, 3, 3, 3, 5])
    assert (log.end_offset_for_epoch(1).epoch, log.end_offset_for_epoch(1).end_offset) == (1, 2)
    assert log.end_offset_for_epoch(2).epoch == 1  # the largest epoch <= 2
    assert log.end_offset_for_epoch(4).end_offset == 5
    assert log.end_offset_for_epoch(9).end_offset == 6
    assert log.end_offset_for_epoch(0).end_offset == 0  # the empty prefix matches


def test_end_offset_for_epoch_inside_the_snapshot_is_unknown():
    log = make_log([4, 4], snapshot=Snapshot(SnapshotId(10, 3), b""))
    assert log.end_offset_for_epoch(3).end_offset == 10
    assert log.end_offset_for_epoch(2).epoch == -1
    assert log.last_fetched_epoch == 4 and log.log_start_offset == 10


def test_read_respects_max_bytes_but_returns_at_least_one_entry():
    log = make_log([1, 1, 1])
    assert len(log.read(0, 5)) == 2  # each entry has 2 bytes: two fit in 5
    assert len(log.read(0, 1)) == 1  # too small for any: still one
    assert len(log.read(1, 100)) == 2


def test_append_checks_offsets_and_epochs():
    log = make_log([2])
    with pytest.raises(ValueError):
        log.append(Entry(5, 2, b""))
    with pytest.raises(ValueError):
        log.append(Entry(1, 1, b""))


def test_truncate_and_compact_are_reported_for_persistence():
    log = make_log([1, 1, 2, 2])
    log.truncate_to(2)
    assert log.truncated_to == 2 and log.log_end_offset == 2
    log.append(Entry(2, 3, b"new"))
    assert [e.offset for e in log.unpersisted()] == [2]
    log.mark_persisted(log.log_end_offset)
    assert log.truncated_to is None and log.unpersisted() == ()
    log.compact(Snapshot(SnapshotId(2, 1), b"state"))
    assert log.log_start_offset == 2 and [e.data for e in log.entries] == [b"new"]


def test_memory_storage_persists_a_ready_in_order():
    storage = MemoryStorage()
    storage.persist(Ready(hard_state=HardState(1, 1, 1), entries=(Entry(0, 1, b"a"), Entry(1, 1, b"b"))))
    storage.persist(Ready(truncate_to=1, entries=(Entry(1, 2, b"c"),)))
    storage.persist(Ready(snapshot=Snapshot(SnapshotId(1, 1), b"s")))
    state = storage.load()
    assert state.hard_state == HardState(1, 1, 1)
    assert state.snapshot.snapshot_id == SnapshotId(1, 1)
    assert [e.data for e in state.entries] == [b"c"]

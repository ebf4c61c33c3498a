"""FileStorage: Kafka's layout, and recovery after a crash at any byte."""

from __future__ import annotations

import json
import os
import random

import pytest

from minikafka.quorum.file_storage import (CorruptStateError, FileStorage, metadata_log_dir,
                                           snapshot_file_name)
from minikafka.quorum.log import Entry, Snapshot, SnapshotId
from minikafka.quorum.ready import HardState


def entries(start: int, count: int, epoch: int) -> tuple[Entry, ...]:
    return tuple(Entry(o, epoch, b"payload-%d" % o) for o in range(start, start + count))


@pytest.fixture
def log_dir(tmp_path):
    return metadata_log_dir(str(tmp_path))


def test_layout_is_kafkas(log_dir):
    storage = FileStorage(log_dir)
    storage.load()
    storage.append((Entry(0, 1, b"", is_control=True),) + entries(1, 3, 1) + entries(4, 2, 2))
    storage.save_hard_state(HardState(epoch=1, voted_id=2, leader_id=2))
    with open(os.path.join(log_dir, "leader-epoch-checkpoint")) as f:
        assert f.read().split() == ["0", "2", "1", "0", "2", "4"]  # epoch 1 at 0, 2 at 4
    storage.save_snapshot(Snapshot(SnapshotId(3, 1), b"state"))
    storage.close()
    assert log_dir.endswith("__cluster_metadata-0")
    names = set(os.listdir(log_dir))
    assert {"quorum-state", "00000000000000000000.log",
            "00000000000000000003-0000000001.checkpoint"} <= names
    with open(os.path.join(log_dir, "quorum-state")) as f:
        assert json.load(f) == {"leaderId": 2, "leaderEpoch": 1, "votedId": 2,
                                "votedDirectoryId": "AAAAAAAAAAAAAAAAAAAAAA", "data_version": 1}


def test_reopen_returns_hard_state_snapshot_and_entries_after_it(log_dir):
    storage = FileStorage(log_dir)
    storage.load()
    storage.append(entries(0, 5, 1) + entries(5, 3, 2))
    storage.truncate_to(6)
    storage.append(entries(6, 2, 3))
    storage.save_snapshot(Snapshot(SnapshotId(4, 1), b"state-4"))
    storage.save_hard_state(HardState(epoch=3, voted_id=None, leader_id=1))
    storage.close()
    loaded = FileStorage(log_dir).load()
    assert loaded.hard_state == HardState(3, None, 1)
    assert loaded.snapshot == Snapshot(SnapshotId(4, 1), b"state-4")
    assert loaded.entries == entries(4, 1, 1) + entries(5, 1, 2) + entries(6, 2, 3)


def test_snapshot_from_the_leader_past_the_log_end_restarts_the_log(log_dir):
    storage = FileStorage(log_dir)
    storage.load()
    storage.append(entries(0, 3, 1))
    storage.truncate_to(0)  # the core truncates first when the snapshot does not match
    storage.save_snapshot(Snapshot(SnapshotId(50, 4), b"leader-state"))
    storage.append(entries(50, 2, 4))
    storage.close()
    loaded = FileStorage(log_dir).load()
    assert loaded.snapshot.snapshot_id == SnapshotId(50, 4)
    assert loaded.entries == entries(50, 2, 4)
    assert [n for n in os.listdir(log_dir) if n.endswith(".checkpoint")] == [
        snapshot_file_name(SnapshotId(50, 4))]


@pytest.mark.parametrize("seed", range(12))
def test_a_torn_log_tail_loses_only_a_suffix(log_dir, seed):
    rng = random.Random(seed)
    storage = FileStorage(log_dir)
    storage.load()
    written = entries(0, 20, 1) + entries(20, 10, 2)
    storage.append(written)
    storage.save_hard_state(HardState(2, 1, 1))
    storage.close()
    segment = os.path.join(log_dir, "00000000000000000000.log")
    size = os.path.getsize(segment)
    cut = rng.randrange(size)
    with open(segment, "r+b") as f:  # kill -9 with part of the tail never written
        f.truncate(cut)
    reopened = FileStorage(log_dir)
    loaded = reopened.load()
    assert loaded.entries == written[:len(loaded.entries)]
    assert loaded.hard_state == HardState(2, 1, 1)
    # The log continues where the surviving prefix ends.
    reopened.append(entries(len(loaded.entries), 1, 3))
    reopened.close()
    assert FileStorage(log_dir).load().entries[-1] == entries(len(loaded.entries), 1, 3)[0]


@pytest.mark.parametrize("seed", range(6))
def test_a_half_written_atomic_file_is_ignored(log_dir, seed):
    rng = random.Random(seed)
    storage = FileStorage(log_dir)
    storage.load()
    storage.append(entries(0, 4, 1))
    storage.save_hard_state(HardState(1, 1, 1))
    storage.save_snapshot(Snapshot(SnapshotId(2, 1), b"old"))
    storage.close()
    # A crash inside atomic_write: the temporary copy is cut at a random byte.
    for name, data in (("quorum-state", json.dumps({"leaderId": 3}).encode()),
                       (snapshot_file_name(SnapshotId(4, 1)), b"\x00" * 200)):
        with open(os.path.join(log_dir, name + ".tmp"), "wb") as f:
            f.write(data[:rng.randrange(len(data))])
    loaded = FileStorage(log_dir).load()
    assert loaded.hard_state == HardState(1, 1, 1)
    assert loaded.snapshot == Snapshot(SnapshotId(2, 1), b"old")
    assert loaded.entries == entries(2, 2, 1)
    assert not [n for n in os.listdir(log_dir) if n.endswith(".tmp")]


def test_a_corrupt_quorum_state_refuses_to_start(log_dir):
    os.makedirs(log_dir)
    with open(os.path.join(log_dir, "quorum-state"), "w") as f:
        f.write('{"leaderId": 1, "leader')
    with pytest.raises(CorruptStateError):
        FileStorage(log_dir).load()

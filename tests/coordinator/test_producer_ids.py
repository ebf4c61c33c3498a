"""ProducerIdManager: ids never repeat, across restarts and crashes; epoch bumps."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys

import msgpack
import pytest

from minikafka.coordinator import producer_ids
from minikafka.coordinator.producer_ids import ProducerIdAndEpoch, ProducerIdManager


def persisted(path) -> int:
    with open(path, "rb") as f:
        return msgpack.unpackb(f.read())["next_producer_id"]


def test_ids_are_unique_and_increasing_across_blocks(tmp_path):
    manager = ProducerIdManager(tmp_path / "producer_ids", block_size=10)
    ids = [manager.next_producer_id() for _ in range(35)]
    assert ids == list(range(35))


def test_block_end_is_persisted_before_the_first_id_is_handed_out(tmp_path):
    path = tmp_path / "producer_ids"
    manager = ProducerIdManager(path)
    assert not path.exists()
    assert manager.next_producer_id() == 0
    assert persisted(path) == 1000  # Kafka-sized block
    for _ in range(999):
        manager.next_producer_id()
    assert persisted(path) == 1000  # one write per block
    assert manager.next_producer_id() == 1000
    assert persisted(path) == 2000


def test_restart_never_reuses_an_id(tmp_path):
    path = tmp_path / "producer_ids"
    seen = set()
    for _ in range(4):  # four broker "runs" on the same file
        manager = ProducerIdManager(path, block_size=5)
        new = [manager.next_producer_id() for _ in range(3)]
        assert seen.isdisjoint(new) and min(new) > max(seen, default=-1)
        seen.update(new)


def test_failed_persist_hands_out_nothing_and_ids_stay_unique(tmp_path, monkeypatch):
    # A crash between reserving a block and persisting it: the write fails,
    # so no id from the unpersisted block may have been handed out.
    path = tmp_path / "producer_ids"
    manager = ProducerIdManager(path, block_size=3)
    handed_out = [manager.next_producer_id() for _ in range(3)]

    def crash(*args):
        raise OSError("disk gone")

    monkeypatch.setattr(producer_ids.os, "replace", crash)
    with pytest.raises(OSError):
        manager.next_producer_id()
    monkeypatch.undo()
    # The crash left a temporary file behind; a restart must ignore it.
    assert (tmp_path / "producer_ids.tmp").exists()
    restarted = ProducerIdManager(path, block_size=3)
    assert restarted.next_producer_id() > max(handed_out)


def test_unreadable_id_file_stops_the_broker_rather_than_guess(tmp_path):
    path = tmp_path / "producer_ids"
    path.write_bytes(b"\xc1garbage")
    with pytest.raises(ValueError):
        ProducerIdManager(path)


REPO_ROOT = str(pathlib.Path(producer_ids.__file__).resolve().parents[2])
CHILD = """
import sys
from minikafka.coordinator.producer_ids import ProducerIdManager
manager = ProducerIdManager(sys.argv[1], block_size=7)
while True:
    print(manager.next_producer_id(), flush=True)
"""


def test_ids_never_repeat_after_kill_9(tmp_path):
    path = tmp_path / "producer_ids"
    seen: list[int] = []
    for _ in range(2):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": REPO_ROOT},
        )
        try:
            run = [int(child.stdout.readline()) for _ in range(50)]
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            child.stdout.close()
        assert min(run) > max(seen, default=-1)
        seen.extend(run)
    assert len(set(seen)) == len(seen)


def test_init_producer_id_for_idempotent_producer_is_always_a_new_id(tmp_path):
    # Kafka 4.0: with a null transactional_id, the existing id/epoch is ignored.
    manager = ProducerIdManager(tmp_path / "producer_ids")
    first = manager.init_producer_id()
    assert first == ProducerIdAndEpoch(0, 0)
    assert manager.init_producer_id(first.producer_id, 5) == ProducerIdAndEpoch(1, 0)


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        ((5, 0), (5, 1)),
        ((5, 32764), (5, 32765)),
        ((5, 32765), (5, 32766)),
        ((5, 32766), ("new", 0)),  # exhausted: Short.MAX_VALUE - 1
        ((5, 32767), ("new", 0)),
        ((-1, -1), ("new", 0)),
    ],
)
def test_bump_epoch(tmp_path, current, expected):
    manager = ProducerIdManager(tmp_path / "producer_ids")
    manager.next_producer_id()  # id 0 is taken
    bumped = manager.bump_epoch(*current)
    if expected[0] == "new":
        assert bumped == ProducerIdAndEpoch(1, 0)
    else:
        assert bumped == ProducerIdAndEpoch(*expected)

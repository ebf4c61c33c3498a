"""Crash safety of the segment swap: a kill at any step leaves a valid log.

The cleaner's ``on_step`` hook copies the partition directory at each step
of the swap, which is what a kill -9 at that instant would leave on disk
(every write goes straight to the kernel with ``os.write``). Each copy is
then opened as a Log: recovery must give exactly the log before the
cleaning or exactly the log after it, never anything else.
"""

from __future__ import annotations

import os
import shutil

import pytest

from minikafka.storage.cleaner import clean_log

from compaction_helpers import NOW_MS, all_records, compacted_log, write


def build_dirty_log(tmp_path, name="events-0"):
    log = compacted_log(tmp_path, name=name)
    for round_ in range(3):
        for key in (b"a", b"b", b"c"):
            write(log, [(key, b"%d" % round_)])
        write(log, [(b"only-%d" % round_, b"x")])  # each segment keeps one record
        log.roll(NOW_MS)
    write(log, [(b"a", b"active")])
    return log


def records_of(log):
    return [(r.offset, r.key, r.value) for r in all_records(log)]


def test_a_kill_at_any_swap_step_recovers_to_before_or_after(tmp_path):
    log = build_dirty_log(tmp_path / "live")
    before = records_of(log)
    images = tmp_path / "images"
    steps = []

    def snapshot(step):
        steps.append(step)
        shutil.copytree(log.dir, images / step / "events-0")

    clean_log(log, NOW_MS, on_step=snapshot)
    after = records_of(log)
    assert after != before
    assert steps == ["cleaned_written", "swap_renamed", "old_deleted_0", "old_deleted_1",
                     "old_deleted_2", "swap_installed"]
    outcomes = {}
    for step in steps:
        recovered = compacted_log(images / step)
        names = os.listdir(recovered.dir)
        assert not [n for n in names if n.endswith((".cleaned", ".swap"))], (step, names)
        state = records_of(recovered)
        assert state in (before, after), step
        outcomes[step] = "before" if state == before else "after"
        clean_log(recovered, NOW_MS)  # and cleaning again completes the job
        assert records_of(recovered) == after
        recovered.close()
    assert outcomes == {"cleaned_written": "before", "swap_renamed": "after", "old_deleted_0": "after",
                        "old_deleted_1": "after", "old_deleted_2": "after", "swap_installed": "after"}


def test_a_torn_cleaned_file_is_discarded(tmp_path):
    log = build_dirty_log(tmp_path / "live")
    before = records_of(log)
    image = tmp_path / "image" / "events-0"

    def snapshot(step):
        if step == "cleaned_written":
            shutil.copytree(log.dir, image)

    clean_log(log, NOW_MS, on_step=snapshot)
    cleaned = [n for n in os.listdir(image) if n.endswith(".cleaned")]
    assert len(cleaned) == 1
    path = image / cleaned[0]
    os.truncate(path, os.path.getsize(path) // 2)  # the kill came while writing it
    recovered = compacted_log(image.parent)
    assert records_of(recovered) == before
    assert not [n for n in os.listdir(image) if n.endswith(".cleaned")]
    recovered.close()


def test_an_error_before_the_commit_point_leaves_the_log_as_it_was(tmp_path):
    log = build_dirty_log(tmp_path)
    before = records_of(log)

    def fail(step):
        if step == "cleaned_written":
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        clean_log(log, NOW_MS, on_step=fail)
    assert records_of(log) == before
    assert not [n for n in os.listdir(log.dir) if n.endswith((".cleaned", ".swap"))]
    assert log.read(0, 1 << 20)  # the live Log still works
    clean_log(log, NOW_MS)
    assert len(records_of(log)) < len(before)

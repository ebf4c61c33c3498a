"""The cleaner and transactions: aborted records go, markers later, committed records stay."""

from __future__ import annotations

import shutil

import pytest
from minikafka.storage.cleaner import clean_log
from minikafka.storage.unified_log import FetchIsolation
from minikafka_core.records import read_batches

from tests.storage.txn_helpers import NOW_MS, Producer, append, data_batch, marker, open_log, reopen

DAY_MS = 86_400_000


def compacted(tmp_path, **config):
    return open_log(tmp_path, cleanup_policy="compact", **config)


def values(log) -> list:
    """``(key, value)`` of every data record left (control records skipped)."""
    out = []
    for segment in log.local_log.segments:
        with open(segment.log_path, "rb") as f:
            out += [(r.key, r.value) for b in read_batches(f.read()) if not b.is_control for r in b.records]
    return out


def control_batches(log) -> list:
    out = []
    for segment in log.local_log.segments:
        with open(segment.log_path, "rb") as f:
            out += [b for b in read_batches(f.read()) if b.is_control]
    return out


def roll_and_commit_all(log):
    log.local_log.roll(NOW_MS)
    log.update_high_watermark(log.log_end_offset)


def test_aborted_records_are_removed_and_committed_kept(tmp_path):
    log = compacted(tmp_path)
    a, c = Producer(1), Producer(2)
    append(log, a.batch(2, key=b"a"))  # aborted: a0, a1
    append(log, c.batch(2, key=b"c"))  # committed: c0, c1
    marker(log, 1, commit=False)
    marker(log, 2, commit=True)
    append(log, data_batch(key=b"x"))
    roll_and_commit_all(log)
    clean_log(log.local_log, NOW_MS)
    kept = values(log)
    assert (b"c0", b"v0") in kept and (b"c1", b"v1") in kept
    assert not [k for k, _ in kept if k is not None and k.startswith(b"a")]
    assert len(control_batches(log)) == 2  # both markers still there: their batches were seen


def test_aborted_record_does_not_supersede_a_committed_one(tmp_path):
    log = compacted(tmp_path)
    append(log, data_batch(key=b"k", count=1))  # k0 = v0, not transactional
    a = Producer(1)
    append(log, a.batch(1, key=b"k"))  # k0 again, aborted
    marker(log, 1, commit=False)
    roll_and_commit_all(log)
    clean_log(log.local_log, NOW_MS)
    assert values(log) == [(b"k0", b"v0")]  # the aborted k0 is gone, the older k0 stays


def test_markers_go_after_their_delete_horizon(tmp_path):
    log = compacted(tmp_path, delete_retention_ms=DAY_MS)
    a = Producer(1)
    append(log, a.batch(1, key=b"a"))
    marker(log, 1, commit=False)  # offset 1
    append(log, a.batch(1, key=b"b"))  # a later transaction, committed
    marker(log, 1, commit=True)
    roll_and_commit_all(log)
    clean_log(log.local_log, NOW_MS)  # aborted data goes; its marker stays (its data was seen)
    assert [m.base_offset for m in control_batches(log)] == [1, 3]
    assert log.collect_aborted_transactions(0, 4) == [log.local_log.txn_index(0).entries[0]]
    clean_log(log.local_log, NOW_MS)  # nothing left before it: a horizon is stamped
    abort, commit = control_batches(log)
    assert abort.delete_horizon_ms == NOW_MS + DAY_MS and commit.delete_horizon_ms is None
    assert log.collect_aborted_transactions(0, 4) == []
    clean_log(log.local_log, NOW_MS + DAY_MS)  # past the horizon: the abort marker goes
    assert [m.base_offset for m in control_batches(log)] == [3]
    assert (b"b0", b"v0") in values(log)


def test_cleaning_stops_at_the_last_stable_offset(tmp_path):
    log = compacted(tmp_path)
    a = Producer(1)
    append(log, a.batch(1, key=b"a"))  # open transaction
    log.local_log.roll(NOW_MS)
    append(log, data_batch(key=b"x"))
    log.local_log.roll(NOW_MS)
    log.update_high_watermark(log.log_end_offset)
    assert log.last_stable_offset == 0
    stats = clean_log(log.local_log, NOW_MS)
    assert stats.segments_cleaned == 0
    assert (b"a0", b"v0") in values(log)


def test_cleaned_log_reopens_with_the_same_aborted_index(tmp_path):
    log = compacted(tmp_path, segment_bytes=300)
    a, c = Producer(1), Producer(2)
    append(log, a.batch(2, key=b"a"))
    append(log, c.batch(1, key=b"c"))
    marker(log, 1, commit=False)
    append(log, data_batch(key=b"y"))
    marker(log, 2, commit=True)
    roll_and_commit_all(log)
    clean_log(log.local_log, NOW_MS)
    before = log.collect_aborted_transactions(0, log.log_end_offset)
    log = reopen(log, clean=False)
    assert log.collect_aborted_transactions(0, log.log_end_offset) == before
    committed = log.read(0, 1 << 20, FetchIsolation.TXN_COMMITTED, min_one_batch=True)
    assert committed


def read_committed_keys(log) -> list:
    """What a read_committed consumer gets from the log start (Kafka's client algorithm)."""
    lso = log.last_stable_offset
    aborted = sorted(log.collect_aborted_transactions(log.log_start_offset, lso), key=lambda t: t.first_offset)
    skipping, keys, offset = set(), [], log.log_start_offset
    while offset < lso:
        data = log.read(offset, 1 << 24, FetchIsolation.TXN_COMMITTED, min_one_batch=True)
        if not data:
            break
        for batch in read_batches(bytes(data)):
            offset = batch.base_offset + batch.last_offset_delta + 1
            while aborted and aborted[0].first_offset <= offset - 1:
                skipping.add(aborted.pop(0).producer_id)
            if batch.is_control:
                if batch.records and batch.records[0].key[2:4] == b"\x00\x00":  # ABORT
                    skipping.discard(batch.producer_id)
            elif not (batch.is_transactional and batch.producer_id in skipping):
                keys += [record.key for record in batch.records]
    return keys


def build_transactional_log(path, segment_bytes):
    """Aborted and committed transactions; the last segment also holds an open
    transaction and, after it, an aborted one the cleaner must copy untouched."""
    log = compacted(path, segment_bytes=segment_bytes)
    a, c, o = Producer(1), Producer(2), Producer(3)
    for _ in range(2):
        append(log, a.batch(2, key=b"a%d" % a.sequence))
        append(log, c.batch(1, key=b"c%d" % c.sequence))
        append(log, data_batch(key=b"x%d" % a.sequence))
        marker(log, 1, commit=False)
        marker(log, 2, commit=True)
    append(log, o.batch(1, key=b"o"))  # still open: the last stable offset stays here
    append(log, a.batch(1, key=b"late"))
    marker(log, 1, commit=False)
    roll_and_commit_all(log)
    return log, o


@pytest.mark.parametrize("segment_bytes", [250, 1 << 20])
def test_a_kill_at_any_swap_step_keeps_aborted_records_hidden(tmp_path, segment_bytes):
    log, open_producer = build_transactional_log(tmp_path / "live", segment_bytes)
    log.take_snapshot()  # so that recovery replays nothing unless it must
    expected = read_committed_keys(log)
    assert expected and not [k for k in expected if k.startswith((b"a", b"late"))]
    steps = []

    def image(step):
        steps.append(f"{len(steps)}-{step}")
        shutil.copytree(log.dir, tmp_path / "images" / steps[-1] / "t-0")

    clean_log(log.local_log, NOW_MS, on_step=image)
    assert read_committed_keys(log) == expected
    assert any(step.endswith("swap_renamed") for step in steps)
    images = [(step, open_log(tmp_path / "images" / step, cleanup_policy="compact", segment_bytes=segment_bytes,
                              recovery_point=log.local_log.recovery_point, high_watermark=log.high_watermark))
              for step in steps]
    marker(log, open_producer.producer_id, commit=True)  # the open transaction commits: all is stable
    log.update_high_watermark(log.log_end_offset)
    expected = read_committed_keys(log)
    assert b"o0" in expected and b"late0" not in expected
    for step, recovered in images:
        marker(recovered, open_producer.producer_id, commit=True)
        recovered.update_high_watermark(recovered.log_end_offset)
        assert read_committed_keys(recovered) == expected, step
        recovered.local_log.close()

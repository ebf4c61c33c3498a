"""The partition side of transactions: LSO, markers, the aborted index, verification."""

from __future__ import annotations

import os

import pytest

from minikafka.errors import ErrorCode, KafkaError
from minikafka.storage.txn_index import ENTRY_SIZE, AbortedTxn, decode_entries
from minikafka.storage.unified_log import AppendOrigin, FetchIsolation
from minikafka_core.batch import read_batch_header

from tests.storage.txn_helpers import NOW_MS, Producer, append, data_batch, marker, open_log, reopen


def read_offsets(log, isolation) -> list[int]:
    """The base offsets of the batches a read returns from the log start."""
    data = log.read(log.log_start_offset, 1 << 20, isolation, min_one_batch=True)
    offsets, position = [], 0
    while position < len(data):
        info = read_batch_header(data, position)
        offsets.append(info.base_offset)
        position += info.size
    return offsets


def test_an_ongoing_transaction_holds_the_last_stable_offset(tmp_path):
    log = open_log(tmp_path)
    append(log, data_batch())  # offset 0, not transactional
    p = Producer(7)
    append(log, p.batch(2))  # 1-2
    append(log, data_batch())  # 3
    log.update_high_watermark(log.log_end_offset)
    assert log.high_watermark == 4
    assert log.last_stable_offset == 1
    assert read_offsets(log, FetchIsolation.TXN_COMMITTED) == [0]
    assert read_offsets(log, FetchIsolation.HIGH_WATERMARK) == [0, 1, 3]


def test_the_marker_frees_the_lso_only_once_replicated(tmp_path):
    log = open_log(tmp_path)
    p = Producer(7)
    append(log, p.batch())  # 0
    log.update_high_watermark(1)
    result = marker(log, 7, commit=True)  # 1
    assert (result.base_offset, result.last_offset) == (1, 1)
    assert log.last_stable_offset == 0  # marker above the high watermark: still unstable
    log.update_high_watermark(2)
    assert log.last_stable_offset == 2
    assert log.producer_state.producers[7].current_txn_first_offset is None


def test_lso_is_the_earliest_of_several_transactions(tmp_path):
    log = open_log(tmp_path)
    a, b = Producer(1), Producer(2)
    append(log, a.batch())  # 0
    append(log, b.batch())  # 1
    marker(log, 1, commit=False)  # 2
    log.update_high_watermark(log.log_end_offset)
    assert log.last_stable_offset == 1  # b is still open
    assert log.collect_aborted_transactions(0, 3) == [AbortedTxn(1, 0, 2, 1)]
    marker(log, 2, commit=True)  # 3
    log.update_high_watermark(log.log_end_offset)
    assert log.last_stable_offset == 4
    assert log.collect_aborted_transactions(0, 4) == [AbortedTxn(1, 0, 2, 1)]


def test_abort_writes_the_txnindex_in_kafkas_format(tmp_path):
    log = open_log(tmp_path)
    p = Producer(9)
    append(log, p.batch(3))  # 0-2
    marker(log, 9, commit=False)  # 3
    path = os.path.join(log.dir, "00000000000000000000.txnindex")
    with open(path, "rb") as f:
        data = f.read()
    assert len(data) == ENTRY_SIZE == 34
    assert data[:2] == b"\x00\x00"  # version 0
    assert decode_entries(data) == [AbortedTxn(9, 0, 3, 4)]


def test_commit_writes_no_index_entry(tmp_path):
    log = open_log(tmp_path)
    p = Producer(9)
    append(log, p.batch())
    marker(log, 9, commit=True)
    assert log.collect_aborted_transactions(0, 10) == []
    assert not os.path.exists(os.path.join(log.dir, "00000000000000000000.txnindex"))


def test_collect_aborted_follows_kafkas_overlap_rule(tmp_path):
    log = open_log(tmp_path)
    p = Producer(5)
    append(log, data_batch())  # 0
    append(log, p.batch(2))  # 1-2
    marker(log, 5, commit=False)  # 3
    append(log, data_batch())  # 4
    assert log.collect_aborted_transactions(0, 1) == []  # upper bound at the first offset: excluded
    assert log.collect_aborted_transactions(0, 2) == [AbortedTxn(5, 1, 3, 4)]
    assert log.collect_aborted_transactions(3, 5) == [AbortedTxn(5, 1, 3, 4)]  # the marker itself
    assert log.collect_aborted_transactions(4, 5) == []


def test_aborted_txn_spanning_segments_is_found_from_its_first_segment(tmp_path):
    log = open_log(tmp_path, segment_bytes=200)
    p = Producer(3)
    append(log, p.batch())  # 0
    for _ in range(6):
        append(log, data_batch())
    marker(log, 3, commit=False)
    assert len(log.local_log.segments) > 2
    marker_offset = log.log_end_offset - 1
    assert log.collect_aborted_transactions(0, 2) == [AbortedTxn(3, 0, marker_offset, marker_offset + 1)]


def test_marker_epoch_checks(tmp_path):
    log = open_log(tmp_path)
    p = Producer(4, epoch=3)
    append(log, p.batch())
    with pytest.raises(KafkaError) as e:
        marker(log, 4, commit=True, epoch=2)
    assert e.value.code == ErrorCode.INVALID_PRODUCER_EPOCH
    marker(log, 4, commit=True, epoch=3, coordinator_epoch=5)
    with pytest.raises(KafkaError) as e:
        marker(log, 4, commit=False, epoch=3, coordinator_epoch=4)
    assert e.value.code == ErrorCode.TRANSACTION_COORDINATOR_FENCED
    marker(log, 4, commit=False, epoch=4, coordinator_epoch=5)  # a bumped epoch is fine
    assert log.producer_state.producers[4].producer_epoch == 4


def test_marker_for_unknown_producer_is_written(tmp_path):
    log = open_log(tmp_path)
    result = marker(log, 99, commit=False)
    assert result.base_offset == 0 and log.log_end_offset == 1
    assert log.collect_aborted_transactions(0, 1) == []


def test_non_transactional_batch_inside_a_transaction_is_invalid_txn_state(tmp_path):
    log = open_log(tmp_path)
    p = Producer(8)
    append(log, p.batch())
    with pytest.raises(KafkaError) as e:
        append(log, data_batch(8, p.sequence))
    assert e.value.code == ErrorCode.INVALID_TXN_STATE


def test_transaction_state_survives_a_clean_restart(tmp_path):
    log = open_log(tmp_path)
    a, b = Producer(1), Producer(2)
    append(log, a.batch())  # 0
    marker(log, 1, commit=False)  # 1
    append(log, b.batch())  # 2
    log.update_high_watermark(log.log_end_offset)
    log = reopen(log)
    assert log.last_stable_offset == 2
    assert log.producer_state.producers[2].current_txn_first_offset == 2
    assert log.collect_aborted_transactions(0, 3) == [AbortedTxn(1, 0, 1, 2)]
    marker(log, 2, commit=False)  # 3
    log.update_high_watermark(log.log_end_offset)
    assert log.last_stable_offset == 4


def test_crash_recovery_rebuilds_a_lost_txnindex(tmp_path):
    log = open_log(tmp_path, segment_bytes=200)
    p = Producer(3)
    append(log, p.batch())
    for _ in range(5):
        append(log, data_batch())
    marker(log, 3, commit=False)
    expected = log.collect_aborted_transactions(0, log.log_end_offset)
    assert expected
    for name in os.listdir(log.dir):
        if name.endswith((".txnindex", ".snapshot")):
            os.unlink(os.path.join(log.dir, name))
    log = reopen(log, clean=False)
    assert log.collect_aborted_transactions(0, log.log_end_offset) == expected


def test_truncation_removes_index_entries_and_reopens_the_transaction(tmp_path):
    log = open_log(tmp_path)
    p = Producer(6)
    append(log, p.batch())  # 0
    marker(log, 6, commit=False)  # 1
    log.truncate_to(1)
    assert log.collect_aborted_transactions(0, 10) == []
    assert log.producer_state.producers[6].current_txn_first_offset == 0
    log.update_high_watermark(1)
    assert log.last_stable_offset == 0


def test_follower_append_indexes_aborts(tmp_path):
    leader = open_log(tmp_path, name="l-0")
    follower = open_log(tmp_path, name="f-0")
    p = Producer(2)
    append(leader, p.batch(2))
    marker(leader, 2, commit=False)
    data = leader.read(0, 1 << 20, FetchIsolation.LOG_END, min_one_batch=True)
    follower.append_as_follower(data, 0)
    assert follower.collect_aborted_transactions(0, 3) == leader.collect_aborted_transactions(0, 3)
    assert follower.collect_aborted_transactions(0, 3) == [AbortedTxn(2, 0, 2, 3)]


def test_active_producers_reports_transactions(tmp_path):
    log = open_log(tmp_path)
    p = Producer(11, epoch=2)
    append(log, p.batch(3))
    (active,) = log.active_producers()
    assert (active.producer_id, active.producer_epoch, active.last_sequence,
            active.coordinator_epoch, active.current_txn_start_offset) == (11, 2, 2, -1, 0)
    marker(log, 11, commit=True, epoch=2, coordinator_epoch=7)
    (active,) = log.active_producers()
    assert (active.coordinator_epoch, active.current_txn_start_offset) == (7, -1)


# -- KIP-890 verification -----------------------------------------------------------


def test_unverified_transactional_batch_is_refused(tmp_path):
    log = open_log(tmp_path, verification=True)
    with pytest.raises(KafkaError) as e:
        append(log, Producer(1).batch())
    assert e.value.code == ErrorCode.INVALID_TXN_STATE
    assert log.log_end_offset == 0


def test_verified_batch_is_appended_and_later_batches_need_no_guard(tmp_path):
    log = open_log(tmp_path, verification=True)
    p = Producer(1)
    guard = log.maybe_start_verification(1, 0, now_ms=0)
    assert guard is not None
    assert log.maybe_start_verification(1, 0, now_ms=0) == guard  # a retry gets the same guard
    append(log, p.batch(), verification_guard=guard)
    assert log.maybe_start_verification(1, 0) is None  # ongoing: nothing to verify
    append(log, p.batch())  # no guard needed inside the transaction


def test_a_marker_makes_an_old_guard_stale(tmp_path):
    log = open_log(tmp_path, verification=True)
    p = Producer(1)
    guard = log.maybe_start_verification(1, 0, now_ms=0)
    marker(log, 1, commit=False)  # the coordinator aborted meanwhile
    first = p.batch()
    with pytest.raises(KafkaError) as e:
        append(log, first, verification_guard=guard)
    assert e.value.code == ErrorCode.INVALID_TXN_STATE
    fresh = log.maybe_start_verification(1, 0, now_ms=0)
    assert fresh != guard
    append(log, first, verification_guard=fresh)


def test_coordinator_origin_is_verified_too(tmp_path):
    log = open_log(tmp_path, verification=True)
    batch = data_batch(1, 0, transactional=True)
    with pytest.raises(KafkaError) as e:
        append(log, batch, origin=AppendOrigin.COORDINATOR)
    assert e.value.code == ErrorCode.INVALID_TXN_STATE
    guard = log.maybe_start_verification(1)
    append(log, batch, origin=AppendOrigin.COORDINATOR, verification_guard=guard)
    assert log.log_end_offset == 1


def test_verification_disabled_appends_without_a_guard(tmp_path):
    log = open_log(tmp_path, verification=False)
    append(log, Producer(1).batch())
    assert log.log_end_offset == 1


def test_coordinator_batches_skip_duplicate_and_sequence_checks(tmp_path):
    """A coordinator's transactional batches all carry sequence 0 (Kafka's CoordinatorRuntime)."""
    log = open_log(tmp_path)
    first = append(log, data_batch(5, 0, 2, transactional=True), origin=AppendOrigin.COORDINATOR)
    second = append(log, data_batch(5, 0, 2, transactional=True), origin=AppendOrigin.COORDINATOR)
    assert not second.duplicate and second.base_offset == first.last_offset + 1
    marker(log, 5, commit=True, epoch=1)
    with pytest.raises(KafkaError) as e:  # the epoch is still checked
        append(log, data_batch(5, 0, 1, transactional=True, epoch=0), origin=AppendOrigin.COORDINATOR)
    assert e.value.code == ErrorCode.INVALID_PRODUCER_EPOCH


# -- the .txnindex file ----------------------------------------------------------------


def test_txnindex_torn_tail_is_cut_and_order_is_enforced(tmp_path):
    from minikafka.storage.txn_index import TransactionIndex

    path = str(tmp_path / "00000000000000000000.txnindex")
    index = TransactionIndex(path, 0)
    index.append(AbortedTxn(1, 0, 5, 6))
    index.append(AbortedTxn(2, 3, 9, 10))
    with pytest.raises(ValueError):
        index.append(AbortedTxn(3, 9, 9, 10))  # markers must move forward
    with open(path, "ab") as f:
        f.write(b"\x00\x00\x01")  # a torn third entry
    reloaded = TransactionIndex(path, 0)
    assert reloaded.entries == [AbortedTxn(1, 0, 5, 6), AbortedTxn(2, 3, 9, 10)]
    assert os.path.getsize(path) == 2 * ENTRY_SIZE
    reloaded.truncate_to(9)
    assert TransactionIndex(path, 0).entries == [AbortedTxn(1, 0, 5, 6)]
    reloaded.truncate_to(0)
    assert not os.path.exists(path)


def test_retention_deletes_a_segments_txnindex(tmp_path):
    log = open_log(tmp_path, segment_bytes=200, retention_bytes=0)
    p = Producer(1)
    append(log, p.batch())
    marker(log, 1, commit=False)
    first = os.path.join(log.dir, "00000000000000000000.txnindex")
    assert os.path.exists(first)
    for _ in range(4):
        append(log, data_batch())
    log.update_high_watermark(log.log_end_offset)
    log.maintenance(NOW_MS)
    assert log.log_start_offset > 1
    assert not os.path.exists(first)
    assert log.collect_aborted_transactions(log.log_start_offset, log.log_end_offset) == []

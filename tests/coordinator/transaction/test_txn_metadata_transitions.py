"""TransactionMetadata: prepare checks the state table, complete checks Kafka's invariants."""

import dataclasses

import pytest

from minikafka.coordinator.transaction.metadata import (
    InvalidTransition,
    TransactionMetadata,
    is_epoch_exhausted,
)
from minikafka.coordinator.transaction.state import TransactionState
from minikafka.errors import ErrorCode as E

S = TransactionState


def _ongoing(partitions=(("t", 0),)) -> TransactionMetadata:
    meta = TransactionMetadata.new("x", 7, 1000, now_ms=10)
    meta.complete_transition(meta.prepare_increment_producer_epoch(1000, None, 10))
    meta.complete_transition(meta.prepare_add_partitions(frozenset(partitions), 20))
    return meta


def test_new_id_gets_epoch_0_and_the_previous_id_is_the_one_before_the_transition():
    meta = TransactionMetadata.new("x", 7, 1000, now_ms=10)
    assert meta.producer_epoch == -1 and meta.state is S.EMPTY
    transit = meta.prepare_increment_producer_epoch(1000, None, 11)
    assert (transit.producer_epoch, transit.last_producer_epoch, transit.previous_producer_id) == (0, -1, 7)
    assert meta.producer_epoch == -1  # prepare changes nothing
    meta.complete_transition(transit)
    assert meta.producer_epoch == 0 and meta.txn_last_update_timestamp_ms == 11


def test_prepare_refuses_what_the_table_forbids():
    meta = TransactionMetadata.new("x", 7, 1000, now_ms=10)
    meta.complete_transition(meta.prepare_increment_producer_epoch(1000, None, 10))
    with pytest.raises(InvalidTransition):
        meta.prepare_abort_or_commit(S.PREPARE_COMMIT, 20)  # nothing to end in EMPTY
    with pytest.raises(InvalidTransition):
        meta.prepare_complete(20)
    with pytest.raises(InvalidTransition):
        meta.prepare_fence_producer_epoch()  # only an ONGOING transaction is fenced
    ongoing = _ongoing()
    with pytest.raises(InvalidTransition):
        ongoing.prepare_increment_producer_epoch(1000, None, 30)
    with pytest.raises(InvalidTransition):
        ongoing.prepare_producer_id_rotation(8, 1000, 30, record_last_epoch=False)
    with pytest.raises(InvalidTransition):
        ongoing.prepare_dead()


def test_complete_refuses_shrinking_partitions_and_epoch_jumps():
    meta = _ongoing(partitions=[("t", 0), ("t", 1)])
    shrunk = dataclasses.replace(meta.prepare_add_partitions(frozenset(), 30), partitions=frozenset({("t", 0)}))
    with pytest.raises(InvalidTransition):
        meta.complete_transition(shrunk)
    other_epoch = dataclasses.replace(meta.prepare_add_partitions(frozenset({("u", 0)}), 30), producer_epoch=5)
    with pytest.raises(InvalidTransition):
        meta.complete_transition(other_epoch)
    new_timeout = dataclasses.replace(meta.prepare_add_partitions(frozenset(), 30), txn_timeout_ms=5)
    with pytest.raises(InvalidTransition):
        meta.complete_transition(new_timeout)
    assert meta.partitions == {("t", 0), ("t", 1)} and meta.producer_epoch == 0


def test_empty_accepts_only_the_same_epoch_the_next_or_a_new_id():
    meta = TransactionMetadata.new("x", 7, 1000, now_ms=10)
    meta.complete_transition(meta.prepare_increment_producer_epoch(1000, None, 10))
    jump = dataclasses.replace(meta.prepare_increment_producer_epoch(1000, None, 20), producer_epoch=2)
    with pytest.raises(InvalidTransition):
        meta.complete_transition(jump)
    meta.complete_transition(meta.prepare_producer_id_rotation(8, 1000, 20, record_last_epoch=True))
    assert (meta.producer_id, meta.producer_epoch, meta.previous_producer_id, meta.last_producer_epoch) == (8, 0, 7, 0)


def test_fence_bumps_the_epoch_and_the_abort_carries_it():
    meta = _ongoing()
    fence = meta.prepare_fence_producer_epoch()
    assert fence.state is S.PREPARE_EPOCH_FENCE and fence.producer_epoch == 1 and fence.last_producer_epoch == -1
    abort = meta.prepare_abort_or_commit(S.PREPARE_ABORT, 40, fence)
    with pytest.raises(InvalidTransition):
        meta.prepare_abort_or_commit(S.PREPARE_COMMIT, 40, fence)  # a fence only ever aborts
    meta.complete_transition(abort)
    assert (meta.state, meta.producer_epoch, meta.partitions) == (S.PREPARE_ABORT, 1, {("t", 0)})
    meta.complete_transition(meta.prepare_complete(50))
    assert (meta.state, meta.partitions, meta.txn_start_timestamp_ms) == (S.COMPLETE_ABORT, set(), 20)


def test_increment_with_an_expected_epoch():
    meta = TransactionMetadata.new("x", 7, 1000, now_ms=10)
    meta.complete_transition(meta.prepare_increment_producer_epoch(1000, None, 10))
    meta.complete_transition(meta.prepare_increment_producer_epoch(1000, 0, 11))
    assert (meta.producer_epoch, meta.last_producer_epoch) == (1, 0)
    retry = meta.prepare_increment_producer_epoch(1000, 0, 12)
    assert (retry.producer_epoch, retry.last_producer_epoch) == (1, 0)
    assert meta.prepare_increment_producer_epoch(1000, 3, 12) == E.PRODUCER_FENCED


def test_exhaustion_and_the_log_round_trip():
    assert not is_epoch_exhausted(32765) and is_epoch_exhausted(32766)
    meta = _ongoing(partitions=[("t", 0), ("u", 3)])
    transit = meta.prepare_abort_or_commit(S.PREPARE_COMMIT, 40)
    meta.complete_transition(transit)
    rebuilt = TransactionMetadata.from_log_value("x", transit.to_log_value())
    memory_only = {"last_producer_epoch": meta.last_producer_epoch, "previous_producer_id": meta.previous_producer_id}
    assert dataclasses.replace(rebuilt, **memory_only) == meta
    assert (rebuilt.last_producer_epoch, rebuilt.previous_producer_id) == (-1, -1)

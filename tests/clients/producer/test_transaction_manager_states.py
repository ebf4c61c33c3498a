"""The transactional producer's client state machine (``TransactionManager``), sans I/O."""

import pytest

from minikafka.errors import ErrorCode, KafkaError
from minikafka_clients.transaction_manager import (
    IllegalStateError, Outcome, TransactionManager, TransactionState, outcome_of)

S = TransactionState


def _ready() -> TransactionManager:
    manager = TransactionManager("tx", 60_000)
    assert manager.begin_init()
    manager.initialized()
    manager.operation_done()
    return manager


def _in_transaction(*partitions) -> TransactionManager:
    manager = _ready()
    manager.begin_transaction()
    for tp in partitions:
        manager.check_send(has_producer_id=True)
        manager.maybe_add_partition(tp)
    return manager


def test_the_happy_path_init_begin_add_commit():
    manager = _in_transaction(("t", 0), ("t", 1), ("t", 0))
    assert manager.state == S.IN_TRANSACTION
    assert not manager.is_send_to_partition_allowed(("t", 0))  # not added yet
    assert manager.take_partitions_to_add() == [("t", 0), ("t", 1)]
    assert manager.take_partitions_to_add() == []  # pending now: not asked twice
    manager.maybe_add_partition(("t", 1))  # a record while the request is out: still pending
    assert manager.new_partitions == set()
    assert manager.partitions_added({("t", 0): 0, ("t", 1): 0}) == Outcome.DONE
    assert manager.is_send_to_partition_allowed(("t", 1))
    assert manager.begin_commit()
    assert manager.state == S.COMMITTING_TRANSACTION and manager.needs_end_txn()
    assert manager.complete_transaction() is False
    manager.operation_done()
    assert manager.state == S.READY
    assert manager.partitions_in_transaction == set() and not manager.needs_end_txn()


def test_calls_out_of_order_are_illegal_and_change_nothing():
    manager = TransactionManager("tx", 60_000)
    with pytest.raises(IllegalStateError):
        manager.begin_transaction()
    with pytest.raises(IllegalStateError, match="init_transactions"):
        manager.check_send(has_producer_id=False)
    assert manager.state == S.UNINITIALIZED
    manager = _ready()
    with pytest.raises(IllegalStateError, match="begin_transaction"):
        manager.check_send(has_producer_id=True)
    with pytest.raises(IllegalStateError):
        manager.begin_commit()
    with pytest.raises(IllegalStateError, match="not in progress"):
        manager.check_send_offsets()
    assert manager.state == S.READY
    manager.begin_transaction()
    with pytest.raises(IllegalStateError):
        manager.begin_transaction()
    assert manager.state == S.IN_TRANSACTION


def test_an_empty_transaction_sends_no_end_txn():
    manager = _in_transaction()
    manager.begin_commit()
    assert not manager.needs_end_txn()


def test_a_failed_batch_makes_the_transaction_abortable_with_an_epoch_bump():
    manager = _in_transaction(("t", 0))
    manager.partitions_added({("t", 0): 0})
    manager.handle_failed_batch(KafkaError(ErrorCode.REQUEST_TIMED_OUT))
    assert manager.state == S.ABORTABLE_ERROR
    assert manager.should_abort_undrained()
    with pytest.raises(KafkaError) as raised:
        manager.begin_commit()
    assert raised.value.code == ErrorCode.REQUEST_TIMED_OUT
    with pytest.raises(KafkaError):
        manager.check_send(has_producer_id=True)
    assert manager.begin_abort()
    assert manager.state == S.ABORTING_TRANSACTION
    assert manager.complete_transaction() is True  # the abort ends with InitProducerId
    assert manager.state == S.INITIALIZING
    manager.initialized()
    manager.operation_done()
    assert manager.state == S.READY
    manager.begin_transaction()


def test_a_batch_failing_during_commit_makes_the_commit_fail():
    manager = _in_transaction(("t", 0))
    manager.partitions_added({("t", 0): 0})
    manager.begin_commit()
    manager.handle_failed_batch(KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS))
    assert manager.state == S.ABORTABLE_ERROR
    assert not manager.epoch_bump_required  # Kafka bumps only for failures outside completion


def test_fencing_is_fatal_and_even_abort_raises_it():
    manager = _in_transaction(("t", 0))
    manager.handle_failed_batch(KafkaError(ErrorCode.PRODUCER_FENCED))
    assert manager.state == S.FATAL_ERROR
    for call in (manager.begin_abort, manager.begin_commit, manager.begin_transaction):
        with pytest.raises(KafkaError) as raised:
            call()
        assert raised.value.code == ErrorCode.PRODUCER_FENCED
    manager.handle_failed_batch(KafkaError(ErrorCode.REQUEST_TIMED_OUT))
    assert manager.state == S.FATAL_ERROR  # never leaves it


def test_add_partitions_retriable_answers_put_the_partitions_back():
    manager = _in_transaction(("t", 0), ("u", 0))
    partitions = manager.take_partitions_to_add()
    assert manager.partitions_added(
        {("t", 0): ErrorCode.CONCURRENT_TRANSACTIONS, ("u", 0): 0}) == Outcome.RETRY
    assert manager.new_partitions == set(partitions) and not manager.pending_partitions
    assert manager.state == S.IN_TRANSACTION
    manager.take_partitions_to_add()
    assert manager.partitions_added(
        {("t", 0): ErrorCode.NOT_COORDINATOR, ("u", 0): 0}) == Outcome.FIND_COORDINATOR
    manager.take_partitions_to_add()
    assert manager.partitions_added({("t", 0): 0, ("u", 0): 0}) == Outcome.DONE
    assert manager.transaction_started


@pytest.mark.parametrize("code,state", [
    (ErrorCode.INVALID_PRODUCER_EPOCH, S.FATAL_ERROR),
    (ErrorCode.PRODUCER_FENCED, S.FATAL_ERROR),
    (ErrorCode.INVALID_TXN_STATE, S.FATAL_ERROR),
    (ErrorCode.TOPIC_AUTHORIZATION_FAILED, S.ABORTABLE_ERROR),
    (ErrorCode.UNKNOWN_PRODUCER_ID, S.ABORTABLE_ERROR),
])
def test_add_partitions_final_errors(code, state):
    manager = _in_transaction(("t", 0))
    manager.take_partitions_to_add()
    manager.partitions_added({("t", 0): code})
    assert manager.state == state
    assert not manager.is_send_to_partition_allowed(("t", 0))
    if code in (ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.PRODUCER_FENCED):
        assert manager.last_error.code == ErrorCode.PRODUCER_FENCED


def test_an_interrupted_call_resumes_and_blocks_other_calls():
    manager = _in_transaction(("t", 0))
    assert manager.begin_commit() is True
    # The call timed out (max.block.ms): the operation is still pending.
    with pytest.raises(IllegalStateError, match="commit_transaction` timed out"):
        manager.begin_abort()
    assert manager.begin_commit() is False  # a resume, not a new transition
    manager.complete_transaction()
    manager.operation_done()
    assert manager.state == S.READY


@pytest.mark.parametrize("api,code,outcome", [
    ("EndTxn", ErrorCode.NONE, Outcome.DONE),
    ("EndTxn", ErrorCode.CONCURRENT_TRANSACTIONS, Outcome.RETRY),
    ("EndTxn", ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, Outcome.RETRY),
    ("EndTxn", ErrorCode.NOT_COORDINATOR, Outcome.FIND_COORDINATOR),
    ("EndTxn", ErrorCode.COORDINATOR_NOT_AVAILABLE, Outcome.FIND_COORDINATOR),
    ("EndTxn", ErrorCode.PRODUCER_FENCED, Outcome.FATAL),
    ("EndTxn", ErrorCode.INVALID_PRODUCER_EPOCH, Outcome.FATAL),
    ("EndTxn", ErrorCode.INVALID_TXN_STATE, Outcome.FATAL),
    ("EndTxn", ErrorCode.UNKNOWN_PRODUCER_ID, Outcome.ABORTABLE_BUMP),
    ("EndTxn", ErrorCode.TRANSACTION_ABORTABLE, Outcome.ABORTABLE),
    ("InitProducerId", ErrorCode.CONCURRENT_TRANSACTIONS, Outcome.RETRY),
    ("InitProducerId", ErrorCode.INVALID_TRANSACTION_TIMEOUT, Outcome.FATAL),
    ("AddOffsetsToTxn", ErrorCode.GROUP_AUTHORIZATION_FAILED, Outcome.ABORTABLE),
    ("TxnOffsetCommit", ErrorCode.REQUEST_TIMED_OUT, Outcome.FIND_COORDINATOR),
    ("TxnOffsetCommit", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, Outcome.RETRY),
    ("TxnOffsetCommit", ErrorCode.ILLEGAL_GENERATION, Outcome.ABORTABLE),
    ("TxnOffsetCommit", ErrorCode.FENCED_INSTANCE_ID, Outcome.ABORTABLE),
    ("TxnOffsetCommit", ErrorCode.PRODUCER_FENCED, Outcome.FATAL),
    ("AddPartitionsToTxn", ErrorCode.UNKNOWN_SERVER_ERROR, Outcome.ABORTABLE),
    ("FindCoordinator", ErrorCode.COORDINATOR_NOT_AVAILABLE, Outcome.RETRY),
])
def test_kafkas_error_handling_per_api(api, code, outcome):
    assert outcome_of(api, code) == outcome

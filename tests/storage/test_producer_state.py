"""ProducerStateManager: every idempotence rule, one test (or a few) each."""

from __future__ import annotations

import dataclasses

import pytest

from minikafka.storage.producer_state import (
    INT32_MAX,
    DuplicateBatch,
    ProducerStateManager,
)
from minikafka.errors import ErrorCode, KafkaError

PID = 1000


@dataclasses.dataclass
class Batch:
    """The BatchInfo attributes producer_state reads."""

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


class MiniLog:
    """A partition stand-in: check, assign offsets, append, update."""

    def __init__(self, state: ProducerStateManager | None = None):
        self.state = state or ProducerStateManager()
        self.batches: list[Batch] = []
        self.log_end_offset = 0

    def produce(self, batch: Batch, now_ms: int = 5_000):
        duplicate = self.state.check(batch)
        if duplicate is not None:
            return duplicate
        first = self.log_end_offset
        last = first + batch.last_offset_delta
        self.batches.append(dataclasses.replace(batch, base_offset=first))
        self.state.update(batch, first, last, now_ms)
        self.log_end_offset = last + 1
        return (first, last)


def assert_error(code: ErrorCode, log: MiniLog, batch: Batch) -> KafkaError:
    with pytest.raises(KafkaError) as info:
        log.produce(batch)
    assert info.value.code == code
    assert info.value.message  # a precise reason, for the log and the client
    return info.value


def test_non_idempotent_batches_always_pass_and_leave_no_state():
    log = MiniLog()
    for offset in range(3):
        assert log.produce(Batch(-1, -1, -1)) == (offset, offset)  # same batch, appended again
    assert log.state.producers == {}


def test_in_sequence_batches_are_appended():
    log = MiniLog()
    assert log.produce(Batch(PID, 0, 0, record_count=3)) == (0, 2)
    assert log.produce(Batch(PID, 0, 3, record_count=2)) == (3, 4)
    entry = log.state.producers[PID]
    assert (entry.producer_epoch, entry.last_sequence, entry.last_offset) == (0, 4, 4)


@pytest.mark.parametrize("which", range(5))
def test_retry_of_any_of_the_last_five_batches_is_a_duplicate(which):
    log = MiniLog()
    sent = [Batch(PID, 0, seq * 2, record_count=2, max_timestamp=100 + seq) for seq in range(7)]
    offsets = [log.produce(b) for b in sent]
    retried = sent[2 + which]  # batches 2..6 are the last five
    duplicate = log.produce(retried)
    first, last = offsets[2 + which]
    assert duplicate == DuplicateBatch(first, last, retried.max_timestamp)
    assert log.log_end_offset == 14  # nothing appended


def test_retry_of_the_sixth_newest_batch_is_out_of_order():
    log = MiniLog()
    sent = [Batch(PID, 0, seq) for seq in range(6)]
    for batch in sent:
        log.produce(batch)
    assert_error(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, log, sent[0])


def test_gap_in_sequence_is_out_of_order_and_says_what_was_expected():
    log = MiniLog()
    log.produce(Batch(PID, 0, 0, record_count=5))
    error = assert_error(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, log, Batch(PID, 0, 6))
    assert "expected 5" in error.message
    assert log.log_end_offset == 5


def test_overlapping_range_that_is_not_a_cached_batch_is_out_of_order():
    log = MiniLog()
    log.produce(Batch(PID, 0, 0, record_count=4))
    assert_error(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, log, Batch(PID, 0, 2, record_count=2))


def test_older_epoch_is_fenced():
    log = MiniLog()
    log.produce(Batch(PID, 3, 0))
    assert_error(ErrorCode.INVALID_PRODUCER_EPOCH, log, Batch(PID, 2, 1))


def test_retry_from_an_old_epoch_is_fenced_not_deduplicated():
    log = MiniLog()
    old = Batch(PID, 0, 0)
    log.produce(old)
    log.produce(Batch(PID, 1, 0))
    assert_error(ErrorCode.INVALID_PRODUCER_EPOCH, log, old)


def test_epoch_bump_restarts_sequences_at_zero_and_clears_the_cache():
    log = MiniLog()
    for seq in range(3):
        log.produce(Batch(PID, 0, seq))
    assert log.produce(Batch(PID, 1, 0)) == (3, 3)
    entry = log.state.producers[PID]
    assert entry.producer_epoch == 1
    assert [b.first_sequence for b in entry.batches] == [0]
    assert log.produce(Batch(PID, 1, 1)) == (4, 4)


def test_new_epoch_not_starting_at_zero_is_out_of_order():
    log = MiniLog()
    log.produce(Batch(PID, 0, 0))
    error = assert_error(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, log, Batch(PID, 1, 5))
    assert "new epoch" in error.message


def test_unknown_producer_with_nonzero_sequence_is_accepted_as_kafka_4_does():
    # KIP-360: UNKNOWN_PRODUCER_ID is retired; a producer whose state was lost
    # (expiry, retention) continues with its own sequence numbers.
    log = MiniLog()
    assert log.produce(Batch(PID, 7, 42)) == (0, 0)
    assert log.produce(Batch(PID, 7, 43)) == (1, 1)
    assert_error(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, log, Batch(PID, 7, 45))


def test_batch_with_producer_id_but_no_sequence_is_an_invalid_record():
    assert_error(ErrorCode.INVALID_RECORD, MiniLog(), Batch(PID, 0, -1))


def test_sequence_wraps_to_zero_after_int32_max():
    log = MiniLog()
    log.produce(Batch(PID, 0, INT32_MAX - 1, record_count=2))
    assert log.state.producers[PID].last_sequence == INT32_MAX
    assert_error(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, log, Batch(PID, 0, 1))
    assert log.produce(Batch(PID, 0, 0)) == (2, 2)


def test_batch_spanning_the_wrap_is_appended_and_deduplicated():
    log = MiniLog()
    log.produce(Batch(PID, 0, INT32_MAX - 3, record_count=2))
    spanning = Batch(PID, 0, INT32_MAX - 1, record_count=4)  # sequences ..., 0, 1
    assert spanning.last_sequence == 1
    assert log.produce(spanning) == (2, 5)
    assert log.produce(spanning) == DuplicateBatch(2, 5, spanning.max_timestamp)
    assert log.produce(Batch(PID, 0, 2)) == (6, 6)


def test_producers_are_independent():
    log = MiniLog()
    log.produce(Batch(PID, 0, 0))
    log.produce(Batch(PID + 1, 0, 0))
    assert log.produce(Batch(PID, 0, 1)) == (2, 2)
    assert_error(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, log, Batch(PID + 1, 0, 2))


def test_check_batches_validates_later_batches_against_earlier_ones_of_the_request():
    state = ProducerStateManager()
    assert state.check_batches([Batch(PID, 0, 0), Batch(PID, 0, 1), Batch(-1, -1, -1)]) is None
    with pytest.raises(KafkaError) as info:
        state.check_batches([Batch(PID, 0, 0), Batch(PID, 0, 2)])
    assert info.value.code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert state.producers == {}  # checking never changes the state


def test_check_batches_answers_a_duplicate_for_the_whole_request():
    log = MiniLog()
    log.produce(Batch(PID, 0, 0))
    assert log.state.check_batches([Batch(PID, 0, 0), Batch(PID, 0, 1)]) == DuplicateBatch(
        0, 0, 1_000
    )


def test_control_batch_moves_the_epoch_only():
    log = MiniLog()
    log.produce(Batch(PID, 0, 0))
    log.state.update(Batch(PID, 1, -1, is_control=True), 1, 1, now_ms=0)
    assert_error(ErrorCode.INVALID_PRODUCER_EPOCH, log, Batch(PID, 0, 1))
    assert log.state.producers[PID].batches == type(log.state.producers[PID].batches)()


def test_log_append_time_topics_remember_the_append_time():
    state = ProducerStateManager()
    batch = Batch(PID, 0, 0, max_timestamp=1)
    state.update(batch, 0, 0, now_ms=9_999, log_append_time_ms=9_998)
    assert state.check(batch) == DuplicateBatch(0, 0, 9_998)
    # Without it, the batch's own max timestamp is kept, as Kafka does.
    state.update(Batch(PID, 0, 1, max_timestamp=5), 1, 1, now_ms=9_999)
    assert state.producers[PID].last_timestamp == 5


def test_idle_producers_expire_after_producer_id_expiration_ms():
    state = ProducerStateManager(producer_id_expiration_ms=1_000)
    log = MiniLog(state)
    log.produce(Batch(PID, 0, 0, max_timestamp=10_000))
    log.produce(Batch(PID + 1, 0, 0, max_timestamp=10_500))
    assert state.remove_expired_producers(now_ms=10_999) == []
    assert state.remove_expired_producers(now_ms=11_000) == [PID]
    assert list(state.producers) == [PID + 1]
    # Its next batch is accepted whatever its sequence, as in Kafka.
    assert log.produce(Batch(PID, 0, 17)) == (2, 2)


def test_default_expiration_is_one_day():
    assert ProducerStateManager().producer_id_expiration_ms == 86_400_000


def test_evict_unretained_producers_below_log_start_offset():
    log = MiniLog()
    log.produce(Batch(PID, 0, 0, record_count=3))  # offsets 0..2
    log.produce(Batch(PID + 1, 0, 0))  # offset 3
    assert log.state.evict_unretained_producers(3) == [PID]
    assert list(log.state.producers) == [PID + 1]
    assert log.state.evict_unretained_producers(3) == []


def test_load_from_batches_rebuilds_the_live_state():
    log = MiniLog()
    for seq in range(8):
        log.produce(Batch(PID, 0, seq * 2, record_count=2))
    log.produce(Batch(PID + 1, 4, 0))
    log.produce(Batch(-1, -1, -1))
    rebuilt = ProducerStateManager()
    rebuilt.load_from_batches(log.batches)
    assert rebuilt.producers == log.state.producers
    assert rebuilt.map_end_offset == log.state.map_end_offset == log.log_end_offset


def test_truncate_fully_and_start_at():
    log = MiniLog()
    log.produce(Batch(PID, 0, 0))
    log.state.truncate_fully_and_start_at(50)
    assert log.state.producers == {} and log.state.map_end_offset == 50


def test_works_with_the_storage_cores_batch_info():
    # The module duck-types its batches; check the real BatchInfo fits.
    from minikafka_core.batch import validate_batches
    from minikafka_core.records import build_batch_of_values as build_batch

    def real(base_sequence, count):
        records = build_batch([b"v"] * count, producer_id=PID, producer_epoch=0,
                              base_sequence=base_sequence, base_timestamp=123)
        return validate_batches(records, 1 << 20)[0]

    state = ProducerStateManager()
    first = real(INT32_MAX - 1, 3)  # spans the wrap: sequences ..., 0
    assert state.check(first) is None
    state.update(first, 10, 12, now_ms=0)
    assert state.check(first) == DuplicateBatch(10, 12, 123)
    assert state.check(real(1, 1)) is None
    with pytest.raises(KafkaError):
        state.check(real(2, 1))

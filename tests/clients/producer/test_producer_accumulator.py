"""The accumulator (batching, linger, memory) and idempotence bookkeeping, clock injected."""

from minikafka.protocol import records as record_codec
from minikafka_clients.accumulator import RecordAccumulator
from minikafka_clients.idempotence import IdempotenceState


def append(accumulator, partition=0, value=b"v", now_ms=0, key=None, headers=(), timestamp_ms=1000):
    return accumulator.append("t", partition, timestamp_ms, key, value, list(headers), now_ms)


def test_records_of_a_partition_share_a_batch_until_linger_expires():
    accumulator = RecordAccumulator(batch_size=16384, linger_ms=5)
    first = append(accumulator, now_ms=100)
    second = append(accumulator, now_ms=102)
    assert first.new_batch_created and not second.new_batch_created
    assert first.batch is second.batch and second.relative_offset == 1
    assert accumulator.ready(102) == ([], 3)  # lingers until 105
    assert accumulator.ready(105) == ([("t", 0)], float("inf"))


def test_a_full_batch_is_ready_at_once_and_a_new_one_opens():
    accumulator = RecordAccumulator(batch_size=500, linger_ms=1000)
    results = [append(accumulator, value=b"x" * 100) for _ in range(5)]
    assert results[4].new_batch_created and results[4].batch_is_full
    assert len(accumulator.batches[("t", 0)]) == 2
    assert accumulator.ready(0)[0] == [("t", 0)]
    batch = accumulator.pop(("t", 0))
    assert batch.record_count == 4 and batch.size_bytes <= 500


def test_a_record_bigger_than_batch_size_gets_a_batch_of_its_own():
    accumulator = RecordAccumulator(batch_size=100, linger_ms=1000)
    result = append(accumulator, value=b"x" * 1000)
    assert result.batch.record_count == 1 and result.batch_is_full


def test_flush_and_close_make_lingering_batches_ready():
    accumulator = RecordAccumulator(linger_ms=10_000)
    append(accumulator)
    assert accumulator.ready(0)[0] == []
    accumulator.flushing += 1
    assert accumulator.ready(0)[0] == [("t", 0)]
    accumulator.flushing -= 1
    accumulator.closing = True
    assert accumulator.ready(0)[0] == [("t", 0)]


def test_built_batch_decodes_to_the_appended_records():
    accumulator = RecordAccumulator()
    append(accumulator, key=b"k1", value=b"v1", timestamp_ms=1000, headers=[(b"h", b"1")])
    append(accumulator, key=None, value=None, timestamp_ms=990, headers=[(b"n", None)])
    batch = accumulator.pop(("t", 0))
    batch.producer_id, batch.producer_epoch, batch.base_sequence = 7, 2, 40
    for codec in range(5):
        batch._payload = None
        decoded = record_codec.parse_batch(batch.build(codec))
        assert decoded.crc_valid and decoded.compression == codec
        assert (decoded.producer_id, decoded.producer_epoch, decoded.base_sequence) == (7, 2, 40)
        assert decoded.base_timestamp == 1000 and decoded.max_timestamp == 1000
        assert [(r.offset, r.timestamp, r.key, r.value, r.headers) for r in decoded.records] == [
            (0, 1000, b"k1", b"v1", [("h", b"1")]), (1, 990, None, None, [("n", None)])]


def test_buffer_memory_is_reserved_per_batch_and_released():
    accumulator = RecordAccumulator(batch_size=1000, buffer_memory=2000)
    first = append(accumulator, partition=0)
    append(accumulator, partition=1)
    assert accumulator.used_memory == 2000 and not accumulator.has_room(10)
    accumulator.pop(("t", 0))
    accumulator.deallocate(first.batch)
    assert accumulator.has_room(10)


def test_expired_batches_are_taken_out():
    accumulator = RecordAccumulator()
    append(accumulator, now_ms=0)
    append(accumulator, partition=1, now_ms=50)
    expired = accumulator.expired_batches(100, delivery_timeout_ms=80)
    assert [b.partition for b in expired] == [0]


def test_retries_go_back_in_sequence_order_before_new_batches():
    accumulator = RecordAccumulator(batch_size=100, linger_ms=0)
    batches = [append(accumulator, value=b"x" * 60).batch for _ in range(4)]
    drained = [accumulator.pop(("t", 0)) for _ in range(3)]
    for sequence, batch in enumerate(drained):
        batch.base_sequence, batch.attempts = sequence, 1
    accumulator.reenqueue(drained[2], now_ms=0, backoff_ms=100)
    accumulator.reenqueue(drained[0], now_ms=0, backoff_ms=100)
    accumulator.reenqueue(drained[1], now_ms=0, backoff_ms=100)
    assert list(accumulator.batches[("t", 0)]) == drained + [batches[3]]
    assert accumulator.ready(50) == ([], 50)  # a retry waits for its backoff
    assert accumulator.ready(100)[0] == [("t", 0)]


# -- idempotence -----------------------------------------------------------------


def drained_batches(count, records_each=2):
    accumulator = RecordAccumulator(batch_size=1, linger_ms=0)
    for _ in range(count * records_each):
        append(accumulator)
    return accumulator, [accumulator.pop(("t", 0)) for _ in range(count)]


def test_sequences_count_records_per_partition():
    accumulator = RecordAccumulator(batch_size=1)
    state = IdempotenceState()
    state.set_producer_id(1000, 0)
    batches = []
    for partition in (0, 0, 1, 0):
        append(accumulator, partition=partition)
        append(accumulator, partition=partition)  # batch_size=1: one record per batch
    for key in list(accumulator.batches):
        while accumulator.batches[key]:
            batch = accumulator.pop(key)
            state.assign(batch)
            batches.append(batch)
    assert [(b.partition, b.base_sequence) for b in batches] == [
        (0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (1, 0), (1, 1)]
    assert all((b.producer_id, b.producer_epoch) == (1000, 0) for b in batches)


def test_a_retry_is_sent_only_as_the_oldest_unacked_batch():
    _, batches = drained_batches(3)
    state = IdempotenceState()
    state.set_producer_id(1, 0)
    for batch in batches:
        state.assign(batch)
    assert state.may_drain(batches[0]) and not state.may_drain(batches[1])
    # batch 1 came back OUT_OF_ORDER while batch 0 is unacked: retriable, not KIP-360
    assert not state.is_next_expected(batches[1])
    state.acked(batches[0])
    assert state.may_drain(batches[1]) and state.is_next_expected(batches[1])


def test_epoch_bump_renumbers_waiting_batches_from_zero():
    _, batches = drained_batches(3)
    state = IdempotenceState()
    state.set_producer_id(1, 0)
    for batch in batches:
        state.assign(batch)
    state.acked(batches[0])
    state.failed(batches[1])  # a gap: the broker would refuse batch 2 forever
    assert state.bump_required and not state.may_drain(batches[2])
    state.set_producer_id(1, 1)
    assert (batches[2].producer_epoch, batches[2].base_sequence) == (1, 0)
    assert state.may_drain(batches[2]) and not state.bump_required

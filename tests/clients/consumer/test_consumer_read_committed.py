"""isolation.level: aborted transactions dropped from a Fetch response (read_committed).

The Fetch partition data is built here from real batches: producers
interleave transactions, some of which abort, exactly as a Kafka leader
returns them (with the ``aborted_transactions`` it lists for the range).
"""

from types import SimpleNamespace

from minikafka_core import records as rc
from minikafka_clients.consumer_fetcher import partition_records


def _batch(offset, values, producer_id, transactional=True):
    return rc.build_batch([rc.Record(offset + i, 1000, None, v) for i, v in enumerate(values)],
                          base_offset=offset, producer_id=producer_id, producer_epoch=0,
                          base_sequence=0, is_transactional=transactional)


def _marker(offset, kind, producer_id):
    return rc.build_control_batch(kind, producer_id=producer_id, producer_epoch=0,
                                  timestamp=1000, base_offset=offset)


def _partition(batches, aborted):
    return SimpleNamespace(records=b"".join(batches), aborted_transactions=[
        SimpleNamespace(producer_id=pid, first_offset=first) for pid, first in aborted])


def _response(aborted):
    data = b"".join([
        _batch(0, [b"p1-committed"], 1),
        _batch(1, [b"p2-aborted-1"], 2),
        _batch(2, [b"p1-committed-2"], 1),
        _marker(3, rc.ControlRecordType.COMMIT, 1),
        _batch(4, [b"p2-aborted-2"], 2),
        _marker(5, rc.ControlRecordType.ABORT, 2),
        _batch(6, [b"p2-later-committed"], 2),  # a new transaction of the same producer
        _marker(7, rc.ControlRecordType.COMMIT, 2),
    ])
    return SimpleNamespace(records=data, aborted_transactions=[
        SimpleNamespace(producer_id=pid, first_offset=first) for pid, first in aborted])


def test_read_committed_drops_aborted_batches_until_the_abort_marker():
    records, next_position = partition_records("t", 0, 0, _response([(2, 1)]), read_committed=True)
    assert [r.value for r in records] == [b"p1-committed", b"p1-committed-2", b"p2-later-committed"]
    assert next_position == 8  # past the last control batch


def test_read_uncommitted_returns_everything_but_markers():
    records, next_position = partition_records("t", 0, 0, _response([(2, 1)]))
    assert [r.offset for r in records] == [0, 1, 2, 4, 6]
    assert next_position == 8


def test_position_inside_the_response_skips_earlier_records():
    records, _ = partition_records("t", 0, 2, _response([(2, 1)]), read_committed=True)
    assert [r.offset for r in records] == [2, 6]


def test_two_aborted_transactions_of_one_producer_in_one_response():
    partition = _partition([
        _batch(0, [b"a1", b"a2"], 7),
        _marker(2, rc.ControlRecordType.ABORT, 7),
        _batch(3, [b"c1"], 7),
        _marker(4, rc.ControlRecordType.COMMIT, 7),
        _batch(5, [b"a3"], 7),
        _marker(6, rc.ControlRecordType.ABORT, 7),
    ], aborted=[(7, 5), (7, 0)])  # the broker's order is not relied upon
    records, next_position = partition_records("t", 0, 0, partition, read_committed=True)
    assert [r.value for r in records] == [b"c1"]
    assert next_position == 7


def test_an_aborted_transaction_that_began_before_the_fetch_offset():
    partition = _partition([
        _batch(10, [b"x", b"y", b"z"], 3),  # the transaction began at 8, in an earlier fetch
        _marker(13, rc.ControlRecordType.ABORT, 3),
        _batch(14, [b"kept"], 4),
        _marker(15, rc.ControlRecordType.COMMIT, 4),
    ], aborted=[(3, 8)])
    records, next_position = partition_records("t", 0, 11, partition, read_committed=True)
    assert [r.value for r in records] == [b"kept"]
    assert next_position == 16


def test_only_aborted_data_still_moves_the_position():
    """Else the consumer would fetch the same aborted batches forever."""
    partition = _partition([_batch(0, [b"gone"], 5), _marker(1, rc.ControlRecordType.ABORT, 5)],
                           aborted=[(5, 0)])
    assert partition_records("t", 0, 0, partition, read_committed=True) == ([], 2)
    partition = _partition([_batch(0, [b"gone"], 5)], aborted=[(5, 0)])  # marker not fetched yet
    assert partition_records("t", 0, 0, partition, read_committed=True) == ([], 1)


def test_non_transactional_batches_are_never_dropped():
    partition = _partition([
        _batch(0, [b"idempotent"], 9, transactional=False),
        _batch(1, [b"plain"], -1, transactional=False),
        _batch(2, [b"aborted"], 9),
        _marker(3, rc.ControlRecordType.ABORT, 9),
    ], aborted=[(9, 2)])
    records, _ = partition_records("t", 0, 0, partition, read_committed=True)
    assert [r.value for r in records] == [b"idempotent", b"plain"]


def test_an_abort_marker_ends_only_its_own_producers_aborted_transaction():
    partition = _partition([
        _batch(0, [b"p1-aborted"], 1),
        _batch(1, [b"p2-aborted"], 2),
        _marker(2, rc.ControlRecordType.ABORT, 1),
        _batch(3, [b"p2-still-aborted"], 2),
        _batch(4, [b"p1-next"], 1),
        _marker(5, rc.ControlRecordType.ABORT, 2),
        _marker(6, rc.ControlRecordType.COMMIT, 1),
    ], aborted=[(1, 0), (2, 1)])
    records, _ = partition_records("t", 0, 0, partition, read_committed=True)
    assert [r.value for r in records] == [b"p1-next"]

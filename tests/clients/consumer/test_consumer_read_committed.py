"""isolation.level: aborted transactions dropped from a Fetch response (read_committed).

The broker has no transaction coordinator yet, so the Fetch partition data is
built here from real batches: two producers interleave transactions, one of
which aborts, exactly as a Kafka leader would return them.
"""

from types import SimpleNamespace

from minikafka.protocol import records as rc
from minikafka_clients.consumer_fetcher import partition_records


def _batch(offset, values, producer_id):
    return rc.build_batch([rc.Record(offset + i, 1000, None, v) for i, v in enumerate(values)],
                          base_offset=offset, producer_id=producer_id, producer_epoch=0,
                          base_sequence=0, is_transactional=True)


def _marker(offset, kind, producer_id):
    return rc.build_control_batch(kind, producer_id=producer_id, producer_epoch=0,
                                  timestamp=1000, base_offset=offset)


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

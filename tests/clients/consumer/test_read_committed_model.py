"""read_committed filtering against a model, on random interleavings of transactions (Hypothesis).

A random log: producers append transactional batches (the first one opens
the producer's transaction), non-transactional batches come in between, and
COMMIT / ABORT markers end transactions. The Fetch response is what a
leader returns from a random position: the batches from the one holding
the position to the end, and the aborted transactions the broker lists
(last offset at or after the fetch offset). The consumer must return
exactly the records at or after the position that are not transactional
or belong to a committed transaction, and move past everything.
"""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from minikafka_core import records as rc
from minikafka_clients.consumer_fetcher import partition_records

PRODUCERS = [1, 2, 3]

step = st.one_of(
    st.tuples(st.just("append"), st.sampled_from(PRODUCERS), st.integers(1, 3)),
    st.tuples(st.just("plain"), st.just(-1), st.integers(1, 3)),
    st.tuples(st.sampled_from(["commit", "abort"]), st.sampled_from(PRODUCERS), st.just(1)),
)


def build_log(steps, endings):
    """``(batches, aborted, visible)``: the encoded batches with their offsets, the aborted
    transactions ``(producer_id, first_offset, last_offset)``, and the visible record offsets."""
    batches, aborted, visible = [], [], set()
    open_txns: dict[int, tuple[int, list[int]]] = {}  # producer -> (first offset, record offsets)
    offset = 0

    def end(producer_id: int, commit: bool) -> None:
        nonlocal offset
        first, offsets = open_txns.pop(producer_id)
        kind = rc.ControlRecordType.COMMIT if commit else rc.ControlRecordType.ABORT
        batches.append((offset, 1, rc.build_control_batch(
            kind, producer_id=producer_id, producer_epoch=0, timestamp=0, base_offset=offset)))
        if commit:
            visible.update(offsets)
        else:
            aborted.append((producer_id, first, offset))
        offset += 1

    for kind, producer_id, count in steps:
        if kind in ("commit", "abort"):
            if producer_id in open_txns:
                end(producer_id, kind == "commit")
            continue
        transactional = kind == "append"
        records = [rc.Record(offset + i, 0, None, b"%d" % (offset + i)) for i in range(count)]
        batches.append((offset, count, rc.build_batch(
            records, base_offset=offset, producer_id=producer_id, producer_epoch=0,
            base_sequence=0 if producer_id >= 0 else -1, is_transactional=transactional)))
        if transactional:
            open_txns.setdefault(producer_id, (offset, []))[1].extend(range(offset, offset + count))
        else:
            visible.update(range(offset, offset + count))
        offset += count
    for producer_id, commit in zip(sorted(open_txns), endings):
        end(producer_id, commit)
    return batches, aborted, visible, offset


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=30), st.lists(st.booleans(), min_size=3, max_size=3), st.data())
def test_read_committed_returns_exactly_the_committed_records(steps, endings, data):
    batches, aborted, visible, log_end = build_log(steps, endings)
    position = data.draw(st.integers(0, log_end))
    sent = [b for b in batches if b[0] + b[1] > position]  # from the batch holding the position
    response = SimpleNamespace(
        records=b"".join(raw for _, _, raw in sent),
        aborted_transactions=[SimpleNamespace(producer_id=p, first_offset=first)
                              for p, first, last in aborted if last >= position])
    records, next_position = partition_records("t", 0, position, response, read_committed=True)
    assert [r.offset for r in records] == sorted(o for o in visible if o >= position)
    assert all(r.value == b"%d" % r.offset for r in records)
    assert next_position == (log_end if sent else position)

"""Property: the last stable offset and the aborted index against a plain model (Hypothesis).

Three transactional producers and a plain one append to a real UnifiedLog
(a compacted topic with small segments; every key is unique, so the cleaner
can only remove aborted records). Hypothesis interleaves their batches,
commits and aborts (markers, sometimes for a producer with nothing open),
high watermark moves, truncations above the high watermark (a follower's
divergent suffix), reopening the partition after a clean shutdown or a
crash, and cleanings. The model is the list of what is in the log; from it:

- a transaction is *unstable* while it has no marker or its marker is at or
  past the high watermark; the last stable offset is the smallest first
  offset of an unstable transaction, or the high watermark;
- each producer's ongoing transaction starts at its first batch after its
  last marker;
- until the first cleaning, the aborted index lists exactly the aborted
  transactions ``(producer, first offset, marker offset)``;
- always, a read_committed consumer (reading up to the LSO, skipping with
  the aborted list as Kafka's clients do) sees exactly the committed
  records below the last stable offset, in order: the plain producer's and
  those of committed transactions.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from minikafka.storage.cleaner import clean_log
from minikafka.storage.unified_log import FetchIsolation
from minikafka_core.records import ControlRecordType, read_batches

from tests.storage.txn_helpers import NOW_MS, append, marker, open_log, reopen
from minikafka_core.records import Record, build_batch

PRODUCERS = (1, 2, 3)


@dataclasses.dataclass(frozen=True)
class Entry:
    """One batch of the model log."""

    first: int
    last: int
    producer_id: int  # -1: the plain producer
    kind: str  # "data", "commit", "abort"
    keys: tuple = ()
    last_sequence: int = -1


class TransactionsMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.dir = tempfile.mkdtemp()
        self.log = open_log(self.dir, cleanup_policy="compact", segment_bytes=350)
        self.entries: list[Entry] = []
        self.high_watermark = 0
        self.next_key = 0
        self.cleaned = False

    def teardown(self):
        self.log.local_log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- the model -------------------------------------------------------------

    @property
    def log_end(self) -> int:
        return self.entries[-1].last + 1 if self.entries else 0

    def transactions(self):
        """``(producer, first offset, marker Entry or None)`` of every transaction, in order."""
        open_txns, done = {}, []
        for entry in self.entries:
            if entry.producer_id < 0:
                continue
            if entry.kind == "data":
                open_txns.setdefault(entry.producer_id, entry.first)
            elif entry.producer_id in open_txns:
                done.append((entry.producer_id, open_txns.pop(entry.producer_id), entry))
        return done + [(pid, first, None) for pid, first in open_txns.items()]

    def model_lso(self) -> int:
        unstable = [first for _, first, end in self.transactions()
                    if end is None or end.first >= self.high_watermark]
        return min(unstable + [self.high_watermark])

    def next_sequence(self, producer_id: int) -> int:
        """What the partition expects (after cleanings and truncations, only it knows)."""
        entry = self.log.producer_state.producers.get(producer_id)
        return entry.last_sequence + 1 if entry is not None else 0

    def boundaries(self, low: int) -> list[int]:
        return sorted({entry.last + 1 for entry in self.entries if entry.last + 1 >= low} | {low})

    # -- rules -------------------------------------------------------------------

    @rule(producer_id=st.sampled_from(PRODUCERS + (-1,)), count=st.integers(1, 3))
    def send(self, producer_id, count):
        keys = tuple(b"k%d" % (self.next_key + i) for i in range(count))
        self.next_key += count
        records = [Record(i, NOW_MS, key, b"v") for i, key in enumerate(keys)]
        if producer_id < 0:
            data, sequence = build_batch(records), -1
        else:
            sequence = self.next_sequence(producer_id)
            data = build_batch(records, producer_id=producer_id, producer_epoch=0, base_sequence=sequence,
                               is_transactional=True)
        result = append(self.log, data)
        assert result.base_offset == self.log_end
        self.entries.append(Entry(result.base_offset, result.last_offset, producer_id, "data", keys,
                                  sequence + count - 1))

    @rule(producer_id=st.sampled_from(PRODUCERS), commit=st.booleans())
    def end_transaction(self, producer_id, commit):
        result = marker(self.log, producer_id, commit=commit)
        assert result.base_offset == self.log_end
        self.entries.append(Entry(result.base_offset, result.base_offset, producer_id,
                                  "commit" if commit else "abort"))

    @rule(data=st.data())
    def move_high_watermark(self, data):
        self.high_watermark = data.draw(st.sampled_from(self.boundaries(self.high_watermark)))
        self.log.update_high_watermark(self.high_watermark)

    @rule(data=st.data())
    def truncate(self, data):
        offset = data.draw(st.sampled_from(self.boundaries(self.high_watermark)))
        self.log.truncate_to(offset, NOW_MS)
        self.entries = [entry for entry in self.entries if entry.last < offset]

    @rule(clean=st.booleans())
    def reopen(self, clean):
        self.log = reopen(self.log, clean=clean)

    @rule()
    def compact(self):
        self.log.local_log.roll(NOW_MS)
        clean_log(self.log.local_log, NOW_MS)
        self.cleaned = True

    # -- invariants ----------------------------------------------------------------

    @invariant()
    def offsets_agree(self):
        assert self.log.log_end_offset == self.log_end
        assert self.log.high_watermark == self.high_watermark

    @invariant()
    def last_stable_offset_is_the_models(self):
        assert self.log.last_stable_offset == self.model_lso()

    @invariant()
    def ongoing_transactions_are_the_models(self):
        ongoing = {pid: first for pid, first, end in self.transactions() if end is None}
        state = {pid: entry.current_txn_first_offset for pid, entry in self.log.producer_state.producers.items()
                 if entry.current_txn_first_offset is not None}
        assert state == ongoing

    @invariant()
    def aborted_index_is_the_models(self):
        if self.cleaned:
            return  # the cleaner drops entries whose records it removed
        expected = [(pid, first, end.first) for pid, first, end in self.transactions()
                    if end is not None and end.kind == "abort"]
        found = [(t.producer_id, t.first_offset, t.last_offset)
                 for t in self.log.collect_aborted_transactions(0, self.log_end + 1)]
        assert found == expected

    @invariant()
    def read_committed_sees_the_committed_records(self):
        lso = self.log.last_stable_offset
        assert self.read_committed(lso) == self.expected_committed(lso)

    def read_committed(self, lso: int) -> list[bytes]:
        """A read_committed consumer from the log start to the LSO (Kafka's client algorithm)."""
        aborted = sorted(self.log.collect_aborted_transactions(self.log.log_start_offset, lso),
                         key=lambda txn: txn.first_offset)
        skipping: set[int] = set()
        keys = []
        for batch in self.fetch_all(lso):
            while aborted and aborted[0].first_offset <= batch.base_offset + batch.last_offset_delta:
                skipping.add(aborted.pop(0).producer_id)
            if batch.is_control:
                records = batch.records
                if records and int.from_bytes(records[0].key[2:4], "big") == ControlRecordType.ABORT:
                    skipping.discard(batch.producer_id)
                continue
            if batch.is_transactional and batch.producer_id in skipping:
                continue
            keys += [record.key for record in batch.records]
        return keys

    def fetch_all(self, lso: int) -> list:
        """Every batch a read_committed consumer fetches from the log start (one fetch per segment)."""
        batches, offset = [], self.log.log_start_offset
        while offset < lso:
            data = self.log.read(offset, 1 << 24, FetchIsolation.TXN_COMMITTED, min_one_batch=True)
            if not data:
                break
            batches += read_batches(bytes(data))
            offset = batches[-1].base_offset + batches[-1].last_offset_delta + 1
        return batches

    def expected_committed(self, lso: int) -> list[bytes]:
        committed = {(pid, first) for pid, first, end in self.transactions()
                     if end is not None and end.kind == "commit"}
        keys, open_txns = [], {}
        for entry in self.entries:
            if entry.kind != "data":
                open_txns.pop(entry.producer_id, None)
                continue
            if entry.last >= lso:
                break
            if entry.producer_id < 0:
                keys += entry.keys
                continue
            first = open_txns.setdefault(entry.producer_id, entry.first)
            if (entry.producer_id, first) in committed:
                keys += entry.keys
        return keys


class TestTransactionsQuick(TransactionsMachine.TestCase):
    settings = settings(max_examples=40, stateful_step_count=40, deadline=None)


@pytest.mark.slow
class TestTransactionsThorough(TransactionsMachine.TestCase):
    settings = settings(max_examples=300, stateful_step_count=80, deadline=None)

"""Property: transactional offset commits against a model, and replay rebuilds them.

Random plain commits, transactional commits of three producers, their
COMMIT/ABORT markers and group deletions, on two groups. After every step:

- what OffsetFetch answers equals a small model: a marker's COMMIT makes a
  producer's pending offsets committed unless a later-written commit of the
  same partition is already there; ABORT drops them; a deletion drops
  committed and pending offsets of the group;
- ``require_stable`` answers UNSTABLE_OFFSET_COMMIT exactly where the model
  has a pending offset;
- a fresh coordinator that replays the log (batches with their producer ids,
  markers) has the same committed and pending offsets.
"""

from __future__ import annotations

import random

from group_scenario import Scenario
from hypothesis import given, settings
from hypothesis import strategies as st
from test_group_txn_offsets import TxnLog

from minikafka.errors import ErrorCode as E

GROUPS = ["g1", "g2"]
PARTITIONS = [("t", 0), ("t", 1)]
PRODUCERS = [100, 101, 102]

operations = st.lists(
    st.tuples(st.sampled_from(["commit", "txn_commit", "txn_commit", "commit_marker", "abort_marker",
                               "delete"]),
              st.integers(0, 1), st.integers(0, 2), st.integers(0, 1), st.integers(0, 1000)),
    max_size=30,
)


class Model:
    """What the offsets should be: (offset, write order) per (group, topic, partition)."""

    def __init__(self):
        self.order = 0
        self.committed: dict = {}
        self.pending: dict[int, dict] = {}

    def commit(self, key, offset):
        self.order += 1
        self.committed[key] = (offset, self.order)

    def txn_commit(self, producer_id, key, offset):
        self.order += 1
        self.pending.setdefault(producer_id, {})[key] = (offset, self.order)

    def marker(self, producer_id, commit):
        for key, (offset, order) in self.pending.pop(producer_id, {}).items():
            if commit and (key not in self.committed or order > self.committed[key][1]):
                self.committed[key] = (offset, order)

    def delete(self, group):
        self.committed = {k: v for k, v in self.committed.items() if k[0] != group}
        for offsets in self.pending.values():
            for key in [k for k in offsets if k[0] == group]:
                del offsets[key]

    def is_pending(self, key) -> bool:
        return any(key in offsets for offsets in self.pending.values())


def step(s: Scenario, log: TxnLog, model: Model, op, g, p, tp, offset) -> None:
    group, producer_id, (topic, partition) = GROUPS[g], PRODUCERS[p], PARTITIONS[tp]
    key = (group, topic, partition)
    if op == "commit":
        assert s.commit("", -1, {(topic, partition): offset}, group=group) == {(topic, partition): E.NONE}
        model.commit(key, offset)
    elif op == "txn_commit":
        answer = log.txn_commit({(topic, partition): offset}, producer_id=producer_id, group=group)
        assert answer == {(topic, partition): E.NONE}
        model.txn_commit(producer_id, key, offset)
    elif op in ("commit_marker", "abort_marker"):
        log.marker(op == "commit_marker", producer_id=producer_id)
        model.marker(producer_id, op == "commit_marker")
    else:
        s._take(s.coordinator.delete_groups([group], s.now_ms))
        model.delete(group)


def check(s: Scenario, log: TxnLog, model: Model) -> None:
    fresh = log.replayed()
    for coordinator in (s.coordinator, fresh):
        for group in GROUPS:
            for topic, partition in PARTITIONS:
                key = (group, topic, partition)
                fetched = coordinator.fetch_offsets(group, [(topic, [partition])])
                expected = model.committed.get(key, (-1, 0))[0]
                assert fetched["topics"][0]["partitions"][0]["committed_offset"] == expected, key
                stable = coordinator.fetch_offsets(group, [(topic, [partition])], require_stable=True)
                code = stable["topics"][0]["partitions"][0]["error_code"]
                assert (code == E.UNSTABLE_OFFSET_COMMIT) == model.is_pending(key), key
    assert fresh.pending_txn_offsets == s.coordinator.pending_txn_offsets


def run(ops) -> None:
    s = Scenario()
    log, model = TxnLog(s), Model()
    for op in ops:
        step(s, log, model, *op)
        check(s, log, model)


@settings(max_examples=200, deadline=None)
@given(operations)
def test_transactional_offsets_follow_the_model_and_replay(ops):
    run(ops)


def test_long_seeded_random_walks():
    """Longer walks than Hypothesis explores by default, reproducible by seed."""
    kinds = ["commit", "txn_commit", "txn_commit", "commit_marker", "abort_marker", "delete"]
    for seed in range(60):
        rng = random.Random(seed)
        run([(rng.choice(kinds), rng.randrange(2), rng.randrange(3), rng.randrange(2), rng.randrange(1000))
             for _ in range(60)])

"""Transactional offset commits (TxnOffsetCommit, KIP-98/KIP-447) in the classic coordinator.

The coordinator is driven directly; ``TxnLog`` plays the part of the
``__consumer_offsets`` partition (which batches were transactional, where
the markers are), so a fresh coordinator can replay it as loading does.
"""

from __future__ import annotations

from group_scenario import GROUP, Scenario, request, stable_group, subscription

from minikafka.coordinator.classic.coordinator import GroupCoordinator
from minikafka.coordinator.classic.group import GroupState
from minikafka.errors import ErrorCode as E
from minikafka.protocol.codec import Struct

PID, OTHER_PID = 4000, 4001


def txn_request(offsets, *, producer_id=PID, producer_epoch=0, member_id="", generation_id=-1,
                instance_id=None, group=GROUP, metadata="md", leader_epoch=-1):
    """A decoded TxnOffsetCommit request (v3 fields; v0-v2 decode to these defaults)."""
    topics: dict[str, list] = {}
    for (topic, partition), offset in offsets.items():
        topics.setdefault(topic, []).append(Struct(
            partition_index=partition, committed_offset=offset,
            committed_leader_epoch=leader_epoch, committed_metadata=metadata))
    return Struct(transactional_id="tx", group_id=group, producer_id=producer_id,
                  producer_epoch=producer_epoch, generation_id=generation_id, member_id=member_id,
                  group_instance_id=instance_id,
                  topics=[Struct(name=t, partitions=p) for t, p in topics.items()])


class TxnLog:
    """The records of one partition in order, as batches: (producer id or -1, records) or markers."""

    def __init__(self, s: Scenario):
        self.s = s
        self.entries: list = []
        self._seen = 0

    def _flush_plain(self):
        """Records the scenario wrote outside a transaction since the last call."""
        plain = self.s.records[self._seen:]
        if plain:
            self.entries.append(("batch", -1, plain))
        self._seen = len(self.s.records)

    def txn_commit(self, offsets, *, version=3, **kwargs):
        self._flush_plain()
        result = self.s.coordinator.commit_transactional_offsets(
            txn_request(offsets, **kwargs), self.s.now_ms, version=version)
        if result.records:
            self.entries.append(("batch", kwargs.get("producer_id", PID), result.records))
        return {(t["name"], p["partition_index"]): p["error_code"]
                for t in result.response["topics"] for p in t["partitions"]}

    def marker(self, commit: bool, producer_id=PID):
        self._flush_plain()
        self.s.coordinator.replay_end_transaction_marker(producer_id, commit)
        self.entries.append(("marker", producer_id, commit))

    def replayed(self) -> GroupCoordinator:
        """A fresh coordinator that replayed every batch and marker, as loading does."""
        self._flush_plain()
        fresh = GroupCoordinator()
        for kind, producer_id, payload in self.entries:
            if kind == "marker":
                fresh.replay_end_transaction_marker(producer_id, payload)
            else:
                for key, value in payload:
                    fresh.replay(key, value, producer_id=producer_id)
        return fresh


def fetch(coordinator, topic, partition, *, require_stable=False, group=GROUP):
    fetched = coordinator.fetch_offsets(group, [(topic, [partition])], require_stable=require_stable)
    p = fetched["topics"][0]["partitions"][0]
    return p["committed_offset"], p["error_code"]


def test_pending_offsets_are_invisible_until_the_commit_marker():
    s = Scenario()
    log = TxnLog(s)
    assert s.commit("", -1, {("t", 0): 5}) == {("t", 0): E.NONE}
    assert log.txn_commit({("t", 0): 10, ("t", 1): 20}) == {("t", 0): E.NONE, ("t", 1): E.NONE}
    assert s.coordinator.has_pending_txn_offsets(GROUP, "t", 0)
    assert fetch(s.coordinator, "t", 0) == (5, E.NONE)  # the last committed one
    assert fetch(s.coordinator, "t", 0, require_stable=True) == (-1, E.UNSTABLE_OFFSET_COMMIT)
    assert fetch(s.coordinator, "t", 2, require_stable=True) == (-1, E.NONE)
    # Fetching every partition lists committed ones only; pending ones there are unstable.
    everything = s.coordinator.fetch_offsets(GROUP, None, require_stable=True)
    assert everything["error_code"] == E.NONE
    assert [(p["partition_index"], p["error_code"]) for p in everything["topics"][0]["partitions"]] == [
        (0, E.UNSTABLE_OFFSET_COMMIT)]
    log.marker(commit=True)
    assert fetch(s.coordinator, "t", 0, require_stable=True) == (10, E.NONE)
    assert fetch(s.coordinator, "t", 1, require_stable=True) == (20, E.NONE)
    assert s.coordinator.pending_txn_offsets == {} and s.coordinator.open_txns_by_group == {}


def test_abort_marker_discards_the_pending_offsets():
    s = Scenario()
    log = TxnLog(s)
    s.commit("", -1, {("t", 0): 5})
    log.txn_commit({("t", 0): 10, ("u", 0): 1})
    log.marker(commit=False)
    assert fetch(s.coordinator, "t", 0, require_stable=True) == (5, E.NONE)
    assert fetch(s.coordinator, "u", 0, require_stable=True) == (-1, E.NONE)
    assert s.coordinator.open_txns_by_group == {}


def test_transactions_of_two_producers_are_decided_separately():
    s = Scenario()
    log = TxnLog(s)
    log.txn_commit({("t", 0): 10})
    log.txn_commit({("t", 1): 11}, producer_id=OTHER_PID)
    log.marker(commit=False)
    assert fetch(s.coordinator, "t", 1, require_stable=True) == (-1, E.UNSTABLE_OFFSET_COMMIT)
    log.marker(commit=True, producer_id=OTHER_PID)
    assert fetch(s.coordinator, "t", 0) == (-1, E.NONE)
    assert fetch(s.coordinator, "t", 1, require_stable=True) == (11, E.NONE)


def test_a_later_plain_commit_wins_over_an_earlier_transactional_one():
    s = Scenario()
    log = TxnLog(s)
    log.txn_commit({("t", 0): 10, ("t", 1): 10})
    s.commit("", -1, {("t", 0): 99})  # written after the transactional record
    log.marker(commit=True)
    assert fetch(s.coordinator, "t", 0) == (99, E.NONE)
    assert fetch(s.coordinator, "t", 1) == (10, E.NONE)
    assert fetch(log.replayed(), "t", 0) == (99, E.NONE)


def test_replaying_transactional_batches_and_markers_rebuilds_the_same_state():
    s = Scenario()
    log = TxnLog(s)
    s.commit("", -1, {("t", 0): 1})
    log.txn_commit({("t", 0): 2})
    log.txn_commit({("t", 1): 3}, producer_id=OTHER_PID)
    log.marker(commit=True)
    log.txn_commit({("t", 0): 4})  # the same producer's next transaction, still open
    fresh = log.replayed()
    assert fresh.pending_txn_offsets == s.coordinator.pending_txn_offsets
    assert fresh.open_txns_by_group == s.coordinator.open_txns_by_group == {GROUP: {PID, OTHER_PID}}
    assert fresh.groups[GROUP].offsets == s.group.offsets
    assert fetch(fresh, "t", 0) == (2, E.NONE)
    # The markers that come after the load apply to the rebuilt coordinator.
    fresh.replay_end_transaction_marker(PID, True)
    fresh.replay_end_transaction_marker(OTHER_PID, False)
    assert fetch(fresh, "t", 0, require_stable=True) == (4, E.NONE)
    assert fetch(fresh, "t", 1, require_stable=True) == (-1, E.NONE)


def test_a_marker_without_pending_offsets_changes_nothing():
    s = Scenario()
    log = TxnLog(s)
    s.commit("", -1, {("t", 0): 1})
    log.marker(commit=True, producer_id=777)
    assert fetch(s.coordinator, "t", 0) == (1, E.NONE)


def test_member_checks_of_a_classic_group():
    s = Scenario()
    log = TxnLog(s)
    (a, b), generation = stable_group(s, 2)
    t0 = {("t", 0): 1}
    assert log.txn_commit(t0, member_id=a, generation_id=generation) == {("t", 0): E.NONE}
    assert log.txn_commit(t0, member_id=a, generation_id=generation + 1) == {("t", 0): E.ILLEGAL_GENERATION}
    assert log.txn_commit(t0, member_id="ghost", generation_id=generation) == {("t", 0): E.UNKNOWN_MEMBER_ID}
    # No member and no generation (TxnOffsetCommit v0-v2): accepted in a live group.
    assert log.txn_commit(t0, version=2) == {("t", 0): E.NONE}
    # A rebalance in progress does not stop a transactional commit of the current generation.
    member_id, _ = s.join_dynamic()
    assert s.group.state is GroupState.PREPARING_REBALANCE
    assert log.txn_commit(t0, member_id=a, generation_id=generation) == {("t", 0): E.NONE}
    # An unknown group only takes a commit without a generation (a simple group).
    assert log.txn_commit(t0, group="new", generation_id=3) == {("t", 0): E.ILLEGAL_GENERATION}
    assert "new" not in s.coordinator.groups
    assert log.txn_commit(t0, group="new") == {("t", 0): E.NONE}


def test_completing_rebalance_and_static_member_fencing():
    s = Scenario()
    log = TxnLog(s)
    first = s.join(instance_id="i1").response  # a static member joins without KIP-394
    s.advance(3000)
    generation = s.delivered[min(s.delivered)]["generation_id"]
    member_id = s.group.static_members["i1"]
    assert s.group.state is GroupState.COMPLETING_REBALANCE, first
    t0 = {("t", 0): 1}
    # OffsetCommit would answer REBALANCE_IN_PROGRESS here; TxnOffsetCommit does not.
    assert log.txn_commit(t0, member_id=member_id, generation_id=generation, instance_id="i1") == {
        ("t", 0): E.NONE}
    assert log.txn_commit(t0, member_id="old-id", generation_id=generation, instance_id="i1") == {
        ("t", 0): E.FENCED_INSTANCE_ID}


def test_metadata_too_large_is_refused_per_partition_and_not_written():
    s = Scenario(offset_metadata_max_bytes=2)
    result = s.coordinator.commit_transactional_offsets(
        txn_request({("t", 0): 1}, metadata="too long"), 0, version=3)
    assert result.response["topics"][0]["partitions"][0]["error_code"] == E.OFFSET_METADATA_TOO_LARGE
    assert result.records == [] and s.coordinator.pending_txn_offsets == {}


def test_delete_group_tombstones_pending_partitions_and_the_commit_brings_nothing_back():
    s = Scenario()
    log = TxnLog(s)
    s.commit("", -1, {("t", 0): 1})
    log.txn_commit({("t", 0): 2, ("t", 1): 3})
    result = s._take(s.coordinator.delete_groups([GROUP], s.now_ms))
    assert result.response["results"][0]["error_code"] == E.NONE
    assert len(result.records) == 3  # t-0, t-1 (pending only) and the group
    assert not s.coordinator.has_pending_txn_offsets(GROUP, "t", 1)
    log.marker(commit=True)
    assert fetch(s.coordinator, "t", 0) == (-1, E.NONE)
    assert fetch(s.coordinator, "t", 1) == (-1, E.NONE)
    assert fetch(log.replayed(), "t", 1) == (-1, E.NONE)


def test_offset_delete_also_removes_pending_offsets():
    s = Scenario()
    log = TxnLog(s)
    (a,), generation = stable_group(s, 1, protocols=(("range", subscription("t")),))
    log.txn_commit({("old", 0): 7}, member_id=a, generation_id=generation)
    req = request(_offset_delete(), 0, group_id=GROUP,
                  topics=[{"name": "old", "partitions": [{"partition_index": 0}]}])
    result = s._take(s.coordinator.delete_offsets(req, s.now_ms))
    assert [v for _, v in result.records] == [None]
    log.marker(commit=True)
    assert fetch(s.coordinator, "old", 0) == (-1, E.NONE)


def test_retention_waits_for_open_transactions():
    s = Scenario(offsets_retention_ms=60000, offsets_retention_check_interval_ms=1000)
    log = TxnLog(s)
    s.advance(0)  # arms the retention check
    s.commit("", -1, {("t", 0): 1, ("t", 1): 1})
    log.txn_commit({("t", 0): 2})
    s.advance(61000)
    # t-1 expired; t-0 has a pending offset, and the group has an open transaction.
    assert fetch(s.coordinator, "t", 1) == (-1, E.NONE)
    assert fetch(s.coordinator, "t", 0) == (1, E.NONE)
    log.marker(commit=False)
    s.advance(1000)
    assert GROUP not in s.coordinator.groups
    # A group with only pending offsets is not deleted either.
    log.txn_commit({("t", 0): 3}, group="only-pending")
    s.advance(61000)
    assert "only-pending" in s.coordinator.groups
    log.marker(commit=True)
    assert fetch(s.coordinator, "t", 0, group="only-pending") == (3, E.NONE)


def _offset_delete():
    from test_group_offsets import _OFFSET_DELETE
    return _OFFSET_DELETE

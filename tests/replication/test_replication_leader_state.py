"""PartitionLeaderState: high watermark, ISR shrink/expand, acks=all, min.insync.replicas."""

import pytest

from minikafka.errors import ErrorCode, KafkaError
from minikafka.replication.leader_state import PartitionLeaderState

T0 = 1_700_000_000_000  # a realistic clock: followers never heard from are not "caught up"
LAG_MS = 30_000


def leader(isr=(1, 2, 3), replicas=(1, 2, 3), leo=0, hw=0, epoch_start=0, min_isr=1, **kw):
    return PartitionLeaderState(1, 5, replicas, isr, leader_epoch_start_offset=epoch_start, log_end_offset=leo,
                                high_watermark=hw, now_ms=T0, min_insync_replicas=min_isr,
                                replica_lag_time_max_ms=LAG_MS, **kw)


def fetch(state, replica, offset, now_ms=T0):
    return state.update_follower_fetch_state(replica, offset, 0, now_ms)


def test_high_watermark_is_the_smallest_isr_log_end_offset():
    state = leader()
    assert not state.on_leader_append(10, T0)  # followers have not fetched in this epoch
    assert state.high_watermark == 0
    assert not fetch(state, 2, 10).high_watermark_advanced  # 3 still unknown
    assert fetch(state, 3, 4).high_watermark_advanced
    assert state.high_watermark == 4
    assert fetch(state, 3, 10).high_watermark_advanced
    assert state.high_watermark == 10


def test_leader_alone_in_isr_commits_each_append():
    state = leader(isr=(1,))
    assert state.on_leader_append(3, T0)
    assert state.high_watermark == 3


def test_high_watermark_never_moves_backwards():
    state = leader(leo=10, hw=8)
    fetch(state, 2, 5)
    fetch(state, 3, 5)
    assert state.high_watermark == 8  # kept: the followers' lower positions do not pull it back
    assert not state.maybe_increment_high_watermark(T0)
    fetch(state, 2, 10)
    fetch(state, 3, 9)
    assert state.high_watermark == 9


def test_lagging_follower_out_of_isr_does_not_hold_the_high_watermark():
    state = leader(isr=(1, 2))
    state.on_leader_append(10, T0)
    fetch(state, 2, 10)
    assert state.high_watermark == 10
    update = fetch(state, 3, 2)  # replica 3 is behind the HW: it neither joins nor holds the HW
    assert update.proposed_isr is None
    state.on_leader_append(20, T0)
    fetch(state, 2, 20)
    assert state.high_watermark == 20


def test_follower_at_the_high_watermark_joins_and_then_holds_it():
    state = leader(isr=(1, 2))
    state.on_leader_append(10, T0)
    assert fetch(state, 3, 0).proposed_isr == {1, 2, 3}  # LEO 0 >= HW 0: in sync
    fetch(state, 2, 10)
    assert state.high_watermark == 0  # 3 is in the maximal ISR


def test_caught_up_follower_about_to_join_holds_the_high_watermark():
    # Kafka waits for a caught-up eligible replica so that it can join the
    # ISR (its LEO must reach the HW, which would otherwise run away from it).
    state = leader(isr=(1, 2))
    state.ineligible_replicas.add(3)  # e.g. fenced in the metadata image
    state.on_leader_append(10, T0)
    assert fetch(state, 3, 10, T0).proposed_isr is None  # caught up, but not eligible
    state.ineligible_replicas.clear()  # unfenced: its next fetch would join
    state.on_leader_append(20, T0 + 1)
    fetch(state, 2, 20, T0 + 1)
    assert state.high_watermark == 10
    # It stops fetching: after the lag time it is no longer waited for.
    assert state.maybe_increment_high_watermark(T0 + LAG_MS + 1)
    assert state.high_watermark == 20


def test_isr_shrinks_after_the_lag_time():
    state = leader()
    state.on_leader_append(10, T0)
    fetch(state, 2, 10, T0)
    fetch(state, 3, 0, T0)  # 3 is stuck at 0; it was last caught up at T0 (election)
    assert state.maybe_shrink_isr(T0 + LAG_MS) is None
    proposed = state.maybe_shrink_isr(T0 + LAG_MS + 1)
    assert proposed == {1, 2}
    assert state.isr_change_in_flight
    assert state.maximal_isr == {1, 2, 3}  # still the old, larger ISR until committed
    assert state.high_watermark == 0
    assert state.maybe_shrink_isr(T0 + LAG_MS + 2) is None  # one change in flight at a time
    assert state.isr_change_committed(proposed, T0 + LAG_MS + 2)  # HW moves once 3 is gone
    assert state.isr == {1, 2} and state.high_watermark == 10


def test_follower_fetching_steadily_behind_a_busy_leader_stays_in_sync():
    state = leader()
    leo = 0
    for step in range(10):  # the leader appends between every two fetches
        now = T0 + step * 20_000
        leo += 100
        state.on_leader_append(leo, now)
        fetch(state, 2, leo, now)
        fetch(state, 3, leo - 100, now)  # always reaches the LEO of its previous fetch
        assert state.maybe_shrink_isr(now) is None


def test_failed_alter_partition_keeps_the_committed_isr():
    state = leader()
    state.on_leader_append(5, T0)
    fetch(state, 2, 5)
    assert state.maybe_shrink_isr(T0 + LAG_MS + 1) == {1, 2}
    state.isr_change_failed()
    assert state.isr == {1, 2, 3} and not state.isr_change_in_flight


def test_isr_expands_when_a_follower_reaches_the_high_watermark_and_this_epoch():
    state = leader(isr=(1, 2), leo=10, hw=10, epoch_start=10)
    state.on_leader_append(20, T0)
    assert fetch(state, 3, 5).proposed_isr is None  # below the HW
    fetch(state, 2, 15)
    assert state.high_watermark == 15
    assert fetch(state, 3, 12).proposed_isr is None
    update = fetch(state, 3, 15)
    assert update.proposed_isr == {1, 2, 3}
    assert state.maximal_isr == {1, 2, 3}
    # While the addition is in flight, 3 already counts for the HW (KIP-497).
    fetch(state, 2, 20)
    assert state.high_watermark == 15
    state.isr_change_committed({1, 2, 3}, T0)
    assert state.isr == {1, 2, 3}


def test_isr_expansion_needs_the_leader_epoch_start_offset():
    # New leader with HW 4 (its follower HW) but epoch start 10: a follower
    # at 6 has the HW but nothing of this epoch yet.
    state = leader(isr=(1, 2), leo=10, hw=4, epoch_start=10)
    assert fetch(state, 3, 6).proposed_isr is None
    assert state.high_watermark < state.leader_epoch_start_offset
    assert fetch(state, 3, 10).proposed_isr == {1, 2, 3}


def test_new_leader_forgets_positions_re_elected_leader_keeps_them():
    old = leader(leo=10, hw=0)
    fetch(old, 2, 10)
    fetch(old, 3, 10)
    assert old.high_watermark == 10
    new = PartitionLeaderState(1, 6, (1, 2, 3), (1, 2, 3), 10, 10, 10, T0, previous=old)
    assert new.followers[2].log_end_offset == 10
    fresh = PartitionLeaderState(1, 6, (1, 2, 3), (1, 2, 3), 10, 12, 10, T0)
    assert fresh.followers[2].log_end_offset == -1
    fresh.on_leader_append(12, T0)
    assert fresh.high_watermark == 10


def test_unknown_replica_is_not_leader_or_follower():
    with pytest.raises(KafkaError) as info:
        fetch(leader(), 9, 0)
    assert info.value.code == ErrorCode.NOT_LEADER_OR_FOLLOWER


def test_min_insync_replicas_before_append():
    state = leader(isr=(1, 2), min_isr=2)
    state.check_append(-1)
    state.isr_change_committed({1}, T0)
    with pytest.raises(KafkaError) as info:
        state.check_append(-1)
    assert info.value.code == ErrorCode.NOT_ENOUGH_REPLICAS
    state.check_append(1)  # acks=1 and acks=0 are not checked
    state.check_append(0)


def test_min_insync_replicas_is_capped_by_the_replication_factor():
    state = leader(isr=(1,), replicas=(1,), min_isr=2)
    state.check_append(-1)
    assert state.effective_min_isr == 1


def test_not_enough_replicas_after_append_when_the_isr_shrank():
    state = leader(min_isr=2)
    state.on_leader_append(5, T0)
    fetch(state, 2, 5)
    fetch(state, 3, 0)
    assert state.maybe_shrink_isr(T0 + LAG_MS + 1) == {1, 2}
    state.isr_change_committed({1, 2}, T0 + LAG_MS + 1)
    assert state.check_enough_replicas_reach_offset(5) == (True, ErrorCode.NONE)  # ISR {1,2} still meets 2
    state.on_leader_append(8, T0 + LAG_MS + 2)
    fetch(state, 2, 8, T0 + LAG_MS + 2)
    assert state.check_enough_replicas_reach_offset(8) == (True, ErrorCode.NONE)
    # Appended while the ISR was big enough; the ISR then shrinks to the leader.
    state.on_leader_append(9, T0 + LAG_MS + 3)
    state.isr_change_committed({1}, T0 + LAG_MS + 3)
    assert state.high_watermark == 8  # KIP-966: no HW progress under min ISR
    assert state.check_enough_replicas_reach_offset(9) == (False, ErrorCode.NONE)
    # A follower returns to the ISR: the batch is committed and answered.
    fetch(state, 2, 9, T0 + LAG_MS + 4)
    state.isr_change_committed({1, 2}, T0 + LAG_MS + 4)
    assert state.check_enough_replicas_reach_offset(9) == (True, ErrorCode.NONE)


def test_not_enough_replicas_after_append_reported_when_hw_reached_under_min_isr():
    state = leader(isr=(1, 2), min_isr=2)
    state.on_leader_append(5, T0)
    fetch(state, 2, 5)  # the HW now covers a produce up to 5
    state.isr_change_committed({1}, T0)
    assert state.check_enough_replicas_reach_offset(5) == (True, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND)

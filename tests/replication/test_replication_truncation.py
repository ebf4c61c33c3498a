"""Fetch rules on the leader and truncation on the follower: KIP-101 / KIP-279 cases."""

import pytest

from minikafka.errors import ErrorCode, KafkaError
from minikafka.storage.epoch_cache import LeaderEpochCache, epochs_of_appended_batches
from minikafka.replication.fetch_rules import (
    LeaderEpochEndOffset, check_current_leader_epoch, check_replica_fetch, last_offset_for_leader_epoch)
from minikafka.replication.follower_state import (
    PartitionFollowerState, OffsetTruncationState, follower_high_watermark, offset_truncation_state)


def leader_check(cache, leo, fetch_offset, last_fetched_epoch, epoch=None, current=None, log_start=0):
    epoch = cache.latest_epoch if epoch is None else epoch
    return check_replica_fetch(cache, local_leader_epoch=epoch, log_start_offset=log_start,
                               log_end_offset=leo, current_leader_epoch=epoch if current is None else current,
                               fetch_offset=fetch_offset, last_fetched_epoch=last_fetched_epoch)


def test_current_leader_epoch_fencing():
    assert check_current_leader_epoch(5, 4) == ErrorCode.FENCED_LEADER_EPOCH
    assert check_current_leader_epoch(5, 6) == ErrorCode.UNKNOWN_LEADER_EPOCH
    assert check_current_leader_epoch(5, 5) == ErrorCode.NONE
    assert check_current_leader_epoch(5, -1) == ErrorCode.NONE
    with pytest.raises(KafkaError) as info:
        leader_check(LeaderEpochCache([(5, 0)]), 3, 3, 5, current=4)
    assert info.value.code == ErrorCode.FENCED_LEADER_EPOCH


def test_matching_fetch_reads_and_out_of_range_fetch_fails():
    cache = LeaderEpochCache([(0, 0), (2, 5)])
    assert leader_check(cache, 8, 8, 2) is None
    assert leader_check(cache, 8, 3, 0) is None  # epoch 0 ends at 5 >= 3
    assert leader_check(cache, 8, 4, -1) is None  # no epoch given: no check
    for fetch_offset, log_start in ((9, 0), (2, 3)):
        with pytest.raises(KafkaError) as info:
            leader_check(cache, 8, fetch_offset, -1, log_start=log_start)
        assert info.value.code == ErrorCode.OFFSET_OUT_OF_RANGE


def test_unknown_last_fetched_epoch_is_out_of_range():
    with pytest.raises(KafkaError) as info:
        leader_check(LeaderEpochCache([(2, 0)]), 5, 5, 3)
    assert info.value.code == ErrorCode.OFFSET_OUT_OF_RANGE


def test_offset_for_leader_epoch_answers():
    cache = LeaderEpochCache([(0, 0), (2, 13), (4, 17)])
    assert last_offset_for_leader_epoch(cache, 20, 4, -1, 1) == LeaderEpochEndOffset(0, 13)
    assert last_offset_for_leader_epoch(cache, 20, 4, 4, 4) == LeaderEpochEndOffset(4, 20)
    assert last_offset_for_leader_epoch(cache, 20, 4, 4, 7) == LeaderEpochEndOffset(-1, -1)


def test_kip101_scenario1_restart_does_not_truncate_to_the_high_watermark():
    # A and B both hold offsets 0 and 1 of epoch 0; B's HW is still 1 when it
    # restarts. Pre-KIP-101 it truncated to 1 and lost a committed record.
    follower_cache = LeaderEpochCache([(0, 0)])
    follower = PartitionFollowerState(leader_id=1, current_leader_epoch=0)
    assert follower.start(follower_cache, log_end_offset=2, high_watermark=1) is None
    position = follower.next_fetch(follower_cache)
    assert (position.fetch_offset, position.last_fetched_epoch) == (2, 0)
    assert leader_check(LeaderEpochCache([(0, 0)]), 2, 2, 0) is None  # the logs agree


def test_kip101_scenario2_divergence_after_leader_change():
    # A (old leader, epoch 0) has m1, m2 at 0, 1; B only m1. Both crash, B
    # returns first, leads epoch 1 and writes m3 at offset 1. A must drop m2.
    leader_cache = LeaderEpochCache([(0, 0), (1, 1)])
    a_cache = LeaderEpochCache([(0, 0)])
    a = PartitionFollowerState(leader_id=2, current_leader_epoch=1)
    a.start(a_cache, log_end_offset=2, high_watermark=1)
    pos = a.next_fetch(a_cache)
    diverging = leader_check(leader_cache, 2, pos.fetch_offset, pos.last_fetched_epoch, epoch=1)
    assert diverging == LeaderEpochEndOffset(0, 1)
    state = a.on_diverging_epoch(a_cache, 2, 1, diverging)
    assert state == OffsetTruncationState(1, True)
    a_cache.truncate_from_end(state.offset)
    assert leader_check(leader_cache, 2, 1, 0, epoch=1) is None  # now reads m3


def test_two_successive_leader_changes_follower_knows_a_later_epoch():
    # Follower wrote epoch 1 at 5..7 (never replicated); the leader's log went
    # from epoch 0 straight to epoch 2 at offset 5.
    leader_cache = LeaderEpochCache([(0, 0), (2, 5), (3, 9)])
    f_cache = LeaderEpochCache([(0, 0), (1, 5)])
    diverging = leader_check(leader_cache, 12, 8, 1)
    assert diverging == LeaderEpochEndOffset(0, 5)
    assert offset_truncation_state(f_cache, 8, 3, diverging) == OffsetTruncationState(5, True)


def test_two_successive_leader_changes_follower_misses_the_leaders_epoch():
    # KIP-279: the follower never saw epoch 1, so its first cut is only an
    # intermediate one and it asks again with its next older epoch.
    leader_cache = LeaderEpochCache([(0, 0), (1, 3), (3, 7)])
    f_cache = LeaderEpochCache([(0, 0), (2, 5)])
    follower = PartitionFollowerState(leader_id=1, current_leader_epoch=3)
    follower.start(f_cache, 9, 3)
    pos = follower.next_fetch(f_cache)
    first = leader_check(leader_cache, 10, pos.fetch_offset, pos.last_fetched_epoch)
    assert first == LeaderEpochEndOffset(1, 7)
    cut = follower.on_diverging_epoch(f_cache, 9, 3, first)
    assert cut == OffsetTruncationState(5, False)
    f_cache.truncate_from_end(cut.offset)
    pos = follower.next_fetch(f_cache)
    assert (pos.fetch_offset, pos.last_fetched_epoch) == (5, 0)
    second = leader_check(leader_cache, 10, pos.fetch_offset, pos.last_fetched_epoch)
    assert second == LeaderEpochEndOffset(0, 3)
    assert follower.on_diverging_epoch(f_cache, 5, 3, second) == OffsetTruncationState(3, True)
    f_cache.truncate_from_end(3)
    assert leader_check(leader_cache, 10, 3, 0) is None


def test_truncation_special_answers():
    cache = LeaderEpochCache([(0, 0), (1, 4)])
    # The leader does not know the epoch at all: truncate to the high watermark.
    assert offset_truncation_state(cache, 8, 6, LeaderEpochEndOffset(-1, -1)) == OffsetTruncationState(6, True)
    # The leader has no epochs (old format): its end offset.
    assert offset_truncation_state(cache, 8, 6, LeaderEpochEndOffset(-1, 7)) == OffsetTruncationState(7, True)
    # The follower has no epochs: the leader's end, bounded by our own.
    assert offset_truncation_state(LeaderEpochCache(), 8, 6, LeaderEpochEndOffset(0, 20)) == OffsetTruncationState(8, True)


def test_follower_without_epochs_truncates_to_its_high_watermark_first():
    follower = PartitionFollowerState(leader_id=1, current_leader_epoch=2)
    assert follower.start(LeaderEpochCache(), log_end_offset=10, high_watermark=7) == 7
    assert follower.next_fetch(LeaderEpochCache()).fetch_offset == 7
    assert follower.next_fetch(LeaderEpochCache()).last_fetched_epoch == -1


def test_follower_appends_assign_epochs_and_bound_the_high_watermark():
    cache = LeaderEpochCache()
    assert epochs_of_appended_batches(cache, [(0, 0), (0, 3), (2, 5), (-1, 6)])
    assert cache.latest_epoch == 2 and len(cache) == 2
    assert not epochs_of_appended_batches(cache, [(2, 8)])
    assert follower_high_watermark(12, 0, 9) == 9
    assert follower_high_watermark(4, 0, 9) == 4
    assert follower_high_watermark(4, 6, 9) == 6


def test_offset_out_of_range_handling():
    follower = PartitionFollowerState(leader_id=1, current_leader_epoch=2)
    after_unclean = follower.on_offset_out_of_range(10, leader_log_start_offset=0, leader_log_end_offset=6)
    assert (after_unclean.truncate_to, after_unclean.start_over_at, after_unclean.fetch_offset) == (6, None, 6)
    behind_start = follower.on_offset_out_of_range(10, leader_log_start_offset=50, leader_log_end_offset=60)
    assert (behind_start.truncate_to, behind_start.start_over_at, follower.fetch_offset) == (None, 50, 50)

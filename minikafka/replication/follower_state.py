"""The follower's side of replication: where to truncate, where to fetch next.

A follower copies its leader's log by fetching from its own log end offset.
When leadership changes, the new leader's log may lack a suffix the follower
has (records the old leader wrote but never committed), or hold different
records at the same offsets. Truncating to the high watermark, as Kafka did
before 0.11, can lose committed records or keep divergent ones (KIP-101's two
scenarios), so the follower finds *where the logs part* using leader epochs:

1. It tells the leader its last epoch: ``last_fetched_epoch`` in every Fetch
   (v12+), or an OffsetForLeaderEpoch request (KIP-101).
2. The leader answers ``(epoch, end_offset)``: the largest epoch it knows
   ``<=`` the one asked for, and where that epoch ends on its log
   (``LeaderEpochCache.end_offset_for``; a Fetch answers it as
   ``diverging_epoch`` only when the logs do part).
3. The follower looks the *answered* epoch up in its own cache
   (Kafka's ``AbstractFetcherThread.getOffsetTruncationState``):

   - it has that epoch: both logs agree up to the smaller of the two ends
     of that epoch, so truncate to ``min(own end, leader end, own LEO)``;
     done;
   - it does not (its own floor epoch is smaller; KIP-279's "two leader
     changes" case): truncate to the end of its own floor epoch and ask
     again with its new last epoch, which the next Fetch does by itself;
   - the leader knows no epoch at all (``end_offset`` -1): truncate to the
     high watermark; the follower has no epochs: truncate to
     ``min(leader end, own LEO)``.

After truncating, the caller also drops the epoch-cache entries at or after
the new end (``LeaderEpochCache.truncate_from_end``) and lowers the follower's
high watermark to at most its new log end offset.

A follower that starts with an empty epoch cache cannot say which epoch it
has: it first truncates to its high watermark (Kafka's ``Truncating`` state
without an epoch), then fetches. OFFSET_OUT_OF_RANGE from the leader is
handled as Kafka's ``fetchOffsetAndTruncate``: behind the leader's start,
start over at it; past the leader's end (an unclean election), truncate to
it.

``PartitionFollowerState`` is created when this broker becomes a follower for a
leader epoch (a new one for each epoch), owned by the replica fetcher of
that partition; not task-safe, but nothing in it awaits.
"""

from __future__ import annotations

import dataclasses
import enum

from minikafka.storage.epoch_cache import UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, LeaderEpochCache
from minikafka.replication.fetch_rules import NO_LEADER_EPOCH, LeaderEpochEndOffset


class FetchStatus(enum.Enum):
    """Kafka's ``ReplicaState`` of a partition in the fetcher."""

    TRUNCATING = "Truncating"
    FETCHING = "Fetching"


@dataclasses.dataclass(frozen=True)
class OffsetTruncationState:
    """Where to truncate, and whether the logs are known to agree below it."""

    offset: int
    truncation_completed: bool


@dataclasses.dataclass(frozen=True)
class FetchPosition:
    """The replica-fetch fields of one partition in the next Fetch request."""

    fetch_offset: int
    last_fetched_epoch: int
    current_leader_epoch: int


@dataclasses.dataclass(frozen=True)
class OutOfRangeAction:
    """What to do after OFFSET_OUT_OF_RANGE.

    Attributes:
        truncate_to: truncate the log to this offset (None: no truncation).
        start_over_at: delete the whole log and restart it at this offset.
        fetch_offset: where the next fetch starts.
    """

    truncate_to: int | None
    start_over_at: int | None
    fetch_offset: int


def offset_truncation_state(epoch_cache: LeaderEpochCache, log_end_offset: int, high_watermark: int,
                            leader_answer: LeaderEpochEndOffset) -> OffsetTruncationState:
    """Kafka's ``getOffsetTruncationState``: where this follower must truncate.

    Args:
        epoch_cache: the follower's epoch cache.
        log_end_offset: the follower's log end offset.
        high_watermark: the follower's high watermark.
        leader_answer: the leader's OffsetForLeaderEpoch answer or the Fetch
            ``diverging_epoch``.
    """
    if leader_answer.end_offset == UNDEFINED_EPOCH_OFFSET:
        return OffsetTruncationState(min(high_watermark, log_end_offset), True)
    if leader_answer.leader_epoch == UNDEFINED_EPOCH:
        return OffsetTruncationState(min(leader_answer.end_offset, log_end_offset), True)
    own_epoch, own_end_offset = epoch_cache.end_offset_for(leader_answer.leader_epoch, log_end_offset)
    if own_end_offset == UNDEFINED_EPOCH_OFFSET:
        # The follower kept no epochs that far back: the leader's answer is
        # for an epoch <= the one asked, so its end is a safe place to cut.
        return OffsetTruncationState(min(leader_answer.end_offset, log_end_offset), True)
    if own_epoch != leader_answer.leader_epoch:
        # The follower never saw the leader's epoch: cut at the end of its
        # own floor epoch, then ask again about the epoch before that.
        return OffsetTruncationState(min(own_end_offset, log_end_offset), False)
    return OffsetTruncationState(min(own_end_offset, leader_answer.end_offset, log_end_offset), True)


def follower_high_watermark(leader_high_watermark: int, log_start_offset: int, log_end_offset: int) -> int:
    """The follower's high watermark after a fetch (Kafka's ``updateHighWatermark``).

    The leader's value, bounded by the follower's own log: a follower cannot
    call committed what it does not have.
    """
    return max(log_start_offset, min(leader_high_watermark, log_end_offset))


class PartitionFollowerState:
    """One partition's fetch state on a follower, for one leader epoch.

    Args:
        leader_id: the leader to fetch from.
        current_leader_epoch: the leader epoch from the metadata image.
    """

    def __init__(self, leader_id: int, current_leader_epoch: int):
        self.leader_id = leader_id
        self.current_leader_epoch = current_leader_epoch
        self.fetch_offset = 0
        self.status = FetchStatus.TRUNCATING

    def start(self, epoch_cache: LeaderEpochCache, log_end_offset: int, high_watermark: int) -> int | None:
        """Begin following; returns an offset to truncate to first, or None.

        With epochs the first Fetch's ``last_fetched_epoch`` finds any
        divergence. Without any (a new or pre-epoch log), truncate to the
        high watermark, the only point known to be committed.
        """
        self.status = FetchStatus.FETCHING
        if epoch_cache.latest_epoch is not None:
            self.fetch_offset = log_end_offset
            return None
        self.fetch_offset = min(high_watermark, log_end_offset)
        return self.fetch_offset if self.fetch_offset < log_end_offset else None

    def next_fetch(self, epoch_cache: LeaderEpochCache) -> FetchPosition:
        """The fields for this partition in the next Fetch to the leader."""
        last_fetched_epoch = epoch_cache.latest_epoch
        return FetchPosition(self.fetch_offset,
                             NO_LEADER_EPOCH if last_fetched_epoch is None else last_fetched_epoch,
                             self.current_leader_epoch)

    def on_diverging_epoch(self, epoch_cache: LeaderEpochCache, log_end_offset: int, high_watermark: int,
                           diverging_epoch: LeaderEpochEndOffset) -> OffsetTruncationState:
        """The leader answered a ``diverging_epoch``: where to truncate.

        The caller truncates the log and the epoch cache to ``offset``; the
        next ``next_fetch`` carries the new last epoch, so an incomplete
        truncation is resolved by the leader's next answer (Kafka moves
        straight back to Fetching when truncation on fetch is supported).
        """
        state = offset_truncation_state(epoch_cache, log_end_offset, high_watermark, diverging_epoch)
        self.fetch_offset = state.offset
        self.status = FetchStatus.FETCHING
        return state

    def on_records_appended(self, log_end_offset: int) -> None:
        """The fetched records were appended; fetch on from the new end."""
        self.fetch_offset = log_end_offset

    def on_offset_out_of_range(self, log_end_offset: int, leader_log_start_offset: int,
                               leader_log_end_offset: int) -> OutOfRangeAction:
        """Kafka's ``fetchOffsetAndTruncate`` after OFFSET_OUT_OF_RANGE.

        Args:
            leader_log_start_offset / leader_log_end_offset: from ListOffsets
                (earliest / latest) sent to the leader as a replica.
        """
        if leader_log_end_offset < log_end_offset:
            # The leader has less than we do: only after an unclean election.
            action = OutOfRangeAction(leader_log_end_offset, None, leader_log_end_offset)
        elif leader_log_start_offset > log_end_offset:
            action = OutOfRangeAction(None, leader_log_start_offset, leader_log_start_offset)
        else:
            action = OutOfRangeAction(None, None, log_end_offset)
        self.fetch_offset = action.fetch_offset
        self.status = FetchStatus.FETCHING
        return action

"""What a partition leader knows about its followers (Kafka's ``Partition``/``Replica``).

The leader of a partition keeps one ``FollowerReplicaState`` per follower,
updated by the follower's Fetch requests: a follower fetching from
``fetch_offset`` has every record below it, so ``fetch_offset`` *is* its log
end offset (LEO).
From these the leader decides four things, all as Apache Kafka 4.0 does:

**High watermark** (``maybeIncrementLeaderHW``): the smallest LEO among the
leader and the followers that count, where a follower counts if it is in the
*maximal* ISR (the committed ISR plus a replica whose addition is still in
flight to the controller, KIP-497: a larger ISR is the safe side), or if it
is caught up and eligible and so about to join. A follower that fell behind
and left the ISR does not hold the high watermark back. The high watermark
only moves forward, and (KIP-966) not at all while the committed ISR is
smaller than ``min.insync.replicas``.

**Only positions reported in the current leader epoch count.** A new leader
forgets every follower's LEO (Kafka's ``resetReplicaState``): the first fetch
in the new epoch is checked against the leader's epoch cache (diverging
epoch, see ``fetch_rules``), so a position it reports is a prefix of the
leader's own log. Until each ISR member has fetched, the high watermark
stays at the value the new leader had as a follower.

**ISR** (``maybeShrinkIsr`` / ``maybeExpandIsr``): a follower is *caught up*
if its LEO equals the leader's or it reached the leader's LEO of a previous
fetch within ``replica.lag.time.max.ms``; an ISR follower that is not caught
up is dropped. A follower joins when its LEO is at least the high watermark
and at least ``leader_epoch_start_offset`` (it has fetched something of this
epoch). The leader only *proposes* a new ISR (AlterPartition to the
controller), one change in flight at a time; ``isr_change_committed`` applies
the controller's answer.

**acks=all** (``DelayedProduce`` / ``checkEnoughReplicasReachOffset``): a
produce that appended up to ``required_offset`` (last offset + 1) is
acknowledged once the high watermark reaches it, with
NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR shrank below
``min.insync.replicas`` meanwhile; before appending, an ``acks=all`` produce
to an ISR smaller than that fails with NOT_ENOUGH_REPLICAS. The effective
minimum is ``min(min.insync.replicas, replication factor)``, as in Kafka.

``now_ms`` is the broker's clock, passed in. A follower never heard from has
``last_caught_up_time_ms = 0``, so tests should use realistic clocks (well
above ``replica.lag.time.max.ms``) as Kafka's do.

Owned by the broker's ``Partition`` while it leads; not task-safe, but nothing
in it awaits.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

from minikafka.errors import ErrorCode, KafkaError

UNKNOWN_OFFSET = -1
DEFAULT_REPLICA_LAG_TIME_MAX_MS = 30_000  # replica.lag.time.max.ms
ACKS_ALL = -1


@dataclasses.dataclass
class FollowerReplicaState:
    """The leader's view of one follower (Kafka's ``ReplicaState``)."""

    broker_id: int
    log_start_offset: int = UNKNOWN_OFFSET
    log_end_offset: int = UNKNOWN_OFFSET
    last_fetch_leader_log_end_offset: int = UNKNOWN_OFFSET
    last_fetch_time_ms: int = 0
    last_caught_up_time_ms: int = 0

    def is_caught_up(self, leader_end_offset: int, now_ms: int, replica_lag_time_max_ms: int) -> bool:
        """At the leader's end now, or was at it within the lag time."""
        return (leader_end_offset == self.log_end_offset
                or now_ms - self.last_caught_up_time_ms <= replica_lag_time_max_ms)

    def update_fetch_state(self, fetch_offset: int, log_start_offset: int, now_ms: int,
                           leader_end_offset: int) -> None:
        """Record a valid fetch (Kafka's ``Replica.updateFetchStateOrThrow``).

        The follower is caught up *now* if it fetched from the leader's end;
        it was caught up at its *previous* fetch time if it has now reached
        the leader's end as of that previous fetch. The second rule keeps a
        follower in sync under a steady produce load, where the leader's end
        moves on between every two fetches.
        """
        if fetch_offset >= leader_end_offset:
            self.last_caught_up_time_ms = max(self.last_caught_up_time_ms, now_ms)
        elif fetch_offset >= self.last_fetch_leader_log_end_offset:
            self.last_caught_up_time_ms = max(self.last_caught_up_time_ms, self.last_fetch_time_ms)
        self.log_start_offset = log_start_offset
        self.log_end_offset = fetch_offset
        self.last_fetch_leader_log_end_offset = leader_end_offset
        self.last_fetch_time_ms = now_ms


@dataclasses.dataclass(frozen=True)
class FollowerFetchUpdate:
    """What changed after a follower's fetch.

    Attributes:
        high_watermark_advanced: complete waiting acks=all produces and
            wake long-polling consumers.
        proposed_isr: if not None, send AlterPartition with this ISR.
    """

    high_watermark_advanced: bool
    proposed_isr: frozenset[int] | None = None


class PartitionLeaderState:
    """One partition's replication state on its leader.

    Args:
        broker_id: this broker (the leader).
        leader_epoch: the epoch of this leadership.
        replicas: the assigned replicas, leader included.
        isr: the committed ISR, leader included.
        leader_epoch_start_offset: the leader's LEO when it took this epoch
            (the start offset it assigned to ``leader_epoch`` in its cache).
        log_end_offset: the leader's LEO now.
        high_watermark: the leader's high watermark as it was (as a follower).
        now_ms: the broker's clock.
        min_insync_replicas: the topic's ``min.insync.replicas``.
        replica_lag_time_max_ms: ``replica.lag.time.max.ms``.
        previous: this broker's ``PartitionLeaderState`` of the previous
            epoch if it stays leader (then follower LEOs are kept, as in
            Kafka's re-election); None for a new leader.
    """

    def __init__(self, broker_id: int, leader_epoch: int, replicas: Iterable[int], isr: Iterable[int],
                 leader_epoch_start_offset: int, log_end_offset: int, high_watermark: int, now_ms: int,
                 min_insync_replicas: int = 1,
                 replica_lag_time_max_ms: int = DEFAULT_REPLICA_LAG_TIME_MAX_MS,
                 previous: "PartitionLeaderState | None" = None):
        self.broker_id = broker_id
        self.leader_epoch = leader_epoch
        self.replicas = tuple(replicas)
        self.leader_epoch_start_offset = leader_epoch_start_offset
        self.min_insync_replicas = min_insync_replicas
        self.replica_lag_time_max_ms = replica_lag_time_max_ms
        self.ineligible_replicas: set[int] = set()  # fenced or shutting down (from the metadata image)
        self._isr = frozenset(isr)
        self._pending_isr: frozenset[int] | None = None
        self._log_end_offset = log_end_offset
        self._high_watermark = min(high_watermark, log_end_offset)
        self.followers = {b: self._initial_replica_state(b, now_ms, previous)
                          for b in self.replicas if b != broker_id}
        self.maybe_increment_high_watermark(now_ms)  # the ISR may be the leader alone

    def _initial_replica_state(self, broker_id: int, now_ms: int, previous) -> FollowerReplicaState:
        """Kafka's ``resetReplicaState``: ISR members start caught up, others not."""
        in_sync_ms = now_ms if broker_id in self._isr else 0
        old = previous.followers.get(broker_id) if previous else None
        if old is None:
            return FollowerReplicaState(broker_id, last_caught_up_time_ms=in_sync_ms)
        return FollowerReplicaState(broker_id, old.log_start_offset, old.log_end_offset,
                                    last_fetch_leader_log_end_offset=self._log_end_offset,
                                    last_fetch_time_ms=in_sync_ms, last_caught_up_time_ms=in_sync_ms)

    # -- state --

    @property
    def high_watermark(self) -> int:
        return self._high_watermark

    @property
    def log_end_offset(self) -> int:
        return self._log_end_offset

    @property
    def isr(self) -> frozenset[int]:
        """The ISR the controller committed."""
        return self._isr

    @property
    def maximal_isr(self) -> frozenset[int]:
        """The committed ISR plus a replica whose addition is in flight (KIP-497)."""
        return self._isr | (self._pending_isr or frozenset())

    @property
    def isr_change_in_flight(self) -> bool:
        return self._pending_isr is not None

    @property
    def effective_min_isr(self) -> int:
        return min(self.min_insync_replicas, len(self.replicas))

    @property
    def is_under_min_isr(self) -> bool:
        return len(self._isr) < self.effective_min_isr

    @property
    def is_under_replicated(self) -> bool:
        return len(self._isr) < len(self.replicas)

    def _is_eligible(self, broker_id: int) -> bool:
        return broker_id not in self.ineligible_replicas

    # -- high watermark --

    def maybe_increment_high_watermark(self, now_ms: int) -> bool:
        """Recompute the high watermark; True if it moved (it never moves back)."""
        if self.is_under_min_isr:
            return False  # KIP-966: committed data needs min.insync.replicas copies
        new_high_watermark = self._log_end_offset
        maximal_isr = self.maximal_isr
        for replica in self.followers.values():
            about_to_join = (replica.is_caught_up(self._log_end_offset, now_ms, self.replica_lag_time_max_ms)
                             and self._is_eligible(replica.broker_id))
            if replica.broker_id in maximal_isr or about_to_join:
                new_high_watermark = min(new_high_watermark, replica.log_end_offset)
        if new_high_watermark <= self._high_watermark:
            return False
        self._high_watermark = new_high_watermark
        return True

    def on_leader_append(self, log_end_offset: int, now_ms: int) -> bool:
        """The leader appended up to ``log_end_offset``; True if the HW moved.

        With the leader alone in the ISR an append commits at once.
        """
        self._log_end_offset = log_end_offset
        return self.maybe_increment_high_watermark(now_ms)

    # -- follower fetches --

    def update_follower_fetch_state(self, replica_id: int, fetch_offset: int, log_start_offset: int,
                                    now_ms: int, leader_end_offset: int | None = None) -> FollowerFetchUpdate:
        """A follower fetched from ``fetch_offset`` (and no diverging epoch was answered).

        Args:
            leader_end_offset: the leader's LEO when the fetch read the log
                (defaults to the current one); Kafka takes it before the read
                so appends racing the fetch cannot keep a follower out of sync.

        Raises:
            KafkaError: NOT_LEADER_OR_FOLLOWER if ``replica_id`` is not an
                assigned follower of this partition.
        """
        replica = self.follower(replica_id)
        if leader_end_offset is None:
            leader_end_offset = self._log_end_offset
        previous_end_offset = replica.log_end_offset
        replica.update_fetch_state(fetch_offset, log_start_offset, now_ms, leader_end_offset)
        proposed_isr = self._maybe_expand_isr(replica)
        advanced = False
        if replica.log_end_offset != previous_end_offset:
            advanced = self.maybe_increment_high_watermark(now_ms)
        return FollowerFetchUpdate(advanced, proposed_isr)

    def follower(self, replica_id: int) -> FollowerReplicaState:
        """The state of follower ``replica_id``.

        Raises:
            KafkaError: NOT_LEADER_OR_FOLLOWER for a broker that is not one.
        """
        replica = self.followers.get(replica_id)
        if replica is None:
            raise KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER,
                             f"replica {replica_id} is not a follower of this partition")
        return replica

    # -- ISR changes (AlterPartition) --

    def _maybe_expand_isr(self, replica: FollowerReplicaState) -> frozenset[int] | None:
        if (self.isr_change_in_flight or replica.broker_id in self._isr
                or not self._is_eligible(replica.broker_id)):
            return None
        if (replica.log_end_offset < self._high_watermark
                or replica.log_end_offset < self.leader_epoch_start_offset):
            return None
        return self._propose(self._isr | {replica.broker_id})

    def out_of_sync_replicas(self, now_ms: int) -> frozenset[int]:
        """ISR followers that have not been caught up for the lag time."""
        return frozenset(
            b for b in self._isr
            if b != self.broker_id and not (b in self.followers and self.followers[b].is_caught_up(
                self._log_end_offset, now_ms, self.replica_lag_time_max_ms)))

    def maybe_shrink_isr(self, now_ms: int) -> frozenset[int] | None:
        """The ISR to propose without the lagging followers, or None.

        Kafka checks every ``replica.lag.time.max.ms / 2``. Nothing is
        proposed while another ISR change is in flight.
        """
        if self.isr_change_in_flight:
            return None
        lagging = self.out_of_sync_replicas(now_ms)
        return self._propose(self._isr - lagging) if lagging else None

    def _propose(self, new_isr: frozenset[int]) -> frozenset[int]:
        self._pending_isr = frozenset(new_isr)
        return self._pending_isr

    def isr_change_committed(self, isr: Iterable[int], now_ms: int) -> bool:
        """The controller's ISR is now ``isr`` (AlterPartition answer or metadata).

        Returns True if the high watermark moved (a shrink can let it).
        """
        self._isr = frozenset(isr)
        self._pending_isr = None
        return self.maybe_increment_high_watermark(now_ms)

    def isr_change_failed(self) -> None:
        """The AlterPartition was rejected or lost: keep the committed ISR."""
        self._pending_isr = None

    # -- produce --

    def check_append(self, required_acks: int) -> None:
        """Refuse an ``acks=all`` append while the ISR is below the minimum.

        Raises:
            KafkaError: NOT_ENOUGH_REPLICAS.
        """
        if required_acks == ACKS_ALL and len(self._isr) < self.effective_min_isr:
            raise KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS,
                             f"The size of the current ISR {sorted(self._isr)} is insufficient to "
                             f"satisfy the min.isr requirement of {self.effective_min_isr}")

    def check_enough_replicas_reach_offset(self, required_offset: int) -> tuple[bool, ErrorCode]:
        """``(done, error)`` for an acks=all produce ending at ``required_offset``."""
        if self._high_watermark < required_offset:
            return False, ErrorCode.NONE
        if len(self.maximal_isr) < self.effective_min_isr:
            return True, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND
        return True, ErrorCode.NONE

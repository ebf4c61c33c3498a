"""One partition's replication on this broker: role, ISR, high watermark moves, waiters.

A ``Partition`` is what the produce, fetch and list-offsets handlers talk to.
It holds the partition's storage engine, ``log`` (a
``storage.unified_log.UnifiedLog``: segments, offsets, the high watermark,
producer state, the leader-epoch cache), and decides who may append and
when the high watermark moves, as Kafka's ``Partition`` does:

- its *role*, set by the broker from the metadata image (Kafka's
  ``makeLeader`` / ``makeFollower``): as the **leader** it owns a
  ``PartitionLeaderState`` (the followers' positions, the ISR, the high
  watermark as the smallest log end offset of the ISR, acks=all); as a
  **follower** a ``PartitionFollowerState`` (where the replica fetcher reads
  from the leader), and it takes the leader's high watermark, bounded by its
  own log;
- *listeners*: plain callbacks called after every leader append
  (``APPENDED``: what a follower's long-polling fetch waits for) or every
  high watermark move or role change (``COMMITTED``: what a consumer's fetch
  and an acks=all produce wait for). Keeping the two apart means a
  follower's fetch is not woken, to find nothing new, each time the other
  followers move the high watermark. ``replication.waiters`` turns them into
  Trio waits; the partition stays synchronous and testable without a Trio
  loop.

The produce path on the leader (``append_records``): the leader state checks
``min.insync.replicas`` for acks=all, ``UnifiedLog.append_as_leader``
validates and writes, the leader state takes the new log end offset (with
the leader alone in the ISR that moves the high watermark at once), and the
listeners are told. A follower appends the leader's batches byte for byte
(``append_as_follower``) and truncates its log when the leader says the two
logs part (``truncate_to``).

The high watermark is stored once, in the ``UnifiedLog``; the leader state
computes it and ``_high_watermark_moved`` copies it there.

Transactions: the leader writes the coordinator's COMMIT/ABORT markers
(``append_txn_marker``, as a produce with acks=all would be: APPENDED is
notified and the high watermark may move); the last stable offset and the
aborted transactions come from the log (``last_stable_offset``,
``aborted_transactions``); ``maybe_start_verification`` and the
``verification_guard`` argument of ``append_records`` carry KIP-890's
verification from the produce handler to the producer state.

Not task-safe by itself, but nothing in it awaits, so under Trio each method
runs to completion without interleaving.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from minikafka.errors import ErrorCode, KafkaError
from minikafka.metadata.records import NO_LEADER
from minikafka.replication import fetch_rules
from minikafka.replication.follower_state import PartitionFollowerState, follower_high_watermark
from minikafka.replication.leader_state import FollowerFetchUpdate, PartitionLeaderState
from minikafka.storage.epoch_cache import LeaderEpochCache
from minikafka.storage.producer_state import ActiveProducer, VerificationGuard
from minikafka.storage.unified_log import AppendOrigin, AppendResult, FetchIsolation, UnifiedLog

APPENDED, COMMITTED = "appended", "committed"  # what a listener waits for


@dataclasses.dataclass(frozen=True)
class ReplicaRead:
    """What the leader answers a follower's Fetch for this partition.

    Either ``records`` (bytes or a ``FileRegion``, up to the log end) or a
    ``diverging_epoch`` (no records: the follower must truncate first).
    """

    records: object = b""
    diverging_epoch: fetch_rules.LeaderEpochEndOffset | None = None
    update: FollowerFetchUpdate | None = None


class Partition:
    """One partition's replication role over its ``UnifiedLog``.

    Owned by the ``Broker``; handlers get it from ``broker.partition()``.

    Args:
        topic: the topic name.
        index: the partition number.
        log: the partition's opened ``UnifiedLog``.
        broker_id: this broker; until the metadata names a role the
            partition is a leaderless follower and serves nothing.
    """

    def __init__(self, topic: str, index: int, log: UnifiedLog, broker_id: int = -1):
        self.topic = topic
        self.index = index
        self.log = log
        self.broker_id = broker_id
        self.leader_id = NO_LEADER
        self.leader_epoch = -1  # until the metadata image gives one
        self.partition_epoch = -1
        self.leader_state: PartitionLeaderState | None = None
        self.follower_state: PartitionFollowerState | None = None
        self._listeners: dict[str, list[Callable[[], None]]] = {APPENDED: [], COMMITTED: []}

    def __repr__(self) -> str:
        role = "leader" if self.is_leader else f"follower of {self.leader_id}"
        return f"<Partition {self.topic}-{self.index} {role} epoch={self.leader_epoch} hw={self.high_watermark}>"

    # -- offsets (the log's) ---------------------------------------------------------

    @property
    def log_start_offset(self) -> int:
        return self.log.log_start_offset

    @property
    def log_end_offset(self) -> int:
        return self.log.log_end_offset

    @property
    def high_watermark(self) -> int:
        return self.log.high_watermark

    @property
    def last_stable_offset(self) -> int:
        return self.log.last_stable_offset

    @property
    def epoch_cache(self) -> LeaderEpochCache:
        return self.log.epoch_cache

    @property
    def is_leader(self) -> bool:
        return self.leader_state is not None

    # -- roles (from the metadata image) ----------------------------------------

    def make_leader(self, registration, now_ms: int, min_insync_replicas: int,
                    replica_lag_time_max_ms: int, ineligible_replicas=frozenset()) -> bool:
        """Lead as ``registration`` says (Kafka's ``Partition.makeLeader``).

        A new leader epoch starts at the log end offset: it is written to the
        epoch cache at once, so a follower asking where the previous epoch
        ended gets an answer. Followers' positions are forgotten unless this
        broker led the previous epoch too. Same epoch, new partition epoch:
        only the ISR (or the replica set) changed.

        ``ineligible_replicas`` (fenced or shutting down) and
        ``min_insync_replicas`` are set *before* the high watermark is
        recomputed for the new ISR: a fenced follower still inside its lag
        time must not hold it back (nothing else would recompute it).

        Returns:
            True if this is a new leadership (epoch or role changed).
        """
        previous = self.leader_state
        new_epoch = previous is None or registration.leader_epoch != self.leader_epoch
        if new_epoch:
            self.follower_state = None
            self._set_epoch(registration)
            self.log.assign_epoch_start_offset(registration.leader_epoch, self.log_end_offset)
        if new_epoch or tuple(registration.replicas) != previous.replicas:
            self.leader_state = PartitionLeaderState(
                self.broker_id, registration.leader_epoch, registration.replicas, registration.isr,
                leader_epoch_start_offset=self.log.epoch_start_offset(registration.leader_epoch),
                log_end_offset=self.log_end_offset, high_watermark=self.high_watermark, now_ms=now_ms,
                min_insync_replicas=min_insync_replicas, replica_lag_time_max_ms=replica_lag_time_max_ms,
                previous=previous)
        self.leader_state.min_insync_replicas = min_insync_replicas
        self.leader_state.ineligible_replicas = set(ineligible_replicas)
        self.leader_state.isr_change_committed(registration.isr, now_ms)
        self.partition_epoch = registration.partition_epoch
        self._high_watermark_moved()
        if new_epoch:
            self._notify(APPENDED, COMMITTED)
        return new_epoch

    def make_follower(self, registration) -> bool:
        """Follow ``registration.leader`` (NO_LEADER: wait for an election).

        Leaving leadership fails every waiting acks=all produce (they see
        ``is_leader`` turn False). A new epoch or leader restarts fetching;
        without epochs in the cache the log is first cut to the high
        watermark, the only offset known to be committed.

        Returns:
            True if the fetcher must (re)start for this partition.
        """
        changed = (self.leader_state is not None or registration.leader != self.leader_id
                   or registration.leader_epoch != self.leader_epoch)
        self.partition_epoch = registration.partition_epoch
        if not changed:
            return False
        self.leader_state = None
        self._set_epoch(registration)
        self.follower_state = None
        if registration.leader != NO_LEADER:
            self.follower_state = PartitionFollowerState(registration.leader, registration.leader_epoch)
            truncate_to = self.follower_state.start(self.epoch_cache, self.log_end_offset, self.high_watermark)
            if truncate_to is not None:
                self.truncate_to(truncate_to)
        self._notify(APPENDED, COMMITTED)  # waiting produces and fetches re-check, and fail
        return True

    def _set_epoch(self, registration) -> None:
        self.leader_id = registration.leader
        self.leader_epoch = registration.leader_epoch

    # -- producing (leader) ----------------------------------------------------

    def append_records(self, records, now_ms: int, *, single_batch: bool = False,
                       allow_zstd: bool = True, required_acks: int = 1,
                       origin: AppendOrigin = AppendOrigin.CLIENT,
                       verification_guard: VerificationGuard | None = None) -> AppendResult:
        """Validate and append a produce request's records for this partition.

        Args:
            records: one or more magic v2 record batches, as sent.
            now_ms: the wall clock, for LogAppendTime and time-based rolls.
            single_batch: require exactly one batch (Produce v3+ does).
            allow_zstd: False for Produce below v7, which predates zstd (KIP-110).
            required_acks: the producer's ``acks``; -1 is refused up front
                while the ISR is smaller than ``min.insync.replicas``.
            origin: ``CLIENT`` for a producer, ``COORDINATOR`` for a
                coordinator's own records (no duplicate or sequence checks).
            verification_guard: from ``maybe_start_verification``, once the
                transaction coordinator confirmed the partition is in the
                producer's transaction.

        Raises:
            KafkaError: the partition's error (NOT_LEADER_OR_FOLLOWER,
                NOT_ENOUGH_REPLICAS, CORRUPT_MESSAGE, INVALID_RECORD,
                OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH, ...).
            minikafka_core.records.InvalidBatchError: from validation.
        """
        leader_state = self._require_leader()
        leader_state.check_append(required_acks)  # before anything, as Kafka's appendRecordsToLeader
        result = self.log.append_as_leader(records, self.leader_epoch, now_ms, single_batch=single_batch,
                                           allow_zstd=allow_zstd, origin=origin,
                                           verification_guard=verification_guard)
        if not result.duplicate:
            self._after_leader_append(leader_state, now_ms)
        return result

    def append_txn_marker(self, *, producer_id: int, producer_epoch: int, coordinator_epoch: int,
                          commit: bool, now_ms: int, required_acks: int = -1) -> AppendResult:
        """Write a transaction marker (WriteTxnMarkers; leader only).

        Kafka appends markers as the coordinator with acks=all, so an ISR
        below ``min.insync.replicas`` refuses them up front; the caller
        waits for the ISR (``acks_all_result``) before answering.

        Raises:
            KafkaError: NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS,
                INVALID_PRODUCER_EPOCH, TRANSACTION_COORDINATOR_FENCED.
        """
        leader_state = self._require_leader()
        leader_state.check_append(required_acks)
        result = self.log.append_txn_marker(producer_id=producer_id, producer_epoch=producer_epoch,
                                            coordinator_epoch=coordinator_epoch, commit=commit,
                                            leader_epoch=self.leader_epoch, now_ms=now_ms)
        self._after_leader_append(leader_state, now_ms)
        return result

    def _after_leader_append(self, leader_state: PartitionLeaderState, now_ms: int) -> None:
        leader_state.on_leader_append(self.log_end_offset, now_ms)
        self._notify(APPENDED)
        self._high_watermark_moved()

    def set_transaction_verification(self, enabled: bool) -> None:
        """Follow ``transaction.partition.verification.enable`` (a dynamic broker config)."""
        self.log.producer_state.transaction_verification_enabled = enabled

    def maybe_start_verification(self, producer_id: int, producer_epoch: int | None = None,
                                 now_ms: int | None = None) -> VerificationGuard | None:
        """KIP-890: a guard to verify this producer's transaction with, or None if not needed.

        See ``UnifiedLog.maybe_start_verification``.
        """
        return self.log.maybe_start_verification(producer_id, producer_epoch, now_ms)

    def active_producers(self) -> list[ActiveProducer]:
        """The producers of this partition (DescribeProducers)."""
        return self.log.active_producers()

    def _require_leader(self) -> PartitionLeaderState:
        if self.leader_state is None:
            raise KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER,
                             f"broker {self.broker_id} is not the leader of {self.topic}-{self.index}")
        return self.leader_state

    def acks_all_result(self, required_offset: int) -> ErrorCode | None:
        """For an acks=all produce that ended at ``required_offset``: its answer, or None to wait.

        NOT_LEADER_OR_FOLLOWER if leadership moved away meanwhile (Kafka's
        ``DelayedProduce`` does the same); NOT_ENOUGH_REPLICAS_AFTER_APPEND
        if the ISR shrank below ``min.insync.replicas`` on the way.
        """
        if self.leader_state is None:
            return ErrorCode.NOT_LEADER_OR_FOLLOWER
        done, error = self.leader_state.check_enough_replicas_reach_offset(required_offset)
        return error if done else None

    def _high_watermark_moved(self) -> None:
        """Store the leader state's high watermark in the log; wake COMMITTED listeners if it moved."""
        if self.leader_state is not None and self.log.update_high_watermark(self.leader_state.high_watermark):
            self._notify(COMMITTED)

    def _notify(self, *kinds: str) -> None:
        for kind in kinds:
            for listener in list(self._listeners[kind]):
                listener()

    # -- replication: the leader's side of a follower's Fetch --------------------

    def read_for_follower(self, replica_id: int, fetch_position, log_start_offset: int, max_bytes: int,
                          now_ms: int, *, min_one_batch: bool, zero_copy: bool = False,
                          update_fetch_state: bool = True) -> ReplicaRead:
        """Answer one follower's fetch of this partition (Kafka's ``readRecords`` for replicas).

        Checks its epochs (``fetch_rules.check_replica_fetch``); if the logs
        agree, reads from ``fetch_offset`` up to the log end (not the high
        watermark: the follower needs what is not committed yet) and, if
        ``update_fetch_state``, records the follower's position, which may
        move the high watermark or propose a new ISR (``ReplicaRead.update``).
        A fetch records it once, when it arrives; the read that answers a
        fetch parked until new records came (Kafka's ``DelayedFetch``) does
        not record it again.

        Raises:
            KafkaError: NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH,
                UNKNOWN_LEADER_EPOCH, OFFSET_OUT_OF_RANGE.
        """
        leader_state = self._require_leader()
        leader_state.follower(replica_id)  # NOT_LEADER_OR_FOLLOWER for a stranger
        diverging = fetch_rules.check_replica_fetch(
            self.epoch_cache, local_leader_epoch=self.leader_epoch, log_start_offset=self.log_start_offset,
            log_end_offset=self.log_end_offset, current_leader_epoch=fetch_position.current_leader_epoch,
            fetch_offset=fetch_position.fetch_offset, last_fetched_epoch=fetch_position.last_fetched_epoch)
        if diverging is not None:
            return ReplicaRead(diverging_epoch=diverging)
        leader_end_offset = self.log_end_offset
        records = self.log.read(fetch_position.fetch_offset, max_bytes, FetchIsolation.LOG_END,
                                min_one_batch=min_one_batch, zero_copy=zero_copy)
        if not update_fetch_state:
            return ReplicaRead(records)
        update = leader_state.update_follower_fetch_state(
            replica_id, fetch_position.fetch_offset, log_start_offset, now_ms, leader_end_offset)
        if update.high_watermark_advanced:
            self._high_watermark_moved()
        return ReplicaRead(records, update=update)

    def maybe_shrink_isr(self, now_ms: int) -> frozenset[int] | None:
        """The ISR to propose without lagging followers (leader only), or None."""
        return self.leader_state.maybe_shrink_isr(now_ms) if self.leader_state is not None else None

    def isr_change_answered(self, isr, partition_epoch: int | None, now_ms: int) -> None:
        """The controller answered our AlterPartition: ``isr`` committed, or None if refused."""
        if self.leader_state is None:
            return
        if isr is None:
            self.leader_state.isr_change_failed()
            return
        if partition_epoch is not None and partition_epoch >= self.partition_epoch:
            self.partition_epoch = partition_epoch
            self.leader_state.isr_change_committed(isr, now_ms)
            self._high_watermark_moved()

    # -- replication: the follower's side -------------------------------------------

    def append_as_follower(self, records, now_ms: int) -> int:
        """Append what the leader sent, byte for byte; returns the new log end offset."""
        return self.log.append_as_follower(records, now_ms)

    def update_follower_log_start_offset(self, leader_log_start_offset: int) -> None:
        """Follow the leader's log start offset (DeleteRecords, retention) as far as our log goes."""
        self.log.follow_log_start_offset(leader_log_start_offset)

    def update_follower_high_watermark(self, leader_high_watermark: int) -> None:
        """Take the leader's high watermark, bounded by our own log."""
        new = follower_high_watermark(leader_high_watermark, self.log_start_offset, self.log_end_offset)
        if self.log.update_high_watermark(new):
            self._notify(COMMITTED)

    def truncate_to(self, offset: int, now_ms: int | None = None) -> None:
        """Drop every record at or after ``offset`` (``UnifiedLog.truncate_to``)."""
        self.log.truncate_to(offset, now_ms)

    def truncate_fully_and_start_at(self, offset: int, now_ms: int) -> None:
        """Empty the log and restart it at ``offset`` (the leader's log start moved past ours)."""
        self.log.truncate_fully_and_start_at(offset, now_ms)

    # -- reading -------------------------------------------------------------

    def read(self, fetch_offset: int, max_bytes: int, *, min_one_batch: bool,
             zero_copy: bool = False, isolation: FetchIsolation = FetchIsolation.HIGH_WATERMARK):
        """A consumer's read: whole batches from ``fetch_offset`` up to the high
        watermark (read_uncommitted) or the last stable offset
        (``FetchIsolation.TXN_COMMITTED``, read_committed).

        See ``UnifiedLog.read``.
        """
        return self.log.read(fetch_offset, max_bytes, isolation,
                             min_one_batch=min_one_batch, zero_copy=zero_copy)

    def aborted_transactions(self, start_offset: int, upper_bound_offset: int) -> list[tuple[int, int]]:
        """``(producer_id, first_offset)`` of the aborted transactions overlapping
        ``[start_offset, upper_bound_offset)``: what a read_committed Fetch returns."""
        return [(txn.producer_id, txn.first_offset)
                for txn in self.log.collect_aborted_transactions(start_offset, upper_bound_offset)]

    def add_listener(self, kind: str, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after each event of ``kind`` (APPENDED or COMMITTED) until removed."""
        self._listeners[kind].append(callback)

    def remove_listener(self, kind: str, callback: Callable[[], None]) -> None:
        try:
            self._listeners[kind].remove(callback)
        except ValueError:
            pass

    # -- other operations ----------------------------------------------------

    def delete_records_before(self, offset: int) -> int:
        """Advance the log start offset (DeleteRecords); returns the new one."""
        return self.log.delete_records_before(offset)

    def maintenance(self, now_ms: int) -> None:
        """Time-based roll, retention and flush; forget long-idle producers."""
        self.log.maintenance(now_ms)

    def take_snapshot(self) -> None:
        """Save the producer state at the log end (clean shutdown)."""
        self.log.take_snapshot()

"""One topic partition on this broker: log, producer state, high watermark, waiters.

A ``Partition`` is what the produce, fetch and list-offsets handlers talk to.
It joins three things Kafka keeps together in its ``Partition``/``UnifiedLog``:

- the ``Log`` (segments on disk: what has been appended);
- the ``ProducerStateManager`` (idempotence: the last batches of each producer,
  so a retried batch is recognised and answered with its original offsets);
- the *high watermark*: the offset below which records are committed and may
  be read by consumers;
- its *role* in replication (Kafka's ``Partition.makeLeader`` /
  ``makeFollower``), set by the broker from the metadata image: as the
  **leader** it owns a ``LeaderState`` (the followers' positions, the ISR,
  the high watermark as the smallest log end offset of the ISR, acks=all);
  as a **follower** a ``FollowerState`` (where the replica fetcher reads from
  the leader) and it takes the leader's high watermark, bounded by its own log;
- the *leader-epoch cache* (``leader-epoch-checkpoint``): where each leader
  epoch's records start, so that replicas find where their logs part.

The decisions live in ``minikafka.replication`` (sans-I/O); this class only
applies them to the log. With one replica the leader is alone in the ISR and
every append is committed at once.

The append path (Kafka's ``UnifiedLog.append``):

1. ``Log.validate(records)``: sizes, CRC, magic, timestamps -> ``BatchInfo`` list;
2. producer-state checks per batch: a duplicate (same producer, epoch and
   sequence as one of its last five batches) is *not* appended again and gets
   its original offsets; a gap in sequence numbers is
   ``OUT_OF_ORDER_SEQUENCE_NUMBER``; an old epoch is ``INVALID_PRODUCER_EPOCH``;
3. ``Log.append`` assigns offsets, stamps the leader epoch and writes;
4. the producer state records the new batches with their offsets;
5. the leader state moves the high watermark if the ISR already has them.

A follower appends the leader's batches byte for byte instead
(``append_as_follower``), keeping their offsets and epochs, and truncates
its log when the leader says the two logs part (``truncate_to``).

Waiting without I/O here: ``add_listener(kind, callback)`` registers a plain
callback, called after every append (``APPENDED``: what a follower's
long-polling fetch waits for) or every high watermark move or role change
(``COMMITTED``: what a consumer's fetch and an acks=all produce wait for).
Keeping the two apart means a follower's fetch is not woken, to find nothing
new, each time the other followers move the high watermark.
The broker's runtime turns that into a Trio event; the partition stays
synchronous and testable without a Trio loop.

Not task-safe by itself, but nothing in it awaits, so under Trio each method
runs to completion without interleaving.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Callable

from minikafka.errors import ErrorCode, KafkaError
from minikafka.storage.checkpoints import LEADER_EPOCH_CHECKPOINT
from minikafka.metadata.records import NO_LEADER
from minikafka.replication import fetch_rules
from minikafka.storage.epoch_cache import LeaderEpochCache
from minikafka.replication.follower_state import (FollowerState, epochs_of_appended_batches,
                                                  follower_high_watermark)
from minikafka.replication.leader_state import FollowerFetchUpdate, LeaderState

log = logging.getLogger("minikafka.partition")

NO_PRODUCER_ID = -1
APPENDED, COMMITTED = "appended", "committed"  # what a listener waits for
ZSTD = 4  # compression codec id in the batch attributes


@dataclasses.dataclass
class AppendResult:
    """What a produce response reports for one partition."""

    base_offset: int
    last_offset: int
    log_append_time_ms: int  # -1 unless the topic uses LogAppendTime
    log_start_offset: int
    duplicate: bool = False  # True: a retry answered with its original offsets



@dataclasses.dataclass(frozen=True)
class ReplicaRead:
    """What the leader answers a follower's Fetch for this partition.

    Either ``records`` (bytes or a ``FileRegion``, up to the log end) or a
    ``diverging_epoch`` (no records: the follower must truncate first).
    """

    records: object = b""
    diverging_epoch: fetch_rules.EpochEndOffset | None = None
    update: FollowerFetchUpdate | None = None


class Partition:
    """One partition's log, producer state, high watermark and replication role.

    Owned by the ``Broker``; handlers get it from ``broker.partition()``.

    Args:
        topic: the topic name.
        index: the partition number.
        log: the opened ``Log`` of this partition.
        producer_state: this partition's (empty) ``ProducerStateManager``;
            it is rebuilt here from the snapshot and the log.
        now_ms: the wall clock, for expiring idle producers on recovery.
        high_watermark: the checkpointed high watermark (None: unknown; a
            leader alone in its ISR moves it to the log end at once).
        broker_id: this broker; until the metadata names a role the
            partition is a leaderless follower and serves nothing.
    """

    def __init__(self, topic: str, index: int, log, producer_state, now_ms: int,
                 high_watermark: int | None = None, broker_id: int = -1):
        self.topic = topic
        self.index = index
        self.log = log
        self.producer_state = producer_state
        self.broker_id = broker_id
        self.epoch_cache = LeaderEpochCache.load(self._epoch_cache_path)
        self.leader_id = NO_LEADER
        self.leader_epoch = -1  # until the metadata image gives one
        self.partition_epoch = -1
        self.leader_state: LeaderState | None = None
        self.follower_state: FollowerState | None = None
        self._listeners: dict[str, list[Callable[[], None]]] = {APPENDED: [], COMMITTED: []}
        self._rebuild_producer_state(now_ms)
        # Kafka starts from the checkpoint (or the log start): a replica must
        # not take records it appended for committed until the leader says so.
        start, end = log.log_start_offset, log.log_end_offset
        self.high_watermark = start if high_watermark is None else max(start, min(high_watermark, end))

    def __repr__(self) -> str:
        role = "leader" if self.is_leader else f"follower of {self.leader_id}"
        return f"<Partition {self.topic}-{self.index} {role} epoch={self.leader_epoch} hw={self.high_watermark}>"

    # -- offsets -------------------------------------------------------------

    @property
    def log_start_offset(self) -> int:
        return self.log.log_start_offset

    @property
    def log_end_offset(self) -> int:
        return self.log.log_end_offset

    @property
    def last_stable_offset(self) -> int:
        """No transactions yet: everything below the high watermark is stable."""
        return self.high_watermark

    @property
    def is_leader(self) -> bool:
        return self.leader_state is not None

    @property
    def _epoch_cache_path(self) -> str:
        return os.path.join(self.log.dir, LEADER_EPOCH_CHECKPOINT)

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
            self._assign_epoch(registration.leader_epoch, self.log_end_offset)
        if new_epoch or tuple(registration.replicas) != previous.replicas:
            self.leader_state = LeaderState(
                self.broker_id, registration.leader_epoch, registration.replicas, registration.isr,
                leader_epoch_start_offset=self._epoch_start_offset(registration.leader_epoch),
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
            self.follower_state = FollowerState(registration.leader, registration.leader_epoch)
            truncate_to = self.follower_state.start(self.epoch_cache, self.log_end_offset, self.high_watermark)
            if truncate_to is not None:
                self.truncate_to(truncate_to)
        self._notify(APPENDED, COMMITTED)  # waiting produces and fetches re-check, and fail
        return True

    def _set_epoch(self, registration) -> None:
        self.leader_id = registration.leader
        self.leader_epoch = registration.leader_epoch
        self.log.leader_epoch = registration.leader_epoch

    def _assign_epoch(self, epoch: int, start_offset: int) -> None:
        if self.epoch_cache.assign(epoch, start_offset):
            self.epoch_cache.persist(self._epoch_cache_path)

    def _epoch_start_offset(self, epoch: int) -> int:
        entry = self.epoch_cache.latest_entry
        return entry.start_offset if entry is not None and entry.epoch == epoch else self.log_end_offset

    # -- producing (leader) ----------------------------------------------------

    def append_records(self, records, now_ms: int, *, single_batch: bool = False,
                       allow_zstd: bool = True, required_acks: int = 1) -> AppendResult:
        """Validate and append a produce request's records for this partition.

        Args:
            records: one or more magic v2 record batches, as sent.
            now_ms: the wall clock, for LogAppendTime and time-based rolls.
            single_batch: require exactly one batch (Produce v3+ does).
            allow_zstd: False for Produce below v7, which predates zstd (KIP-110).
            required_acks: the producer's ``acks``; -1 is refused up front
                while the ISR is smaller than ``min.insync.replicas``.

        Raises:
            KafkaError: the partition's error (NOT_LEADER_OR_FOLLOWER,
                NOT_ENOUGH_REPLICAS, CORRUPT_MESSAGE, INVALID_RECORD,
                OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH, ...).
            minikafka_core.batch.InvalidBatchError: from validation.
        """
        leader_state = self._require_leader()
        leader_state.check_append(required_acks)  # before anything, as Kafka's appendRecordsToLeader
        batches = self.log.validate(records, now_ms)
        if single_batch and len(batches) != 1:
            raise KafkaError(ErrorCode.INVALID_RECORD,
                             f"expected exactly one record batch, got {len(batches)}")
        if not allow_zstd and any(batch.compression == ZSTD for batch in batches):
            raise KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
                             "zstd needs Produce v7 or later")
        duplicate = self.producer_state.check_batches(batches)
        if duplicate is not None:
            log.info("%s-%d: duplicate batch from producer %d answered with offset %d",
                     self.topic, self.index, batches[0].producer_id, duplicate.first_offset)
            # Kafka answers a duplicate with its original offsets and timestamp.
            return AppendResult(duplicate.first_offset, duplicate.last_offset,
                                duplicate.timestamp,
                                self.log.log_start_offset, duplicate=True)
        info = self.log.append(records, batches, now_ms)
        self._record_producers(batches, info.first_offset, now_ms)
        leader_state.on_leader_append(self.log_end_offset, now_ms)
        self._notify(APPENDED)
        self._high_watermark_moved()
        return AppendResult(info.first_offset, info.last_offset,
                            info.log_append_time_ms, self.log.log_start_offset)

    def _require_leader(self) -> LeaderState:
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

    def _record_producers(self, batches, first_offset: int, now_ms: int) -> None:
        """Tell the producer state where each idempotent batch landed."""
        offset = first_offset
        for batch in batches:
            last_offset = offset + batch.last_offset_delta
            if batch.producer_id != NO_PRODUCER_ID:
                self.producer_state.update(batch, offset, last_offset, now_ms)
            offset = last_offset + 1

    def _rebuild_producer_state(self, now_ms: int) -> None:
        """Load the newest snapshot and replay the log after it (recovery, truncation)."""
        self.producer_state.recover(self.log.dir, self.log.log_start_offset,
                                    self.log.log_end_offset, self.log.batches, now_ms)

    def _high_watermark_moved(self) -> None:
        """Take the leader state's high watermark; wake COMMITTED listeners if it moved."""
        if self.leader_state is not None and self.leader_state.high_watermark != self.high_watermark:
            self.high_watermark = self.leader_state.high_watermark
            self._notify(COMMITTED)

    def _notify(self, *kinds: str) -> None:
        for kind in kinds:
            for listener in list(self._listeners[kind]):
                listener()

    # -- replication: the leader's side of a follower's Fetch --------------------

    def read_for_follower(self, replica_id: int, fetch_position, log_start_offset: int, max_bytes: int,
                          now_ms: int, *, min_one_batch: bool, zero_copy: bool = False) -> ReplicaRead:
        """Answer one follower's fetch of this partition (Kafka's ``readRecords`` for replicas).

        Checks its epochs (``fetch_rules.check_replica_fetch``); if the logs
        agree, reads from ``fetch_offset`` up to the log end (not the high
        watermark: the follower needs what is not committed yet) and records
        the follower's position, which may move the high watermark or propose
        a new ISR (``ReplicaRead.update``).

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
        records = b""
        if fetch_position.fetch_offset < leader_end_offset:
            read = self.log.read_region if zero_copy else self.log.read
            records = read(fetch_position.fetch_offset, max_bytes, leader_end_offset, min_one_batch)
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
        """Append what the leader sent, byte for byte; returns the new log end offset.

        The batches keep the leader's offsets and epochs; the epoch cache
        learns each new epoch from its first batch.
        """
        batches = self.log.validate_as_follower(records)
        info = self.log.append_as_follower(records, batches, now_ms)
        if info is not None:
            appended = [b for b in batches if b.base_offset >= info.first_offset]
            for batch in appended:
                if batch.producer_id != NO_PRODUCER_ID:
                    self.producer_state.update(batch, batch.base_offset, batch.last_offset, now_ms)
            if epochs_of_appended_batches(self.epoch_cache,
                                          ((b.partition_leader_epoch, b.base_offset) for b in appended)):
                self.epoch_cache.persist(self._epoch_cache_path)
        return self.log_end_offset

    def update_follower_log_start_offset(self, leader_log_start_offset: int) -> None:
        """Follow the leader's log start offset (DeleteRecords, retention) as far as our log goes."""
        offset = min(leader_log_start_offset, self.log_end_offset)
        if offset > self.log_start_offset:
            self.log.delete_records_before(offset)
            self._trim_epoch_cache_start()

    def _trim_epoch_cache_start(self) -> None:
        """Drop epoch entries below the log start (Kafka's ``truncateFromStart``)."""
        if self.epoch_cache.truncate_from_start(self.log_start_offset):
            self.epoch_cache.persist(self._epoch_cache_path)

    def update_follower_high_watermark(self, leader_high_watermark: int) -> None:
        """Take the leader's high watermark, bounded by our own log."""
        new = follower_high_watermark(leader_high_watermark, self.log_start_offset, self.log_end_offset)
        if new != self.high_watermark:
            self.high_watermark = new
            self._notify(COMMITTED)

    def truncate_to(self, offset: int, now_ms: int | None = None) -> None:
        """Drop every record at or after ``offset`` (a divergent suffix) and what depends on it.

        The epoch cache is cut at the (new) log end even when no record goes:
        a broker that became leader and was replaced before appending
        anything holds an epoch entry at its log end that the new leader
        never had, and it would keep reporting that epoch (Kafka's
        ``UnifiedLog.truncateTo`` does the same).
        """
        if offset >= self.log_end_offset:
            if self.epoch_cache.truncate_from_end(self.log_end_offset):
                self.epoch_cache.persist(self._epoch_cache_path)
            return
        log.info("%s-%d: truncating from %d to %d", self.topic, self.index, self.log_end_offset, offset)
        self.log.truncate_to(offset)
        if self.epoch_cache.truncate_from_end(self.log_end_offset):
            self.epoch_cache.persist(self._epoch_cache_path)
        self.high_watermark = min(self.high_watermark, self.log_end_offset)
        self._reset_producer_state(now_ms)

    def truncate_fully_and_start_at(self, offset: int, now_ms: int) -> None:
        """Empty the log and restart it at ``offset`` (the leader's log start moved past ours)."""
        log.info("%s-%d: the leader starts at %d; starting over there", self.topic, self.index, offset)
        self.log.truncate_fully_and_start_at(offset, now_ms)
        if self.epoch_cache.clear():
            self.epoch_cache.persist(self._epoch_cache_path)
        self.high_watermark = offset
        self.producer_state.truncate_fully_and_start_at(offset)

    def _reset_producer_state(self, now_ms: int | None) -> None:
        self.producer_state.producers.clear()
        self._rebuild_producer_state(now_ms if now_ms is not None else self.log.active_segment.created_ms)

    # -- reading -------------------------------------------------------------

    def read(self, fetch_offset: int, max_bytes: int, *, min_one_batch: bool,
             zero_copy: bool = False):
        """Read whole batches from ``fetch_offset`` up to the high watermark.

        Args:
            fetch_offset: the first offset wanted.
            max_bytes: the size limit (the first batch may exceed it if
                ``min_one_batch``).
            min_one_batch: see ``Log.read``.
            zero_copy: return a ``FileRegion`` of the log instead of bytes
                (``Log.read_region``); the caller must close it once sent.

        Returns:
            ``bytes``, or a ``FileRegion`` when ``zero_copy`` and there is
            something to send. Either way ``len()`` is its size in bytes.

        Raises:
            KafkaError: OFFSET_OUT_OF_RANGE if ``fetch_offset`` is outside
                ``[log_start_offset, log_end_offset]``.
        """
        if fetch_offset < self.log.log_start_offset or fetch_offset > self.log.log_end_offset:
            raise KafkaError(
                ErrorCode.OFFSET_OUT_OF_RANGE,
                f"offset {fetch_offset} not in [{self.log.log_start_offset},"
                f" {self.log.log_end_offset}]",
            )
        if fetch_offset >= self.high_watermark:
            return b""
        read = self.log.read_region if zero_copy else self.log.read
        return read(fetch_offset, max_bytes, self.high_watermark, min_one_batch)

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
        if offset == -1:  # Kafka: -1 means "up to the high watermark"
            offset = self.high_watermark
        if offset < 0 or offset > self.high_watermark:
            raise KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE,
                             f"offset {offset} is beyond the high watermark")
        self.log.delete_records_before(offset)
        self._trim_epoch_cache_start()
        return self.log.log_start_offset

    def maintenance(self, now_ms: int) -> None:
        """Time-based roll, retention and flush; forget long-idle producers."""
        self.log.maintenance(now_ms)
        self._trim_epoch_cache_start()  # retention may have moved the log start
        self.producer_state.remove_expired_producers(now_ms)

    def take_snapshot(self) -> None:
        """Save the producer state at the log end (clean shutdown), so a
        restart need not replay the log to rebuild it."""
        self.producer_state.write_snapshot(self.log.dir, self.log.log_end_offset)

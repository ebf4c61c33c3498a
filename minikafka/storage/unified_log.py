"""UnifiedLog: one partition's storage engine (Kafka's ``UnifiedLog``).

Replication decides *who* may append and *when* the high watermark moves;
this class decides *how* records land on disk and keeps every offset of the
partition, each in one place:

- ``log_end_offset`` and ``log_start_offset``: from the segments' ``Log``
  (``log.Log``: segments, roll, retention, flush, recovery);
- ``high_watermark``: stored here and only here. Replication hands in the
  value it computed (``update_high_watermark``); it is always kept within
  ``[log_start_offset, log_end_offset]`` (Kafka's ``updateHighWatermark``);
- the producer state (``producer_state.ProducerStateManager``): the last
  batches of each idempotent producer, so a retry is answered with its
  original offsets; rebuilt from its snapshot and the log at open and after
  a truncation;
- the leader-epoch cache (``epoch_cache.LeaderEpochCache``, the
  ``leader-epoch-checkpoint`` file): where each leader epoch starts;
- the ``last_stable_offset`` (LSO): the high watermark, or the first
  offset of the earliest transaction that is still open or whose marker is
  not yet below the high watermark (the producer state's
  ``first_unstable_offset``), whichever is smaller, never below the log
  start (Kafka's ``fetchLastStableOffsetMetadata``). A read_committed
  consumer reads up to it (``FetchIsolation.TXN_COMMITTED``);
- the aborted-transaction index (``txn_index``, one ``.txnindex`` per
  segment, kept by ``log.Log``): each ABORT marker that ends a non-empty
  transaction adds ``(producer_id, first_offset, marker offset, LSO)`` to
  the segment holding the marker, on the leader and on followers alike;
  ``collect_aborted_transactions`` answers Fetch from it. At open (and
  after a truncation) it is rebuilt from the replay that rebuilds the
  producer state: every entry at or past the replay's start is dropped and
  written again, so index and log always agree.

Transaction markers come from the transaction coordinator
(``append_txn_marker``, Kafka's ``AppendOrigin.COORDINATOR``) and are
checked against the producer state (epoch fencing, coordinator epoch)
before they are written. KIP-890 verification: ``maybe_start_verification``
gives the produce path a guard to send to the coordinator; the first batch
of a transaction is appended only with that guard, still current.

Appending (``append_as_leader``, ``append_as_follower``) shares one tail,
``_after_append``: whatever path put the bytes on disk, each appended batch
assigns its epoch in the cache and is recorded in the producer state.

1. leader (Kafka's ``appendAsLeader``): ``Log.validate`` (sizes, CRC, magic,
   every record, timestamps) -> producer-state checks (a duplicate is not
   appended again and gets its original offsets; a sequence gap is
   OUT_OF_ORDER_SEQUENCE_NUMBER; an old epoch INVALID_PRODUCER_EPOCH) ->
   ``Log.append`` (offsets from ``log_end_offset``, the leader epoch stamped
   into each batch) -> ``_after_append``;
2. follower (Kafka's ``appendAsFollower``): ``Log.validate_as_follower``
   (framing, CRC and header of each batch: the records were validated by
   the leader) -> ``Log.append_as_follower`` (the leader's offsets and
   epochs kept; batches already here skipped) -> ``_after_append``.

Truncation (``truncate_to``, ``truncate_fully_and_start_at``) cuts the
segments, the epoch cache and the high watermark together, and rebuilds the
producer state. Invariant after every method:
``log_start_offset <= high_watermark <= log_end_offset``.

Owned by one ``replication.partition.Partition``; not task-safe, but nothing
in it awaits, so under Trio each method runs to completion.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import os
import time

from minikafka.errors import ErrorCode, KafkaError
from minikafka.storage.checkpoints import LEADER_EPOCH_CHECKPOINT
from minikafka.storage.config import LogConfig
from minikafka.storage.epoch_cache import LeaderEpochCache, epochs_of_appended_batches
from minikafka.storage.log import Log
from minikafka.storage.producer_state import (ActiveProducer, CompletedTxn, ProducerStateManager,
                                              VerificationGuard)
from minikafka.storage.record_filter import control_record
from minikafka.storage.txn_index import AbortedTxn
from minikafka_core.records import ControlRecordType, build_control_batch

logger = logging.getLogger("minikafka.storage")

NO_PRODUCER_ID = -1
ZSTD = 4  # compression codec id in the batch attributes


class FetchIsolation(enum.Enum):
    """How far a read may go (Kafka's ``FetchIsolation``)."""

    LOG_END = "log_end"  # a follower: everything appended
    HIGH_WATERMARK = "high_watermark"  # a read_uncommitted consumer: replicated records
    TXN_COMMITTED = "txn_committed"  # a read_committed consumer: up to the last stable offset


class AppendOrigin(enum.Enum):
    """Who appends (Kafka's ``AppendOrigin``): which producer-state checks apply."""

    CLIENT = "client"  # a producer: every check, KIP-890 verification included
    COORDINATOR = "coordinator"  # a coordinator's own batches and transaction markers
    REPLICATION = "replication"  # a follower copying the leader: no checks


@dataclasses.dataclass
class AppendResult:
    """What a produce response reports for one partition."""

    base_offset: int
    last_offset: int
    log_append_time_ms: int  # -1 unless the topic uses LogAppendTime
    log_start_offset: int
    duplicate: bool = False  # True: a retry answered with its original offsets


class UnifiedLog:
    """One partition's log, offsets, producer state and epoch cache.

    Args:
        log: the opened segments of the partition.
        producer_state: this partition's (empty) ``ProducerStateManager``;
            it is rebuilt here from the snapshot and the log.
        now_ms: the wall clock, for expiring idle producers on recovery.
        high_watermark: the checkpointed high watermark (None: unknown, the
            log start offset; a replica must not take records it appended for
            committed until the leader says so).
    """

    def __init__(self, log: Log, producer_state: ProducerStateManager, now_ms: int,
                 high_watermark: int | None = None):
        self.local_log = log
        self.producer_state = producer_state
        self.epoch_cache = LeaderEpochCache.load(self._epoch_cache_path)
        self._rebuild_producer_state(now_ms, txn_index_from=log.txn_index_recovery_offset)
        self._set_high_watermark(log.log_start_offset)
        if high_watermark is not None:
            self.update_high_watermark(high_watermark)
        log.max_cleanable_offset = lambda: self.last_stable_offset

    def __repr__(self) -> str:
        return (f"<UnifiedLog {self.topic}-{self.partition} [{self.log_start_offset},"
                f" {self.log_end_offset}) hw={self.high_watermark}>")

    # -- offsets -------------------------------------------------------------

    @property
    def topic(self) -> str:
        return self.local_log.topic

    @property
    def partition(self) -> int:
        return self.local_log.partition

    @property
    def dir(self) -> str:
        return self.local_log.dir

    @property
    def config(self) -> LogConfig:
        return self.local_log.config

    @config.setter
    def config(self, config: LogConfig) -> None:
        self.local_log.config = config

    @property
    def log_start_offset(self) -> int:
        return self.local_log.log_start_offset

    @property
    def log_end_offset(self) -> int:
        return self.local_log.log_end_offset

    @property
    def high_watermark(self) -> int:
        return self._high_watermark

    @property
    def last_stable_offset(self) -> int:
        """The first unstable offset if below the high watermark, else the high watermark."""
        first_unstable = self.producer_state.first_unstable_offset()
        if first_unstable is not None:
            first_unstable = max(first_unstable, self.log_start_offset)
            if first_unstable < self._high_watermark:
                return first_unstable
        return self._high_watermark

    def update_high_watermark(self, offset: int) -> bool:
        """Set the high watermark, kept within the log; True if it changed."""
        offset = max(self.log_start_offset, min(offset, self.log_end_offset))
        if offset == self._high_watermark:
            return False
        self._set_high_watermark(offset)
        return True

    def _set_high_watermark(self, offset: int) -> None:
        self._high_watermark = offset
        self.producer_state.on_high_watermark_updated(offset)

    # -- leader epochs ---------------------------------------------------------

    @property
    def _epoch_cache_path(self) -> str:
        return os.path.join(self.local_log.dir, LEADER_EPOCH_CHECKPOINT)

    def assign_epoch_start_offset(self, epoch: int, start_offset: int) -> None:
        """A new leader's epoch starts at ``start_offset`` (its log end offset)."""
        if self.epoch_cache.assign(epoch, start_offset):
            self._persist_epoch_cache()

    def epoch_start_offset(self, epoch: int) -> int:
        """Where ``epoch`` started if it is the latest epoch, else the log end offset."""
        entry = self.epoch_cache.latest_entry
        return entry.start_offset if entry is not None and entry.epoch == epoch else self.log_end_offset

    def _persist_epoch_cache(self) -> None:
        self.epoch_cache.persist(self._epoch_cache_path)

    # -- appending ---------------------------------------------------------------

    def append_as_leader(self, records, leader_epoch: int, now_ms: int, *, single_batch: bool = False,
                         allow_zstd: bool = True, origin: AppendOrigin = AppendOrigin.CLIENT,
                         verification_guard: VerificationGuard | None = None) -> AppendResult:
        """Validate a producer's records and append them with new offsets.

        Args:
            records: one or more magic v2 record batches, as sent.
            leader_epoch: stamped into each batch's partition leader epoch.
            now_ms: the wall clock, for LogAppendTime and time-based rolls.
            single_batch: require exactly one batch (Produce v3+ does).
            allow_zstd: False for Produce below v7, which predates zstd (KIP-110).
            origin: ``CLIENT`` (a producer: duplicates, sequences, epoch,
                KIP-890) or ``COORDINATOR`` (a coordinator's own records,
                e.g. transactional offset commits: epoch and KIP-890 only).
            verification_guard: what ``maybe_start_verification`` returned
                for the request's transactional producer, once the
                coordinator confirmed the partition is in its transaction.

        Raises:
            KafkaError: INVALID_RECORD, UNSUPPORTED_COMPRESSION_TYPE,
                OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH,
                INVALID_TXN_STATE, RECORD_LIST_TOO_LARGE, ...
            minikafka_core.records.InvalidBatchError: from validation.
        """
        log = self.local_log
        batches = log.validate(records, now_ms)
        if single_batch and len(batches) != 1:
            raise KafkaError(ErrorCode.INVALID_RECORD,
                             f"expected exactly one record batch, got {len(batches)}")
        if not allow_zstd and any(batch.compression == ZSTD for batch in batches):
            raise KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, "zstd needs Produce v7 or later")
        duplicate = self.producer_state.check_batches(
            batches, check_sequences=origin is AppendOrigin.CLIENT,
            verify_transactions=origin in (AppendOrigin.CLIENT, AppendOrigin.COORDINATOR),
            verification_guard=verification_guard)
        if duplicate is not None:
            logger.info("%s-%d: duplicate batch from producer %d answered with offset %d",
                        self.topic, self.partition, batches[0].producer_id, duplicate.first_offset)
            # Kafka answers a duplicate with its original offsets and timestamp.
            return AppendResult(duplicate.first_offset, duplicate.last_offset, duplicate.timestamp,
                                self.log_start_offset, duplicate=True)
        log.leader_epoch = leader_epoch
        info = log.append(records, batches, now_ms)
        appended, base_offset = [], info.first_offset
        for batch in batches:
            appended.append((batch, base_offset, leader_epoch))
            base_offset += batch.last_offset_delta + 1
        self._after_append(appended, now_ms, records)
        return AppendResult(info.first_offset, info.last_offset, info.log_append_time_ms,
                            self.log_start_offset)

    def append_txn_marker(self, *, producer_id: int, producer_epoch: int, coordinator_epoch: int,
                          commit: bool, leader_epoch: int, now_ms: int) -> AppendResult:
        """Write a COMMIT or ABORT marker for ``producer_id`` (the leader, for WriteTxnMarkers).

        A marker for a producer with no ongoing transaction here is written
        too (Kafka does; it changes nothing but the producer's epoch).

        Raises:
            KafkaError: INVALID_PRODUCER_EPOCH (an epoch older than the
                producer's), TRANSACTION_COORDINATOR_FENCED (a coordinator
                epoch older than the last marker's).
        """
        self.producer_state.check_marker(producer_id, producer_epoch, coordinator_epoch)
        records = build_control_batch(ControlRecordType.COMMIT if commit else ControlRecordType.ABORT,
                                      producer_id=producer_id, producer_epoch=producer_epoch,
                                      timestamp=now_ms, coordinator_epoch=coordinator_epoch)
        log = self.local_log
        batches = log.validate_as_follower(records)  # built here: only the framing is checked
        log.leader_epoch = leader_epoch
        info = log.append(records, batches, now_ms)
        self._after_append([(batches[0], info.first_offset, leader_epoch)], now_ms, records)
        return AppendResult(info.first_offset, info.last_offset, info.log_append_time_ms,
                            self.log_start_offset)

    def append_as_follower(self, records, now_ms: int) -> int:
        """Append what the leader sent, byte for byte; returns the new log end offset.

        The batches keep the leader's offsets and epochs; batches already
        here (a fetch may start inside one) are skipped.

        Raises:
            KafkaError: OFFSET_OUT_OF_RANGE if a batch overlaps the log end.
            minikafka_core.records.InvalidBatchError: a batch is corrupt.
        """
        batches = self.local_log.validate_as_follower(records)
        info = self.local_log.append_as_follower(records, batches, now_ms)
        if info is not None:
            self._after_append([(batch, batch.base_offset, batch.partition_leader_epoch)
                                for batch in batches if batch.base_offset >= info.first_offset], now_ms,
                               records)
        return self.log_end_offset

    def _after_append(self, appended: list, now_ms: int, records) -> None:
        """The append tail both paths share: epochs into the cache, batches into the
        producer state, aborted transactions into the index.

        Args:
            appended: ``(BatchInfo, base_offset, partition_leader_epoch)`` of
                each batch now on disk, in offset order.
            records: the buffer the batches were read from (markers are decoded).
        """
        if epochs_of_appended_batches(self.epoch_cache, ((epoch, base) for _, base, epoch in appended)):
            self._persist_epoch_cache()
        for batch, base_offset, _ in appended:
            if batch.producer_id == NO_PRODUCER_ID:
                continue
            control = None
            if batch.is_control:
                control = control_record_of(bytes(memoryview(records)[batch.position:batch.position + batch.size]),
                                            batch)
            completed = self.producer_state.update(batch, base_offset, base_offset + batch.last_offset_delta,
                                                   now_ms, control=control)
            if completed is not None:
                self._index_completed_txn(completed)

    def _index_completed_txn(self, completed: CompletedTxn) -> None:
        """An aborted transaction goes into the ``.txnindex`` of its marker's segment."""
        if completed.is_aborted:
            self.local_log.append_aborted_txn(AbortedTxn(completed.producer_id, completed.first_offset,
                                                         completed.last_offset, completed.last_stable_offset))

    # -- reading -------------------------------------------------------------

    def read(self, fetch_offset: int, max_bytes: int, isolation: FetchIsolation, *, min_one_batch: bool,
             zero_copy: bool = False):
        """Whole batches from ``fetch_offset``, up to the log end or the high watermark.

        Args:
            fetch_offset: the first offset wanted.
            max_bytes: the size limit (the first batch may exceed it if
                ``min_one_batch``).
            isolation: ``LOG_END`` (a follower), ``HIGH_WATERMARK`` (a
                read_uncommitted consumer) or ``TXN_COMMITTED`` (a
                read_committed consumer: up to the last stable offset).
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
        log = self.local_log
        if fetch_offset < log.log_start_offset or fetch_offset > log.log_end_offset:
            raise KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE,
                             f"offset {fetch_offset} not in [{log.log_start_offset}, {log.log_end_offset}]")
        if isolation is FetchIsolation.HIGH_WATERMARK:
            max_offset = self._high_watermark
        elif isolation is FetchIsolation.TXN_COMMITTED:
            max_offset = self.last_stable_offset
        else:
            max_offset = log.log_end_offset
        if fetch_offset >= max_offset:
            return b""
        read = log.read_region if zero_copy else log.read
        return read(fetch_offset, max_bytes, max_offset, min_one_batch)

    def collect_aborted_transactions(self, start_offset: int, upper_bound_offset: int) -> list[AbortedTxn]:
        """Aborted transactions with ``last_offset >= start_offset`` and
        ``first_offset < upper_bound_offset`` (what a read_committed Fetch
        must list for the records it returns)."""
        return self.local_log.collect_aborted_transactions(start_offset, upper_bound_offset)

    # -- transactions: producers and verification ---------------------------------

    def active_producers(self) -> list[ActiveProducer]:
        """The producers this partition knows (DescribeProducers)."""
        return self.producer_state.active_producers()

    def maybe_start_verification(self, producer_id: int, producer_epoch: int | None = None,
                                 now_ms: int | None = None) -> VerificationGuard | None:
        """KIP-890: the guard to verify a transactional produce with, or None if not needed.

        None when the producer (with this epoch, if given) already has an
        ongoing transaction here: the coordinator knew of the partition when
        it started (Kafka's ``maybeStartTransactionVerification``). Retries
        get the same guard until a marker or the transaction's first batch
        clears it.
        """
        if self.producer_state.has_ongoing_transaction(producer_id, producer_epoch):
            return None
        if now_ms is None:
            now_ms = int(time.time() * 1000)
        return self.producer_state.maybe_create_verification_state(producer_id, now_ms)

    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """The earliest offset whose record timestamp is >= ``timestamp``, and that timestamp."""
        return self.local_log.offset_for_timestamp(timestamp)

    def max_timestamp_and_offset(self) -> tuple[int, int]:
        """The largest timestamp and its record's offset (``(-1, -1)`` if none)."""
        return self.local_log.max_timestamp_and_offset()

    # -- moving the log start -------------------------------------------------------

    def delete_records_before(self, offset: int) -> int:
        """Advance the log start offset (DeleteRecords on the leader); returns the new one.

        Raises:
            KafkaError: OFFSET_OUT_OF_RANGE beyond the high watermark.
        """
        if offset == -1:  # Kafka: -1 means "up to the high watermark"
            offset = self._high_watermark
        if offset < 0 or offset > self._high_watermark:
            raise KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, f"offset {offset} is beyond the high watermark")
        self._move_log_start_offset(offset)
        return self.log_start_offset

    def follow_log_start_offset(self, leader_log_start_offset: int) -> None:
        """A follower takes the leader's log start offset, as far as its own log goes."""
        offset = min(leader_log_start_offset, self.log_end_offset)
        if offset > self.log_start_offset:
            self._move_log_start_offset(offset)

    def _move_log_start_offset(self, offset: int) -> None:
        self.local_log.delete_records_before(offset)
        self._after_log_start_moved()

    def _after_log_start_moved(self) -> None:
        """Drop epoch entries below the log start (Kafka's ``truncateFromStart``); keep the HW in the log."""
        if self.epoch_cache.truncate_from_start(self.log_start_offset):
            self._persist_epoch_cache()
        if self._high_watermark < self.log_start_offset:
            self._set_high_watermark(self.log_start_offset)

    # -- truncating ------------------------------------------------------------------

    def truncate_to(self, offset: int, now_ms: int | None = None) -> None:
        """Drop every record at or after ``offset`` (a divergent suffix) and what depends on it.

        The epoch cache is cut at the (new) log end even when no record goes:
        a broker that became leader and was replaced before appending
        anything holds an epoch entry at its log end that the new leader
        never had, and it would keep reporting that epoch (Kafka's
        ``UnifiedLog.truncateTo`` does the same).
        """
        if offset < self.log_end_offset:
            logger.info("%s-%d: truncating from %d to %d", self.topic, self.partition,
                        self.log_end_offset, offset)
            self.local_log.truncate_to(offset)
            self._high_watermark = min(self._high_watermark, self.log_end_offset)
            if now_ms is None:
                now_ms = self.local_log.active_segment.created_ms
            self._rebuild_producer_state(now_ms)
            self.producer_state.on_high_watermark_updated(self._high_watermark)
        if self.epoch_cache.truncate_from_end(self.log_end_offset):
            self._persist_epoch_cache()

    def truncate_fully_and_start_at(self, offset: int, now_ms: int) -> None:
        """Empty the log and restart it at ``offset`` (the leader's log start moved past ours)."""
        logger.info("%s-%d: the leader starts at %d; starting over there", self.topic, self.partition, offset)
        self.local_log.truncate_fully_and_start_at(offset, now_ms)
        if self.epoch_cache.clear():
            self._persist_epoch_cache()
        self.producer_state.truncate_fully_and_start_at(offset)
        self._set_high_watermark(offset)

    # -- upkeep --------------------------------------------------------------------------

    def maintenance(self, now_ms: int) -> None:
        """Time-based roll, retention and flush; forget long-idle producers."""
        self.local_log.maintenance(now_ms)
        self._after_log_start_moved()  # retention may have moved the log start
        self.producer_state.remove_expired_producers(now_ms)

    def take_snapshot(self) -> None:
        """Save the producer state at the log end (clean shutdown), so a
        restart need not replay the log to rebuild it."""
        self.producer_state.write_snapshot(self.local_log.dir, self.local_log.log_end_offset)

    def _rebuild_producer_state(self, now_ms: int, txn_index_from: int | None = None) -> None:
        """Load the newest snapshot and replay the log after it (recovery, truncation).

        The ``.txnindex`` entries from the replay's start on are dropped and
        written again by the replay.

        Args:
            txn_index_from: the replay must start at or below this offset
                (the index may be stale from there: recovery of an unclean
                shutdown, a finished swap).
        """
        log = self.local_log
        current_segment = None  # the segment of the batch being replayed

        def batches_from(offset: int):
            nonlocal current_segment
            for segment, info in log.batches_with_segments(offset):
                current_segment = segment
                yield info

        def control_of(info):
            return control_record_of(current_segment.read_batch(info), info)

        self.producer_state.recover(log.dir, log.log_start_offset, log.log_end_offset, batches_from, now_ms,
                                    max_snapshot_offset=txn_index_from, control_of=control_of,
                                    before_replay=log.truncate_txn_indexes,
                                    on_completed=self._index_completed_txn)


def control_record_of(batch: bytes, info):
    """The control record of a stored control batch, or None (emptied by the cleaner, or unreadable)."""
    control = control_record(batch, info)
    if control is None and info.record_count:
        logger.warning("unreadable control batch at offset %d", info.base_offset)
    return control

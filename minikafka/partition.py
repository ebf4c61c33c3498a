"""One topic partition on this broker: log, producer state, high watermark, waiters.

A ``Partition`` is what the produce, fetch and list-offsets handlers talk to.
It joins three things Kafka keeps together in its ``Partition``/``UnifiedLog``:

- the ``Log`` (segments on disk: what has been appended);
- the ``ProducerStateManager`` (idempotence: the last batches of each producer,
  so a retried batch is recognised and answered with its original offsets);
- the *high watermark*: the offset below which records are committed and may
  be read by consumers. With replication a follower must have a record
  before the high watermark moves past it; on a single broker every append is
  committed at once, so ``high_watermark == log_end_offset`` after each append.
  The concept is kept explicit because replication will change only this rule.
  # LAB replication: advance the high watermark from the followers' fetch offsets.

The append path (Kafka's ``UnifiedLog.append``):

1. ``Log.validate(records)``: sizes, CRC, magic, timestamps -> ``BatchInfo`` list;
2. producer-state checks per batch: a duplicate (same producer, epoch and
   sequence as one of its last five batches) is *not* appended again and gets
   its original offsets; a gap in sequence numbers is
   ``OUT_OF_ORDER_SEQUENCE_NUMBER``; an old epoch is ``INVALID_PRODUCER_EPOCH``;
3. ``Log.append`` assigns offsets and writes;
4. the producer state records the new batches with their offsets.

Waiting for data (long-poll fetch) without I/O here: ``add_append_listener``
registers a plain callback that ``append_records`` calls after every append.
The broker's runtime turns that into a Trio event; the partition stays
synchronous and testable without a Trio loop.

Not task-safe by itself, but nothing in it awaits, so under Trio each method
runs to completion without interleaving.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Callable

from minikafka.errors import ErrorCode, KafkaError

log = logging.getLogger("minikafka.partition")

NO_PRODUCER_ID = -1
ZSTD = 4  # compression codec id in the batch attributes


@dataclasses.dataclass
class AppendResult:
    """What a produce response reports for one partition."""

    base_offset: int
    last_offset: int
    log_append_time_ms: int  # -1 unless the topic uses LogAppendTime
    log_start_offset: int
    duplicate: bool = False  # True: a retry answered with its original offsets


class Partition:
    """One partition's log, producer state and high watermark.

    Owned by the ``Broker``; handlers get it from ``broker.partition()``.

    Args:
        topic: the topic name.
        index: the partition number.
        log: the opened ``Log`` of this partition.
        producer_state: this partition's (empty) ``ProducerStateManager``;
            it is rebuilt here from the snapshot and the log.
        now_ms: the wall clock, for expiring idle producers on recovery.
    """

    def __init__(self, topic: str, index: int, log, producer_state, now_ms: int):
        self.topic = topic
        self.index = index
        self.log = log
        self.producer_state = producer_state
        self.leader_epoch = 0  # single broker: never changes (yet)
        self._append_listeners: list[Callable[[], None]] = []
        self._rebuild_producer_state(now_ms)
        self.high_watermark = log.log_end_offset

    def __repr__(self) -> str:
        return f"<Partition {self.topic}-{self.index} hw={self.high_watermark}>"

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

    # -- producing -----------------------------------------------------------

    def append_records(self, records, now_ms: int, *, single_batch: bool = False,
                       allow_zstd: bool = True) -> AppendResult:
        """Validate and append a produce request's records for this partition.

        Args:
            records: one or more magic v2 record batches, as sent.
            now_ms: the wall clock, for LogAppendTime and time-based rolls.
            single_batch: require exactly one batch (Produce v3+ does).
            allow_zstd: False for Produce below v7, which predates zstd (KIP-110).

        Raises:
            KafkaError: the partition's error (CORRUPT_MESSAGE, INVALID_RECORD,
                OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH, ...).
            minikafka_core.batch.InvalidBatchError: from validation.
        """
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
        self._advance_high_watermark()
        return AppendResult(info.first_offset, info.last_offset,
                            info.log_append_time_ms, self.log.log_start_offset)

    def _record_producers(self, batches, first_offset: int, now_ms: int) -> None:
        """Tell the producer state where each idempotent batch landed."""
        offset = first_offset
        for batch in batches:
            last_offset = offset + batch.last_offset_delta
            if batch.producer_id != NO_PRODUCER_ID:
                self.producer_state.update(batch, offset, last_offset, now_ms)
            offset = last_offset + 1

    def _rebuild_producer_state(self, now_ms: int) -> None:
        """Load the newest snapshot and replay the log after it (recovery)."""
        self.producer_state.recover(self.log.dir, self.log.log_start_offset,
                                    self.log.log_end_offset, self.log.batches, now_ms)

    def _advance_high_watermark(self) -> None:
        # LAB replication: only the ISR's minimum log end offset is committed.
        self.high_watermark = self.log.log_end_offset
        for listener in list(self._append_listeners):
            listener()

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

    def add_append_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after each append (until removed)."""
        self._append_listeners.append(callback)

    def remove_append_listener(self, callback: Callable[[], None]) -> None:
        try:
            self._append_listeners.remove(callback)
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
        return self.log.log_start_offset

    def maintenance(self, now_ms: int) -> None:
        """Time-based roll, retention and flush; forget long-idle producers."""
        self.log.maintenance(now_ms)
        self.producer_state.remove_expired_producers(now_ms)

    def take_snapshot(self) -> None:
        """Save the producer state at the log end (clean shutdown), so a
        restart need not replay the log to rebuild it."""
        self.producer_state.write_snapshot(self.log.dir, self.log.log_end_offset)

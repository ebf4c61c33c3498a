"""Log: one partition's segments on disk (Kafka's ``LocalLog``).

A partition directory ``<log.dirs>/<topic>-<partition>/`` holds segments
(``segment.LogSegment``: ``<base_offset>.log``, ``.index``, ``.timeindex``),
``leader-epoch-checkpoint`` and ``partition.metadata``. Offsets run without
gaps from ``log_start_offset`` to ``log_end_offset`` (exclusive) until the
log cleaner compacts it (then batches keep their offsets and leave gaps);
only the last segment, the *active* one, is appended to.

This module is the segment policy around the compiled core; the partition's
offsets, producer state and epochs are kept one level up, in
``unified_log.UnifiedLog``, which calls ``append`` / ``append_as_follower``
here (the metadata quorum's ``FileStorage`` uses a ``Log`` directly):

- append: offsets assigned from ``log_end_offset`` (``append``) or kept as
  the leader assigned them (``append_as_follower``), both ending in one
  ``_write``; the producer's bytes go
  to disk untouched except the base offset and partition leader epoch
  (patched with a 16-byte piece in front of a memoryview of the rest, one
  ``os.writev``; for LogAppendTime topics also attributes, max timestamp
  and CRC, still without copying the records);
- roll: a new segment when the active one would pass ``segment.bytes``, its
  indexes are full, ``segment.ms`` passed, or relative offsets would overflow;
  the finished segment is fsynced and becomes the new recovery point;
- retention (``maintenance``): whole segments, oldest first, by
  ``retention.ms`` (the segment's largest timestamp) and ``retention.bytes``,
  never the active segment. Deleted segments are removed AT ONCE (Kafka
  renames them ``.deleted`` and waits ``file.delete.delay.ms`` because other
  threads may be reading them; here a zero-copy read holds its own file
  descriptor, which keeps an unlinked file's data alive until it is sent);
- read: ``read`` returns the bytes; ``read_region`` the same batches as a
  ``FileRegion`` (file, position, length) that the server sends with
  sendfile, from the page cache to the socket without a copy in Python;
- compaction (``maintenance``, topics with cleanup.policy=compact): see
  ``cleaner.py``; keyless records are refused at ``validate``;
- aborted-transaction index: one ``txn_index.TransactionIndex``
  (``.txnindex``) per segment, kept here so that it follows its segment
  through roll, retention, truncation, cleaning and deletion. Entries are
  added by the ``UnifiedLog`` (``append_aborted_txn``), which also rebuilds
  them at open from ``txn_index_recovery_offset`` on (the recovery point,
  or the base of a segment whose cleaning swap recovery had to finish);
- flush: fsync per ``flush.messages`` / ``flush.ms`` (by default never: the
  page cache and replication are Kafka's durability);
- recovery at open: segments after the recovery point are re-read, a torn or
  corrupt tail is cut off (logged on logger ``minikafka.storage``) and their
  indexes rebuilt; earlier segments only get their indexes sanity-checked.

Owned by one ``UnifiedLog`` (or the quorum's ``FileStorage``); not task-safe:
call it from one task at a time (all methods are synchronous, so under Trio
that is automatic).
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import os
import struct
import time

import crc32c

from minikafka.errors import ErrorCode, KafkaError
from minikafka.storage.checkpoints import LEADER_EPOCH_CHECKPOINT, write_leader_epoch_checkpoint
from minikafka.storage.config import LogConfig
from minikafka_core.batch import check_replica_batches, iter_record_timestamps, validate_batches
from minikafka_core.records import (ATTRIBUTES_POS, CREATE_TIME, HEADER_SIZE, LOG_APPEND_TIME, MAX_TIMESTAMP_POS,
                                    TIMESTAMP_TYPE_MASK)
from minikafka_core.segment import FileRegion, LogSegment, segment_file_name

from minikafka.storage.cleaner import check_records_have_keys, clean_if_needed
from minikafka.storage.segment_swap import complete_interrupted_swaps
from minikafka.storage.txn_index import TXN_INDEX_SUFFIX, AbortedTxn, TransactionIndex

logger = logging.getLogger("minikafka.storage")

_PATCH = struct.Struct(">qii")  # base_offset, batch_length, partition_leader_epoch
_INT32_MAX = 2**31 - 1


@dataclasses.dataclass
class AppendInfo:
    """What an append did (Kafka's LogAppendInfo, the parts a Produce answer needs)."""

    first_offset: int
    last_offset: int
    log_append_time_ms: int  # -1 unless the topic uses LogAppendTime
    max_timestamp: int
    offset_of_max_timestamp: int


def parse_partition_dir(dir: str) -> tuple[str, int]:
    """``/data/orders-3`` -> ``("orders", 3)`` (topic names may contain '-')."""
    topic, _, partition = os.path.basename(os.path.normpath(dir)).rpartition("-")
    return topic, int(partition)


class Log:
    """One partition's log directory, opened and recovered.

    Args:
        dir: the partition directory (created if missing).
        config: the topic's LogConfig; may be replaced later (``log.config = ...``).
        now_ms: the wall clock at open (new segments' creation time).
        recovery_point: offsets below it were fsynced; segments wholly below
            it skip the full scan. 0 (the default) re-reads everything.
        log_start_offset: from ``log-start-offset-checkpoint`` (if known).
        on_checkpoint_change: called with no arguments when
            ``log_start_offset``, ``recovery_point`` or ``last_clean_offset``
            changed, so the owner can rewrite its checkpoint files.
        last_clean_offset: from ``cleaner-offset-checkpoint``: where the
            cleaner's dirty section starts (0: unknown, the whole log).
    """

    def __init__(self, dir: str, config: LogConfig, now_ms: int, recovery_point: int = 0,
                 log_start_offset: int = 0, on_checkpoint_change=None, last_clean_offset: int = 0):
        self.dir = dir
        self.config = config
        self.topic, self.partition = parse_partition_dir(dir)
        self.leader_epoch = 0  # written into each batch ``append`` stamps; the owner sets it
        self.on_checkpoint_change = on_checkpoint_change
        self._segments: list[LogSegment] = []
        self._base_offsets: list[int] = []
        self._txn_indexes: dict[int, TransactionIndex] = {}  # by segment base offset
        # The cleaner stops below this offset (the UnifiedLog sets it to its
        # last stable offset: Kafka never cleans an unstable transaction).
        self.max_cleanable_offset = None
        self._unflushed_messages = 0
        self._last_flush_ms = now_ms
        self._closed = False
        self.last_clean_offset = last_clean_offset
        os.makedirs(dir, exist_ok=True)
        self._load_segments(now_ms, recovery_point)
        self.log_end_offset = self._segments[-1].next_offset
        self.log_start_offset = max(log_start_offset, self._base_offsets[0])
        if self.log_start_offset > self.log_end_offset:
            # Recovery cut below the checkpointed start (a torn tail after
            # DeleteRecords): Kafka starts the log over, empty, at that offset.
            self._truncate_fully_and_start_at(self.log_start_offset, now_ms)
        self.recovery_point = min(max(recovery_point, self.log_start_offset), self.log_end_offset)
        # ``.txnindex`` entries from here on may be missing or stale: rebuilt by the UnifiedLog.
        self.txn_index_recovery_offset = min([self.recovery_point] + self._swapped_bases)
        epoch_path = os.path.join(dir, LEADER_EPOCH_CHECKPOINT)
        if not os.path.exists(epoch_path):
            write_leader_epoch_checkpoint(epoch_path, [(0, 0)])

    # -- opening and recovery ------------------------------------------------

    def _load_segments(self, now_ms: int, recovery_point: int) -> None:
        self._swapped_bases = complete_interrupted_swaps(self.dir)  # a cleaning killed mid-swap
        names = os.listdir(self.dir)
        for name in names:
            if name.endswith((".tmp", ".deleted")):
                os.unlink(os.path.join(self.dir, name))  # leftovers of a crash
        base_offsets = sorted(int(name[:-4]) for name in names
                              if name.endswith(".log") and name[:-4].isdigit())
        for i, base_offset in enumerate(base_offsets):
            segment = self._new_segment(base_offset, now_ms)
            next_base = base_offsets[i + 1] if i + 1 < len(base_offsets) else None
            if next_base is not None and next_base <= recovery_point:
                segment.load()
                continue
            truncated = segment.recover(max_batch_bytes=_INT32_MAX)
            if truncated:
                logger.warning("%s: truncated %d bytes of %s after offset %d (%s)", self.dir,
                               truncated, os.path.basename(segment.log_path), segment.next_offset - 1,
                               segment.recovery_problem)
                for later in base_offsets[i + 1:]:
                    logger.warning("%s: deleting segment %d after the corrupt tail", self.dir, later)
                    self._delete_segment_files(later)
                break
        if not self._segments:
            self._new_segment(0, now_ms)

    def _delete_segment_files(self, base_offset: int) -> None:
        for suffix in (".log", ".index", ".timeindex", ".txnindex"):
            path = os.path.join(self.dir, segment_file_name(base_offset, suffix))
            if os.path.exists(path):
                os.unlink(path)

    def _new_segment(self, base_offset: int, now_ms: int) -> LogSegment:
        segment = LogSegment(self.dir, base_offset, self.config.index_interval_bytes,
                             self.config.segment_index_bytes, now_ms)
        self._segments.append(segment)
        self._base_offsets.append(base_offset)
        self._open_txn_index(base_offset)
        return segment

    def _open_txn_index(self, base_offset: int) -> TransactionIndex:
        index = TransactionIndex(os.path.join(self.dir, segment_file_name(base_offset, TXN_INDEX_SUFFIX)),
                                 base_offset)
        self._txn_indexes[base_offset] = index
        return index

    def _drop_txn_index(self, base_offset: int) -> None:
        index = self._txn_indexes.pop(base_offset, None)
        if index is not None:
            index.delete()

    @property
    def active_segment(self) -> LogSegment:
        return self._segments[-1]

    @property
    def segments(self) -> list[LogSegment]:
        return list(self._segments)

    def remove_segments(self, old: list[LogSegment]) -> None:
        """Forget ``old`` (non-active) segments; the cleaner deletes their files."""
        for segment in old:
            i = self._segments.index(segment)
            del self._segments[i]
            del self._base_offsets[i]
            self._drop_txn_index(segment.base_offset)

    def insert_segment(self, segment: LogSegment) -> None:
        """Add a (cleaned) non-active segment in base offset order."""
        i = bisect.bisect_left(self._base_offsets, segment.base_offset)
        self._segments.insert(i, segment)
        self._base_offsets.insert(i, segment.base_offset)
        self._open_txn_index(segment.base_offset)  # written by the swap, if any

    @property
    def size_in_bytes(self) -> int:
        return sum(segment.size for segment in self._segments)

    # -- appending -----------------------------------------------------------

    def validate(self, records, now_ms: int | None = None) -> list:
        """Validate a produce request's records against this topic's config."""
        config = self.config
        batches = validate_batches(
            records, config.max_message_bytes,
            now_ms=int(time.time() * 1000) if now_ms is None else now_ms,
            timestamp_type=LOG_APPEND_TIME if config.log_append_time else CREATE_TIME,
            timestamp_before_max_ms=config.message_timestamp_before_max_ms,
            timestamp_after_max_ms=config.message_timestamp_after_max_ms)
        if config.compact:
            check_records_have_keys(records, batches, f"{self.topic}-{self.partition}")
        return batches

    def append(self, records, batches: list, now_ms: int) -> AppendInfo:
        """Append validated batches, assigning offsets from ``log_end_offset``.

        Args:
            records: the buffer ``batches`` were validated from.
            batches: ``validate(records)``'s result.
            now_ms: the wall clock (LogAppendTime, segment.ms).
        """
        view = memoryview(records).cast("B") if not isinstance(records, bytes) else memoryview(records)
        total_bytes = sum(info.size for info in batches)
        if total_bytes > self.config.segment_bytes:
            raise KafkaError(ErrorCode.RECORD_LIST_TOO_LARGE,
                             f"{total_bytes} bytes do not fit in a segment of {self.config.segment_bytes}")
        first_offset = self.log_end_offset
        record_count = sum(info.last_offset_delta + 1 for info in batches)
        append_time_ms = now_ms if self.config.log_append_time else -1
        max_timestamp = max(append_time_ms if append_time_ms >= 0 else info.max_timestamp
                            for info in batches)
        self._maybe_roll(total_bytes, first_offset + record_count - 1, max_timestamp, now_ms)
        pieces, stored, offset = [], [], first_offset
        max_timestamp, offset_of_max_timestamp = -1, first_offset
        for info in batches:
            pieces += self._stored_pieces(view, info, offset, append_time_ms)
            batch_max = append_time_ms if append_time_ms >= 0 else info.max_timestamp
            last_offset = offset + info.last_offset_delta
            if batch_max > max_timestamp:
                max_timestamp, offset_of_max_timestamp = batch_max, last_offset
            stored.append((last_offset, batch_max, info.size))
            offset = last_offset + 1
        self._write(pieces, stored, record_count, now_ms)
        return AppendInfo(first_offset, offset - 1, append_time_ms, max_timestamp, offset_of_max_timestamp)

    def validate_as_follower(self, records) -> list:
        """Check a leader's batches (framing, CRC, header) without the producer-facing rules.

        A follower stores what the leader stored: offsets, leader epochs and
        timestamps are already assigned, and the leader validated every
        record, so the records are not walked again, nor are the timestamp
        range and ``max.message.bytes`` checked (Kafka's ``appendAsFollower``).
        """
        return check_replica_batches(records)

    def append_as_follower(self, records, batches: list, now_ms: int) -> AppendInfo | None:
        """Append a leader's batches byte for byte, keeping their offsets.

        Batches that end below ``log_end_offset`` were already here (a fetch
        can start inside a batch) and are skipped. Offsets may jump forward
        (the leader's log was compacted) but never overlap what we have.

        Returns:
            The ``AppendInfo`` of what was appended, or None if nothing was.

        Raises:
            KafkaError: OFFSET_OUT_OF_RANGE if a batch starts below the log end
                while ending above it (the logs disagree: truncate first).
        """
        batches = [info for info in batches if info.last_offset >= self.log_end_offset]
        if not batches:
            return None
        if batches[0].base_offset < self.log_end_offset:
            raise KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE,
                             f"batch at {batches[0].base_offset} overlaps the log end {self.log_end_offset}")
        view = memoryview(records).cast("B") if not isinstance(records, bytes) else memoryview(records)
        first_offset, last_offset = batches[0].base_offset, batches[-1].last_offset
        max_timestamp = max(info.max_timestamp for info in batches)
        self._maybe_roll(sum(info.size for info in batches), last_offset, max_timestamp, now_ms)
        pieces = [view[info.position:info.position + info.size] for info in batches]
        stored = [(info.last_offset, info.max_timestamp, info.size) for info in batches]
        self._write(pieces, stored, sum(info.record_count for info in batches), now_ms)
        offset_of_max = next(info.last_offset for info in batches if info.max_timestamp == max_timestamp)
        return AppendInfo(first_offset, last_offset, -1, max_timestamp, offset_of_max)

    def _write(self, pieces: list, stored: list, record_count: int, now_ms: int) -> None:
        """The one append tail: write the batches' buffers, move the log end, flush if due.

        Args:
            pieces: the buffers to write, in order (one ``os.writev``).
            stored: ``(last_offset, max_timestamp, size)`` of each batch, for
                the segment's indexes.
            record_count: how many records the batches hold (``flush.messages``).
            now_ms: the wall clock (``flush.ms``).
        """
        self.active_segment.append(pieces, stored)
        self.log_end_offset = stored[-1][0] + 1
        self._unflushed_messages += record_count
        if self._unflushed_messages >= self.config.flush_messages:
            self.flush(now_ms)

    def _stored_pieces(self, view, info, base_offset: int, append_time_ms: int) -> list:
        """The buffers of one batch as stored: patched header, then the producer's bytes."""
        start, end = info.position, info.position + info.size
        patch = _PATCH.pack(base_offset, info.size - 12, self.leader_epoch)
        if append_time_ms < 0:
            return [patch, view[start + 16:end]]
        # LogAppendTime: Kafka sets the timestamp-type bit and max_timestamp, so
        # the CRC (which covers attributes..end) changes; the records do not.
        header = bytearray(view[start + ATTRIBUTES_POS:start + HEADER_SIZE])
        struct.pack_into(">h", header, 0, info.attributes | TIMESTAMP_TYPE_MASK)
        struct.pack_into(">q", header, MAX_TIMESTAMP_POS - ATTRIBUTES_POS, append_time_ms)
        crc = crc32c.crc32c(view[start + HEADER_SIZE:end], crc32c.crc32c(header))
        return [patch + struct.pack(">bI", 2, crc), header, view[start + HEADER_SIZE:end]]

    # -- rolling ---------------------------------------------------------------

    def _maybe_roll(self, incoming_bytes: int, last_offset: int, max_timestamp: int, now_ms: int) -> None:
        """Roll before an append if the active segment cannot take it (Kafka's shouldRoll)."""
        active = self.active_segment
        if active.size == 0:
            return
        if (active.size + incoming_bytes > self.config.segment_bytes
                or active.is_index_full
                or last_offset - active.base_offset > _INT32_MAX
                or self._time_waited_for_roll(active, now_ms, max_timestamp) > self.config.roll_ms):
            self.roll(now_ms)

    @staticmethod
    def _time_waited_for_roll(segment: LogSegment, now_ms: int, max_timestamp: int) -> int:
        # Kafka measures from the first batch's timestamp when records carry
        # timestamps, else from the segment's creation.
        if segment.first_batch_timestamp >= 0 and max_timestamp >= 0:
            return max_timestamp - segment.first_batch_timestamp
        return now_ms - segment.created_ms

    def roll(self, now_ms: int) -> LogSegment:
        """Start a new active segment at ``log_end_offset``; fsync the old one."""
        old = self.active_segment
        if old.size == 0:
            return old
        old.on_become_inactive()
        old.flush()  # Kafka flushes a finished segment, then moves the recovery point
        self._txn_indexes[old.base_offset].flush()
        segment = self._new_segment(self.log_end_offset, now_ms)
        self._advance_recovery_point(segment.base_offset)
        return segment

    # -- reading ---------------------------------------------------------------

    def read(self, offset: int, max_bytes: int, max_offset: int | None = None,
             min_one_batch: bool = True) -> bytes:
        """Whole batches from the one containing ``offset``.

        Args:
            offset: the first offset wanted.
            max_bytes: at most this many bytes, unless ``min_one_batch`` and
                the first batch is larger.
            max_offset: no batch containing this offset or later (the high
                watermark); defaults to ``log_end_offset``.
            min_one_batch: return the first batch even if over ``max_bytes``.

        Raises:
            KafkaError: OFFSET_OUT_OF_RANGE below ``log_start_offset`` or
                above ``log_end_offset``.
        """
        return self._read_with(LogSegment.read, offset, max_bytes, max_offset, min_one_batch)

    def read_region(self, offset: int, max_bytes: int, max_offset: int | None = None,
                    min_one_batch: bool = True) -> FileRegion | bytes:
        """The batches ``read`` returns, as a ``FileRegion`` of one segment (zero copy).

        Same arguments, same batches, same errors as ``read``; only the
        batch headers are read. The region holds its own file descriptor, so
        it stays valid if retention or compaction removes the segment before
        it is sent. The caller must ``close()`` it.

        Returns:
            A ``FileRegion``, or ``b""`` when there is nothing to send.
        """
        return self._read_with(LogSegment.read_region, offset, max_bytes, max_offset,
                               min_one_batch)

    def _read_with(self, segment_read, offset: int, max_bytes: int, max_offset: int | None,
                   min_one_batch: bool):
        """Find the segment holding ``offset`` and call ``segment_read`` on it (or the next)."""
        if offset < self.log_start_offset or offset > self.log_end_offset:
            raise KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE,
                             f"offset {offset} is outside [{self.log_start_offset}, {self.log_end_offset}]")
        if max_offset is None:
            max_offset = self.log_end_offset
        i = bisect.bisect_right(self._base_offsets, offset) - 1
        while 0 <= i < len(self._segments) and offset < max_offset:
            # None: no batch of this segment reaches ``offset`` (the cleaner
            # may have emptied its tail); the next segment has it.
            data = segment_read(self._segments[i], offset, max_bytes, max_offset, min_one_batch)
            if data is not None:
                return data
            i += 1
        return b""

    def batches(self, from_offset: int = 0):
        """Yield the BatchInfo of every batch with a last offset >= ``from_offset``.

        ``position`` is the batch's position in its segment's ``.log``.
        """
        for _, info in self.batches_with_segments(from_offset):
            yield info

    def batches_with_segments(self, from_offset: int = 0):
        """Like ``batches``, yielding ``(segment, BatchInfo)`` (to read a batch's bytes)."""
        i = max(0, bisect.bisect_right(self._base_offsets, from_offset) - 1)
        for segment in self._segments[i:]:
            position, _ = segment.find_position(from_offset)
            for info in segment.headers_from(position):
                yield segment, info

    # -- aborted transactions ----------------------------------------------------

    def append_aborted_txn(self, txn: AbortedTxn) -> None:
        """Index an aborted transaction in the segment holding its marker."""
        i = bisect.bisect_right(self._base_offsets, txn.last_offset) - 1
        self._txn_indexes[self._base_offsets[max(i, 0)]].append(txn)

    def txn_index(self, base_offset: int) -> TransactionIndex:
        """The ``.txnindex`` of the segment starting at ``base_offset``."""
        return self._txn_indexes[base_offset]

    def truncate_txn_indexes(self, offset: int) -> None:
        """Drop every entry whose marker is at or past ``offset`` (before a rebuild)."""
        for base_offset in self._base_offsets:
            self._txn_indexes[base_offset].truncate_to(offset)

    def collect_aborted_transactions(self, start_offset: int, upper_bound_offset: int) -> list[AbortedTxn]:
        """Aborted transactions overlapping ``[start_offset, upper_bound_offset)`` (Kafka's rule).

        Walks the segments' indexes from the one holding ``start_offset``
        until one says the search is complete.
        """
        found: list[AbortedTxn] = []
        i = max(0, bisect.bisect_right(self._base_offsets, start_offset) - 1)
        for base_offset in self._base_offsets[i:]:
            txns, complete = self._txn_indexes[base_offset].collect_aborted_txns(start_offset,
                                                                                upper_bound_offset)
            found += txns
            if complete:
                break
        return found

    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """The earliest offset whose record timestamp is >= ``timestamp``, and that timestamp."""
        for segment in self._segments:
            if segment.max_timestamp < timestamp:
                continue
            # Entries with a timestamp < the target bound where to start.
            _, start_offset = segment.time_index.lookup(timestamp - 1)
            position, _ = segment.find_position(max(start_offset, self.log_start_offset))
            for info in segment.headers_from(position):
                if info.max_timestamp < timestamp or info.last_offset < self.log_start_offset:
                    continue
                for offset, record_timestamp in iter_record_timestamps(segment.read_batch(info)):
                    if record_timestamp >= timestamp and offset >= self.log_start_offset:
                        return offset, record_timestamp
        return None

    def max_timestamp_and_offset(self) -> tuple[int, int]:
        """ListOffsets MAX_TIMESTAMP (-3): the largest timestamp and its first record's offset.

        ``(-1, -1)`` for a log without timestamps.
        """
        best = None
        for segment in self._segments:
            if segment.size and (best is None or segment.max_timestamp > best.max_timestamp):
                best = segment
        if best is None or best.max_timestamp < 0:
            return -1, -1
        position, info = best.find_position(best.offset_of_max_timestamp)
        for info in best.headers_from(position):
            if info.max_timestamp == best.max_timestamp:
                for offset, record_timestamp in iter_record_timestamps(best.read_batch(info)):
                    if record_timestamp == best.max_timestamp:
                        return record_timestamp, offset
        return best.max_timestamp, best.offset_of_max_timestamp

    # -- deleting --------------------------------------------------------------

    def delete_records_before(self, offset: int) -> None:
        """DeleteRecords: raise ``log_start_offset`` to ``offset``; drop whole segments below it."""
        if offset > self.log_end_offset:
            raise KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE,
                             f"cannot delete records before {offset}: log end offset is {self.log_end_offset}")
        if offset <= self.log_start_offset:
            return
        self.log_start_offset = offset
        while len(self._segments) > 1 and self._base_offsets[1] <= offset:
            self._delete_oldest_segment("log start offset")
        self._notify_checkpoint()

    def maintenance(self, now_ms: int) -> None:
        """Periodic work: roll by segment.ms, retention, compaction, flush by flush.ms."""
        active = self.active_segment
        if active.size and self._time_waited_for_roll(active, now_ms, -1) > self.config.roll_ms:
            self.roll(now_ms)
        self._apply_retention(now_ms)
        if self.config.compact:
            clean_if_needed(self, now_ms)
        if now_ms - self._last_flush_ms >= self.config.flush_ms:
            self.flush(now_ms)

    def _apply_retention(self, now_ms: int) -> None:
        deleted = 0
        if self.config.cleanup_policy and "delete" not in self.config.cleanup_policy:
            return  # compact-only topics keep every segment
        if self.config.retention_ms >= 0:
            while (len(self._segments) > 1
                   and now_ms - self._segments[0].largest_timestamp > self.config.retention_ms):
                self._delete_oldest_segment("retention.ms")
                deleted += 1
        if self.config.retention_bytes >= 0:
            excess = self.size_in_bytes - self.config.retention_bytes
            while len(self._segments) > 1 and excess >= self._segments[0].size:
                excess -= self._segments[0].size
                self._delete_oldest_segment("retention.bytes")
                deleted += 1
        if deleted:
            self.log_start_offset = max(self.log_start_offset, self._base_offsets[0])
            self._notify_checkpoint()

    def _delete_oldest_segment(self, reason: str) -> None:
        segment = self._segments.pop(0)
        self._base_offsets.pop(0)
        self._drop_txn_index(segment.base_offset)
        logger.info("%s: deleting segment %d (%s)", self.dir, segment.base_offset, reason)
        segment.delete()

    def truncate_to(self, offset: int) -> None:
        """Drop every batch whose last offset is >= ``offset`` (a follower's divergence)."""
        if offset >= self.log_end_offset:
            return
        while len(self._segments) > 1 and self._base_offsets[-1] >= offset:
            self._segments.pop().delete()
            self._drop_txn_index(self._base_offsets.pop())
        active = self.active_segment
        if active.base_offset >= offset:  # nothing left: start over at ``offset``
            self._truncate_fully_and_start_at(offset, active.created_ms)
        else:
            active.truncate_to(offset)
            self._txn_indexes[active.base_offset].truncate_to(offset)
        self.log_end_offset = self.active_segment.next_offset
        self.recovery_point = min(self.recovery_point, self.log_end_offset)
        self.last_clean_offset = min(self.last_clean_offset, self.log_end_offset)
        self._notify_checkpoint()

    def truncate_fully_and_start_at(self, offset: int, now_ms: int) -> None:
        """Start over, empty, at ``offset`` (a follower whose leader's log starts past ours)."""
        self._truncate_fully_and_start_at(offset, now_ms)
        self.recovery_point = self.last_clean_offset = offset
        self._notify_checkpoint()

    def _truncate_fully_and_start_at(self, offset: int, now_ms: int) -> None:
        """Delete every segment; the log restarts, empty, at ``offset``."""
        for segment in self._segments:
            segment.delete()
        for base_offset in self._base_offsets:
            self._drop_txn_index(base_offset)
        self._segments.clear()
        self._base_offsets.clear()
        self._new_segment(offset, now_ms)
        self.log_start_offset = self.log_end_offset = offset

    # -- flushing and closing ---------------------------------------------------

    def flush(self, now_ms: int | None = None) -> None:
        """fsync every segment not yet flushed; the recovery point becomes the log end."""
        for segment in self._segments:
            if segment.next_offset > self.recovery_point or segment is self.active_segment:
                segment.flush()
                self._txn_indexes[segment.base_offset].flush()
        self._unflushed_messages = 0
        if now_ms is not None:
            self._last_flush_ms = now_ms
        self._advance_recovery_point(self.log_end_offset)

    def _advance_recovery_point(self, offset: int) -> None:
        if offset != self.recovery_point:
            self.recovery_point = offset
            self._notify_checkpoint()

    def notify_checkpoint(self) -> None:
        """Tell the owner a checkpointed value changed (the cleaner calls it)."""
        self._notify_checkpoint()

    def _notify_checkpoint(self) -> None:
        if self.on_checkpoint_change is not None:
            self.on_checkpoint_change()

    def close(self) -> None:
        """Clean shutdown: fsync everything (the recovery point becomes the log end), close."""
        if self._closed:
            return
        self.flush()
        for segment in self._segments:
            segment.close()
        self._closed = True

    def delete_files(self) -> None:
        """Close and remove the whole partition directory (topic deletion)."""
        for segment in self._segments:
            segment.delete()
        self._closed = True
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)

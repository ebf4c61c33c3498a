"""The log cleaner: compaction of topics with ``cleanup.policy=compact``.

Kafka's ``LogCleaner`` keeps, for every key, at least the record with the
latest offset, and eventually drops older records with the same key and
old tombstones (records with a null value). A compacted log has two parts::

    log_start_offset   first_dirty_offset        first_uncleanable_offset   log_end_offset
          | clean (compacted) |   dirty (cleanable)      |  uncleanable: active |
                                                            segment, newer than
                                                            min.compaction.lag.ms

- ``first_dirty_offset`` is where the previous cleaning stopped, kept per
  partition in ``<log dir>/cleaner-offset-checkpoint`` (Kafka's text format,
  written by the LogManager from ``Log.last_clean_offset``);
- ``first_uncleanable_offset`` is the smallest of the last stable offset
  (an open transaction is never cleaned), the active segment's base offset,
  and the base of the first dirty segment whose largest timestamp is newer
  than ``now - min.compaction.lag.ms``. The active segment is never cleaned.
- **when**: a log is cleaned if its *dirty ratio* ``dirty bytes / (clean +
  dirty bytes)`` is > ``min.cleanable.dirty.ratio`` (Kafka compares with a
  strict ``>``), or if a dirty segment's first batch is older than
  ``max.compaction.lag.ms`` (Kafka's ``needCompactionNow``).
- **how** (``clean_log``): build an *offset map* ``key -> latest offset``
  over the dirty section (Kafka's ``SkimpyOffsetMap`` stores MD5 hashes in a
  bounded buffer; here a dict of the keys); then rewrite EVERY segment below
  ``first_uncleanable_offset`` (clean ones too: their keys may now be
  superseded) in groups whose total size fits in ``segment.bytes``, each
  group into one new segment, keeping a record only if its offset is >= its
  key's offset in the map and it is not a tombstone past its delete horizon
  (``record_filter.py`` for the batch rewriting, ``segment_swap.py`` for
  the crash-safe swap). Offsets never change: compaction leaves gaps.
- **producers**: the last batch of every producer is kept, empty if need be,
  so idempotent producers keep their epoch and sequence after cleaning.
- records without a key cannot be produced to a compacted topic
  (INVALID_RECORD, ``check_records_have_keys``) and are dropped if found.
- **transactions** (``CleanedTransactionMetadata``, Kafka's class of the
  same name): the aborted transactions of the range come from the
  ``.txnindex``; reading batches in offset order, a transactional batch of
  a producer whose aborted transaction is open at that point is dropped
  whole (and never enters the offset map); a committed one is treated as
  any batch. A marker is kept while its transaction still has batches in
  the log: an ABORT marker whose batches were seen keeps its index entry
  in the cleaned segment's ``.txnindex``; a COMMIT marker whose batches
  were seen stays. A marker with nothing left before it gets a delete
  horizon (``now + delete.retention.ms``, as a tombstone does) and is
  dropped by a cleaning after the horizon, so a consumer that fetched the
  aborted records shortly before still sees the marker. A committed
  record is only ever removed by the usual key rules.

Differences from Kafka, on purpose: cleaning runs inside the log's periodic
``maintenance`` (synchronously, no cleaner threads, no I/O throttle, each log
judged on its own instead of "the filthiest first"); the offset map is not
bounded by ``log.cleaner.dedupe.buffer.size``; the producers whose last
batch is kept come from a scan of the log, not the producer state.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import os

from minikafka.errors import ErrorCode
from minikafka.storage import record_filter, segment_swap
from minikafka.storage.checkpoints import read_offset_checkpoint, write_offset_checkpoint
from minikafka_core.records import RECORDS_COUNT_POS, ControlRecordType, InvalidBatchError

logger = logging.getLogger("minikafka.storage.cleaner")

CLEANER_OFFSET_CHECKPOINT = "cleaner-offset-checkpoint"
_INT32_MAX = 2**31 - 1


@dataclasses.dataclass
class LogToClean:
    """How dirty one log is (Kafka's ``LogToClean``)."""

    first_dirty_offset: int
    first_uncleanable_offset: int
    clean_bytes: int
    cleanable_bytes: int
    need_compaction_now: bool

    @property
    def cleanable_ratio(self) -> float:
        total = self.clean_bytes + self.cleanable_bytes
        return self.cleanable_bytes / total if total else 0.0


@dataclasses.dataclass
class CleanerStats:
    """What one cleaning did (Kafka logs the same numbers)."""

    segments_cleaned: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    records_read: int = 0
    records_kept: int = 0
    end_offset: int = 0


class CleanedTransactionMetadata:
    """Which batches of a cleaning belong to aborted transactions (Kafka's class).

    Fed with the batches of one pass in offset order (``on_batch_read``,
    ``on_control_batch_read``).

    Args:
        aborted: the aborted transactions overlapping the cleaned range
            (``Log.collect_aborted_transactions``).
    """

    def __init__(self, aborted: list):
        unique = {(txn.producer_id, txn.last_offset): txn for txn in aborted}
        self._aborted = collections.deque(sorted(unique.values(), key=lambda txn: txn.first_offset))
        self._ongoing_aborted: dict[int, list] = {}  # producer id -> [AbortedTxn, batch seen?]
        self._ongoing_committed: set[int] = set()
        self.cleaned_index: list = []  # the entries to keep in the group's new segment

    def _consume_aborted_up_to(self, offset: int) -> None:
        while self._aborted and self._aborted[0].first_offset <= offset:
            txn = self._aborted.popleft()
            self._ongoing_aborted.setdefault(txn.producer_id, [txn, False])

    def on_batch_read(self, info) -> bool:
        """A data batch; True if it belongs to an aborted transaction (drop it)."""
        self._consume_aborted_up_to(info.last_offset)
        if not info.is_transactional:
            return False
        state = self._ongoing_aborted.get(info.producer_id)
        if state is not None:
            state[1] = True
            return True
        self._ongoing_committed.add(info.producer_id)
        return False

    def on_control_batch_read(self, info, control) -> bool:
        """A marker; True if its transaction has nothing left here (it may go, after its horizon)."""
        self._consume_aborted_up_to(info.last_offset)
        if control is None:
            return True  # an emptied control batch: its transaction was cleaned already
        pid = info.producer_id
        if control.type == ControlRecordType.ABORT:
            state = self._ongoing_aborted.pop(pid, None)
            if state is not None and state[1]:
                self.cleaned_index.append(state[0])
                return False
            return True
        if control.type == ControlRecordType.COMMIT:
            if pid in self._ongoing_committed:
                self._ongoing_committed.discard(pid)
                return False
            return True
        return False


# -- deciding what to clean ---------------------------------------------------


def cleanable_offsets(log, now_ms: int) -> tuple[int, int]:
    """``(first_dirty_offset, first_uncleanable_offset)`` of a log (Kafka's ``cleanableOffsets``)."""
    first_dirty = log.last_clean_offset
    if not log.log_start_offset <= first_dirty <= log.log_end_offset:
        # Below the start (DeleteRecords, retention) or past the end (truncation):
        # Kafka starts over from the log start offset.
        first_dirty = log.log_start_offset
    first_uncleanable = log.active_segment.base_offset
    if log.max_cleanable_offset is not None:  # never clean past the last stable offset
        first_uncleanable = min(first_uncleanable, log.max_cleanable_offset())
    lag_ms = log.config.min_compaction_lag_ms
    if lag_ms > 0:
        for segment in _non_active_segments_from(log, first_dirty):
            if segment.largest_timestamp > now_ms - lag_ms:
                first_uncleanable = min(first_uncleanable, segment.base_offset)
                break
    return first_dirty, max(first_dirty, first_uncleanable)


def _non_active_segments_from(log, offset: int) -> list:
    """The non-active segments holding offsets >= ``offset``."""
    segments = log.segments
    # A segment's offsets end where the next one begins (gaps included).
    return [segment for segment, following in zip(segments, segments[1:])
            if following.base_offset > offset]


def log_to_clean(log, now_ms: int) -> LogToClean:
    """Measure a log's dirtiness now."""
    first_dirty, first_uncleanable = cleanable_offsets(log, now_ms)
    clean_bytes = sum(s.size for s in log.segments if s.base_offset < first_dirty)
    dirty = [s for s in _non_active_segments_from(log, first_dirty) if s.base_offset < first_uncleanable]
    cleanable_bytes = sum(s.size for s in dirty)
    return LogToClean(first_dirty, first_uncleanable, clean_bytes, cleanable_bytes,
                      _max_compaction_delay_ms(log, dirty, now_ms) > 0)


def _max_compaction_delay_ms(log, dirty_segments: list, now_ms: int) -> int:
    """How long past max.compaction.lag.ms the oldest dirty record is (0: not yet)."""
    first_timestamps = [s.first_batch_timestamp for s in dirty_segments if s.first_batch_timestamp > 0]
    if not first_timestamps:
        return 0
    clean_until_ms = now_ms - max(log.config.max_compaction_lag_ms, 0)
    return max(0, clean_until_ms - min(first_timestamps))


def needs_cleaning(log, now_ms: int) -> LogToClean | None:
    """The log's LogToClean if Kafka would pick it for cleaning now, else None."""
    if not log.config.compact:
        return None
    ltc = log_to_clean(log, now_ms)
    if ltc.clean_bytes + ltc.cleanable_bytes == 0:
        return None
    if (ltc.need_compaction_now and ltc.cleanable_bytes > 0) \
            or ltc.cleanable_ratio > log.config.min_cleanable_dirty_ratio:
        return ltc
    return None


def clean_if_needed(log, now_ms: int) -> CleanerStats | None:
    """Clean ``log`` if it is dirty enough (called from ``Log.maintenance``)."""
    if needs_cleaning(log, now_ms) is None:
        return None
    return clean_log(log, now_ms)


# -- cleaning -------------------------------------------------------------------


def clean_log(log, now_ms: int, on_step=None) -> CleanerStats:
    """Compact every segment below the first uncleanable offset, whatever the ratio.

    Args:
        log: the Log (not task-safe: nothing else may use it meanwhile).
        now_ms: the wall clock (delete horizons).
        on_step: test hook, called with the name of each swap step.
    """
    first_dirty, first_uncleanable = cleanable_offsets(log, now_ms)
    stats = CleanerStats(end_offset=first_uncleanable)
    offset_map = build_offset_map(log, first_dirty, first_uncleanable)
    last_batch_of_producer = last_batch_offsets_by_producer(log)
    to_clean = [s for s in log.segments[:-1] if s.base_offset < first_uncleanable]
    # One transaction state for the whole round: a transaction may span groups.
    txns = CleanedTransactionMetadata(log.collect_aborted_transactions(log.log_start_offset, first_uncleanable))
    for group in group_segments_by_size(to_clean, log.config.segment_bytes, first_uncleanable):
        txns.cleaned_index = []
        _clean_segments(log, group, offset_map, last_batch_of_producer, txns, first_uncleanable, now_ms,
                        stats, on_step)
    if first_uncleanable != log.last_clean_offset:
        log.last_clean_offset = first_uncleanable
        log.notify_checkpoint()
    logger.info("%s: cleaned %d segments below offset %d: %d -> %d bytes, %d -> %d records",
                log.dir, stats.segments_cleaned, first_uncleanable, stats.bytes_read,
                stats.bytes_written, stats.records_read, stats.records_kept)
    return stats


def build_offset_map(log, start_offset: int, end_offset: int) -> dict[bytes, int]:
    """``{key: latest offset}`` over ``[start_offset, end_offset)`` (Kafka's ``buildOffsetMap``).

    Records of aborted transactions are left out: they must not supersede
    an older committed record with the same key.
    """
    offset_map: dict[bytes, int] = {}
    txns = CleanedTransactionMetadata(log.collect_aborted_transactions(start_offset, end_offset))
    for segment in _non_active_segments_from(log, start_offset):
        if segment.base_offset >= end_offset:
            break
        for info in segment.headers_from(0):
            if info.is_control:
                txns.on_control_batch_read(info, _control_of(segment, info))
                continue
            if txns.on_batch_read(info) or info.last_offset < start_offset or info.record_count == 0:
                continue
            for record in record_filter.iter_records(segment.read_batch(info), info):
                if record.key is not None and start_offset <= record.offset < end_offset:
                    offset_map[record.key] = record.offset
    return offset_map


def _control_of(segment, info):
    return record_filter.control_record(segment.read_batch(info), info) if info.record_count else None


def last_batch_offsets_by_producer(log) -> dict[int, set[int]]:
    """``{producer_id: last offsets of its last data batch and of its last batch}`` (headers only).

    These batches are kept (empty if need be): the data batch holds the
    producer's last sequence, a marker after it its last epoch. Kafka asks
    its producer state for the *active* producers; scanning the log also
    keeps expired producers' last batches, which is only conservative.
    """
    last_data: dict[int, int] = {}
    last_any: dict[int, int] = {}
    for info in log.batches(0):
        if info.producer_id >= 0:
            last_any[info.producer_id] = info.last_offset
            if not info.is_control:
                last_data[info.producer_id] = info.last_offset
    return {pid: {offset, last_data.get(pid, offset)} for pid, offset in last_any.items()}


def group_segments_by_size(segments: list, max_bytes: int, first_uncleanable: int) -> list[list]:
    """Consecutive segments whose total size fits ``segment.bytes`` (Kafka's ``groupSegmentsBySize``).

    A group also spans at most 2**31 offsets, since relative offsets in the
    new segment's index are int32.
    """
    groups: list[list] = []
    i = 0
    while i < len(segments):
        group, size = [segments[i]], segments[i].size
        i += 1
        while i < len(segments) and size + segments[i].size <= max_bytes:
            following = segments[i + 1].base_offset if i + 1 < len(segments) else first_uncleanable
            if segments[i].size and following - 1 - group[0].base_offset > _INT32_MAX:
                break
            group.append(segments[i])
            size += segments[i].size
            i += 1
        groups.append(group)
    return groups


def _clean_segments(log, group: list, offset_map: dict, last_batch_of_producer: dict,
                    txns: CleanedTransactionMetadata, upper_bound: int, now_ms: int, stats: CleanerStats,
                    on_step) -> None:
    """Write ``group``'s surviving batches into one new segment and swap it in.

    Batches reaching ``upper_bound`` (the first uncleanable offset: the last
    stable offset may lie inside the group's last segment) are copied as
    they are, with their ``.txnindex`` entries: they may belong to a
    transaction not yet stable, or be truncated away later.
    """
    retention_ms = log.config.delete_retention_ms

    def should_retain(record, info) -> bool:  # Kafka's shouldRetainRecord
        if record.key is None:
            return False  # a compacted log has no use for keyless records
        if record.offset < offset_map.get(record.key, -1):
            return False  # a later record has this key
        if record.value is not None:
            return True
        # A tombstone stays until the horizon stamped on its batch has passed.
        return not record_filter.has_delete_horizon(info) or now_ms < info.first_timestamp

    def surviving_batches():
        for segment in group:
            stats.bytes_read += segment.size
            for info in segment.headers_from(0):
                batch = segment.read_batch(info)
                stats.records_read += info.record_count
                retain_empty = info.last_offset in last_batch_of_producer.get(info.producer_id, ())
                if info.last_offset >= upper_bound:
                    out = batch
                elif info.is_control:
                    out = _clean_marker(batch, info, txns, retain_empty, now_ms, retention_ms)
                elif txns.on_batch_read(info):  # an aborted transaction's batch
                    out = record_filter.empty_batch(info) if retain_empty else b""
                else:
                    out = record_filter.filter_batch(batch, info, should_retain, now_ms,
                                                     retention_ms, retain_empty)
                if out:
                    stats.records_kept += _record_count(out)
                    stats.bytes_written += len(out)
                    yield out

    mtime = os.stat(group[-1].log_path).st_mtime
    cleaned_path = segment_swap.cleaned_file_path(log.dir, group[0].base_offset)
    try:
        segment_swap.write_cleaned_file(cleaned_path, surviving_batches(), mtime)
        beyond = [txn for segment in group for txn in log.txn_index(segment.base_offset).entries
                  if txn.last_offset >= upper_bound]
        segment_swap.swap_in(log, cleaned_path, group, on_step, aborted_txns=txns.cleaned_index + beyond)
    except BaseException:
        if os.path.exists(cleaned_path):  # failed before the commit point: as if never cleaned
            os.unlink(cleaned_path)
        raise
    stats.segments_cleaned += len(group)


def _clean_marker(batch: bytes, info, txns: CleanedTransactionMetadata, retain_empty: bool,
                  now_ms: int, retention_ms: int) -> bytes:
    """What a transaction marker becomes (Kafka's batch retention for control batches).

    Kept while its transaction has batches left; otherwise stamped with a
    delete horizon, and dropped once the horizon has passed (kept empty if
    it is its producer's last batch).
    """
    control = record_filter.control_record(batch, info) if info.record_count else None
    if not txns.on_control_batch_read(info, control):
        return batch
    if info.record_count == 0 or (record_filter.has_delete_horizon(info) and info.first_timestamp <= now_ms):
        return record_filter.empty_batch(info) if retain_empty else b""
    if record_filter.has_delete_horizon(info):
        return batch  # waiting for its horizon
    return record_filter.with_delete_horizon(batch, info, now_ms + retention_ms)


def _record_count(batch: bytes) -> int:
    return int.from_bytes(batch[RECORDS_COUNT_POS:RECORDS_COUNT_POS + 4], "big", signed=True)


# -- produce-time check -----------------------------------------------------------


def check_records_have_keys(records, batches: list, topic_partition: str) -> None:
    """Refuse keyless records for a compacted topic, as Kafka's LogValidator does.

    Raises:
        InvalidBatchError: INVALID_RECORD.
    """
    view = memoryview(records).cast("B")
    for info in batches:
        if info.is_control:
            continue
        batch = bytes(view[info.position:info.position + info.size])
        if record_filter.first_keyless_record(batch, info) is not None:
            raise InvalidBatchError(
                ErrorCode.INVALID_RECORD,
                f"Compacted topic cannot accept message without key in topic partition {topic_partition}.")


def read_cleaner_checkpoint(log_dir: str) -> dict[tuple[str, int], int]:
    """``<log dir>/cleaner-offset-checkpoint`` (missing: empty)."""
    return read_offset_checkpoint(os.path.join(log_dir, CLEANER_OFFSET_CHECKPOINT))


def write_cleaner_checkpoint(log_dir: str, offsets: dict[tuple[str, int], int]) -> None:
    """Rewrite ``<log dir>/cleaner-offset-checkpoint`` atomically."""
    write_offset_checkpoint(os.path.join(log_dir, CLEANER_OFFSET_CHECKPOINT), offsets)

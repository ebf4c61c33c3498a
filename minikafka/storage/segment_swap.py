"""Replacing segments crash-safely: ``.cleaned`` -> ``.swap`` -> ``.log``.

The log cleaner writes a group of old segments' surviving batches into ONE
new segment that takes the first old segment's base offset. Swapping it in
must leave a valid log whatever instant the broker is killed at, so it goes
in steps, as Kafka's ``UnifiedLog.replaceSegments`` does:

1. write ``<base>.log.cleaned`` and fsync it. A crash here: recovery deletes
   the ``.cleaned`` file; the old segments are intact (the *before* state).
2. rename it ``<base>.log.swap`` (atomic) and fsync the directory: the
   commit point. From now on recovery completes the swap.
3. delete the old segments' files (``.log``, ``.index``, ``.timeindex``,
   ``.txnindex``), then write the new segment's ``<base>.txnindex`` (the
   aborted transactions whose records the cleaner kept);
4. rename ``<base>.log.swap`` to ``<base>.log``; the segment's indexes are
   rebuilt by reading it (a missing index is rebuilt at open anyway; the
   ``.txnindex`` of a swap finished by recovery is rebuilt by replaying the
   log, as Kafka recovers a swapped segment).

Recovery (``complete_interrupted_swaps``, run before a Log opens its
segments), Kafka's ``LogLoader.removeTempFilesAndCollectSwapFiles``:

- every ``*.cleaned`` file is deleted, remembering the lowest base offset;
- a ``.swap`` whose base offset is >= that lowest ``.cleaned`` offset belongs
  to a swap that never reached its commit point: deleted too; index files
  named ``*.swap`` are deleted (indexes are rebuilt);
- a valid ``<base>.log.swap`` replaces every segment whose base offset lies in
  ``[base, its next offset)``, then is renamed ``<base>.log``.

As in Kafka, "its next offset" is read from the swap file: if the cleaner
emptied the group's last old segment entirely (every record superseded), a
crash between steps 2 and 3 leaves that old segment in place after recovery.
Harmless (only superseded records or expired tombstones, offsets still
increasing) and removed by the next cleaning.

``on_step(name)`` lets tests stop the sequence at any step, like a kill -9.
"""

from __future__ import annotations

import logging
import os

from minikafka_core.batch import read_batch_header
from minikafka_core.records import HEADER_SIZE
from minikafka_core.segment import LogSegment, segment_file_name

from minikafka.storage.txn_index import TXN_INDEX_SUFFIX, write_transaction_index

logger = logging.getLogger("minikafka.storage")

CLEANED_SUFFIX = ".cleaned"
SWAP_SUFFIX = ".swap"
_SEGMENT_FILE_SUFFIXES = (".log", ".index", ".timeindex", ".txnindex")


def _fsync_dir(dir: str) -> None:
    """Make renames in ``dir`` durable (POSIX: the directory entry is separate data)."""
    fd = os.open(dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def cleaned_file_path(dir: str, base_offset: int) -> str:
    """``<dir>/<base_offset>.log.cleaned``: where the cleaner writes a new segment."""
    return os.path.join(dir, segment_file_name(base_offset, ".log" + CLEANED_SUFFIX))


def write_cleaned_file(path: str, chunks, mtime: float | None) -> None:
    """Write a ``.cleaned`` file from byte chunks and fsync it (step 1).

    Args:
        mtime: the modification time to give it (Kafka gives the cleaned
            segment the last old segment's, which retention may look at).
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def swap_in(log, cleaned_path: str, old_segments: list[LogSegment], on_step=None,
            aborted_txns: list | None = None) -> LogSegment:
    """Replace ``old_segments`` of ``log`` by the segment in ``cleaned_path`` (steps 2-4).

    Args:
        aborted_txns: the new segment's ``.txnindex`` entries (``AbortedTxn``).

    Returns:
        The new segment, opened, with rebuilt indexes, already in ``log``.
    """
    step = on_step or (lambda name: None)
    step("cleaned_written")
    swap_path = cleaned_path[:-len(CLEANED_SUFFIX)] + SWAP_SUFFIX
    os.replace(cleaned_path, swap_path)
    _fsync_dir(log.dir)
    step("swap_renamed")
    first = old_segments[0]
    created_ms = first.created_ms
    log.remove_segments(old_segments)
    for i, segment in enumerate(old_segments):
        segment.delete()
        step(f"old_deleted_{i}")
    write_transaction_index(os.path.join(log.dir, segment_file_name(first.base_offset, TXN_INDEX_SUFFIX)),
                            list(aborted_txns or ()))
    final_path = swap_path[:-len(".log" + SWAP_SUFFIX)] + ".log"
    os.replace(swap_path, final_path)
    _fsync_dir(log.dir)
    step("swap_installed")
    segment = LogSegment(log.dir, first.base_offset, log.config.index_interval_bytes,
                         log.config.segment_index_bytes, created_ms)
    segment.recover()  # builds the indexes from the new file
    segment.on_become_inactive()
    segment.flush()
    log.insert_segment(segment)
    return segment


def complete_interrupted_swaps(dir: str) -> list[int]:
    """Recovery before a Log opens ``dir``: drop ``.cleaned`` leftovers, finish ``.swap``s.

    Returns:
        The base offsets of the segments whose swap was finished here (their
        ``.txnindex`` must be rebuilt).
    """
    names = os.listdir(dir)
    finished = []
    min_cleaned_offset = None
    for name in names:
        if name.endswith(CLEANED_SUFFIX):
            offset = _base_offset_of(name)
            if offset is not None:
                min_cleaned_offset = offset if min_cleaned_offset is None else min(min_cleaned_offset, offset)
            logger.warning("%s: deleting %s left by an interrupted cleaning", dir, name)
            os.unlink(os.path.join(dir, name))
    for name in sorted(names):
        if not name.endswith(SWAP_SUFFIX):
            continue
        path = os.path.join(dir, name)
        offset = _base_offset_of(name)
        if (not name.endswith(".log" + SWAP_SUFFIX) or offset is None
                or (min_cleaned_offset is not None and offset >= min_cleaned_offset)):
            logger.warning("%s: deleting %s of an unfinished swap", dir, name)
            os.unlink(path)
            continue
        _finish_swap(dir, path, offset)
        finished.append(offset)
    return finished


def _finish_swap(dir: str, swap_path: str, base_offset: int) -> None:
    next_offset = _next_offset_of(swap_path, base_offset)
    for name in os.listdir(dir):
        offset = _base_offset_of(name)
        if (offset is not None and base_offset <= offset < next_offset
                and name.endswith(_SEGMENT_FILE_SUFFIXES)):
            logger.info("%s: deleting %s, replaced by an interrupted swap", dir, name)
            os.unlink(os.path.join(dir, name))
    os.replace(swap_path, os.path.join(dir, segment_file_name(base_offset, ".log")))
    _fsync_dir(dir)
    logger.warning("%s: completed the swap of segment %d", dir, base_offset)


def _next_offset_of(path: str, base_offset: int) -> int:
    """One past the last offset in a segment file (its base offset if empty).

    The file was fsynced before it was renamed, so it is whole; any batch
    whose header is short is simply where reading stops.
    """
    next_offset = base_offset + 1  # even an empty swap replaces the segment at its base
    with open(path, "rb") as f:
        data = f.read()
    position = 0
    while position + HEADER_SIZE <= len(data):
        info = read_batch_header(data, position)
        if info.size < HEADER_SIZE:
            break
        next_offset = max(next_offset, info.next_offset)
        position += info.size
    return next_offset


def _base_offset_of(name: str) -> int | None:
    digits = name.split(".", 1)[0]
    return int(digits) if len(digits) == 20 and digits.isdigit() else None

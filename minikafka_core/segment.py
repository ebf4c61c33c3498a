"""One log segment: ``<base_offset>.log`` and its two sparse indexes.

A partition's log is a list of segments; only the last (the *active* one)
is appended to. ``<20-digit base_offset>.log`` holds whole record batches
back to back, exactly as stored (layout in ``records.py``). Beside it:

- ``.index`` (``offset_index``): every ``index.interval.bytes`` of appended
  log, ``(last offset of a batch, its position)``;
- ``.timeindex`` (``time_index``): at the same moments, the segment's max
  timestamp so far and the batch's last offset, if that timestamp grew.

Writes go straight to the page cache with ``os.writev`` on a file opened
with ``O_APPEND`` (no Python buffering), so once ``append`` returns, a kill
-9 of the broker loses nothing; only ``flush`` (fsync) protects against a
power loss. Reads use ``os.pread`` and never move a file pointer.

Two read paths choose the same whole batches (the first is Kafka's
``LogSegment.read`` answer as bytes, the second as a ``FileRegion``):

- ``read`` copies: the offset index gives a position at most
  ``index.interval.bytes`` before the wanted batch; ONE ``pread`` of that
  slack plus ``max_bytes`` fetches a chunk; ``batch.scan_read_range``
  (compiled) walks the batch headers inside the chunk and picks the whole
  batches to send.
- ``read_region`` copies nothing but headers (zero copy, Kafka's
  ``FileRecords.slice`` sent with ``transferTo``/sendfile). It walks the same
  headers with the same ``scan_read_range``, but over small *windows*
  (``_HEADER_WINDOW_BYTES``) pread at each header it needs: a batch bigger
  than a window is stepped over without reading its payload, and small
  batches share a window. Only one pread per window (not one per batch, as
  Kafka's ``FileLogInputStream`` does) keeps a log of tiny batches fast too.
  The answer is ``(position, length)`` wrapped in a ``FileRegion`` that holds
  its own duplicate of the file descriptor: the server sends it with
  ``os.sendfile`` straight from the page cache to the socket, and retention
  or compaction may unlink the file meanwhile (Linux keeps an unlinked
  file's data while a descriptor is open; Kafka delays deletion by
  ``file.delete.delay.ms`` for the same reason).

Owned by one ``Log``; not task-safe on its own.
"""

from __future__ import annotations

import os

from minikafka_core.batch import read_batch_header, scan_read_range
from minikafka_core.offset_index import CorruptIndexError, OffsetIndex
from minikafka_core.records import HEADER_SIZE
from minikafka_core.recovery import scan_valid_batches
from minikafka_core.time_index import TimeIndex

_IOV_MAX = 1024  # os.writev takes at most this many buffers at once (Linux)
_OFFSET_HEADER = 27  # bytes of a batch header that tell its offsets and size
# How much read_region preads at a time to look at batch headers: a few pages,
# so a window holds dozens of small batches' headers but costs little when
# only its first 27 bytes are needed (a big batch is then stepped over).
_HEADER_WINDOW_BYTES = 16 * 1024


def segment_file_name(base_offset: int, suffix: str) -> str:
    """Kafka's file name: the base offset as 20 digits, then ``.log`` etc."""
    return f"{base_offset:020d}{suffix}"


class LogSegment:
    """A segment's files and the bookkeeping for appends and reads.

    Args:
        dir: the partition directory.
        base_offset: the offset of the segment's first batch.
        index_interval_bytes: log bytes between two index entries.
        max_index_bytes: segment.index.bytes (when the indexes are full).
        created_ms: when the segment was rolled (for segment.ms).
    """

    def __init__(self, dir: str, base_offset: int, index_interval_bytes: int,
                 max_index_bytes: int, created_ms: int):
        self.base_offset = base_offset
        self.index_interval_bytes = index_interval_bytes
        self.max_index_bytes = max_index_bytes
        self.created_ms = created_ms
        self.log_path = os.path.join(dir, segment_file_name(base_offset, ".log"))
        self._fd = os.open(self.log_path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        self.size = os.fstat(self._fd).st_size
        self.next_offset = base_offset  # one past the last offset stored here
        self.max_timestamp = -1
        self.offset_of_max_timestamp = base_offset
        self.first_batch_timestamp = -1
        self.bytes_since_last_index_entry = 0
        self.recovery_problem: str | None = None  # why recover() cut the file
        self.offset_index: OffsetIndex | None = None
        self.time_index: TimeIndex | None = None
        self._indexes_damaged = False
        self._open_indexes()

    # -- opening ----------------------------------------------------------

    def load(self) -> None:
        """Open a segment that needs no recovery; rebuild its indexes if they look wrong."""
        if self._indexes_damaged:
            self.recover()
            return
        try:
            self._load_tail()
            self.offset_index.sanity_check(self.size, self.next_offset)
            self.time_index.sanity_check(self.next_offset)
        except (CorruptIndexError, ValueError):
            self.recover()

    def _open_indexes(self) -> None:
        """Open both indexes; ones too damaged to parse are deleted and start empty."""
        stem = self.log_path[:-len(".log")]
        if self.size and not (os.path.exists(stem + ".index") and os.path.exists(stem + ".timeindex")):
            self._indexes_damaged = True  # a missing index is rebuilt, like Kafka does
        try:
            self.offset_index = OffsetIndex(stem + ".index", self.base_offset, self.max_index_bytes)
            self.time_index = TimeIndex(stem + ".timeindex", self.base_offset, self.max_index_bytes)
            return
        except CorruptIndexError:
            self._indexes_damaged = True
        if self.offset_index is not None:
            self.offset_index.close()
        for path in (stem + ".index", stem + ".timeindex"):
            if os.path.exists(path):
                os.unlink(path)
        self.offset_index = OffsetIndex(stem + ".index", self.base_offset, self.max_index_bytes)
        self.time_index = TimeIndex(stem + ".timeindex", self.base_offset, self.max_index_bytes)

    def _load_tail(self) -> None:
        """Find next_offset and max_timestamp from the last index entry onwards."""
        last_offset, position = self.offset_index.lookup(2**62)
        self.max_timestamp, self.offset_of_max_timestamp = self.time_index.last_entry
        first = self._header_at(0)
        self.first_batch_timestamp = first.max_timestamp if first is not None else -1
        for info in self.headers_from(position):
            self.next_offset = info.next_offset
            self._track_timestamp(info.max_timestamp, info.last_offset)
        self.bytes_since_last_index_entry = self.size - position

    def recover(self, max_batch_bytes: int = 2**31 - 1) -> int:
        """Re-read the whole ``.log``: truncate a torn tail, rebuild the indexes.

        Returns:
            How many bytes were truncated (0 if the file was whole).
        """
        self._indexes_damaged = False
        self.offset_index.reset()
        self.time_index.reset()
        self.next_offset, self.max_timestamp = self.base_offset, -1
        self.offset_of_max_timestamp, self.first_batch_timestamp = self.base_offset, -1
        self.bytes_since_last_index_entry = 0
        file_size = os.fstat(self._fd).st_size
        self.size = 0
        valid_size, self.recovery_problem = scan_valid_batches(
            self._fd, file_size, self._index_recovered_batch, self.base_offset, max_batch_bytes)
        if valid_size < file_size:
            os.ftruncate(self._fd, valid_size)
        self.size = valid_size
        return file_size - valid_size

    def _index_recovered_batch(self, info, position: int) -> None:
        self._index_batch(position, info.last_offset, info.max_timestamp, info.size)
        self.next_offset = info.next_offset

    # -- appending --------------------------------------------------------

    def append(self, pieces: list, batches: list[tuple[int, int, int]]) -> None:
        """Write batches and index them.

        Args:
            pieces: buffers whose concatenation is the batches' final bytes.
            batches: per batch ``(last_offset, max_timestamp, size)``, in order.
        """
        total = sum(size for _, _, size in batches)
        _write_fully(self._fd, pieces, total)
        position = self.size
        for last_offset, max_timestamp, size in batches:
            self._index_batch(position, last_offset, max_timestamp, size)
            position += size
        self.size = position
        self.next_offset = batches[-1][0] + 1

    def _index_batch(self, position: int, last_offset: int, max_timestamp: int, size: int) -> None:
        """Kafka's LogSegment.append bookkeeping for one batch at ``position``."""
        if position == 0:
            self.first_batch_timestamp = max_timestamp
        self._track_timestamp(max_timestamp, last_offset)
        if self.bytes_since_last_index_entry > self.index_interval_bytes:
            self.offset_index.append(last_offset, position)
            self.time_index.maybe_append(self.max_timestamp, self.offset_of_max_timestamp)
            self.bytes_since_last_index_entry = 0
        self.bytes_since_last_index_entry += size

    def _track_timestamp(self, max_timestamp: int, last_offset: int) -> None:
        if max_timestamp > self.max_timestamp:
            self.max_timestamp = max_timestamp
            self.offset_of_max_timestamp = last_offset

    @property
    def is_index_full(self) -> bool:
        return self.offset_index.is_full or self.time_index.is_full

    def on_become_inactive(self) -> None:
        """Called at roll: the time index gets the segment's final max timestamp."""
        self.time_index.maybe_append(self.max_timestamp, self.offset_of_max_timestamp)

    # -- reading ----------------------------------------------------------

    def read(self, offset: int, max_bytes: int, max_offset: int, min_one_batch: bool) -> bytes | None:
        """Whole batches from the one containing ``offset``; see ``Log.read``.

        Returns:
            The bytes (maybe empty), or ``None`` if no batch here reaches ``offset``.
        """
        _, position = self.offset_index.lookup(offset)
        slack = self.index_interval_bytes + HEADER_SIZE
        while position < self.size:
            chunk = os.pread(self._fd, min(self.size - position, max_bytes + slack), position)
            start, end, needed = scan_read_range(chunk, offset, max_offset, max_bytes, min_one_batch)
            found = start + _OFFSET_HEADER <= len(chunk)
            if found and start and start + max_bytes > len(chunk) and position + len(chunk) < self.size:
                # The wanted batch lies far from its index entry (a big batch
                # before it), so the chunk ends before the budget does: read
                # again from the wanted batch, or we would send too little.
                position += start
                continue
            if needed:
                return os.pread(self._fd, needed, position + start)  # one batch over the limit
            if found:
                return chunk if start == 0 and end == len(chunk) else chunk[start:end]
            position += start  # the wanted batch starts beyond this chunk
        return None

    def read_region(self, offset: int, max_bytes: int, max_offset: int,
                    min_one_batch: bool) -> FileRegion | bytes | None:
        """The batches ``read`` would return, as a region of the file; see ``Log.read_region``.

        Returns:
            A ``FileRegion`` (close it when sent), ``b""`` if the batch
            holding ``offset`` is here but none may be sent (no descriptor is
            held for nothing), or ``None`` if no batch here reaches ``offset``.
        """
        found = self.find_read_range(offset, max_bytes, max_offset, min_one_batch)
        if found is None:
            return None
        position, length = found
        if length == 0:
            return b""
        return FileRegion(os.dup(self._fd), position, length)

    def find_read_range(self, offset: int, max_bytes: int, max_offset: int,
                        min_one_batch: bool) -> tuple[int, int] | None:
        """``(position, length)`` of the batches ``read`` returns, reading headers only.

        The walk goes window by window. Each window starts at a batch
        boundary; ``scan_read_range`` reports, relative to the window, where
        the wanted batches start (``skip``), where the whole batches inside
        the window end (``stop``), or that the first one runs past the window
        (``needed``, its size: taken without reading it). The budget shrinks
        by what was taken, and only the very first batch may exceed it.
        """
        _, position = self.offset_index.lookup(offset)
        start = None  # where the wanted batches begin, once found
        while position < self.size:
            window = os.pread(self._fd, min(self.size - position, _HEADER_WINDOW_BYTES), position)
            budget = max_bytes if start is None else max_bytes - (position - start)
            first_may_exceed = min_one_batch and (start is None or position == start)
            skip, stop, needed = scan_read_range(window, offset, max_offset, budget,
                                                 first_may_exceed)
            if start is None:
                if skip + _OFFSET_HEADER > len(window):
                    if skip == 0:
                        break  # a torn header at the end: recovery's business
                    position += skip  # the wanted batch starts after this window
                    continue
                start = position + skip
            taken = needed or stop - skip
            if taken == 0:
                break  # the budget, max_offset or the segment's end stopped us
            position += skip + taken
        if start is None:
            return None
        return start, max(position, start) - start

    def _header_at(self, position: int):
        if position + HEADER_SIZE > self.size:
            return None
        return read_batch_header(os.pread(self._fd, HEADER_SIZE, position), 0)

    def headers_from(self, position: int = 0):
        """Yield the ``BatchInfo`` of each batch from ``position`` (absolute positions)."""
        while True:
            info = self._header_at(position)
            if info is None or info.size < HEADER_SIZE:
                return  # the end, or garbage that recovery will cut off
            yield _at_position(info, position)
            position += info.size

    def find_position(self, offset: int) -> tuple[int, object]:
        """Position of the first batch whose last offset is >= ``offset`` (and its info)."""
        _, position = self.offset_index.lookup(offset)
        for info in self.headers_from(position):
            if info.last_offset >= offset:
                return info.position, info
        return self.size, None

    def read_batch(self, info) -> bytes:
        return os.pread(self._fd, info.size, info.position)

    # -- truncating, flushing, closing -------------------------------------

    def truncate_to(self, offset: int) -> None:
        """Drop every batch whose last offset is >= ``offset`` (whole batches)."""
        position, _ = self.find_position(offset)
        os.ftruncate(self._fd, position)
        self.size = position
        self.offset_index.truncate_to_position(position)
        self.time_index.truncate_to(offset)
        self.next_offset = self.base_offset
        self.max_timestamp, self.offset_of_max_timestamp = -1, self.base_offset
        self._load_tail()
        if position == 0:
            self.next_offset = self.base_offset

    @property
    def largest_timestamp(self) -> int:
        """For retention.ms: the max timestamp, or the file's mtime when there is none."""
        if self.max_timestamp >= 0:
            return self.max_timestamp
        return int(os.stat(self.log_path).st_mtime * 1000)

    def flush(self) -> None:
        os.fsync(self._fd)
        self.offset_index.flush()
        self.time_index.flush()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        for index in (self.offset_index, self.time_index):
            if index is not None:
                index.close()

    def delete(self) -> None:
        """Remove the segment's files at once (no ``.deleted`` stage)."""
        self.close()
        stem = self.log_path[:-len(".log")]
        for path in (self.log_path, stem + ".index", stem + ".timeindex"):
            if os.path.exists(path):
                os.unlink(path)


class FileRegion:
    """``length`` bytes at ``position`` of an open file: Kafka's ``FileRecords`` slice.

    What a zero-copy fetch puts in a response's ``records`` field instead of
    bytes. It owns ``fd``, a duplicate of the segment's descriptor, so the
    data stays readable after the segment is closed, deleted by retention or
    swapped by the cleaner. Whoever ends up holding it (the server, once it
    has sent it) must ``close()`` it; ``with region:`` does.

    Owned by one task; not task-safe.

    Attributes:
        fd: the file descriptor (-1 once closed).
        position: where the bytes start in the file.
        length: how many bytes (whole batches).
    """

    __slots__ = ("fd", "position", "length")

    def __init__(self, fd: int, position: int, length: int):
        self.fd = fd
        self.position = position
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __repr__(self) -> str:
        return f"FileRegion(fd={self.fd}, position={self.position}, length={self.length})"

    def read(self) -> bytes:
        """The bytes themselves (a copy): for streams that have no socket to sendfile to."""
        data = os.pread(self.fd, self.length, self.position)
        if len(data) != self.length:
            raise EOFError(f"{self!r}: the file was truncated, only {len(data)} bytes left")
        return data

    def close(self) -> None:
        """Release the descriptor (idempotent)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> FileRegion:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __del__(self):
        # A safety net only: a response dropped on an error path must not
        # leak a descriptor (and pin a deleted segment) forever.
        self.close()


def _at_position(info, position: int):
    """A BatchInfo read from a 61-byte buffer, carrying its file position instead."""
    from minikafka_core.batch import BatchInfo

    return BatchInfo(position, info.size, info.base_offset, info.partition_leader_epoch, info.crc,
                     info.attributes, info.last_offset_delta, info.first_timestamp,
                     info.max_timestamp, info.producer_id, info.producer_epoch,
                     info.base_sequence, info.record_count)


def _write_fully(fd: int, pieces: list, total: int) -> None:
    """``os.writev`` all of ``pieces``, IOV_MAX at a time, resuming short writes."""
    pending = [memoryview(piece).cast("B") for piece in pieces]
    while pending:
        group = pending[:_IOV_MAX]
        written = os.writev(fd, group)
        del pending[:len(group)]
        # A short write (full disk, signal): put back what was not written.
        for i, piece in enumerate(group):
            if written >= len(piece):
                written -= len(piece)
                continue
            pending[:0] = [piece[written:]] + group[i + 1:]
            break

"""Sparse time index of one segment (``<base_offset>.timeindex``).

Each entry is 12 bytes, big-endian: timestamp (int64) and relative offset
(int32). An entry ``(t, o)`` says: the largest timestamp in the segment up to
offset ``o`` is ``t``. Entries are added beside offset-index entries, but only
when the segment's max timestamp has grown, so both columns strictly
increase. ``lookup(t)`` returns the last entry whose timestamp is <= ``t``
(the search for the first record with timestamp >= ``t`` starts from its
offset), or ``(-1, base_offset)`` when there is none.

Like ``offset_index``: entries in memory, appended to the file with
``os.write``; full at ``segment.index.bytes // 12`` entries.
Owned by one ``LogSegment``; not task-safe on its own.
"""

from __future__ import annotations

import bisect
import os
import struct

from minikafka_core.offset_index import CorruptIndexError

ENTRY_SIZE = 12
_ENTRY = struct.Struct(">qi")


class TimeIndex:
    """The time index of one segment, mirrored in memory.

    Args:
        path: the ``.timeindex`` file (created if missing).
        base_offset: the segment's base offset.
        max_index_bytes: segment.index.bytes.
    """

    def __init__(self, path: str, base_offset: int, max_index_bytes: int):
        self.path = path
        self.base_offset = base_offset
        self.max_entries = max(1, max_index_bytes // ENTRY_SIZE)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        data = os.pread(self._fd, os.fstat(self._fd).st_size, 0)
        if len(data) % ENTRY_SIZE:
            raise CorruptIndexError(f"{path}: size {len(data)} is not a multiple of {ENTRY_SIZE}")
        pairs = list(_ENTRY.iter_unpack(data))
        self._timestamps = [timestamp for timestamp, _ in pairs]
        self._relative_offsets = [relative for _, relative in pairs]

    def __len__(self) -> int:
        return len(self._timestamps)

    @property
    def is_full(self) -> bool:
        return len(self._timestamps) >= self.max_entries

    @property
    def last_entry(self) -> tuple[int, int]:
        """``(timestamp, offset)`` of the last entry, or ``(-1, base_offset)``."""
        if not self._timestamps:
            return -1, self.base_offset
        return self._timestamps[-1], self.base_offset + self._relative_offsets[-1]

    def sanity_check(self, next_offset: int) -> None:
        """Raise CorruptIndexError unless the entries are plausible for the segment."""
        for i in range(1, len(self._timestamps)):
            if (self._timestamps[i] <= self._timestamps[i - 1]
                    or self._relative_offsets[i] < self._relative_offsets[i - 1]):
                raise CorruptIndexError(f"{self.path}: entry {i} does not increase")
        if self._relative_offsets and (self._relative_offsets[0] < 0
                                       or self.base_offset + self._relative_offsets[-1] >= next_offset):
            raise CorruptIndexError(f"{self.path}: an entry points outside the segment")

    def maybe_append(self, timestamp: int, offset: int) -> None:
        """Add ``(timestamp, offset)`` if ``timestamp`` beats the last entry's."""
        if self._timestamps and timestamp <= self._timestamps[-1]:
            return
        if timestamp < 0:
            return  # batches without timestamps (-1) are not indexed
        relative_offset = offset - self.base_offset
        os.write(self._fd, _ENTRY.pack(timestamp, relative_offset))
        self._timestamps.append(timestamp)
        self._relative_offsets.append(relative_offset)

    def lookup(self, timestamp: int) -> tuple[int, int]:
        """``(timestamp, offset)`` of the last entry with timestamp <= ``timestamp``."""
        i = bisect.bisect_right(self._timestamps, timestamp) - 1
        if i < 0:
            return -1, self.base_offset
        return self._timestamps[i], self.base_offset + self._relative_offsets[i]

    def truncate_to(self, offset: int) -> None:
        """Remove every entry whose offset is >= ``offset``."""
        keep = len(self._relative_offsets)
        while keep and self.base_offset + self._relative_offsets[keep - 1] >= offset:
            keep -= 1
        if keep < len(self._timestamps):
            del self._timestamps[keep:]
            del self._relative_offsets[keep:]
            os.ftruncate(self._fd, keep * ENTRY_SIZE)

    def reset(self) -> None:
        """Drop all entries (before rebuilding the index from the log)."""
        self.truncate_to(self.base_offset)

    def flush(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def delete(self) -> None:
        self.close()
        os.unlink(self.path)

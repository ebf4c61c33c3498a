"""Sparse offset index of one segment (``<base_offset>.index``).

Each entry is 8 bytes, big-endian: relative offset (int32, ``offset -
base_offset``) and file position (int32) in the segment's ``.log``. An entry
``(o, p)`` says: the batch whose *last* offset is ``o`` starts at byte ``p``
(Kafka's ``LogSegment.append`` indexes a batch by its last offset). The
segment adds one entry every ``index.interval.bytes`` of appended log, so a
lookup lands at most that many bytes before the batch it wants.

Invariant: relative offsets and positions both strictly increase.
``lookup(offset)`` returns the last entry whose offset is <= ``offset``, or
``(base_offset, 0)`` when there is none.

Kafka preallocates the file to ``segment.index.bytes`` and memory-maps it,
trimming it on close; here the entries live in two ``array``s in memory and
every new entry is appended to the file with one ``os.write``. At rest the
bytes are the same as Kafka's. The index is "full" (time to roll the segment)
at ``segment.index.bytes // 8`` entries.

Owned by one ``LogSegment``; not task-safe on its own.
"""

from __future__ import annotations

import bisect
import os
import struct
import sys
from array import array

ENTRY_SIZE = 8
_ENTRY = struct.Struct(">ii")


class CorruptIndexError(Exception):
    """The index file fails its sanity check; the segment rebuilds it."""


class OffsetIndex:
    """The offset index of one segment, mirrored in memory.

    Args:
        path: the ``.index`` file (created if missing).
        base_offset: the segment's base offset.
        max_index_bytes: segment.index.bytes.
    """

    def __init__(self, path: str, base_offset: int, max_index_bytes: int):
        self.path = path
        self.base_offset = base_offset
        self.max_entries = max(1, max_index_bytes // ENTRY_SIZE)
        self._relative_offsets = array("i")
        self._positions = array("i")
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        self._load()

    def _load(self) -> None:
        data = os.pread(self._fd, os.fstat(self._fd).st_size, 0)
        if len(data) % ENTRY_SIZE:
            raise CorruptIndexError(f"{self.path}: size {len(data)} is not a multiple of {ENTRY_SIZE}")
        entries = array("i", data)
        if sys.byteorder == "little":
            entries.byteswap()  # the file is big-endian
        self._relative_offsets = entries[0::2]
        self._positions = entries[1::2]

    def __len__(self) -> int:
        return len(self._relative_offsets)

    @property
    def is_full(self) -> bool:
        return len(self._relative_offsets) >= self.max_entries

    @property
    def last_entry(self) -> tuple[int, int]:
        """``(offset, position)`` of the last entry, or ``(base_offset, 0)``."""
        if not self._relative_offsets:
            return self.base_offset, 0
        return self.base_offset + self._relative_offsets[-1], self._positions[-1]

    def sanity_check(self, segment_size: int, next_offset: int) -> None:
        """Raise CorruptIndexError unless the entries are plausible for the segment."""
        offsets, positions = self._relative_offsets, self._positions
        for i in range(1, len(offsets)):
            if offsets[i] <= offsets[i - 1] or positions[i] <= positions[i - 1]:
                raise CorruptIndexError(f"{self.path}: entry {i} does not increase")
        if offsets and (offsets[0] < 0 or positions[0] < 0):
            raise CorruptIndexError(f"{self.path}: negative first entry")
        if offsets and (positions[-1] >= segment_size
                        or self.base_offset + offsets[-1] >= next_offset):
            raise CorruptIndexError(f"{self.path}: last entry points past the segment's end")

    def append(self, offset: int, position: int) -> None:
        """Add an entry (for a batch whose last offset is ``offset``)."""
        relative_offset = offset - self.base_offset
        if self._relative_offsets and relative_offset <= self._relative_offsets[-1]:
            raise ValueError(f"index entry {offset} is not above the last one")
        os.write(self._fd, _ENTRY.pack(relative_offset, position))
        self._relative_offsets.append(relative_offset)
        self._positions.append(position)

    def lookup(self, offset: int) -> tuple[int, int]:
        """``(offset, position)`` of the last entry with offset <= ``offset``."""
        i = bisect.bisect_right(self._relative_offsets, offset - self.base_offset) - 1
        if i < 0:
            return self.base_offset, 0
        return self.base_offset + self._relative_offsets[i], self._positions[i]

    def truncate_to(self, offset: int) -> None:
        """Remove every entry whose offset is >= ``offset``."""
        keep = bisect.bisect_left(self._relative_offsets, offset - self.base_offset)
        self._truncate_entries(keep)

    def truncate_to_position(self, position: int) -> None:
        """Remove every entry pointing at or past ``position`` in the log."""
        self._truncate_entries(bisect.bisect_left(self._positions, position))

    def _truncate_entries(self, keep: int) -> None:
        if keep < len(self._relative_offsets):
            del self._relative_offsets[keep:]
            del self._positions[keep:]
            os.ftruncate(self._fd, keep * ENTRY_SIZE)

    def reset(self) -> None:
        """Drop all entries (before rebuilding the index from the log)."""
        self._truncate_entries(0)

    def flush(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def delete(self) -> None:
        self.close()
        os.unlink(self.path)

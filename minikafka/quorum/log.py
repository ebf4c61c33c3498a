"""The replicated metadata log as the Raft core sees it (in memory).

The log is a snapshot followed by entries::

    snapshot (end_offset=S, epoch=e0) | entry S | entry S+1 | ... | entry LEO-1

- ``log_start_offset`` is ``S``: everything below it was compacted into the
  snapshot (0 and no snapshot when nothing was compacted).
- ``log_end_offset`` (LEO) is the offset the next entry will take.
- Every entry carries the leader epoch it was written in. Epochs never
  decrease along the log, which is what makes :meth:`RaftLog.end_offset_for_epoch`
  (Kafka's leader-epoch cache lookup, ``OffsetForLeaderEpoch``) a simple search.
- Offsets are contiguous: entry ``i`` of :attr:`RaftLog.entries` has offset
  ``log_start_offset + i``.

A :class:`SnapshotId` is Kafka's ``OffsetAndEpoch`` of a snapshot: the offset
just past the last entry it covers and that entry's epoch. The empty log is
treated as "snapshot (0, 0)" so the first fetch, ``(fetch_offset=0,
last_fetched_epoch=0)``, always matches.

This module keeps the Raft core's working copy only; durability is the
runtime's job, through :mod:`minikafka.quorum.storage`. To let the runtime
mirror every change, the log remembers what it has not yet reported:
the lowest offset it truncated to and the first entry not yet persisted.
"""

from __future__ import annotations

import bisect
import dataclasses


@dataclasses.dataclass(frozen=True)
class Entry:
    """One record of the metadata log.

    ``is_control`` marks Kafka's control records (here: the LeaderChange
    record a new leader writes at the start of its epoch); the metadata image
    skips them.
    """

    offset: int
    epoch: int
    data: bytes
    is_control: bool = False


@dataclasses.dataclass(frozen=True, order=True)
class SnapshotId:
    """Identifies a snapshot: ``end_offset`` (exclusive) and its ``epoch``."""

    end_offset: int
    epoch: int


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """A snapshot of the application state up to ``snapshot_id.end_offset``.

    ``data`` is opaque to the Raft core (the metadata image encodes it).
    """

    snapshot_id: SnapshotId
    data: bytes


NO_SNAPSHOT = SnapshotId(end_offset=0, epoch=0)


class RaftLog:
    """The in-memory log of one Raft node. Owned by its RaftNode; not task-safe.

    Args:
        snapshot: the latest snapshot, or None.
        entries: the entries after the snapshot, contiguous from its end offset.
    """

    def __init__(self, snapshot: Snapshot | None = None, entries=()):
        self.snapshot = snapshot
        self.entries: list[Entry] = list(entries)
        start = self.log_start_offset
        for i, entry in enumerate(self.entries):
            if entry.offset != start + i:
                raise ValueError(f"entry at {entry.offset} where {start + i} was expected")
        # Everything handed to us at construction is already durable.
        self.unpersisted_from = self.log_end_offset
        self.truncated_to: int | None = None

    # --- reading -------------------------------------------------------------

    @property
    def snapshot_id(self) -> SnapshotId:
        return self.snapshot.snapshot_id if self.snapshot else NO_SNAPSHOT

    @property
    def log_start_offset(self) -> int:
        return self.snapshot_id.end_offset

    @property
    def log_end_offset(self) -> int:
        return self.log_start_offset + len(self.entries)

    @property
    def last_fetched_epoch(self) -> int:
        """The epoch of the last entry (or of the snapshot if there is none)."""
        return self.entries[-1].epoch if self.entries else self.snapshot_id.epoch

    def entry(self, offset: int) -> Entry:
        return self.entries[offset - self.log_start_offset]

    def epoch_at(self, offset: int) -> int:
        """The epoch of the entry at ``offset`` (the snapshot's for its last offset)."""
        if offset == self.log_start_offset - 1:
            return self.snapshot_id.epoch
        return self.entry(offset).epoch

    def read(self, from_offset: int, max_bytes: int) -> tuple[Entry, ...]:
        """Entries from ``from_offset`` on, at most ``max_bytes`` of data.

        Always returns at least one entry if there is one, so an entry bigger
        than ``max_bytes`` still makes progress (Kafka's "min one batch").
        """
        out: list[Entry] = []
        size = 0
        for entry in self.entries[from_offset - self.log_start_offset:]:
            size += len(entry.data)
            if out and size > max_bytes:
                break
            out.append(entry)
        return tuple(out)

    def end_offset_for_epoch(self, epoch: int) -> EpochOffset:
        """Kafka's leader-epoch lookup: the largest known epoch ``<= epoch``
        and the offset just past its last entry.

        Returns ``(-1, -1)`` when the answer lies inside the snapshot (the
        epoch history below the log start offset is gone).
        """
        # Entries are sorted by epoch too, so bisect on the epochs.
        epochs = _EpochView(self.entries)
        index = bisect.bisect_right(epochs, epoch)
        if index > 0:
            last = self.entries[index - 1]
            return EpochOffset(last.epoch, last.offset + 1)
        if self.snapshot_id.epoch <= epoch:
            return EpochOffset(self.snapshot_id.epoch, self.log_start_offset)
        return EpochOffset(-1, -1)

    # --- writing -------------------------------------------------------------

    def append(self, entry: Entry) -> None:
        if entry.offset != self.log_end_offset:
            raise ValueError(f"append at {entry.offset}, log end offset is {self.log_end_offset}")
        if entry.epoch < self.last_fetched_epoch:
            raise ValueError(f"epoch {entry.epoch} after epoch {self.last_fetched_epoch}")
        self.entries.append(entry)

    def truncate_to(self, offset: int) -> None:
        """Remove every entry at or above ``offset`` (a divergent suffix)."""
        if offset < self.log_start_offset:
            raise ValueError(f"cannot truncate to {offset}, below the snapshot at {self.log_start_offset}")
        if offset >= self.log_end_offset:
            return
        del self.entries[offset - self.log_start_offset:]
        if offset < self.unpersisted_from:
            self.unpersisted_from = offset
            self.truncated_to = offset if self.truncated_to is None else min(self.truncated_to, offset)

    def compact(self, snapshot: Snapshot) -> None:
        """Replace the entries below ``snapshot``'s end offset by the snapshot.

        Used both when the application snapshots its own committed state and
        when a follower installs the leader's snapshot. Entries after the
        snapshot are kept only if the log agrees with it at its end offset;
        otherwise the whole log is replaced (Kafka does the same).
        """
        end = snapshot.snapshot_id.end_offset
        keep = (self.log_start_offset < end <= self.log_end_offset
                and self.epoch_at(end - 1) == snapshot.snapshot_id.epoch)
        rest = self.entries[end - self.log_start_offset:] if keep else []
        if not keep and self.entries:
            self.truncated_to = self.log_start_offset
        self.snapshot = snapshot
        self.entries = rest
        self.unpersisted_from = max(self.log_start_offset, min(self.unpersisted_from, self.log_end_offset))

    # --- durability bookkeeping ------------------------------------------------

    def unpersisted(self) -> tuple[Entry, ...]:
        return tuple(self.entries[self.unpersisted_from - self.log_start_offset:])

    def mark_persisted(self, up_to: int) -> None:
        """The runtime has made every change below ``up_to`` durable."""
        self.unpersisted_from = max(self.unpersisted_from, min(up_to, self.log_end_offset))
        self.truncated_to = None


@dataclasses.dataclass(frozen=True)
class EpochOffset:
    """An ``(epoch, end_offset)`` answer of :meth:`RaftLog.end_offset_for_epoch`."""

    epoch: int
    end_offset: int


class _EpochView:
    """A read-only sequence of the entries' epochs, for bisect (no copy)."""

    def __init__(self, entries: list[Entry]):
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index: int) -> int:
        return self._entries[index].epoch

"""The leader-epoch cache of one partition (Kafka's ``LeaderEpochFileCache``).

Every leader of a partition has an epoch number, bumped by the controller at
each leader change; the leader stamps its epoch into every batch it appends
(``partition_leader_epoch``). The cache remembers where each epoch's records
start, as ``(epoch, start_offset)`` entries sorted by both fields::

    epoch 0 starts at 0, epoch 2 at 13, epoch 4 at 17      (log end offset 20)
    -> epoch 0 holds [0, 13), epoch 2 holds [13, 17), epoch 4 holds [17, 20)

This is what lets two replicas find where their logs part (KIP-101,
KIP-279): a follower asks "where does *my* last epoch end on *your* log?"
(OffsetForLeaderEpoch, or the ``last_fetched_epoch`` of a Fetch, KIP-595
style) and ``end_offset_for`` answers it.

Invariants (kept by ``assign``, as Kafka keeps them): epochs strictly
increase and start offsets strictly increase along the list. Assigning an
entry that breaks them first removes the entries that conflict (Kafka logs
a warning; it happens after an unclean election or a truncation).

On disk it is ``<partition dir>/leader-epoch-checkpoint`` in Kafka's text
format (``minikafka.storage.checkpoints`` reads and writes it). The methods here
never touch the file: a mutating method returns True when the entries
changed, and the caller then calls ``persist`` (Kafka flushes after
``assign`` and after truncations too). Kafka's ``truncateFromEnd`` removes
entries starting at or after the new log end; the log truncation itself is
the caller's.

Owned by one partition; not task-safe, but nothing in it awaits.
"""

from __future__ import annotations

import bisect
import dataclasses
from typing import Iterable

from minikafka.storage.checkpoints import read_leader_epoch_checkpoint, write_leader_epoch_checkpoint

UNDEFINED_EPOCH = -1  # Kafka's RecordBatch.NO_PARTITION_LEADER_EPOCH / UNDEFINED_EPOCH
UNDEFINED_EPOCH_OFFSET = -1  # Kafka's EpochEndOffset.UNDEFINED_EPOCH_OFFSET


@dataclasses.dataclass(frozen=True, order=True)
class EpochEntry:
    """The first offset written by the leader of ``epoch``."""

    epoch: int
    start_offset: int


class LeaderEpochCache:
    """The ``(epoch, start_offset)`` entries of one partition's log.

    Args:
        entries: initial ``(epoch, start_offset)`` pairs, e.g. read from the
            checkpoint. Like Kafka, they are replayed through ``assign``, so
            a file with out-of-order entries loads with the conflicts removed.
    """

    def __init__(self, entries=()):
        self._entries: list[EpochEntry] = []
        for epoch, start_offset in entries:
            self.assign(epoch, start_offset)

    # -- persistence (the only I/O) --

    @classmethod
    def load(cls, path: str) -> "LeaderEpochCache":
        """Read ``leader-epoch-checkpoint``; a missing file is an empty cache."""
        return cls(read_leader_epoch_checkpoint(path))

    def persist(self, path: str) -> None:
        """Atomically replace ``leader-epoch-checkpoint`` with these entries."""
        write_leader_epoch_checkpoint(path, [(e.epoch, e.start_offset) for e in self._entries])

    # -- queries --

    @property
    def entries(self) -> list[EpochEntry]:
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def latest_entry(self) -> EpochEntry | None:
        return self._entries[-1] if self._entries else None

    @property
    def latest_epoch(self) -> int | None:
        """The newest epoch (the one a follower sends as ``last_fetched_epoch``)."""
        return self._entries[-1].epoch if self._entries else None

    @property
    def earliest_entry(self) -> EpochEntry | None:
        return self._entries[0] if self._entries else None

    def end_offset_for(self, requested_epoch: int, log_end_offset: int) -> tuple[int, int]:
        """Answer OffsetForLeaderEpoch: ``(epoch, end_offset)`` for ``requested_epoch``.

        The result is the largest known epoch ``<= requested_epoch`` and the
        offset where the epoch after it starts, i.e. the end (exclusive) of
        the requested epoch's records on this log. Kafka's cases:

        - ``requested_epoch`` undefined (-1), or larger than every known
          epoch, or the cache is empty: ``(-1, -1)``;
        - the latest epoch: ``(latest, log_end_offset)`` (it is still open);
        - smaller than every known epoch: ``(requested_epoch, first start
          offset)`` (the older records were deleted; fetch from there);
        - otherwise ``(floor epoch, start offset of the next epoch)``.
        """
        undefined = (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)
        if requested_epoch == UNDEFINED_EPOCH or not self._entries:
            return undefined
        if self._entries[-1].epoch == requested_epoch:
            return requested_epoch, log_end_offset
        higher = bisect.bisect_right([e.epoch for e in self._entries], requested_epoch)
        if higher == len(self._entries):
            return undefined
        if higher == 0:
            return requested_epoch, self._entries[0].start_offset
        return self._entries[higher - 1].epoch, self._entries[higher].start_offset

    def epoch_for_offset(self, offset: int) -> int | None:
        """The epoch whose records include ``offset`` (None before the first entry)."""
        index = bisect.bisect_right([e.start_offset for e in self._entries], offset)
        return self._entries[index - 1].epoch if index else None

    # -- mutations: each returns True if the entries changed (then persist) --

    def assign(self, epoch: int, start_offset: int) -> bool:
        """Record that ``epoch`` starts at ``start_offset``.

        Called by a new leader for its own epoch (at its log end offset) and
        by a follower for each appended batch's ``partition_leader_epoch``.
        A repeat of the latest epoch at the same or a later offset changes
        nothing; otherwise entries with an epoch ``>= epoch`` or a start
        offset ``>= start_offset`` are removed first (Kafka's
        ``maybeTruncateNonMonotonicEntries``), so offsets never go backwards.

        Raises:
            ValueError: a negative epoch or offset.
        """
        if epoch < 0 or start_offset < 0:
            raise ValueError(f"invalid leader epoch entry ({epoch}, {start_offset})")
        latest = self.latest_entry
        if latest is not None and latest.epoch == epoch and latest.start_offset <= start_offset:
            return False
        while self._entries and (self._entries[-1].epoch >= epoch or self._entries[-1].start_offset >= start_offset):
            self._entries.pop()
        self._entries.append(EpochEntry(epoch, start_offset))
        return True

    def truncate_from_end(self, end_offset: int) -> bool:
        """The log was truncated to ``end_offset``: drop epochs starting at or after it."""
        if end_offset < 0:
            return False
        before = len(self._entries)
        while self._entries and self._entries[-1].start_offset >= end_offset:
            self._entries.pop()
        return len(self._entries) != before

    def truncate_from_start(self, start_offset: int) -> bool:
        """The log start moved to ``start_offset`` (retention, DeleteRecords).

        Entries starting at or before it are dropped, except that the last of
        them is kept, moved up to start at ``start_offset`` (its epoch still
        covers the first remaining records).
        """
        if start_offset < 0:
            return False
        removed = [e for e in self._entries if e.start_offset <= start_offset]
        if not removed or (len(removed) == 1 and removed[0].start_offset == start_offset):
            return False
        self._entries = [EpochEntry(removed[-1].epoch, start_offset)] + self._entries[len(removed):]
        return True

    def clear(self) -> bool:
        """Forget every entry (the log was deleted or fully truncated)."""
        changed = bool(self._entries)
        self._entries.clear()
        return changed

    def __repr__(self) -> str:
        return f"LeaderEpochCache({[(e.epoch, e.start_offset) for e in self._entries]})"


def epochs_of_appended_batches(epoch_cache: LeaderEpochCache, batches: Iterable[tuple[int, int]]) -> bool:
    """Assign the epochs of appended batches (Kafka's ``maybeAssignEpochStartOffset``).

    Both appends call it, a follower's and the leader's own; only a batch
    starting a new epoch changes the cache. Returns True if it changed.

    Args:
        batches: ``(partition_leader_epoch, base_offset)`` of each appended
            batch, in offset order (``BatchInfo`` has both fields).
    """
    changed = False
    for partition_leader_epoch, base_offset in batches:
        if partition_leader_epoch >= 0:  # -1: a batch from before leader epochs
            changed |= epoch_cache.assign(partition_leader_epoch, base_offset)
    return changed

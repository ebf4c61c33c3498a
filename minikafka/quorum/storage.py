"""What a Raft node must make durable, and the interface of the durable log.

Raft's safety rests on three things surviving a crash:

- the **hard state** (Kafka's ``quorum-state`` file): the current epoch, the
  voter this replica voted for in that epoch, and the leader it knows of.
  Losing ``voted_id`` could let a replica vote twice in one epoch and elect two
  leaders;
- the **log entries** it acknowledged (a leader counts a follower's fetch
  offset as "the follower has everything below it");
- the latest **snapshot**.

The Raft core never does I/O. Its :class:`~minikafka.quorum.ready.Ready` lists
the changes; the runtime hands the Ready to :meth:`RaftStorage.persist`
*before* it sends the Ready's messages or applies its committed entries, then
calls ``node.advance(ready)``. At start-up :meth:`RaftStorage.load` returns what
:class:`~minikafka.quorum.raft.RaftNode` needs to restart.

:class:`MemoryStorage` keeps everything in lists; the simulator keeps one per
node across simulated crashes. A file-backed storage (segments of
``__cluster_metadata-0``, ``quorum-state``, ``*.checkpoint`` snapshots) only
has to implement the four primitives.
"""

from __future__ import annotations

import abc
import dataclasses

from minikafka.quorum.log import Entry, Snapshot
from minikafka.quorum.ready import HardState, Ready


@dataclasses.dataclass(frozen=True)
class PersistedState:
    """Everything :meth:`RaftStorage.load` returns to restart a node."""

    hard_state: HardState
    snapshot: Snapshot | None
    entries: tuple[Entry, ...]


class RaftStorage(abc.ABC):
    """The durable metadata log of one node. Owned by that node's runtime."""

    def persist(self, ready: Ready) -> None:
        """Make a Ready's changes durable, in the order that keeps them safe.

        Truncate first (the appended entries replace the removed ones), then
        the snapshot, then new entries, and the hard state last: a vote is
        never durable without the log it was given on.
        """
        if ready.truncate_to is not None:
            self.truncate_to(ready.truncate_to)
        if ready.snapshot is not None:
            self.save_snapshot(ready.snapshot)  # a no-op if it is already the latest
        if ready.entries:
            self.append(ready.entries)
        if ready.hard_state is not None:
            self.save_hard_state(ready.hard_state)

    @abc.abstractmethod
    def load(self) -> PersistedState:
        """Read back the hard state, the latest snapshot and the entries after it."""

    @abc.abstractmethod
    def truncate_to(self, offset: int) -> None:
        """Remove every entry at or above ``offset``."""

    @abc.abstractmethod
    def append(self, entries: tuple[Entry, ...]) -> None:
        """Append entries; the first one's offset is the current log end offset."""

    @abc.abstractmethod
    def save_snapshot(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` as the latest and drop the entries it covers."""

    @abc.abstractmethod
    def save_hard_state(self, hard_state: HardState) -> None:
        """Replace the hard state (atomically: write, fsync, rename in a file)."""


class MemoryStorage(RaftStorage):
    """Durable-as-long-as-the-object storage, for tests and the simulator."""

    def __init__(self) -> None:
        self.hard_state = HardState()
        self.snapshot: Snapshot | None = None
        self.entries: list[Entry] = []

    @property
    def _start(self) -> int:
        return self.snapshot.snapshot_id.end_offset if self.snapshot else 0

    def load(self) -> PersistedState:
        return PersistedState(self.hard_state, self.snapshot, tuple(self.entries))

    def truncate_to(self, offset: int) -> None:
        del self.entries[max(0, offset - self._start):]

    def append(self, entries: tuple[Entry, ...]) -> None:
        expected = self._start + len(self.entries)
        if entries[0].offset != expected:
            raise ValueError(f"append at {entries[0].offset}, storage ends at {expected}")
        self.entries.extend(entries)

    def save_snapshot(self, snapshot: Snapshot) -> None:
        end = snapshot.snapshot_id.end_offset
        if self.snapshot and end <= self._start:
            return
        keep = [e for e in self.entries if e.offset >= end]
        if not keep or keep[0].offset != end:
            keep = []
        self.snapshot = snapshot
        self.entries = keep

    def save_hard_state(self, hard_state: HardState) -> None:
        self.hard_state = hard_state

"""What the Raft core hands its runtime: ``Ready``, and the ``HardState`` in it.

The core (:class:`~minikafka.quorum.raft.RaftNode`) does no I/O. After each
event the runtime asks ``node.ready()`` what to do, and does it in the
field order of :class:`Ready`: persist (the hard state, a truncation, a
snapshot, new entries; :meth:`~minikafka.quorum.storage.RaftStorage.persist`),
then send the messages, then apply the committed entries; then it calls
``node.advance(ready)`` (etcd-io/raft's ``Ready``/``Advance``).

:class:`HardState` is the part of a node's state that must survive a crash
before any message leaves (Kafka's ``quorum-state`` file): the epoch, the
vote cast in it, and the leader known for it.

This module sits below both the node and the storage, which each use it.
"""

from __future__ import annotations

import dataclasses

from minikafka.quorum import messages as m
from minikafka.quorum.log import Entry, Snapshot


@dataclasses.dataclass(frozen=True)
class HardState:
    """The durable election state (Kafka's ``QuorumStateData``).

    Attributes:
        epoch: the current (leader) epoch; epochs start at 0, the first
            elected leader has epoch 1.
        voted_id: the candidate this replica voted for in ``epoch``, or None.
        leader_id: the leader of ``epoch`` if known, or None.
    """

    epoch: int = 0
    voted_id: int | None = None
    leader_id: int | None = None


@dataclasses.dataclass(frozen=True)
class Ready:
    """What the runtime must do now, in field order (see the module docstring).

    Attributes:
        hard_state: the new hard state to persist, or None if unchanged.
        truncate_to: remove persisted entries at or above this offset first.
        snapshot: a snapshot to persist.
        load_snapshot: the application must also replace its state with
            ``snapshot`` (it came from the leader, or this is a restart).
        entries: new entries to append to the durable log.
        messages: envelopes to send once the above is durable.
        committed_entries: entries now below the high watermark, in order,
            to apply to the metadata image (control records included).
    """

    hard_state: HardState | None = None
    truncate_to: int | None = None
    snapshot: Snapshot | None = None
    load_snapshot: bool = False
    entries: tuple[Entry, ...] = ()
    messages: tuple[m.Envelope, ...] = ()
    committed_entries: tuple[Entry, ...] = ()

    def __bool__(self) -> bool:
        return any((self.hard_state, self.truncate_to is not None, self.snapshot,
                    self.entries, self.messages, self.committed_entries))

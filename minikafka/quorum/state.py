"""The roles of a quorum replica, the allowed transitions, and the timers.

A replica is in exactly one role at a time, as in Kafka's ``QuorumState``:

=============  ==============================================================
UNATTACHED     knows the epoch but follows no leader; may have voted in it
               (Kafka 4.0 folds the old VotedState into UnattachedState)
PROSPECTIVE    asks for pre-votes before disturbing anyone (KIP-996)
CANDIDATE      bumped the epoch, voted for itself, asks for votes
LEADER         won a majority; serves Fetch, advances the high watermark
FOLLOWER       fetches from a known leader of the current epoch
RESIGNED       was leader of this epoch and gave up (lost the quorum or is
               shutting down); waits for the others to elect a successor
=============  ==============================================================

Moving to a *higher* epoch is always allowed and always lands in UNATTACHED
or FOLLOWER (a replica learns of a newer epoch from someone else's message).
Within one epoch only the transitions in :data:`TRANSITIONS` may happen; the
node checks every change against the table, so a bug shows up as an
exception in the tests rather than as two leaders.

Time is counted in ticks (``node.tick()``); the runtime ticks every
``tick_ms``. Each role's ``ticks_to_next_timer()`` says how many ticks from
now its next timer can expire, so a runtime may sleep until then. Election
timeouts are randomized from the node's injected ``random.Random`` so a
seeded simulation replays exactly.

Each role's state object (``UnattachedState`` here, the others in
``candidate.py``, ``follower.py`` and ``leader.py``) is handed its node as a
:class:`RaftNodeView`: the part of :class:`~minikafka.quorum.raft.RaftNode`
a role may read and call. The roles therefore depend on this module, not on
``raft.py``, which imports them.
"""

from __future__ import annotations

import dataclasses
import enum
import random
from typing import Protocol

from minikafka.quorum import messages as m
from minikafka.quorum.log import RaftLog, Snapshot


class Role(enum.Enum):
    UNATTACHED = "unattached"
    PROSPECTIVE = "prospective"
    CANDIDATE = "candidate"
    LEADER = "leader"
    FOLLOWER = "follower"
    RESIGNED = "resigned"


# Transitions within one epoch. A candidate always starts a new epoch, so
# CANDIDATE only appears as a target in check_transition's epoch-bump rule.
TRANSITIONS: dict[Role, frozenset[Role]] = {
    Role.UNATTACHED: frozenset({Role.UNATTACHED, Role.PROSPECTIVE, Role.FOLLOWER}),
    Role.PROSPECTIVE: frozenset({Role.UNATTACHED, Role.PROSPECTIVE, Role.FOLLOWER}),
    Role.CANDIDATE: frozenset({Role.LEADER, Role.FOLLOWER}),
    Role.LEADER: frozenset({Role.RESIGNED}),
    Role.FOLLOWER: frozenset({Role.UNATTACHED, Role.PROSPECTIVE}),
    Role.RESIGNED: frozenset({Role.PROSPECTIVE}),
}


def check_transition(old: Role, new: Role, old_epoch: int, new_epoch: int) -> None:
    """Raise if ``old@old_epoch -> new@new_epoch`` is not a legal move.

    Into a higher epoch a replica moves as UNATTACHED or FOLLOWER (it heard of
    the epoch from someone else) or as CANDIDATE (it started the election;
    a leader never does: it resigns first).
    """
    if new_epoch > old_epoch:
        if new in (Role.UNATTACHED, Role.FOLLOWER):
            return
        if new is Role.CANDIDATE and old is not Role.LEADER:
            return
    elif new_epoch == old_epoch and new in TRANSITIONS[old]:
        return
    raise AssertionError(f"illegal transition {old.name}@{old_epoch} -> {new.name}@{new_epoch}")


@dataclasses.dataclass(frozen=True)
class RaftConfig:
    """The quorum settings of one replica.

    Kafka's settings are in milliseconds; here they are in ticks. With the
    runtime ticking every 100 ms the defaults match Kafka's:
    ``controller.quorum.election.timeout.ms=1000``,
    ``controller.quorum.fetch.timeout.ms=2000``, the 500 ms a follower's
    Fetch may wait at the leader (KafkaRaftClient's fetch max wait),
    ``controller.quorum.request.timeout.ms`` (scaled down to 500 ms, counted
    from the end of that wait, so a lost fetch is retried well before the
    fetch timeout).

    Attributes:
        node_id: this replica's id (``node.id``).
        voters: the ids of the voters (``controller.quorum.voters``).
        election_timeout_ticks: the base election timeout; each wait is
            randomized in ``[timeout, 2 * timeout)``.
        fetch_timeout_ticks: a follower that has not heard from its leader for
            this long starts an election; a leader that has not been fetched
            from by a majority for this long resigns (check-quorum).
        fetch_max_wait_ticks: how long the leader may hold a follower's Fetch
            when it has nothing new for it (long polling: an idle quorum
            exchanges a few fetches a second, not one per tick).
        request_timeout_ticks: a request unanswered for this long (a Fetch:
            this long after its wait) is sent again.
        pre_vote: ask for pre-votes before starting an election (KIP-996).
        fetch_max_bytes: the most record bytes one Fetch response carries.
        snapshot_chunk_bytes: the most snapshot bytes one FetchSnapshot carries.
        tick_ms: the runtime's tick, to put a Fetch's wait on the wire in
            Kafka's unit (``max_wait_ms``) and read it back in ticks.
    """

    node_id: int
    voters: frozenset[int]
    election_timeout_ticks: int = 10
    fetch_timeout_ticks: int = 20
    fetch_max_wait_ticks: int = 5
    request_timeout_ticks: int = 5
    pre_vote: bool = True
    fetch_max_bytes: int = 1024 * 1024
    snapshot_chunk_bytes: int = 64 * 1024
    tick_ms: int = 100

    @property
    def is_voter(self) -> bool:
        return self.node_id in self.voters

    @property
    def majority(self) -> int:
        return len(self.voters) // 2 + 1


class ElectionTimer:
    """Counts down a randomized election timeout, in ticks."""

    def __init__(self, config: RaftConfig, rng: random.Random, ticks: int | None = None):
        base = config.election_timeout_ticks
        self.ticks_left = ticks if ticks is not None else base + rng.randrange(base)

    def tick(self) -> bool:
        """Advance one tick; True once the timeout has expired."""
        self.ticks_left -= 1
        return self.ticks_left <= 0


class RaftNodeView(Protocol):
    """What a role sees of the RaftNode that owns it (RaftNode implements it).

    Attributes:
        config: the node's settings.
        rng: the source of election jitter.
        log: the node's working copy of the metadata log.
        epoch: the current epoch.
        leader_id: the leader of ``epoch``, if known.
        high_watermark: the offset below which entries are committed.
    """

    config: RaftConfig
    rng: random.Random
    log: RaftLog
    epoch: int
    leader_id: int | None
    high_watermark: int

    @property
    def node_id(self) -> int: ...

    def send(self, destination_id: int, message: m.Message, correlation_id: int | None = None) -> int: ...

    def other_voters(self) -> list[int]: ...

    def current_leader(self) -> m.LeaderIdAndEpoch: ...

    def install_snapshot(self, snapshot: Snapshot) -> None: ...

    def become_unattached(self, epoch: int, election_ticks: int | None = None) -> None: ...

    def become_follower(self, epoch: int, leader_id: int) -> None: ...

    def become_prospective(self) -> None: ...

    def become_candidate(self) -> None: ...

    def become_leader(self) -> None: ...

    def become_resigned(self) -> None: ...

    def start_election(self) -> None: ...


class UnattachedState:
    """No leader known in this epoch; stand when the election timer expires."""

    def __init__(self, timer: ElectionTimer):
        self.timer = timer

    def on_tick(self, node: RaftNodeView) -> None:
        if self.timer.tick():
            node.start_election()

    def ticks_to_next_timer(self) -> int:
        return self.timer.ticks_left


class ResignedState(UnattachedState):
    """Led this epoch and resigned: will not lead it again, stands when the timer expires."""

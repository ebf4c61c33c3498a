"""RaftNode: one replica of the KRaft-style controller quorum, with no I/O.

The node is a state machine in the style of etcd-io/raft. The runtime:

1. feeds it events: ``step(envelope)`` for a received message, ``tick()`` for
   the passage of logical time, ``propose(data)`` on the leader, and
   ``snapshot(offset, data)`` when the application has compacted its state;
2. asks ``ready()`` what to do, and does it *in this order*: persist the hard
   state, truncation, snapshot and entries (:meth:`RaftStorage.persist`), then
   send the messages, load the snapshot if ``ready.load_snapshot``, and apply
   the committed entries to the metadata image;
3. calls ``advance(ready)`` before feeding the next event.

The protocol is KRaft's (KIP-595), not the Raft paper's AppendEntries:

- **Election.** A voter whose leader has gone quiet first asks for pre-votes
  (KIP-996); with a majority it bumps the epoch, votes for itself and sends
  VoteRequest. A voter grants at most one vote per epoch (the vote is part of
  the durable hard state) and only to a candidate whose log is at least as up
  to date as its own. The winner tells everyone with BeginQuorumEpoch and
  writes a LeaderChange control record at the start of its epoch.
- **Replication by fetching.** Followers FETCH from the leader. The leader
  checks the follower's ``(fetch_offset, last_fetched_epoch)`` against its own
  log and answers with records, a diverging epoch (the follower truncates),
  or a snapshot id (the follower downloads it with FetchSnapshot). A fetch
  with nothing new to answer is held until there is (long polling), so the
  answer to a node event may come out of a later event.
- **Commit.** The high watermark is the largest offset that a majority of
  voters have fetched past, and only once it covers an entry of the leader's
  own epoch (the LeaderChange record), so entries of older epochs are
  committed only indirectly (Raft paper section 5.4.2).
- **Check-quorum.** A leader not fetched from by a majority within the fetch
  timeout resigns, so a partitioned leader stops pretending.

Role-specific logic lives in :mod:`.candidate`, :mod:`.follower` and
:mod:`.leader`; this module holds what all roles share: the hard state,
epoch fencing, vote granting and the transitions.
"""

from __future__ import annotations

import random

from minikafka.errors import ErrorCode, KafkaError
from minikafka.quorum import messages as m
from minikafka.quorum.candidate import CandidateState
from minikafka.quorum.follower import QuorumFollowerState
from minikafka.quorum.leader import QuorumLeaderState
from minikafka.quorum.log import Entry, RaftLog, Snapshot, SnapshotId
from minikafka.quorum.ready import HardState, Ready
from minikafka.quorum.state import (
    ElectionTimer,
    RaftConfig,
    ResignedState,
    Role,
    UnattachedState,
    check_transition,
)
from minikafka.quorum.storage import PersistedState


class NotLeader(KafkaError):
    """``propose`` on a replica that is not the leader.

    Attributes:
        leader_id: the leader this replica knows of, or None.
    """

    def __init__(self, leader_id: int | None):
        super().__init__(ErrorCode.NOT_LEADER_OR_FOLLOWER, f"leader is {leader_id}")
        self.leader_id = leader_id


class RaftNode:
    """One quorum replica. Owned by one runtime task; not task-safe.

    Args:
        config: the node id, the voters and the timeouts.
        rng: the source of election jitter (seed it for a reproducible run).
        persisted: what the storage loaded at start-up, or None for a new node.
    """

    def __init__(self, config: RaftConfig, rng: random.Random, persisted: PersistedState | None = None):
        persisted = persisted or PersistedState(HardState(), None, ())
        self.config = config
        self.rng = rng
        self.log = RaftLog(persisted.snapshot, persisted.entries)
        self.epoch = persisted.hard_state.epoch
        self.voted_id = persisted.hard_state.voted_id
        self.leader_id = persisted.hard_state.leader_id
        self._persisted_hard_state = persisted.hard_state
        # The high watermark is not persisted (as in KRaft): a restarted node
        # relearns it from the leader and re-applies from its snapshot.
        self.high_watermark = self.log.log_start_offset
        self.next_apply_offset = self.log.log_start_offset
        self._pending_snapshot = persisted.snapshot
        self._load_snapshot = persisted.snapshot is not None
        self._outbox: list[m.Envelope] = []
        self._last_correlation_id = 0
        self._ready: Ready | None = None
        self.role, self.state = self._restart_role()

    def _restart_role(self):
        if self.leader_id == self.config.node_id:
            # Kafka's ResignedState: never lead the same epoch twice.
            return Role.RESIGNED, ResignedState(ElectionTimer(self.config, self.rng))
        if self.leader_id is not None:
            return Role.FOLLOWER, QuorumFollowerState(self)
        return Role.UNATTACHED, UnattachedState(ElectionTimer(self.config, self.rng))

    # --- the public interface -------------------------------------------------

    @property
    def node_id(self) -> int:
        return self.config.node_id

    @property
    def hard_state(self) -> HardState:
        return HardState(self.epoch, self.voted_id, self.leader_id)

    def tick(self) -> None:
        """Advance logical time by one tick."""
        self._check_advanced()
        self.state.on_tick(self)

    def ticks_to_next_timer(self) -> int:
        """How many ``tick()``\\ s from now a timer may expire (at least 1).

        The ticks before that only count down, so a runtime may sleep until
        then and run the ticks it slept through just before the next event:
        the node sees the same sequence of events either way. Any event may
        change the answer.
        """
        return max(1, self.state.ticks_to_next_timer())

    def step(self, envelope: m.Envelope) -> None:
        """Feed one message received from another replica."""
        self._check_advanced()
        if envelope.destination_id != self.node_id:
            raise ValueError(f"message for {envelope.destination_id} stepped into {self.node_id}")
        handler = _HANDLERS[type(envelope.message)]
        handler(self, envelope, envelope.message)

    def propose(self, data: bytes) -> int:
        """Append ``data`` to the log as the leader and return its offset.

        The entry is committed once it shows up in ``ready().committed_entries``;
        if leadership is lost first it may be truncated away.

        Raises:
            NotLeader: this replica is not the leader (``leader_id`` says who is).
        """
        self._check_advanced()
        if self.role is not Role.LEADER:
            raise NotLeader(None if self.leader_id == self.node_id else self.leader_id)
        return self.state.append(self, data)

    def snapshot(self, offset: int, data: bytes) -> SnapshotId:
        """Replace the log below ``offset`` by the application's snapshot ``data``.

        ``offset`` must not pass what the application has applied: the
        snapshot holds the state after applying every entry below it.
        """
        self._check_advanced()
        if not self.log.log_start_offset < offset <= self.next_apply_offset:
            raise ValueError(f"snapshot at {offset}: must be in ({self.log.log_start_offset}, "
                             f"{self.next_apply_offset}] (the applied offset)")
        snapshot = Snapshot(SnapshotId(offset, self.log.epoch_at(offset - 1)), data)
        self.log.compact(snapshot)
        self._pending_snapshot, self._load_snapshot = snapshot, False
        return snapshot.snapshot_id

    def resign(self) -> None:
        """Step down as leader (controlled shutdown): ask for a successor now."""
        self._check_advanced()
        if self.role is Role.LEADER:
            self.state.resign(self)

    def ready(self) -> Ready:
        """What to persist, send and apply now. Call :meth:`advance` after."""
        self._check_advanced()
        hard_state = self.hard_state
        self._ready = Ready(
            hard_state=hard_state if hard_state != self._persisted_hard_state else None,
            truncate_to=self.log.truncated_to,
            snapshot=self._pending_snapshot,
            load_snapshot=self._load_snapshot,
            entries=self.log.unpersisted(),
            messages=tuple(self._outbox),
            committed_entries=self._newly_committed(),
        )
        return self._ready

    def advance(self, ready: Ready) -> None:
        """Acknowledge that ``ready`` has been persisted, sent and applied."""
        if ready is not self._ready:
            raise RuntimeError("advance() takes the Ready the last ready() returned")
        self._ready = None
        if ready.hard_state is not None:
            self._persisted_hard_state = ready.hard_state
        self.log.mark_persisted(self.log.log_end_offset)
        self._outbox.clear()
        self._pending_snapshot, self._load_snapshot = None, False
        if ready.committed_entries:
            self.next_apply_offset = ready.committed_entries[-1].offset + 1

    def _check_advanced(self) -> None:
        # Everything between ready() and advance() is the runtime doing I/O;
        # a node event in between would make the Ready describe a stale state.
        if self._ready is not None:
            raise RuntimeError("call advance(ready) before feeding the node again")

    def _newly_committed(self) -> tuple[Entry, ...]:
        end = min(self.high_watermark, self.log.log_end_offset)
        return tuple(self.log.entry(o) for o in range(self.next_apply_offset, end))

    # --- helpers the roles use ------------------------------------------------

    def send(self, destination_id: int, message: m.Message, correlation_id: int | None = None) -> int:
        """Queue a message; a request gets a fresh correlation id (returned)."""
        if correlation_id is None:
            self._last_correlation_id += 1
            correlation_id = self._last_correlation_id
        self._outbox.append(m.Envelope(self.node_id, destination_id, message, correlation_id))
        return correlation_id

    def other_voters(self) -> list[int]:
        return sorted(v for v in self.config.voters if v != self.node_id)

    def live_leader_id(self) -> int | None:
        """The leader this replica can vouch for: itself as leader, or the
        leader it fetched from within the fetch timeout. A resigned leader, or
        a replica that only remembers a leader, names none, so that a
        prospective is not sent back to a leader that is gone."""
        if self.role is Role.LEADER:
            return self.node_id
        if self.role is Role.FOLLOWER and self.state.has_live_leader():
            return self.leader_id
        return None

    def current_leader(self) -> m.LeaderIdAndEpoch:
        return m.LeaderIdAndEpoch(self.leader_id, self.epoch)

    def install_snapshot(self, snapshot: Snapshot) -> None:
        """A follower replaces its log (below the snapshot) and state with ``snapshot``."""
        self.log.compact(snapshot)
        end = snapshot.snapshot_id.end_offset
        self.high_watermark = max(self.high_watermark, end)
        self.next_apply_offset = max(self.next_apply_offset, end)
        self._pending_snapshot, self._load_snapshot = snapshot, True

    def log_is_up_to_date(self, last_offset_epoch: int, last_offset: int) -> bool:
        """Is a candidate's log at least as up to date as ours (Raft 5.4.1)?"""
        mine = (self.log.last_fetched_epoch, self.log.log_end_offset)
        return (last_offset_epoch, last_offset) >= mine

    # --- transitions ------------------------------------------------------------

    def _become(self, role: Role, state, epoch: int) -> None:
        check_transition(self.role, role, self.epoch, epoch)
        if self.role is Role.LEADER:
            self.state.answer_parked_fetches(self)  # as leader of the old epoch
        if epoch > self.epoch:
            self.epoch, self.voted_id, self.leader_id = epoch, None, None
        self.role, self.state = role, state

    def become_unattached(self, epoch: int, election_ticks: int | None = None) -> None:
        timer = ElectionTimer(self.config, self.rng, election_ticks)
        self._become(Role.UNATTACHED, UnattachedState(timer), epoch)

    def become_follower(self, epoch: int, leader_id: int) -> None:
        self._become(Role.FOLLOWER, None, epoch)
        self.leader_id = leader_id
        self.state = QuorumFollowerState(self)
        self.state.send_fetch(self)

    def become_prospective(self) -> None:
        self._become(Role.PROSPECTIVE, CandidateState(self, pre_vote=True), self.epoch)
        self.state.request_votes(self)

    def become_candidate(self) -> None:
        self._become(Role.CANDIDATE, None, self.epoch + 1)
        self.voted_id = self.node_id
        self.state = CandidateState(self, pre_vote=False)
        self.state.request_votes(self)

    def become_leader(self) -> None:
        self._become(Role.LEADER, None, self.epoch)
        self.leader_id = self.node_id
        self.state = QuorumLeaderState(self)

    def become_resigned(self) -> None:
        self._become(Role.RESIGNED, ResignedState(ElectionTimer(self.config, self.rng)), self.epoch)

    def start_election(self) -> None:
        """The election timer expired: stand, with a pre-vote round first if enabled."""
        if not self.config.is_voter:
            self.become_unattached(self.epoch)  # observers never stand
        elif self.config.pre_vote:
            self.become_prospective()
        else:
            self.become_candidate()

    def observe_epoch(self, epoch: int, leader_id: int | None) -> bool:
        """Adopt a higher epoch (and its leader) learned from a message.

        Returns True if the node moved, so the caller stops handling the
        message in its old role.
        """
        if epoch > self.epoch:
            if leader_id is not None and leader_id != self.node_id:
                self.become_follower(epoch, leader_id)
            else:
                self.become_unattached(epoch)
            return True
        if (epoch == self.epoch and leader_id is not None and self.leader_id is None
                and leader_id != self.node_id):
            # Someone won this epoch while we were still unattached or standing.
            self.become_follower(epoch, leader_id)
            return True
        return False


# --- message handlers shared by every role ---------------------------------------


def _on_vote_request(node: RaftNode, env: m.Envelope, req: m.VoteRequest) -> None:
    granted = False
    if req.pre_vote:
        granted = _would_vote(node, req)
    elif req.candidate_epoch >= node.epoch:
        if req.candidate_epoch > node.epoch:
            node.become_unattached(req.candidate_epoch)
        granted = (node.voted_id in (None, req.candidate_id) and node.leader_id is None
                   and node.log_is_up_to_date(req.last_offset_epoch, req.last_offset))
        if granted:
            # The vote is persisted (hard state) before the response is sent.
            node.voted_id = req.candidate_id
            if node.role is not Role.UNATTACHED:
                node.become_unattached(node.epoch)
            else:
                node.state.timer = ElectionTimer(node.config, node.rng)
    error = ErrorCode.FENCED_LEADER_EPOCH if req.candidate_epoch < node.epoch else ErrorCode.NONE
    response = m.VoteResponse(error, node.live_leader_id(), node.epoch, granted, req.pre_vote)
    node.send(env.source_id, response, env.correlation_id)


def _would_vote(node: RaftNode, req: m.VoteRequest) -> bool:
    """KIP-996: grant a pre-vote only if we would vote and have no live leader."""
    if req.candidate_epoch <= node.epoch:
        return False  # the prospective is behind: our response tells it the epoch
    if node.role is Role.LEADER:
        return False
    if node.role is Role.FOLLOWER and node.state.has_live_leader():
        return False
    return node.log_is_up_to_date(req.last_offset_epoch, req.last_offset)


def _on_vote_response(node: RaftNode, env: m.Envelope, resp: m.VoteResponse) -> None:
    if node.observe_epoch(resp.leader_epoch, resp.leader_id):
        return
    if node.role in (Role.PROSPECTIVE, Role.CANDIDATE):
        node.state.on_vote_response(node, env, resp)


def _on_begin_quorum_epoch(node: RaftNode, env: m.Envelope, req: m.BeginQuorumEpochRequest) -> None:
    if req.leader_epoch >= node.epoch and not node.observe_epoch(req.leader_epoch, req.leader_id):
        if node.role is Role.FOLLOWER and node.leader_id == req.leader_id:
            node.state.on_leader_contact(node)
        elif node.role is Role.PROSPECTIVE and node.leader_id == req.leader_id:
            # It was only our fetches that failed; the leader is alive.
            node.become_follower(node.epoch, req.leader_id)
    error = ErrorCode.FENCED_LEADER_EPOCH if req.leader_epoch < node.epoch else ErrorCode.NONE
    response = m.BeginQuorumEpochResponse(error, node.leader_id, node.epoch)
    node.send(env.source_id, response, env.correlation_id)


def _on_end_quorum_epoch(node: RaftNode, env: m.Envelope, req: m.EndQuorumEpochRequest) -> None:
    if req.leader_epoch >= node.epoch:
        node.observe_epoch(req.leader_epoch, req.leader_id)
        if node.role is Role.FOLLOWER and node.leader_id == req.leader_id:
            # Stand soon, the most up-to-date successors first.
            successors = list(req.preferred_successors)
            rank = successors.index(node.node_id) if node.node_id in successors else len(successors)
            node.become_unattached(node.epoch, election_ticks=1 + 2 * rank + node.rng.randrange(2))
    error = ErrorCode.FENCED_LEADER_EPOCH if req.leader_epoch < node.epoch else ErrorCode.NONE
    response = m.EndQuorumEpochResponse(error, node.leader_id, node.epoch)
    node.send(env.source_id, response, env.correlation_id)


def _on_quorum_epoch_response(node: RaftNode, env: m.Envelope, resp) -> None:
    node.observe_epoch(resp.leader_epoch, resp.leader_id)


def _on_fetch_request(node: RaftNode, env: m.Envelope, req: m.FetchRequest) -> None:
    if node.role is Role.LEADER and req.current_leader_epoch == node.epoch:
        node.state.on_fetch(node, env, req)
        return
    if req.current_leader_epoch < node.epoch:
        error = ErrorCode.FENCED_LEADER_EPOCH
    elif req.current_leader_epoch > node.epoch:
        error = ErrorCode.UNKNOWN_LEADER_EPOCH
    else:
        error = ErrorCode.NOT_LEADER_OR_FOLLOWER
    node.send(env.source_id, m.FetchResponse(error, node.current_leader()), env.correlation_id)


def _on_fetch_snapshot_request(node: RaftNode, env: m.Envelope, req: m.FetchSnapshotRequest) -> None:
    if node.role is Role.LEADER and req.current_leader_epoch == node.epoch:
        node.state.on_fetch_snapshot(node, env, req)
        return
    error = (ErrorCode.FENCED_LEADER_EPOCH if req.current_leader_epoch < node.epoch
             else ErrorCode.NOT_LEADER_OR_FOLLOWER)
    node.send(env.source_id, m.FetchSnapshotResponse(error, node.current_leader()), env.correlation_id)


def _on_fetch_response(node: RaftNode, env: m.Envelope, resp) -> None:
    leader = resp.current_leader
    if node.observe_epoch(leader.leader_epoch, leader.leader_id):
        return
    if node.role is Role.FOLLOWER and leader.leader_epoch == node.epoch:
        node.state.on_response(node, env, resp)


_HANDLERS = {
    m.VoteRequest: _on_vote_request,
    m.VoteResponse: _on_vote_response,
    m.BeginQuorumEpochRequest: _on_begin_quorum_epoch,
    m.BeginQuorumEpochResponse: _on_quorum_epoch_response,
    m.EndQuorumEpochRequest: _on_end_quorum_epoch,
    m.EndQuorumEpochResponse: _on_quorum_epoch_response,
    m.FetchRequest: _on_fetch_request,
    m.FetchResponse: _on_fetch_response,
    m.FetchSnapshotRequest: _on_fetch_snapshot_request,
    m.FetchSnapshotResponse: _on_fetch_response,
}

"""The LEADER role: answer fetches, advance the high watermark, check the quorum.

On election the leader writes a LeaderChange control record (Kafka does the
same) at ``epoch_start_offset`` and tells every voter with BeginQuorumEpoch,
repeated every election timeout to voters that have not fetched yet.

**Fetch validation.** A follower at ``(fetch_offset, last_fetched_epoch)``
claims that its log ends at ``fetch_offset`` with an entry of
``last_fetched_epoch``. The leader looks up that epoch in its own log
(:meth:`RaftLog.end_offset_for_epoch`):

- same epoch known and ``fetch_offset <= its end``: the logs match below
  ``fetch_offset`` (log matching: same offset and epoch means same history),
  so send records from ``fetch_offset``;
- otherwise answer ``diverging_epoch = (largest epoch <= last_fetched_epoch,
  its end offset)``, and the follower truncates;
- ``fetch_offset`` below the log start offset, or an epoch lost in the
  snapshot: answer ``snapshot_id``, and the follower downloads it.

**High watermark.** After a valid fetch the follower's ``fetch_offset`` is
its log end offset. The high watermark is the largest offset that a
majority of voters (the leader included) have reached, provided it lies past
``epoch_start_offset``: a leader commits entries of older epochs only by
committing one of its own (Raft paper 5.4.2). It never moves backwards.

**Long polling.** A valid Fetch that would come back empty (the follower
has every record and already knows the high watermark) is *parked*, as
Kafka's leader does, for the ``max_wait_ms`` the follower allows (in ticks).
It is answered, as things then stand, as soon as a record is appended or the
high watermark moves, when its wait runs out, when the same replica fetches
again, or when this replica stops leading: every parked fetch gets exactly
one answer.

**Check-quorum.** Every ``fetch_timeout_ticks`` the leader counts the voters
that fetched since the last check; without a majority it resigns and sends
EndQuorumEpoch. A leader cut off from the majority thus stops accepting
proposals instead of leading a quorum that has moved on.
"""

from __future__ import annotations

import dataclasses
import math

from minikafka.errors import ErrorCode
from minikafka.quorum import messages as m
from minikafka.quorum.log import Entry
from minikafka.quorum.state import RaftNodeView

@dataclasses.dataclass
class QuorumReplicaState:
    """What the leader knows of one follower (or observer)."""

    log_end_offset: int = -1  # its fetch offset after the last valid fetch
    fetched_recently: bool = False  # fetched since the last check-quorum
    high_watermark_sent: int = -1  # in our last answer to it


@dataclasses.dataclass
class ParkedFetch:
    """A follower's Fetch the leader holds until there is news (long polling)."""

    envelope: m.Envelope
    ticks_left: int


class QuorumLeaderState:
    """The leader's view of its followers. Owned by the RaftNode."""

    def __init__(self, node: RaftNodeView):
        config = node.config
        self.epoch_start_offset = node.log.log_end_offset
        self.replicas = {voter_id: QuorumReplicaState() for voter_id in node.other_voters()}
        self.check_quorum_ticks_left = config.fetch_timeout_ticks
        self.begin_epoch_ticks_left = config.election_timeout_ticks
        self.parked: dict[int, ParkedFetch] = {}  # replica id -> its held Fetch
        # Kafka's LeaderChangeMessage control record opens every epoch.
        node.log.append(Entry(self.epoch_start_offset, node.epoch, b"", is_control=True))
        self._send_begin_quorum_epoch(node)
        self._update_high_watermark(node)

    # --- proposals ---------------------------------------------------------------

    def append(self, node: RaftNodeView, data: bytes) -> int:
        offset = node.log.log_end_offset
        node.log.append(Entry(offset, node.epoch, bytes(data)))
        self._update_high_watermark(node)  # a one-voter quorum commits at once
        self.answer_parked_fetches(node)  # the followers may fetch it now
        return offset

    # --- time ---------------------------------------------------------------------

    def on_tick(self, node: RaftNodeView) -> None:
        for replica_id, parked in list(self.parked.items()):
            parked.ticks_left -= 1
            if parked.ticks_left <= 0:
                del self.parked[replica_id]
                self._answer_fetch(node, parked.envelope)
        self.check_quorum_ticks_left -= 1
        if self.check_quorum_ticks_left <= 0:
            if not self._quorum_is_alive(node):
                self.resign(node)
                return
            self.check_quorum_ticks_left = node.config.fetch_timeout_ticks
        self.begin_epoch_ticks_left -= 1
        if self.begin_epoch_ticks_left <= 0:
            self._send_begin_quorum_epoch(node)
            self.begin_epoch_ticks_left = node.config.election_timeout_ticks

    def ticks_to_next_timer(self) -> int:
        parked = (held.ticks_left for held in self.parked.values())
        return min(self.check_quorum_ticks_left, self.begin_epoch_ticks_left, *parked)

    def _quorum_is_alive(self, node: RaftNodeView) -> bool:
        voters = node.config.voters
        alive = 1 + sum(1 for replica_id, replica in self.replicas.items()
                        if replica_id in voters and replica.fetched_recently)
        for replica in self.replicas.values():
            replica.fetched_recently = False
        return alive >= node.config.majority

    def _send_begin_quorum_epoch(self, node: RaftNodeView) -> None:
        request = m.BeginQuorumEpochRequest(leader_id=node.node_id, leader_epoch=node.epoch)
        for voter_id in node.other_voters():
            if self.replicas[voter_id].log_end_offset < 0:  # has not fetched from us yet
                node.send(voter_id, request)

    def resign(self, node: RaftNodeView) -> None:
        """Give up leadership of this epoch and ask the others to elect a successor."""
        by_progress = sorted(node.other_voters(), key=lambda v: -self.replicas[v].log_end_offset)
        request = m.EndQuorumEpochRequest(node.node_id, node.epoch, tuple(by_progress))
        for voter_id in by_progress:
            node.send(voter_id, request)
        node.become_resigned()

    # --- fetch ----------------------------------------------------------------------

    def on_fetch(self, node: RaftNodeView, env: m.Envelope, req: m.FetchRequest) -> None:
        replica = self.replicas.setdefault(env.source_id, QuorumReplicaState())
        replica.fetched_recently = True
        earlier = self.parked.pop(env.source_id, None)
        if earlier is not None:  # it gave up on that one (timed out): answer it anyway
            self._answer_fetch(node, earlier.envelope)
        if self._validate_fetch(node, req) is None:
            replica.log_end_offset = req.fetch_offset
            self._update_high_watermark(node)
            if (req.max_wait_ms > 0 and req.fetch_offset >= node.log.log_end_offset
                    and node.high_watermark <= replica.high_watermark_sent):
                ticks = math.ceil(req.max_wait_ms / node.config.tick_ms)
                self.parked[env.source_id] = ParkedFetch(env, ticks)
                return
        self._answer_fetch(node, env)

    def _answer_fetch(self, node: RaftNodeView, env: m.Envelope) -> None:
        """Answer a Fetch with what the log holds now."""
        req = env.message
        response = self._validate_fetch(node, req)
        if response is None:
            response = m.FetchResponse(
                ErrorCode.NONE,
                node.current_leader(),
                high_watermark=node.high_watermark,
                log_start_offset=node.log.log_start_offset,
                records=node.log.read(req.fetch_offset, req.max_bytes),
            )
            self.replicas[env.source_id].high_watermark_sent = node.high_watermark
        node.send(env.source_id, response, env.correlation_id)

    def answer_parked_fetches(self, node: RaftNodeView) -> None:
        """Something changed (or leadership ends): answer every held Fetch now."""
        parked, self.parked = self.parked, {}
        for held in parked.values():
            self._answer_fetch(node, held.envelope)

    def _validate_fetch(self, node: RaftNodeView, req: m.FetchRequest) -> m.FetchResponse | None:
        """None if the follower's log matches ours at ``fetch_offset``, else the answer."""
        log = node.log
        found = log.end_offset_for_epoch(req.last_fetched_epoch)
        if req.fetch_offset < log.log_start_offset or found.epoch < 0:
            return self._answer(node, snapshot_id=log.snapshot_id)
        if found.epoch == req.last_fetched_epoch and req.fetch_offset <= found.end_offset:
            return None
        return self._answer(node, diverging_epoch=m.QuorumEpochEndOffset(found.epoch, found.end_offset))

    @staticmethod
    def _answer(node: RaftNodeView, **fields) -> m.FetchResponse:
        return m.FetchResponse(ErrorCode.NONE, node.current_leader(),
                               high_watermark=node.high_watermark,
                               log_start_offset=node.log.log_start_offset, **fields)

    def _update_high_watermark(self, node: RaftNodeView) -> None:
        voters = node.config.voters
        offsets = [node.log.log_end_offset]
        offsets += [r.log_end_offset for v, r in self.replicas.items() if v in voters]
        offsets.sort(reverse=True)
        reached_by_majority = offsets[node.config.majority - 1]
        if reached_by_majority > max(node.high_watermark, self.epoch_start_offset):
            node.high_watermark = reached_by_majority
            self.answer_parked_fetches(node)  # the followers learn of the commit at once

    # --- fetch snapshot ------------------------------------------------------------

    def on_fetch_snapshot(self, node: RaftNodeView, env: m.Envelope, req: m.FetchSnapshotRequest) -> None:
        self.replicas.setdefault(env.source_id, QuorumReplicaState()).fetched_recently = True
        snapshot = node.log.snapshot
        if snapshot is None or req.snapshot_id != snapshot.snapshot_id:
            response = m.FetchSnapshotResponse(ErrorCode.SNAPSHOT_NOT_FOUND, node.current_leader())
        elif not 0 <= req.position <= len(snapshot.data):
            response = m.FetchSnapshotResponse(ErrorCode.POSITION_OUT_OF_RANGE, node.current_leader())
        else:
            chunk_bytes = min(req.max_bytes, node.config.snapshot_chunk_bytes)
            response = m.FetchSnapshotResponse(
                ErrorCode.NONE,
                node.current_leader(),
                snapshot_id=snapshot.snapshot_id,
                size=len(snapshot.data),
                position=req.position,
                unaligned_records=snapshot.data[req.position:req.position + chunk_bytes],
            )
        node.send(env.source_id, response, env.correlation_id)

"""Standing for election: the PROSPECTIVE (pre-vote) and CANDIDATE roles.

Both roles do the same thing: send a VoteRequest to every other voter, count
the answers, and move on when a majority (this replica included) said yes.

- A **prospective** (KIP-996) keeps its epoch and changes nobody's state: it
  asks "would you vote for me in ``epoch + 1``?". Voters that still hear from
  a live leader say no. With a majority of yeses it becomes a candidate; if a
  voter names a live leader of the current epoch, it goes back to following
  it. This is what keeps a replica that was cut off (and whose timers kept
  firing) from forcing a needless election when it comes back.
- A **candidate** has already bumped the epoch and voted for itself (durably,
  before any request leaves). With a majority it becomes leader.

If the election timer expires first, the replica stands again (a new
pre-vote round, or a new epoch for a candidate); the randomized timeouts make
split votes die out.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode
from minikafka.quorum import messages as m
from minikafka.quorum.state import ElectionTimer, RaftNodeView

class CandidateState:
    """The votes of one election round. Owned by the RaftNode."""

    def __init__(self, node: RaftNodeView, pre_vote: bool):
        self.pre_vote = pre_vote
        self.timer = ElectionTimer(node.config, node.rng)
        self.granted: set[int] = {node.node_id}
        self.rejected: set[int] = set()

    def request_votes(self, node: RaftNodeView) -> None:
        """Ask every other voter; a one-voter quorum wins at once."""
        request = m.VoteRequest(
            candidate_epoch=node.epoch + 1 if self.pre_vote else node.epoch,
            candidate_id=node.node_id,
            last_offset_epoch=node.log.last_fetched_epoch,
            last_offset=node.log.log_end_offset,
            pre_vote=self.pre_vote,
        )
        for voter_id in node.other_voters():
            node.send(voter_id, request)
        self._maybe_won(node)

    def on_tick(self, node: RaftNodeView) -> None:
        if self.timer.tick():
            if self.pre_vote:
                node.become_prospective()
            else:
                node.become_candidate()

    def ticks_to_next_timer(self) -> int:
        return self.timer.ticks_left

    def on_vote_response(self, node: RaftNodeView, env: m.Envelope, resp: m.VoteResponse) -> None:
        """Count one answer (epoch changes were handled by the caller)."""
        if resp.pre_vote != self.pre_vote or env.source_id not in node.config.voters:
            return  # an answer to an earlier round of the other kind
        # A pre-vote may come from a voter still in an older epoch; a real
        # vote is only good if the voter moved to our epoch.
        stale = resp.leader_epoch < node.epoch and not self.pre_vote
        if resp.error_code is not ErrorCode.NONE or stale:
            return
        if resp.vote_granted:
            self.granted.add(env.source_id)
            self._maybe_won(node)
            return
        self.rejected.add(env.source_id)
        if (self.pre_vote and resp.leader_epoch == node.epoch
                and resp.leader_id is not None and resp.leader_id == node.leader_id):
            # The voter still follows our old leader: it is alive, follow it.
            node.become_follower(node.epoch, resp.leader_id)

    def _maybe_won(self, node: RaftNodeView) -> None:
        if len(self.granted & node.config.voters) < node.config.majority:
            return
        if self.pre_vote:
            node.become_candidate()
        else:
            node.become_leader()

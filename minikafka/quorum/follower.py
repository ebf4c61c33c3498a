"""The FOLLOWER role: fetch from the leader, truncate, download snapshots.

A follower keeps exactly one request in flight to its leader: a Fetch, or a
FetchSnapshot while it downloads a snapshot. It sends the next one

- at once after every answer: a Fetch is a long poll (``max_wait_ms``), so
  an up-to-date follower's Fetch waits at the leader until there is news or
  ``fetch_max_wait_ticks`` pass, as in Kafka; an idle quorum thus exchanges a
  few fetches a second;
- one tick after an error answer (a short backoff);
- after ``request_timeout_ticks`` without an answer, counted from the end of
  the leader's wait (the request or the answer was lost).

Answers are matched by correlation id, so a late answer to an abandoned
request is ignored; every valid answer resets the fetch timeout. When the
fetch timeout expires the leader is presumed dead and the follower stands
for election.

On a ``diverging_epoch`` the follower truncates to where its log and the
leader's agree (the smaller of the two end offsets of that epoch) and fetches
again; a few rounds walk back over several divergent epochs. It never
truncates below its high watermark: committed entries are on every future
leader (the Leader Completeness property), so that would be a bug.
"""

from __future__ import annotations

import dataclasses

from minikafka.errors import ErrorCode
from minikafka.quorum import messages as m
from minikafka.quorum.log import Snapshot, SnapshotId
from minikafka.quorum.state import RaftNodeView

@dataclasses.dataclass
class SnapshotDownload:
    """The part of the leader's snapshot received so far."""

    snapshot_id: SnapshotId
    data: bytearray = dataclasses.field(default_factory=bytearray)


class QuorumFollowerState:
    """A follower's fetch loop state. Owned by the RaftNode."""

    def __init__(self, node: RaftNodeView):
        self.fetch_timeout_left = node.config.fetch_timeout_ticks
        self.heard_from_leader = False
        self.in_flight: int | None = None  # correlation id of the open request
        self.ticks_since_sent = 0
        self.answer_due_ticks = 0  # resend the open request after this many ticks
        self.idle_ticks_left = 0
        self.download: SnapshotDownload | None = None

    def has_live_leader(self) -> bool:
        """Heard from the leader within the fetch timeout (KIP-996 pre-vote check).

        Merely *believing* in a leader is not enough: a replica that has just
        restarted, or gone back to a leader someone named, must not block an
        election on behalf of a leader that may be gone.
        """
        return self.heard_from_leader and self.fetch_timeout_left > 0

    def on_leader_contact(self, node: RaftNodeView) -> None:
        self.heard_from_leader = True
        self.fetch_timeout_left = node.config.fetch_timeout_ticks

    def on_tick(self, node: RaftNodeView) -> None:
        self.fetch_timeout_left -= 1
        if self.fetch_timeout_left <= 0:
            if node.config.is_voter:
                node.start_election()
                return
            self.on_leader_contact(node)  # an observer has no say: keep fetching
        if self.in_flight is not None:
            self.ticks_since_sent += 1
            if self.ticks_since_sent >= self.answer_due_ticks:
                self.send_fetch(node)
        else:
            self.idle_ticks_left -= 1
            if self.idle_ticks_left <= 0:
                self.send_fetch(node)

    def ticks_to_next_timer(self) -> int:
        if self.in_flight is not None:
            request_due = self.answer_due_ticks - self.ticks_since_sent
        else:
            request_due = self.idle_ticks_left
        return min(self.fetch_timeout_left, request_due)

    def send_fetch(self, node: RaftNodeView) -> None:
        """Send the next Fetch, or FetchSnapshot while downloading a snapshot."""
        config = node.config
        wait_ticks = 0
        if self.download is not None:
            request = m.FetchSnapshotRequest(
                replica_id=node.node_id,
                current_leader_epoch=node.epoch,
                snapshot_id=self.download.snapshot_id,
                position=len(self.download.data),
                max_bytes=config.snapshot_chunk_bytes,
            )
        else:
            request = m.FetchRequest(
                replica_id=node.node_id,
                current_leader_epoch=node.epoch,
                fetch_offset=node.log.log_end_offset,
                last_fetched_epoch=node.log.last_fetched_epoch,
                log_start_offset=node.log.log_start_offset,
                max_bytes=config.fetch_max_bytes,
                max_wait_ms=config.fetch_max_wait_ticks * config.tick_ms,
            )
            wait_ticks = config.fetch_max_wait_ticks
        self.in_flight = node.send(node.leader_id, request)
        self.ticks_since_sent = 0
        self.answer_due_ticks = wait_ticks + config.request_timeout_ticks

    def on_response(self, node: RaftNodeView, env: m.Envelope, resp) -> None:
        """Handle a Fetch or FetchSnapshot response from the current epoch."""
        if env.correlation_id != self.in_flight or env.source_id != node.leader_id:
            return
        self.in_flight = None
        if resp.error_code is ErrorCode.NOT_LEADER_OR_FOLLOWER:
            # Our leader no longer leads this epoch (it resigned or restarted).
            node.become_unattached(node.epoch)
            return
        if resp.error_code is not ErrorCode.NONE:
            if isinstance(resp, m.FetchSnapshotResponse):
                self.download = None  # the snapshot is gone: fetch to learn the new one
            self.idle_ticks_left = 1  # back off until the next tick
            return
        self.on_leader_contact(node)
        if isinstance(resp, m.FetchSnapshotResponse):
            self._on_snapshot_chunk(node, resp)
        else:
            self._on_fetch(node, resp)

    def _on_fetch(self, node: RaftNodeView, resp: m.FetchResponse) -> None:
        if resp.diverging_epoch is not None:
            self._truncate(node, resp.diverging_epoch)
        elif resp.snapshot_id is not None:
            self.download = SnapshotDownload(resp.snapshot_id)
        else:
            self._append(node, resp)
        self.send_fetch(node)  # an empty answer already waited at the leader

    def _append(self, node: RaftNodeView, resp: m.FetchResponse) -> None:
        log = node.log
        if resp.records and resp.records[0].offset == log.log_end_offset:
            for entry in resp.records:
                log.append(entry)
        # The leader vouched for our whole log (it matched at fetch_offset),
        # so everything up to our log end offset below its high watermark is
        # committed.
        node.high_watermark = max(node.high_watermark, min(resp.high_watermark, log.log_end_offset))

    def _truncate(self, node: RaftNodeView, diverging: m.QuorumEpochEndOffset) -> None:
        local = node.log.end_offset_for_epoch(diverging.epoch)
        offset = diverging.end_offset if local.epoch < 0 else min(local.end_offset, diverging.end_offset)
        offset = max(offset, node.log.log_start_offset)
        if offset < node.high_watermark:
            raise AssertionError(f"node {node.node_id} would truncate committed entries: "
                                 f"{offset} < high watermark {node.high_watermark}")
        node.log.truncate_to(offset)

    def _on_snapshot_chunk(self, node: RaftNodeView, resp: m.FetchSnapshotResponse) -> None:
        download = self.download
        if download is None or resp.snapshot_id != download.snapshot_id or resp.position != len(download.data):
            self.download = None  # out of step: start over from a fresh Fetch
        else:
            download.data += resp.unaligned_records
            if len(download.data) >= resp.size:
                node.install_snapshot(Snapshot(download.snapshot_id, bytes(download.data)))
                self.download = None
        self.send_fetch(node)

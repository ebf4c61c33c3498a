"""Helpers for the group coordinator scenario tests (not a test module).

``Scenario`` drives a ``GroupCoordinator`` with explicit ``now_ms``, builds
requests through the real codec (so field names are checked against the
declarations) and collects parked responses by ticket.
"""

from __future__ import annotations

import itertools

from minikafka.coordinator.classic.coordinator import GroupCoordinator
from minikafka.coordinator.classic.group import GroupState
from minikafka.coordinator.classic.config import GroupConfig
from minikafka.errors import ErrorCode
from minikafka.protocol.messages.groups import (
    HEARTBEAT_REQUEST,
    JOIN_GROUP_REQUEST,
    LEAVE_GROUP_REQUEST,
    SYNC_GROUP_REQUEST,
)
from minikafka.protocol.messages.offsets import OFFSET_COMMIT_REQUEST

GROUP = "g"


def request(message, version, **fields):
    """A decoded request, as a handler would see it."""
    return message.decode(message.encode(fields, version), version)


def subscription(*topics: str) -> bytes:
    """A ConsumerProtocolSubscription v0 with ``topics``."""
    out = b"\x00\x00" + len(topics).to_bytes(4, "big")
    for topic in topics:
        out += len(topic).to_bytes(2, "big") + topic.encode()
    return out + b"\xff\xff\xff\xff"  # user_data: null


class Scenario:
    """A coordinator, a clock and the responses it has given."""

    def __init__(self, **config):
        defaults = dict(group_initial_rebalance_delay_ms=3000)
        defaults.update(config)
        counter = itertools.count(1)
        self.coordinator = GroupCoordinator(GroupConfig(**defaults), new_uuid=lambda: f"u{next(counter)}")
        self.now_ms = 0
        self.records = []
        self.delivered = {}  # ticket -> response

    def _take(self, result):
        self.records += result.records
        for ticket, response in result.deliveries:
            self.delivered[ticket] = response
        return result

    def advance(self, ms: int):
        """Move the clock, firing timers at their deadlines as a runtime would."""
        target_ms = self.now_ms + ms
        while True:
            deadline_ms = self.coordinator.next_deadline_ms()
            if deadline_ms is None or deadline_ms > target_ms:
                break
            self.now_ms = max(self.now_ms, deadline_ms)
            self._take(self.coordinator.poll_timers(self.now_ms))
        self.now_ms = target_ms
        return self._take(self.coordinator.poll_timers(self.now_ms))

    def join(self, member_id="", *, instance_id=None, protocols=(("range", b"m"),), version=9,
             session_timeout_ms=10000, rebalance_timeout_ms=30000, client_id="c", group=GROUP):
        req = request(JOIN_GROUP_REQUEST, version, group_id=group, session_timeout_ms=session_timeout_ms,
                      rebalance_timeout_ms=rebalance_timeout_ms, member_id=member_id,
                      group_instance_id=instance_id, protocol_type="consumer",
                      protocols=[{"name": n, "metadata": m} for n, m in protocols])
        return self._take(self.coordinator.join_group(req, self.now_ms, version=version,
                                                      client_id=client_id, client_host="/127.0.0.1"))

    def join_dynamic(self, **kwargs):
        """KIP-394: first join gets MEMBER_ID_REQUIRED, the second one parks (or completes)."""
        first = self.join(**kwargs).response
        assert first["error_code"] == 79, first
        return first["member_id"], self.join(first["member_id"], **kwargs)

    def sync(self, member_id, generation_id, assignments=(), *, instance_id=None, version=5):
        req = request(SYNC_GROUP_REQUEST, version, group_id=GROUP, generation_id=generation_id,
                      member_id=member_id, group_instance_id=instance_id, protocol_type="consumer",
                      protocol_name="range",
                      assignments=[{"member_id": m, "assignment": a} for m, a in assignments])
        return self._take(self.coordinator.sync_group(req, self.now_ms, version=version))

    def heartbeat(self, member_id, generation_id, *, instance_id=None):
        req = request(HEARTBEAT_REQUEST, 4, group_id=GROUP, generation_id=generation_id,
                      member_id=member_id, group_instance_id=instance_id)
        return self._take(self.coordinator.heartbeat(req, self.now_ms)).response["error_code"]

    def leave(self, *members, version=5):
        if version >= 3:
            req = request(LEAVE_GROUP_REQUEST, version, group_id=GROUP,
                          members=[{"member_id": m, "group_instance_id": i} for m, i in members])
        else:
            req = request(LEAVE_GROUP_REQUEST, version, group_id=GROUP, member_id=members[0][0])
        return self._take(self.coordinator.leave_group(req, self.now_ms, version=version)).response

    def commit(self, member_id, generation_id, offsets, *, version=9, group=GROUP, retention_time_ms=-1):
        topics = {}
        for (topic, partition), offset in offsets.items():
            topics.setdefault(topic, []).append(
                {"partition_index": partition, "committed_offset": offset, "committed_metadata": "md"})
        req = request(OFFSET_COMMIT_REQUEST, version, group_id=group,
                      generation_id_or_member_epoch=generation_id, member_id=member_id,
                      retention_time_ms=retention_time_ms,
                      topics=[{"name": t, "partitions": p} for t, p in topics.items()])
        result = self._take(self.coordinator.commit_offsets(req, self.now_ms, version=version))
        return {(t["name"], p["partition_index"]): p["error_code"]
                for t in result.response["topics"] for p in t["partitions"]}

    def committed(self, topic, partition, group=GROUP):
        fetched = self.coordinator.fetch_offsets(group, [(topic, [partition])])
        return fetched["topics"][0]["partitions"][0]["committed_offset"]

    @property
    def group(self):
        return self.coordinator.groups[GROUP]


def stable_group(s: Scenario, n: int, **join_kwargs):
    """n dynamic members, joined and synced; returns (member ids, generation)."""
    tickets = {}
    for _ in range(n):
        member_id, result = s.join_dynamic(**join_kwargs)
        tickets[member_id] = result
    while any(r.ticket not in s.delivered for r in tickets.values()):
        s.advance(1000)  # group.initial.rebalance.delay.ms
    responses = {m: s.delivered[r.ticket] for m, r in tickets.items()}
    generation = next(iter(responses.values()))["generation_id"]
    leader = next(iter(responses.values()))["leader"]
    followers = [m for m in responses if m != leader]
    sync_tickets = [s.sync(m, generation).ticket for m in followers]
    s.sync(leader, generation, [(m, f"assign-{m}".encode()) for m in responses])
    for ticket in sync_tickets:
        assert s.delivered[ticket]["error_code"] == ErrorCode.NONE
    assert s.group.state is GroupState.STABLE
    return list(responses), generation

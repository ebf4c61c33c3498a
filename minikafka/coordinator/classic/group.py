"""The classic consumer group: its members, its state machine, protocol selection.

A *classic group* (Kafka's ``ClassicGroup``, the pre-KIP-848 protocol) moves
through five states:

    EMPTY --join--> PREPARING_REBALANCE --all joined / rebalance timeout-->
    COMPLETING_REBALANCE --leader's SyncGroup--> STABLE

and back to PREPARING_REBALANCE whenever membership or subscriptions change.
DEAD is terminal: the group was deleted (or its last offset expired) and its
id may be reused by a brand-new group. ``_VALID_PREVIOUS_STATES`` is Kafka's
table; ``Group.transition_to`` refuses anything else, so a bug shows up as an
exception instead of a silently corrupt group.

A *generation* is one round of the protocol: each completed join bumps
``generation_id``; requests that carry an older generation are fenced with
ILLEGAL_GENERATION. The first member to join becomes the *leader*: it alone
receives every member's subscription and computes the assignment (the
assignors run in the clients, not here).

*Protocol selection*: every member lists the protocols (assignors) it
supports, in order of preference. Candidates are the protocols all members
support; each member votes for its most preferred candidate and the most
votes wins (ties go to the alphabetically first name, where Kafka's choice
depends on hash order).

*Static members* (KIP-345) carry a ``group_instance_id``; ``static_members``
maps it to the current member id, so a restarted instance can take its old
place (and assignment) under a new member id.

This module is pure data and rules; ``coordinator.py`` drives it. A
Group is owned by one GroupCoordinator and is not task-safe.
"""

from __future__ import annotations

import collections
import dataclasses
import enum

from minikafka.coordinator.records import subscribed_topics


class GroupState(enum.Enum):
    """A classic group's state; the value is Kafka's display name (ListGroups)."""

    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"


_VALID_PREVIOUS_STATES = {
    GroupState.PREPARING_REBALANCE: {GroupState.STABLE, GroupState.COMPLETING_REBALANCE,
                                     GroupState.EMPTY},
    GroupState.COMPLETING_REBALANCE: {GroupState.PREPARING_REBALANCE},
    GroupState.STABLE: {GroupState.COMPLETING_REBALANCE},
    GroupState.EMPTY: {GroupState.PREPARING_REBALANCE},
    GroupState.DEAD: set(GroupState),
}
"""state -> the states it may be entered from (Kafka's ClassicGroupState)."""


@dataclasses.dataclass
class OffsetAndMetadata:
    """One committed offset of one partition, as stored in OffsetCommitValue."""

    committed_offset: int
    leader_epoch: int  # -1 if the client did not say
    metadata: str
    commit_timestamp_ms: int
    expire_timestamp_ms: int = -1  # only set by OffsetCommit v2-v4 retention_time_ms
    # Where its record came in the replay order (Kafka keeps the record's log
    # offset): a transaction's offsets replace a committed one only if written
    # after it. Not part of the value, so not compared.
    record_order: int = dataclasses.field(default=-1, compare=False)


@dataclasses.dataclass
class Member:
    """One member of a classic group.

    ``awaiting_join`` / ``awaiting_sync`` hold the ticket of a parked JoinGroup
    or SyncGroup (see ``coordinator.py``), or None.
    """

    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout_ms: int
    session_timeout_ms: int
    protocol_type: str
    protocols: list[tuple[str, bytes]]  # (name, metadata), most preferred first
    assignment: bytes = b""
    awaiting_join: int | None = None
    awaiting_sync: int | None = None
    is_new: bool = False  # joined but never completed a join (new-member timeout)
    heartbeat_deadline_ms: int | None = None

    def metadata_for(self, protocol: str) -> bytes:
        """The member's metadata for ``protocol`` (which it must support)."""
        for name, metadata in self.protocols:
            if name == protocol:
                return metadata
        raise KeyError(protocol)

    def matches(self, protocols: list[tuple[str, bytes]]) -> bool:
        """True if ``protocols`` are exactly this member's (same order, same bytes)."""
        return [(n, bytes(m)) for n, m in protocols] == [(n, bytes(m)) for n, m in self.protocols]

    def vote(self, candidates: set[str]) -> str:
        """The member's most preferred protocol among ``candidates``."""
        return next(name for name, _ in self.protocols if name in candidates)


class Group:
    """One classic group's membership, generation and committed offsets.

    Owned by one GroupCoordinator; not task-safe.
    """

    def __init__(self, group_id: str, now_ms: int | None):
        self.group_id = group_id
        self.state = GroupState.EMPTY
        self.previous_state = GroupState.EMPTY
        self.state_timestamp_ms = now_ms  # None until known (a group loaded from offsets only)
        self.generation_id = 0
        self.protocol_type: str | None = None
        self.protocol_name: str | None = None
        self.leader_id: str | None = None
        self.members: dict[str, Member] = {}
        self.static_members: dict[str, str] = {}  # group_instance_id -> member_id
        self.pending_members: dict[str, int] = {}  # KIP-394 member id -> expiry ms
        self.pending_sync: set[str] = set()  # members expected to SyncGroup this generation
        self.join_deadline_ms: int | None = None  # when the join phase completes anyway
        self.initial_rebalance = False  # the join phase is the first one, from EMPTY
        self.initial_delay_remaining_ms = 0  # group.initial.rebalance.delay.ms budget left
        self.new_member_added = False
        self.sync_deadline_ms: int | None = None
        self.offsets: dict[tuple[str, int], OffsetAndMetadata] = {}

    # -- states ---------------------------------------------------------------

    def is_in(self, *states: GroupState) -> bool:
        return self.state in states

    def transition_to(self, state: GroupState, now_ms: int | None) -> None:
        """Move to ``state``; raises ``RuntimeError`` if the table forbids it."""
        if self.state not in _VALID_PREVIOUS_STATES[state]:
            raise RuntimeError(f"group {self.group_id}: illegal transition {self.state.name} -> {state.name}")
        self.previous_state, self.state = self.state, state
        self.state_timestamp_ms = now_ms

    def can_rebalance(self) -> bool:
        return self.state in _VALID_PREVIOUS_STATES[GroupState.PREPARING_REBALANCE]

    # -- membership -----------------------------------------------------------

    def add(self, member: Member) -> None:
        """Add a member; the first member of a group without a leader leads."""
        if not self.members:
            self.protocol_type = member.protocol_type
        self.members[member.member_id] = member
        if member.group_instance_id is not None:
            self.static_members[member.group_instance_id] = member.member_id
        if self.leader_id is None:
            self.leader_id = member.member_id

    def remove(self, member_id: str) -> Member:
        """Remove a member; leadership passes to the next member, if any."""
        member = self.members.pop(member_id)
        if member.group_instance_id is not None:
            self.static_members.pop(member.group_instance_id, None)
        self.pending_sync.discard(member_id)
        if self.leader_id == member_id:
            # Kafka prefers a member that has already rejoined as the new leader.
            rejoined = [m for m in self.members.values() if m.awaiting_join is not None]
            successor = rejoined[0] if rejoined else next(iter(self.members.values()), None)
            self.leader_id = successor.member_id if successor else None
        return member

    def replace_static_member(self, instance_id: str, old_member_id: str, new_member_id: str) -> Member:
        """Give a static member's place (and assignment) to a new member id."""
        member = self.members.pop(old_member_id)
        member.member_id = new_member_id
        self.members[new_member_id] = member
        self.static_members[instance_id] = new_member_id
        if self.leader_id == old_member_id:
            self.leader_id = new_member_id
        if old_member_id in self.pending_sync:
            self.pending_sync.discard(old_member_id)
            self.pending_sync.add(new_member_id)
        return member

    def has_all_members_joined(self) -> bool:
        """Every member has rejoined, and no KIP-394 member is still on its way."""
        awaiting = sum(1 for m in self.members.values() if m.awaiting_join is not None)
        return awaiting == len(self.members) and not self.pending_members

    def rebalance_timeout_ms(self) -> int:
        """The longest rebalance timeout of any member: how long a join may wait."""
        return max((m.rebalance_timeout_ms for m in self.members.values()), default=0)

    def not_yet_rejoined(self) -> list[Member]:
        return [m for m in self.members.values() if m.awaiting_join is None]

    # -- protocols ------------------------------------------------------------

    def candidate_protocols(self) -> set[str]:
        """The protocols every member supports."""
        sets = [set(name for name, _ in m.protocols) for m in self.members.values()]
        return set.intersection(*sets) if sets else set()

    def supports_protocols(self, protocol_type: str, protocols: list[tuple[str, bytes]]) -> bool:
        """Could a member with these protocols join? (INCONSISTENT_GROUP_PROTOCOL if not.)"""
        names = {name for name, _ in protocols}
        if not self.members:
            return bool(protocol_type) and bool(names)
        return protocol_type == self.protocol_type and bool(names & self.candidate_protocols())

    def select_protocol(self) -> str:
        """The protocol most members prefer among those all support."""
        candidates = self.candidate_protocols()
        votes = collections.Counter(m.vote(candidates) for m in self.members.values())
        return min(votes, key=lambda name: (-votes[name], name))

    def subscribed_topics(self) -> set[str] | None:
        """Topics the members subscribe to; None if unknown (not parseable)."""
        if not self.members:
            return set()
        if self.protocol_type != "consumer" or self.protocol_name is None:
            return None
        topics: set[str] = set()
        for member in self.members.values():
            member_topics = subscribed_topics(member.metadata_for(self.protocol_name))
            if member_topics is None:
                return None
            topics |= member_topics
        return topics

    def is_subscribed_to(self, topic: str) -> bool:
        """Kafka's rule: when the subscription is unknown, assume it covers ``topic``."""
        topics = self.subscribed_topics()
        return True if topics is None else topic in topics

    # -- the GroupMetadataValue projection -----------------------------------

    def to_record_value(self) -> dict:
        """The fields of this group's GroupMetadataValue record."""
        protocol = self.protocol_name
        return {
            "protocol_type": self.protocol_type or "",
            "generation": self.generation_id,
            "protocol": protocol,
            "leader": self.leader_id,
            "current_state_timestamp": -1 if self.state_timestamp_ms is None else self.state_timestamp_ms,
            "members": [
                {
                    "member_id": m.member_id,
                    "group_instance_id": m.group_instance_id,
                    "client_id": m.client_id,
                    "client_host": m.client_host,
                    "rebalance_timeout": m.rebalance_timeout_ms,
                    "session_timeout": m.session_timeout_ms,
                    "subscription": bytes(m.metadata_for(protocol)) if protocol else b"",
                    "assignment": bytes(m.assignment),
                }
                for m in self.members.values()
            ],
        }

    def load_record_value(self, value) -> None:
        """Rebuild membership from a GroupMetadataValue (start-up replay).

        Like Kafka, a loaded group with members is STABLE (their rebalance, if
        any, was in flight and is lost: the members rejoin) and one without
        is EMPTY. Offsets are kept: they come from their own records.
        """
        self.generation_id = value.generation
        self.protocol_type = value.protocol_type or None
        self.protocol_name = value.protocol
        self.leader_id = value.leader
        self.state_timestamp_ms = None if value.current_state_timestamp < 0 else value.current_state_timestamp
        self.members.clear()
        self.static_members.clear()
        for m in value.members:
            self.add(Member(
                member_id=m.member_id, group_instance_id=m.group_instance_id,
                client_id=m.client_id, client_host=m.client_host,
                rebalance_timeout_ms=m.rebalance_timeout, session_timeout_ms=m.session_timeout,
                protocol_type=self.protocol_type or "",
                protocols=[(self.protocol_name, bytes(m.subscription))] if self.protocol_name else [],
                assignment=bytes(m.assignment),
            ))
        self.leader_id = value.leader
        self.previous_state = self.state
        self.state = GroupState.STABLE if self.members else GroupState.EMPTY

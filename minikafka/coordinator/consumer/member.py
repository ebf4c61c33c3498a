"""One member of a KIP-848 consumer group, and how it reconciles to its target.

A member has two assignments:

- its *target* assignment, what the server-side assignor wants it to own
  (kept by the group, see ``group.py``);
- its *current* assignment: ``assigned_partitions`` (it may use them now) and
  ``partitions_pending_revocation`` (it must give them up first).

Reconciliation (Kafka's ``CurrentAssignmentBuilder``) moves the current
assignment towards the target one heartbeat at a time, and never lets two
members own a partition at once:

1. The member keeps ``assigned ∩ target``. What it owns outside its target
   becomes *pending revocation*: it stays at its epoch in
   ``UNREVOKED_PARTITIONS`` until a heartbeat's owned partitions no longer
   list them (the client has stopped fetching and committed).
2. Then it moves to the target epoch and receives the target partitions that
   nobody owns any more. Partitions another member still owns (or is still
   revoking) are *unreleased*: the member waits in ``UNRELEASED_PARTITIONS``
   and gets them on a later heartbeat, once they are released.
3. With nothing left to revoke or wait for, it is ``STABLE`` at the target
   epoch.

A partition is *owned* by a member while it is in that member's assigned or
pending-revocation partitions; the group keeps the owner of every partition
(Kafka's "partition epochs") to answer "is this partition released?".

Members are immutable (``dataclasses.replace`` makes the next version), like
Kafka's ``ConsumerGroupMember`` built by its ``Builder``. Assignments are
``{topic_id: frozenset(partitions)}`` with no empty topics.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Callable, Mapping

Assignment = Mapping[bytes, frozenset]
"""Partitions by topic id: ``{topic_id (16 bytes): frozenset of partition indexes}``."""

EMPTY_ASSIGNMENT: Assignment = {}

LEAVE_GROUP_MEMBER_EPOCH = -1
"""A heartbeat with this epoch leaves the group (and a removed member's epoch)."""
LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2
"""A static member leaving temporarily: it keeps its partitions for ``session.timeout``."""


class MemberState(enum.IntEnum):
    """Where a member is in reconciliation (Kafka's ``MemberState``, same byte values)."""

    STABLE = 0
    UNREVOKED_PARTITIONS = 1
    UNRELEASED_PARTITIONS = 2
    UNKNOWN = 127


@dataclasses.dataclass(frozen=True)
class ConsumerGroupMember:
    """A member: its identity and subscription (record type 5) and current assignment (type 8).

    Owned by its ``ConsumerGroup``; immutable, so safe to share.
    """

    member_id: str
    instance_id: str | None = None
    rack_id: str | None = None
    client_id: str = ""
    client_host: str = ""
    subscribed_topic_names: tuple[str, ...] = ()
    subscribed_topic_regex: str | None = None
    rebalance_timeout_ms: int = -1
    server_assignor: str | None = None
    # The current assignment (ConsumerGroupCurrentMemberAssignmentValue).
    member_epoch: int = 0
    previous_member_epoch: int = 0
    state: MemberState = MemberState.STABLE
    assigned_partitions: Assignment = dataclasses.field(default_factory=dict)
    partitions_pending_revocation: Assignment = dataclasses.field(default_factory=dict)

    def is_reconciled_to(self, target_assignment_epoch: int) -> bool:
        """True if the member is STABLE at the target assignment's epoch."""
        return self.state == MemberState.STABLE and self.member_epoch == target_assignment_epoch

    def with_epoch(self, epoch: int) -> "ConsumerGroupMember":
        """Kafka's ``updateMemberEpoch``: the old epoch becomes the previous one."""
        return dataclasses.replace(self, previous_member_epoch=self.member_epoch, member_epoch=epoch)

    def owned_partitions(self):
        """Every ``(topic_id, partition)`` this member owns: assigned or pending revocation."""
        for assignment in (self.assigned_partitions, self.partitions_pending_revocation):
            for topic_id, partitions in assignment.items():
                for partition in partitions:
                    yield topic_id, partition

    def subscription_equals(self, other: "ConsumerGroupMember") -> bool:
        """True if the fields stored in the member metadata record (type 5) are equal."""
        return all(getattr(self, f) == getattr(other, f) for f in SUBSCRIPTION_FIELDS)


SUBSCRIPTION_FIELDS = ("instance_id", "rack_id", "client_id", "client_host",
                       "subscribed_topic_names", "subscribed_topic_regex",
                       "rebalance_timeout_ms", "server_assignor")
"""The member fields persisted in ConsumerGroupMemberMetadataValue."""


def normalize(assignment: Mapping[bytes, object]) -> dict[bytes, frozenset]:
    """Copy an assignment with frozenset values and no empty topics."""
    return {topic_id: frozenset(p) for topic_id, p in assignment.items() if p}


def from_topic_partitions(topic_partitions) -> dict[bytes, frozenset]:
    """A request's ``[{topic_id, partitions}]`` (Structs or dicts) as an Assignment."""
    result: dict[bytes, set] = {}
    for tp in topic_partitions or ():
        topic_id = tp["topic_id"] if isinstance(tp, dict) else tp.topic_id
        partitions = tp["partitions"] if isinstance(tp, dict) else tp.partitions
        result.setdefault(bytes(topic_id), set()).update(partitions)
    return normalize(result)


def to_topic_partitions(assignment: Assignment) -> list[dict]:
    """An Assignment as ``[{topic_id, partitions}]``, sorted so records are deterministic."""
    return [{"topic_id": topic_id, "partitions": sorted(assignment[topic_id])}
            for topic_id in sorted(assignment)]


def is_subset(owned: Assignment | None, assigned: Assignment) -> bool:
    """True if every owned partition is in ``assigned`` (False for None: unknown)."""
    if owned is None:
        return False
    return all(partitions <= assigned.get(topic_id, frozenset())
               for topic_id, partitions in owned.items())


# -- reconciliation ---------------------------------------------------------------

PartitionOwner = Callable[[bytes, int], "str | None"]
"""``(topic_id, partition) -> member id that owns it, or None if released``."""


def reconcile(member: ConsumerGroupMember, target_epoch: int, target: Assignment,
              owner_of: PartitionOwner, owned: Assignment | None) -> ConsumerGroupMember:
    """Move ``member`` one step towards ``target`` (Kafka's ``CurrentAssignmentBuilder.build``).

    Args:
        member: the member as the coordinator knows it.
        target_epoch: the epoch of the group's target assignment.
        target: the member's target partitions.
        owner_of: who owns a partition now (see ``PartitionOwner``).
        owned: the partitions the heartbeat says the member owns, or None
            if the heartbeat did not say (unchanged since the last one).

    Returns:
        The next version of the member (``member`` itself if nothing changed).
    """
    if member.state == MemberState.STABLE:
        if member.member_epoch == target_epoch:
            return member
    elif member.state == MemberState.UNREVOKED_PARTITIONS:
        if _owns_any(owned, member.partitions_pending_revocation):
            return member  # still waiting for the client to let go
    return _next_assignment(member, member.member_epoch, target_epoch, target, owner_of, owned)


def _owns_any(owned: Assignment | None, revoking: Assignment) -> bool:
    """True if the heartbeat still lists a partition being revoked (None: assume it does)."""
    if owned is None:
        return True
    return any(partitions & revoking.get(topic_id, frozenset()) for topic_id, partitions in owned.items())


def _next_assignment(member, member_epoch, target_epoch, target, owner_of, owned):
    assigned, revoking, to_assign = {}, {}, {}
    has_unreleased = False
    for topic_id in set(target) | set(member.assigned_partitions):
        wanted = target.get(topic_id, frozenset())
        current = member.assigned_partitions.get(topic_id, frozenset())
        keep = current & wanted
        # A partition this member is itself revoking is not "unreleased": only
        # one member can own a partition, so it is free for this member.
        self_revoking = member.partitions_pending_revocation.get(topic_id, frozenset())
        free = {p for p in wanted - keep if owner_of(topic_id, p) is None or p in self_revoking}
        has_unreleased |= len(free) < len(wanted - keep)
        if keep:
            assigned[topic_id] = frozenset(keep)
        if current - keep:
            revoking[topic_id] = frozenset(current - keep)
        if free:
            to_assign[topic_id] = frozenset(free)
    if revoking and _owns_any(owned, revoking):
        # Revoke first, at the current epoch; assignment waits for the ack.
        return dataclasses.replace(member.with_epoch(member_epoch), state=MemberState.UNREVOKED_PARTITIONS,
                                   assigned_partitions=assigned, partitions_pending_revocation=revoking)
    for topic_id, partitions in to_assign.items():
        assigned[topic_id] = assigned.get(topic_id, frozenset()) | partitions
    state = MemberState.UNRELEASED_PARTITIONS if has_unreleased else MemberState.STABLE
    return dataclasses.replace(member.with_epoch(target_epoch), state=state,
                               assigned_partitions=assigned, partitions_pending_revocation={})

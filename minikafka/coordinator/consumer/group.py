"""A KIP-848 consumer group's state, rebuilt from its ``__consumer_offsets`` records.

Everything here is *persisted* state: it changes only by ``apply()``-ing a
decoded record, both while the coordinator runs (it applies the records it
has just written) and when a coordinator loads a partition (it replays the
log). So the state after an operation and the state after a restart are the
same by construction. Timers (sessions, rebalance timeouts) are not
persisted; the coordinator re-arms them on load.

A group holds:

- ``group_epoch`` (record 3): bumped when membership, subscriptions or the
  subscribed topics' partition counts change, i.e. when the target
  assignment must be recomputed;
- ``subscription_metadata`` (record 4): ``{topic name: (topic id, partition
  count)}`` of the subscribed topics, as of the last bump;
- ``members`` (records 5 and 8): ``ConsumerGroupMember`` objects;
- ``target_assignment`` (record 7) and ``assignment_epoch`` (record 6): what
  the assignor decided at that group epoch;
- ``partition_owners`` (derived from record 8): the member that owns each
  partition. Kafka calls this the partition epochs; a partition is owned by
  at most one member, and ``apply`` refuses a record that would break that.

The group's state (Kafka's ``ConsumerGroupState``) is derived: EMPTY (no
members), ASSIGNING (the group epoch is ahead of the target assignment),
RECONCILING (some member is not yet STABLE at the assignment epoch), STABLE.
"""

from __future__ import annotations

import dataclasses
import enum

from minikafka.coordinator.consumer import records
from minikafka.coordinator.consumer.member import (
    LEAVE_GROUP_MEMBER_EPOCH,
    LEAVE_GROUP_STATIC_MEMBER_EPOCH,
    ConsumerGroupMember,
    MemberState,
    from_topic_partitions,
)


class ConsumerGroupState(enum.Enum):
    """Kafka's consumer group states; the value is what ListGroups/Describe show."""

    EMPTY = "Empty"
    ASSIGNING = "Assigning"
    RECONCILING = "Reconciling"
    STABLE = "Stable"
    DEAD = "Dead"


class ConsumerGroup:
    """One consumer group's persisted state. Owned by the coordinator; not task-safe."""

    def __init__(self, group_id: str):
        self.group_id = group_id
        self.group_epoch = 0
        self.assignment_epoch = 0
        self.subscription_metadata: dict[str, tuple[bytes, int]] = {}
        self.members: dict[str, ConsumerGroupMember] = {}
        self.target_assignment: dict[str, dict[bytes, frozenset]] = {}
        self.partition_owners: dict[tuple[bytes, int], str] = {}
        self.static_members: dict[str, str] = {}  # instance id -> member id

    # -- derived views ------------------------------------------------------------

    @property
    def state(self) -> ConsumerGroupState:
        if not self.members:
            return ConsumerGroupState.EMPTY
        if self.group_epoch > self.assignment_epoch:
            return ConsumerGroupState.ASSIGNING
        if all(m.is_reconciled_to(self.assignment_epoch) for m in self.members.values()):
            return ConsumerGroupState.STABLE
        return ConsumerGroupState.RECONCILING

    def owner_of(self, topic_id: bytes, partition: int) -> str | None:
        """The member that owns the partition, or None if it is released."""
        return self.partition_owners.get((topic_id, partition))

    def static_member(self, instance_id: str) -> ConsumerGroupMember | None:
        member_id = self.static_members.get(instance_id)
        return None if member_id is None else self.members.get(member_id)

    def target_of(self, member_id: str) -> dict[bytes, frozenset]:
        return self.target_assignment.get(member_id, {})

    def preferred_assignor(self, default: str) -> str:
        """The server assignor most members ask for (ties: by name), else ``default``."""
        counts: dict[str, int] = {}
        for member in self.members.values():
            if member.server_assignor is not None:
                counts[member.server_assignor] = counts.get(member.server_assignor, 0) + 1
        if not counts:
            return default
        return min(counts, key=lambda name: (-counts[name], name))

    def snapshot(self) -> dict:
        """Every persisted fact as plain data, to compare a live group with a replayed one."""
        return {
            "group_epoch": self.group_epoch, "assignment_epoch": self.assignment_epoch,
            "subscription_metadata": dict(self.subscription_metadata),
            "members": {m: dataclasses.asdict(v) for m, v in self.members.items()},
            "target_assignment": {m: dict(a) for m, a in self.target_assignment.items()},
            "partition_owners": dict(self.partition_owners),
        }

    # -- replay ---------------------------------------------------------------------

    def apply(self, record_type: int, key, value) -> None:
        """Apply one decoded record of types 3-8 (``value`` None for a tombstone).

        Raises:
            ValueError: the record contradicts the state (a partition would
                have two owners); the log is not one this coordinator wrote.
        """
        member_id = getattr(key, "member_id", None)
        if record_type == records.GROUP_METADATA:
            self.group_epoch = value.epoch if value is not None else 0
        elif record_type == records.PARTITION_METADATA:
            self.subscription_metadata = {} if value is None else {
                t.topic_name: (bytes(t.topic_id), t.num_partitions) for t in value.topics}
        elif record_type == records.MEMBER_METADATA:
            self._apply_member_metadata(member_id, value)
        elif record_type == records.TARGET_ASSIGNMENT_METADATA:
            self.assignment_epoch = value.assignment_epoch if value is not None else 0
        elif record_type == records.TARGET_ASSIGNMENT_MEMBER:
            if value is None:
                self.target_assignment.pop(member_id, None)
            else:
                self.target_assignment[member_id] = from_topic_partitions(value.topic_partitions)
        elif record_type == records.CURRENT_MEMBER_ASSIGNMENT:
            self._apply_current_assignment(member_id, value)

    def _apply_member_metadata(self, member_id: str, value) -> None:
        old = self.members.get(member_id)
        if value is None:
            if old is not None:
                self._set_member(old, None)
            return
        fields = {
            "instance_id": value.instance_id, "rack_id": value.rack_id,
            "client_id": value.client_id, "client_host": value.client_host,
            "subscribed_topic_names": tuple(value.subscribed_topic_names),
            "subscribed_topic_regex": value.subscribed_topic_regex,
            "rebalance_timeout_ms": value.rebalance_timeout_ms,
            "server_assignor": value.server_assignor,
        }
        base = old if old is not None else ConsumerGroupMember(member_id)
        self._set_member(base, dataclasses.replace(base, **fields))

    def _apply_current_assignment(self, member_id: str, value) -> None:
        old = self.members.get(member_id) or ConsumerGroupMember(member_id)
        if value is None:
            # Kafka keeps the member until its metadata tombstone; it owns nothing.
            new = dataclasses.replace(old, member_epoch=LEAVE_GROUP_MEMBER_EPOCH,
                                      previous_member_epoch=LEAVE_GROUP_MEMBER_EPOCH,
                                      state=MemberState.STABLE, assigned_partitions={},
                                      partitions_pending_revocation={})
        else:
            try:
                state = MemberState(value.state)
            except ValueError:
                state = MemberState.UNKNOWN
            new = dataclasses.replace(
                old, member_epoch=value.member_epoch, previous_member_epoch=value.previous_member_epoch,
                state=state, assigned_partitions=from_topic_partitions(value.assigned_partitions),
                partitions_pending_revocation=from_topic_partitions(value.partitions_pending_revocation))
        self._set_member(old, new)

    def _set_member(self, old: ConsumerGroupMember, new: ConsumerGroupMember | None) -> None:
        """Replace ``old`` by ``new`` (None removes it), keeping the derived indexes right."""
        if new is not None:
            for tp in new.owned_partitions():  # check first: a refused record changes nothing
                owner = self.partition_owners.get(tp)
                if owner is not None and owner != new.member_id:
                    raise ValueError(f"group {self.group_id}: partition {tp} owned by {owner} "
                                     f"cannot be given to {new.member_id}")
        for tp in old.owned_partitions():
            if self.partition_owners.get(tp) == old.member_id:
                del self.partition_owners[tp]
        if old.instance_id is not None and self.static_members.get(old.instance_id) == old.member_id:
            del self.static_members[old.instance_id]
        if new is None:
            self.members.pop(old.member_id, None)
            return
        for tp in new.owned_partitions():
            self.partition_owners[tp] = new.member_id
        if new.instance_id is not None:
            self.static_members[new.instance_id] = new.member_id
        self.members[new.member_id] = new


def is_leaving_static(member: ConsumerGroupMember) -> bool:
    """True for a static member that said it will come back (epoch -2)."""
    return member.member_epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH

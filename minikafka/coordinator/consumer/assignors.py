"""Server-side partition assignors of the consumer protocol (KIP-848): ``uniform`` and ``range``.

An assignor is a pure function from the group's members (their subscribed
topic ids and their current *target* partitions) and the subscribed topics'
partition counts to every member's new target partitions. The coordinator
runs it whenever the group epoch moves past the target assignment epoch
(a member joined, left or changed its subscription; a topic grew).

Both assign every partition of a subscribed topic to exactly one member that
subscribes to it.

``uniform`` (the default, Kafka's ``UniformAssignor``) balances the number of
partitions per member and is *sticky*: a member keeps as many of its current
partitions as balance allows, so a rebalance moves as few partitions as it
can. When every member subscribes to the same topics the result is optimal:
counts differ by at most one and the number of moved partitions is the
minimum any balanced assignment needs. With different subscriptions it keeps
moving a partition from a member to an eligible member with at least two
fewer partitions until no such move exists.

``range`` (Kafka's ``RangeAssignor``) works topic by topic: the members
subscribed to a topic, sorted by member id, each take a contiguous range of
its partitions, the first ``partitions % members`` one more. Topics with the
same partition count and subscribers are *co-partitioned*: partition ``i``
of each goes to the same member (what joins of keyed streams need). Unlike
Kafka 4.0's range assignor it is not sticky.

Assignments are ``{topic_id: frozenset(partitions)}`` (``member.py``).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping

from minikafka.coordinator.consumer.member import Assignment, normalize


@dataclasses.dataclass(frozen=True)
class MemberSubscription:
    """What an assignor knows of a member (Kafka's ``MemberSubscriptionAndAssignment``).

    Attributes:
        subscribed_topic_ids: the ids of the topics it subscribes to that exist.
        assignment: its current target partitions (for stickiness).
    """

    subscribed_topic_ids: frozenset
    assignment: Assignment = dataclasses.field(default_factory=dict)


Assignor = Callable[[Mapping[str, MemberSubscription], Mapping[bytes, int]], dict[str, Assignment]]
"""``assign(members, partition_counts) -> {member_id: Assignment}``."""


# -- uniform ----------------------------------------------------------------------

def uniform_assign(members: Mapping[str, MemberSubscription],
                   partition_counts: Mapping[bytes, int]) -> dict[str, Assignment]:
    """The ``uniform`` assignor: balanced and sticky (see the module docstring)."""
    if not members:
        return {}
    subscriptions = {m.subscribed_topic_ids for m in members.values()}
    if len(subscriptions) == 1:
        owned = _homogeneous(members, partition_counts, next(iter(subscriptions)))
    else:
        owned = _heterogeneous(members, partition_counts)
    return {member_id: _to_assignment(owned[member_id]) for member_id in members}


def _kept_partitions(members, partition_counts) -> dict[str, list[tuple[bytes, int]]]:
    """Each member's current partitions that are still valid, each claimed once."""
    claimed: set[tuple[bytes, int]] = set()
    kept: dict[str, list[tuple[bytes, int]]] = {}
    for member_id in sorted(members):
        member = members[member_id]
        kept[member_id] = []
        for topic_id in sorted(member.assignment):
            if topic_id not in member.subscribed_topic_ids or topic_id not in partition_counts:
                continue
            for partition in sorted(member.assignment[topic_id]):
                tp = (topic_id, partition)
                if partition < partition_counts[topic_id] and tp not in claimed:
                    claimed.add(tp)
                    kept[member_id].append(tp)
    return kept


def _homogeneous(members, partition_counts, topic_ids) -> dict[str, list]:
    """Everyone subscribes to the same topics: quotas of q or q+1, kept where possible."""
    all_partitions = [(t, p) for t in sorted(topic_ids) if t in partition_counts
                      for p in range(partition_counts[t])]
    quota, extra = divmod(len(all_partitions), len(members))
    kept = _kept_partitions(members, partition_counts)
    # The q+1 slots go to the members that already hold the most: that is
    # what minimises the number of partitions that change owner.
    by_kept = sorted(members, key=lambda m: (-len(kept[m]), m))
    quotas = {member_id: quota + (1 if i < extra else 0) for i, member_id in enumerate(by_kept)}
    owned = {member_id: kept[member_id][:quotas[member_id]] for member_id in members}
    taken = {tp for partitions in owned.values() for tp in partitions}
    free = iter(tp for tp in all_partitions if tp not in taken)
    for member_id in sorted(members):
        while len(owned[member_id]) < quotas[member_id]:
            owned[member_id].append(next(free))
    return owned


def _heterogeneous(members, partition_counts) -> dict[str, list]:
    """Different subscriptions: keep, place the rest on the least loaded, then even out."""
    owned = {member_id: list(tps) for member_id, tps in _kept_partitions(members, partition_counts).items()}
    taken = {tp for partitions in owned.values() for tp in partitions}
    eligible = {t: sorted(m for m in members if t in members[m].subscribed_topic_ids)
                for t in partition_counts}
    # Most constrained topics first: they have the fewest places to go.
    for topic_id in sorted(partition_counts, key=lambda t: (len(eligible[t]), t)):
        for partition in range(partition_counts[topic_id]):
            if eligible[topic_id] and (topic_id, partition) not in taken:
                target = min(eligible[topic_id], key=lambda m: (len(owned[m]), m))
                owned[target].append((topic_id, partition))
    _balance(owned, eligible)
    return owned


def _balance(owned: dict[str, list], eligible: dict[bytes, list[str]]) -> None:
    """Move partitions to eligible members with two fewer until none can move.

    Each move lowers the sum of squared member sizes, so this terminates.
    """
    moved = True
    while moved:
        moved = False
        for member_id in sorted(owned, key=lambda m: (-len(owned[m]), m)):
            for tp in sorted(owned[member_id], reverse=True):
                target = min(eligible[tp[0]], key=lambda m: (len(owned[m]), m))
                if len(owned[member_id]) - len(owned[target]) >= 2:
                    owned[member_id].remove(tp)
                    owned[target].append(tp)
                    moved = True
                    break
            if moved:
                break


def _to_assignment(partitions: list[tuple[bytes, int]]) -> Assignment:
    result: dict[bytes, set] = {}
    for topic_id, partition in partitions:
        result.setdefault(topic_id, set()).add(partition)
    return normalize(result)


# -- range ------------------------------------------------------------------------

def range_assign(members: Mapping[str, MemberSubscription],
                 partition_counts: Mapping[bytes, int]) -> dict[str, Assignment]:
    """The ``range`` assignor: contiguous ranges per topic (see the module docstring)."""
    result: dict[str, dict[bytes, set]] = {member_id: {} for member_id in members}
    for topic_id, count in sorted(partition_counts.items()):
        subscribers = sorted(m for m in members if topic_id in members[m].subscribed_topic_ids)
        if not subscribers:
            continue
        quota, extra = divmod(count, len(subscribers))
        start = 0
        for i, member_id in enumerate(subscribers):
            length = quota + (1 if i < extra else 0)
            if length:
                result[member_id][topic_id] = set(range(start, start + length))
            start += length
    return {member_id: normalize(assignment) for member_id, assignment in result.items()}


ASSIGNORS: dict[str, Assignor] = {"uniform": uniform_assign, "range": range_assign}
"""``group.consumer.assignors``: the first is the default (Kafka: uniform, range)."""
DEFAULT_ASSIGNOR = "uniform"

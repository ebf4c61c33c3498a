"""Client-side partition assignors of the classic group protocol, as pure functions.

In the classic protocol the *group leader* (one of the consumers, chosen by the
coordinator) receives every member's subscription in its JoinGroup response,
runs an assignor and sends the result in SyncGroup. The broker never looks
inside. Every member lists the assignors it supports (``partition.assignment.
strategy``); the coordinator picks the first one that all members support.

An assignor here is ``assign(subscriptions, partitions_per_topic) ->
{member_id: [(topic, partition), ...]}``: no I/O, no state, so it is tested
with Hypothesis as a pure function.

- ``range`` (Java's ``RangeAssignor``, the Java default before 3.0): per
  topic, members in member-id order each take a contiguous range; the first
  ``n % m`` members get one extra partition.
- ``roundrobin``: every subscribed partition, sorted, dealt out to members in
  turn (skipping members not subscribed to the partition's topic).
- ``cooperative-sticky`` (KIP-429): keep what each member owns as far as
  balance allows, hand out the rest to the least loaded members; then
  withhold every partition that changes owner, because its previous owner
  has not given it up yet. The previous owner revokes it after this
  rebalance and rejoins; in the *second* rebalance nobody owns it and it is
  assigned. So a member never gets a partition another member still owns.

Eager assignors (range, roundrobin) need every member to give up everything
before it joins; the cooperative one only needs it to give up what moves.
"""

from __future__ import annotations

import dataclasses

TopicPartition = tuple[str, int]

RANGE, ROUNDROBIN, COOPERATIVE_STICKY = "range", "roundrobin", "cooperative-sticky"
EAGER, COOPERATIVE = "eager", "cooperative"


@dataclasses.dataclass(frozen=True)
class Subscription:
    """What one member told the leader in JoinGroup (ConsumerProtocolSubscription).

    Attributes:
        topics: the topics the member is subscribed to.
        owned_partitions: what it owns now (v1+; cooperative assignors use it).
        generation_id: the generation in which it got them (v2+), -1 if unknown.
    """

    topics: tuple[str, ...]
    owned_partitions: tuple[TopicPartition, ...] = ()
    generation_id: int = -1


Assignment = dict[str, list[TopicPartition]]


def range_assign(subscriptions: dict[str, Subscription],
                 partitions_per_topic: dict[str, int]) -> Assignment:
    """Java's RangeAssignor: contiguous ranges per topic, extras to the first members."""
    assignment: Assignment = {member: [] for member in subscriptions}
    for topic in sorted(partitions_per_topic):
        members = sorted(m for m, s in subscriptions.items() if topic in s.topics)
        if not members:
            continue
        count = partitions_per_topic[topic]
        per_member, extra = divmod(count, len(members))
        for i, member in enumerate(members):
            start = i * per_member + min(i, extra)
            length = per_member + (1 if i < extra else 0)
            assignment[member].extend((topic, p) for p in range(start, start + length))
    return assignment


def roundrobin_assign(subscriptions: dict[str, Subscription],
                      partitions_per_topic: dict[str, int]) -> Assignment:
    """Java's RoundRobinAssignor: deal sorted partitions to sorted members in turn."""
    assignment: Assignment = {member: [] for member in subscriptions}
    members = sorted(subscriptions)
    turn = 0
    for partition in _subscribed_partitions(subscriptions, partitions_per_topic):
        for _ in range(len(members)):  # the next member subscribed to this topic
            member = members[turn % len(members)]
            turn += 1
            if partition[0] in subscriptions[member].topics:
                assignment[member].append(partition)
                break
    return assignment


def cooperative_sticky_assign(subscriptions: dict[str, Subscription],
                              partitions_per_topic: dict[str, int]) -> Assignment:
    """Sticky and balanced, minus every partition that would change owner now.

    Returns the assignment for *this* generation: partitions still owned by
    another member are withheld (they go to their new owner one rebalance
    later, once revoked).
    """
    owners = _current_owners(subscriptions, partitions_per_topic)
    target = sticky_target(subscriptions, partitions_per_topic, owners)
    return {member: [tp for tp in partitions if owners.get(tp, member) == member]
            for member, partitions in target.items()}


def sticky_target(subscriptions: dict[str, Subscription], partitions_per_topic: dict[str, int],
                  owners: dict[TopicPartition, str]) -> Assignment:
    """The balanced assignment that moves as few owned partitions as possible.

    Each member keeps its owned partitions up to its *quota*: with ``n``
    partitions and ``m`` members, ``n // m``, plus one for the ``n % m``
    members that own the most (so no member that owns few is trimmed to make
    room for one that owns many). The rest go, one at a time, to the least
    loaded subscriber. With differing subscriptions the quota is a guide only.
    """
    partitions = _subscribed_partitions(subscriptions, partitions_per_topic)
    owned: Assignment = {member: [] for member in subscriptions}
    for tp in partitions:
        if tp in owners:
            owned[owners[tp]].append(tp)
    quotas = _quotas(owned, len(partitions))
    kept = {member: sorted(tps)[:quotas[member]] for member, tps in owned.items()}
    taken = {tp for tps in kept.values() for tp in tps}
    for tp in partitions:
        if tp not in taken:
            subscribers = [m for m, s in subscriptions.items() if tp[0] in s.topics]
            least_loaded = min(subscribers, key=lambda m: (len(kept[m]), m))
            kept[least_loaded].append(tp)
    return {member: sorted(tps) for member, tps in kept.items()}


def _quotas(owned: Assignment, total: int) -> dict[str, int]:
    members = sorted(owned, key=lambda m: (-len(owned[m]), m))
    base, extra = divmod(total, len(members)) if members else (0, 0)
    return {member: base + (1 if i < extra else 0) for i, member in enumerate(members)}


def _current_owners(subscriptions: dict[str, Subscription],
                    partitions_per_topic: dict[str, int]) -> dict[TopicPartition, str]:
    """Who owns each partition, keeping only claims that are still valid.

    A claim counts if the topic and partition exist and the member is still
    subscribed to the topic. Two members may claim the same partition after a
    missed rebalance: the claim from the newest generation wins (Kafka's rule).
    """
    owners: dict[TopicPartition, tuple[int, str]] = {}
    for member in sorted(subscriptions):
        subscription = subscriptions[member]
        for topic, partition in subscription.owned_partitions:
            if topic not in subscription.topics or not 0 <= partition < partitions_per_topic.get(topic, 0):
                continue
            previous = owners.get((topic, partition))
            if previous is None or subscription.generation_id > previous[0]:
                owners[(topic, partition)] = (subscription.generation_id, member)
    return {tp: member for tp, (_, member) in owners.items()}


def _subscribed_partitions(subscriptions: dict[str, Subscription],
                           partitions_per_topic: dict[str, int]) -> list[TopicPartition]:
    topics = sorted({t for s in subscriptions.values() for t in s.topics if t in partitions_per_topic})
    return [(topic, p) for topic in topics for p in range(partitions_per_topic[topic])]


# name -> (assign function, rebalance protocol); the order of preference is the user's.
ASSIGNORS = {
    RANGE: (range_assign, EAGER),
    ROUNDROBIN: (roundrobin_assign, EAGER),
    COOPERATIVE_STICKY: (cooperative_sticky_assign, COOPERATIVE),
}


def parse_strategy(value: str | list[str]) -> list[str]:
    """``partition.assignment.strategy``: ``"range,roundrobin"`` or a list; Java class names work.

    Raises:
        ValueError: an unknown or no assignor.
    """
    items = value.split(",") if isinstance(value, str) else list(value)
    names = []
    for item in (i.strip() for i in items if i.strip()):
        name = _JAVA_NAMES.get(item.rsplit(".", 1)[-1], item.lower())
        if name not in ASSIGNORS:
            raise ValueError(f"unknown partition.assignment.strategy {item!r}; "
                             f"one of {', '.join(ASSIGNORS)}")
        names.append(name)
    if not names:
        raise ValueError("partition.assignment.strategy is empty")
    return names


_JAVA_NAMES = {"RangeAssignor": RANGE, "RoundRobinAssignor": ROUNDROBIN,
               "CooperativeStickyAssignor": COOPERATIVE_STICKY}


def assign(name: str, subscriptions: dict[str, Subscription],
           partitions_per_topic: dict[str, int]) -> Assignment:
    """Run the assignor called ``name``."""
    return ASSIGNORS[name][0](subscriptions, partitions_per_topic)


def rebalance_protocol(names: list[str]) -> str:
    """The protocol a member listing ``names`` follows: cooperative only if all can.

    Java's rule: the highest protocol every listed assignor supports. So
    Kafka 4.0's default ``range,cooperative-sticky`` is eager until ``range``
    is dropped from the list (the documented upgrade path).
    """
    return COOPERATIVE if all(ASSIGNORS[n][1] == COOPERATIVE for n in names) else EAGER

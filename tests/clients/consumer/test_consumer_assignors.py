"""The classic protocol's assignors as pure functions (Hypothesis)."""

from hypothesis import given
from hypothesis import strategies as st

from minikafka_clients import assignors
from minikafka_clients.assignors import Subscription

TOPICS = ["a", "b", "c"]

partitions_per_topic = st.dictionaries(st.sampled_from(TOPICS), st.integers(0, 12), min_size=1)
member_ids = st.lists(st.text("mnopq", min_size=1, max_size=4), min_size=1, max_size=6, unique=True)


def _flatten(assignment):
    return [tp for tps in assignment.values() for tp in tps]


def _all_partitions(subscriptions, counts):
    topics = {t for s in subscriptions.values() for t in s.topics}
    return {(t, p) for t in topics if t in counts for p in range(counts[t])}


@st.composite
def groups(draw, same_topics=False):
    counts = draw(partitions_per_topic)
    members = draw(member_ids)
    shared = tuple(sorted(counts))
    topic_lists = st.lists(st.sampled_from(TOPICS), min_size=1, unique=True).map(tuple)
    return counts, {m: Subscription(shared if same_topics else draw(topic_lists)) for m in members}


@given(groups(), st.sampled_from([assignors.RANGE, assignors.ROUNDROBIN,
                                  assignors.COOPERATIVE_STICKY]))
def test_every_subscribed_partition_is_assigned_exactly_once(group, name):
    counts, subscriptions = group
    assignment = assignors.assign(name, subscriptions, counts)
    assert set(assignment) == set(subscriptions)
    flat = _flatten(assignment)
    assert len(flat) == len(set(flat))
    assert set(flat) == _all_partitions(subscriptions, counts)
    for member, tps in assignment.items():
        assert all(topic in subscriptions[member].topics for topic, _ in tps)


@given(groups(same_topics=True))
def test_roundrobin_and_sticky_are_balanced_for_one_subscription(group):
    counts, subscriptions = group
    for name in (assignors.ROUNDROBIN, assignors.COOPERATIVE_STICKY):
        sizes = [len(tps) for tps in assignors.assign(name, subscriptions, counts).values()]
        assert max(sizes) - min(sizes) <= 1


@given(groups(same_topics=True))
def test_range_is_balanced_per_topic(group):
    counts, subscriptions = group
    assignment = assignors.range_assign(subscriptions, counts)
    for topic in counts:
        sizes = [sum(1 for t, _ in tps if t == topic) for tps in assignment.values()]
        assert max(sizes) - min(sizes) <= 1


def _with_owned(subscriptions, assignment, generation_id=1):
    return {m: Subscription(s.topics, tuple(assignment.get(m, ())), generation_id)
            for m, s in subscriptions.items()}


@given(groups(same_topics=True), st.data())
def test_cooperative_sticky_moves_minimally_and_never_steals(group, data):
    counts, subscriptions = group
    # A previous generation's assignment, among a random subset of the members.
    previous_members = data.draw(st.lists(st.sampled_from(sorted(subscriptions)), min_size=1,
                                          unique=True))
    previous = assignors.roundrobin_assign({m: subscriptions[m] for m in previous_members}, counts)
    joined = _with_owned(subscriptions, previous)
    first = assignors.cooperative_sticky_assign(joined, counts)
    owner = {tp: m for m, tps in previous.items() for tp in tps}
    for member, tps in first.items():
        # Never a partition still owned by another member in this generation.
        assert all(owner.get(tp, member) == member for tp in tps)
    total = len(_all_partitions(subscriptions, counts))
    base, extra = divmod(total, len(subscriptions))
    revoked = sum(len(set(previous.get(m, ())) - set(first[m])) for m in subscriptions)
    # Minimal: only the excess over the largest fair quota moves.
    ranked = sorted(subscriptions, key=lambda m: -len(previous.get(m, ())))
    quota = {m: base + (1 if i < extra else 0) for i, m in enumerate(ranked)}
    assert revoked == sum(max(0, len(previous.get(m, ())) - quota[m]) for m in subscriptions)
    # Second rebalance: the revoked partitions are free now, and everything is assigned.
    second = assignors.cooperative_sticky_assign(_with_owned(subscriptions, first, 2), counts)
    assert sorted(_flatten(second)) == sorted(_all_partitions(subscriptions, counts))
    assert all(set(first[m]) <= set(second[m]) for m in subscriptions)
    sizes = [len(tps) for tps in second.values()]
    assert max(sizes) - min(sizes) <= 1


def test_range_matches_kafkas_example():
    # Kafka's RangeAssignor javadoc: C0, C1; t0, t1 with 3 partitions each.
    subs = {"C0": Subscription(("t0", "t1")), "C1": Subscription(("t0", "t1"))}
    assert assignors.range_assign(subs, {"t0": 3, "t1": 3}) == {
        "C0": [("t0", 0), ("t0", 1), ("t1", 0), ("t1", 1)], "C1": [("t0", 2), ("t1", 2)]}


def test_roundrobin_matches_kafkas_example():
    subs = {"C0": Subscription(("t0", "t1")), "C1": Subscription(("t0", "t1"))}
    assert assignors.roundrobin_assign(subs, {"t0": 3, "t1": 3}) == {
        "C0": [("t0", 0), ("t0", 2), ("t1", 1)], "C1": [("t0", 1), ("t1", 0), ("t1", 2)]}


def test_strategy_parsing():
    assert assignors.parse_strategy("range, roundrobin") == ["range", "roundrobin"]
    assert assignors.parse_strategy(
        "org.apache.kafka.clients.consumer.CooperativeStickyAssignor") == ["cooperative-sticky"]
    assert assignors.rebalance_protocol(["range", "cooperative-sticky"]) == assignors.EAGER
    assert assignors.rebalance_protocol(["cooperative-sticky"]) == assignors.COOPERATIVE
    for bad in ("sticky-ish", ""):
        try:
            assignors.parse_strategy(bad)
        except ValueError:
            continue
        raise AssertionError(bad)

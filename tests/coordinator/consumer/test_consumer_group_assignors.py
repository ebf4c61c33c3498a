"""The server-side assignors as pure functions, checked with Hypothesis."""

from hypothesis import given, settings
from hypothesis import strategies as st

from minikafka.coordinator.consumer.assignors import MemberSubscription, range_assign, uniform_assign

TOPICS = [bytes([i]) * 16 for i in range(4)]

partition_counts = st.dictionaries(st.sampled_from(TOPICS), st.integers(0, 12), min_size=1)
member_ids = st.lists(st.text("abcdef", min_size=1, max_size=3), min_size=1, max_size=7, unique=True)


def partitions_of(counts, topic_ids=None):
    return {(t, p) for t, n in counts.items() if topic_ids is None or t in topic_ids for p in range(n)}


def flatten(assignment):
    return [(t, p) for t, ps in assignment.items() for p in ps]


def check_complete(members, counts, result):
    """Every partition of a subscribed topic goes to exactly one subscriber."""
    seen = []
    for member_id, assignment in result.items():
        for t, p in flatten(assignment):
            assert t in members[member_id].subscribed_topic_ids
            seen.append((t, p))
    assert len(seen) == len(set(seen))
    subscribed = set().union(*(m.subscribed_topic_ids for m in members.values()))
    assert set(seen) == partitions_of(counts, subscribed)


def homogeneous(ids, counts, previous=None):
    topic_ids = frozenset(counts)
    return {m: MemberSubscription(topic_ids, (previous or {}).get(m, {})) for m in ids}


@given(member_ids, partition_counts)
def test_uniform_homogeneous_is_complete_and_balanced(ids, counts):
    members = homogeneous(ids, counts)
    result = uniform_assign(members, counts)
    check_complete(members, counts, result)
    sizes = [len(flatten(a)) for a in result.values()]
    assert max(sizes) - min(sizes) <= 1


@given(member_ids, member_ids, partition_counts)
def test_uniform_is_minimally_sticky_when_members_come_and_go(before, after, counts):
    first = uniform_assign(homogeneous(before, counts), counts)
    second = uniform_assign(homogeneous(after, counts, first), counts)
    check_complete(homogeneous(after, counts), counts, second)
    kept = sum(len(set(flatten(first.get(m, {}))) & set(flatten(second[m]))) for m in after)
    # The best any balanced assignment can keep: each surviving member keeps
    # at most its quota, and the q+1 quotas go to those holding the most.
    total = len(partitions_of(counts))
    quota, extra = divmod(total, len(after))
    held = sorted((len(flatten(first.get(m, {}))) for m in after), reverse=True)
    best = sum(min(h, quota + (1 if i < extra else 0)) for i, h in enumerate(held))
    assert kept == best
    assert uniform_assign(homogeneous(after, counts, second), counts) == second  # stable


subscriptions = st.frozensets(st.sampled_from(TOPICS), max_size=4)


@settings(max_examples=200)
@given(st.dictionaries(st.text("abcdef", min_size=1, max_size=3), subscriptions, min_size=1, max_size=6),
       partition_counts)
def test_uniform_heterogeneous_is_complete_and_locally_balanced(subs, counts):
    members = {m: MemberSubscription(frozenset(t for t in topics if t in counts)) for m, topics in subs.items()}
    result = uniform_assign(members, counts)
    check_complete(members, counts, result)
    sizes = {m: len(flatten(a)) for m, a in result.items()}
    # No partition could move to an eligible member with two fewer.
    for m, assignment in result.items():
        for t, _ in flatten(assignment):
            for other, spec in members.items():
                if t in spec.subscribed_topic_ids:
                    assert sizes[m] - sizes[other] <= 1


@given(st.dictionaries(st.text("abcdef", min_size=1, max_size=3), subscriptions, min_size=1, max_size=6),
       partition_counts)
def test_range_is_complete_and_balanced_per_topic(subs, counts):
    members = {m: MemberSubscription(frozenset(t for t in topics if t in counts)) for m, topics in subs.items()}
    result = range_assign(members, counts)
    check_complete(members, counts, result)
    for t in counts:
        sizes = [len(result[m].get(t, ())) for m in members if t in members[m].subscribed_topic_ids]
        if sizes:
            assert max(sizes) - min(sizes) <= 1
        for m in members:  # contiguous ranges
            ps = sorted(result[m].get(t, ()))
            assert ps == list(range(ps[0], ps[0] + len(ps))) if ps else True


def test_range_co_partitions_topics_with_the_same_subscribers():
    t, u = TOPICS[0], TOPICS[1]
    members = {m: MemberSubscription(frozenset({t, u})) for m in ("a", "b", "c")}
    result = range_assign(members, {t: 5, u: 5})
    assert all(result[m][t] == result[m][u] for m in members)
    assert result["a"][t] == {0, 1} and result["c"][t] == {4}

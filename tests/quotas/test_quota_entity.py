"""QuotaTable: Kafka's eight-level precedence, DefaultQuotaCallback's metric tags, IP quotas."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minikafka.quotas.entity import (
    CONNECTION_CREATION_RATE,
    CONSUMER_BYTE_RATE,
    PRODUCER_BYTE_RATE,
    QuotaTable,
    make_entity,
    normalize_entity,
)

P = PRODUCER_BYTE_RATE
LEVELS = [
    make_entity(user="u", client_id="c"),
    make_entity(user="u", client_id=None),
    make_entity(user="u"),
    make_entity(user=None, client_id="c"),
    make_entity(user=None, client_id=None),
    make_entity(user=None),
    make_entity(client_id="c"),
    make_entity(client_id=None),
]


def test_entities_are_sorted_by_type():
    assert make_entity(user="u", client_id=None) == (("client-id", None), ("user", "u"))
    assert normalize_entity([("user", "u"), ("client-id", "c")]) == (("client-id", "c"), ("user", "u"))


@pytest.mark.parametrize("level", range(8))
def test_each_level_wins_over_every_later_one(level):
    entries = {entity: {P: float(index + 1)} for index, entity in enumerate(LEVELS) if index >= level}
    table = QuotaTable(entries)
    assert table.resolve("u", "c", P).limit == level + 1


def test_no_quota_for_the_key_means_unlimited():
    table = QuotaTable({make_entity(user="u"): {CONSUMER_BYTE_RATE: 5}})
    assert table.resolve("u", "c", P) == (None, ("", "c"))
    assert table.resolve("u", "c", CONSUMER_BYTE_RATE).limit == 5
    assert not table.has_key(P) and table.has_key(CONSUMER_BYTE_RATE)


def test_tags_when_only_client_id_quotas_exist():
    table = QuotaTable({make_entity(client_id=None): {P: 10}})
    assert table.resolve("u", "c", P) == (10, ("", "c"))


def test_tags_when_only_user_quotas_exist():
    # Every client of user u shares one sensor, also a user without any match.
    table = QuotaTable({make_entity(user="u"): {P: 10}})
    assert table.resolve("u", "c", P) == (10, ("u", ""))
    assert table.resolve("v", "c", P) == (None, ("v", ""))


def test_tags_when_only_user_and_client_id_quotas_exist():
    table = QuotaTable({make_entity(user=None, client_id=None): {P: 10}})
    assert table.resolve("u", "c", P) == (10, ("u", "c"))


def test_tags_follow_the_matched_level_when_kinds_are_mixed():
    table = QuotaTable({
        make_entity(user="u", client_id="c"): {P: 1},
        make_entity(user="v"): {P: 2},
        make_entity(client_id=None): {P: 3},
    })
    assert table.resolve("u", "c", P) == (1, ("u", "c"))
    assert table.resolve("v", "c", P) == (2, ("v", ""))
    assert table.resolve("w", "d", P) == (3, ("", "d"))
    # u with another client id falls through to the default client id.
    assert table.resolve("u", "d", P) == (3, ("", "d"))


def test_kinds_are_counted_per_key():
    table = QuotaTable({
        make_entity(user="u"): {P: 1},
        make_entity(client_id="c"): {CONSUMER_BYTE_RATE: 2},
    })
    assert table.resolve("u", "c", P).metric_tags == ("u", "")
    assert table.resolve("u", "c", CONSUMER_BYTE_RATE).metric_tags == ("", "c")


def test_ip_quotas_fall_back_to_the_default_ip():
    table = QuotaTable({
        make_entity(ip="10.0.0.1"): {CONNECTION_CREATION_RATE: 5},
        make_entity(ip=None): {CONNECTION_CREATION_RATE: 50},
        make_entity(ip="::0:1"): {CONNECTION_CREATION_RATE: 7},
    })
    assert table.ip_limit("10.0.0.1") == 5
    assert table.ip_limit("10.0.0.2") == 50
    assert table.ip_limit("::1") == 7  # the same address written canonically
    assert QuotaTable().ip_limit("10.0.0.1") is None


def test_invalid_entities_are_skipped_not_fatal():
    table = QuotaTable({
        (("ip", "1.2.3.4"), ("user", "u")): {CONNECTION_CREATION_RATE: 1},
        (("group", "g"),): {P: 1},
        (("user", "a"), ("user", "b")): {P: 1},
        make_entity(user="u"): {P: 7},
    })
    assert table.entries() == {make_entity(user="u"): {P: 7.0}}
    assert table.ip_limit("1.2.3.4") is None
    assert table.resolve("u", "c", P) == (7, ("u", ""))


def test_replace_tells_the_listeners_and_entries_round_trip():
    table = QuotaTable()
    calls = []
    table.add_listener(lambda: calls.append(table.version))
    entries = {make_entity(user="u", client_id=None): {P: 1.0}, make_entity(client_id="x"): {}}
    table.replace(entries)
    assert calls == [1]
    assert table.entries() == {make_entity(user="u", client_id=None): {P: 1.0}}


# --- property: resolve is the first entity of the precedence list ------------------------------

USERS = ["alice", "bob", None]
CLIENTS = ["c1", "c2", None]
KEYS = [PRODUCER_BYTE_RATE, CONSUMER_BYTE_RATE]  # IP entities carry them too here: they must not count

entity_strategy = st.one_of(
    st.builds(lambda ip: make_entity(ip=ip), st.sampled_from(["10.0.0.1", None])),
    st.builds(lambda u: make_entity(user=u), st.sampled_from(USERS)),
    st.builds(lambda c: make_entity(client_id=c), st.sampled_from(CLIENTS)),
    st.builds(lambda u, c: make_entity(user=u, client_id=c), st.sampled_from(USERS), st.sampled_from(CLIENTS)),
)
table_strategy = st.dictionaries(
    entity_strategy,
    st.dictionaries(st.sampled_from(KEYS), st.integers(1, 10**6).map(float), min_size=1),
    max_size=10,
)


def reference_resolve(entries, user, client_id, key):
    """Kafka's documented order, read literally; tags from the shape of the matched entity."""
    order = [
        {"user": user, "client-id": client_id},
        {"user": user, "client-id": None},
        {"user": user},
        {"user": None, "client-id": client_id},
        {"user": None, "client-id": None},
        {"user": None},
        {"client-id": client_id},
        {"client-id": None},
    ]
    matched = None
    for names in order:
        values = entries.get(normalize_entity(names.items()), {})
        if key in values:
            matched = (names, values[key])
            break
    shapes = {frozenset(dict(entity)) for entity, values in entries.items() if key in values} - {frozenset({"ip"})}
    shape = next(iter(shapes)) if len(shapes) == 1 else (frozenset(matched[0]) if matched else None)
    if shape == frozenset({"user", "client-id"}):
        tags = (user, client_id)
    elif shape == frozenset({"user"}):
        tags = (user, "")
    else:
        tags = ("", client_id)
    return (matched[1] if matched else None), tags


@settings(max_examples=300, deadline=None)
@given(table_strategy)
def test_resolve_matches_the_precedence_list(entries):
    table = QuotaTable(entries)
    for user in ["alice", "bob", "carol"]:
        for client_id in ["c1", "c2", "c3", ""]:
            for key in KEYS:
                expected = reference_resolve(entries, user, client_id, key)
                assert tuple(table.resolve(user, client_id, key)) == expected, (user, client_id, key)

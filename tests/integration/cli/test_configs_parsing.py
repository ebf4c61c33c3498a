"""The pure parts of ``minikafka configs``: ``--add-config`` syntax, Java's double
printing, how entities print, and how a client's effective quota is resolved."""

from __future__ import annotations

import pytest

from minikafka.cli import client_quotas as cq
from minikafka.cli.configs import ConfigCommandError, parse_add_config, parse_delete_config


def test_add_config_splits_on_commas_outside_brackets():
    assert parse_add_config(["a=1,b.c=[x,y,z], d = 4 ,e="]) == \
        {"a": "1", "b.c": "x,y,z", "d": "4", "e": ""}
    assert parse_add_config(["a=1", "b=2"]) == {"a": "1", "b": "2"}


@pytest.mark.parametrize("text", ["a", "a=1=2", "a=1,b"])
def test_add_config_needs_key_equals_value(text):
    with pytest.raises(ConfigCommandError, match='in the format "key=val"'):
        parse_add_config([text])


def test_delete_config_splits_on_commas():
    assert parse_delete_config(["a, b", "c"]) == ["a", "b", "c"]


@pytest.mark.parametrize("value, text", [
    (1048576, "1048576.0"), (1.5, "1.5"), (0.001, "0.001"), (0.0001, "1.0E-4"),
    (9999999, "9999999.0"), (1e7, "1.0E7"), (12345678, "1.2345678E7"), (0, "0.0"),
    (9.223372036854776e18, "9.223372036854776E18"),
])
def test_java_double(value, text):
    assert cq.java_double(value) == text


def test_describe_entity_puts_user_first():
    entity = cq.make_entity([("client-id", "billing"), ("user", "alice")])
    assert cq.describe_entity(entity) == "user-principal 'alice', client-id 'billing'"
    assert cq.describe_entity(cq.make_entity([("user", None), ("client-id", None)])) == \
        "the default user-principal, the default client-id"
    assert cq.describe_entity(cq.make_entity([("ip", "10.0.0.1")])) == "ip '10.0.0.1'"


def test_effective_quota_follows_kafkas_precedence():
    key = cq.CONSUMER_BYTE_RATE
    order = [
        [("user", "u"), ("client-id", "c")],
        [("user", "u"), ("client-id", None)],
        [("user", "u")],
        [("user", None), ("client-id", "c")],
        [("user", None), ("client-id", None)],
        [("user", None)],
        [("client-id", "c")],
        [("client-id", None)],
    ]
    quotas = {cq.make_entity(pairs): {key: float(rank)} for rank, pairs in enumerate(order)}
    quotas[cq.make_entity([("user", "other")])] = {key: 99.0}
    for rank, pairs in enumerate(order):
        assert cq.effective_quota(quotas, "u", "c", key) == (float(rank), cq.make_entity(pairs))
        del quotas[cq.make_entity(pairs)]
    assert cq.effective_quota(quotas, "u", "c", key) is None


def test_effective_quota_is_per_key():
    quotas = {cq.make_entity([("user", "u"), ("client-id", "c")]): {cq.PRODUCER_BYTE_RATE: 1.0},
              cq.make_entity([("client-id", "c")]): {cq.CONSUMER_BYTE_RATE: 2.0}}
    assert cq.effective_quota(quotas, "u", "c", cq.CONSUMER_BYTE_RATE) == \
        (2.0, cq.make_entity([("client-id", "c")]))

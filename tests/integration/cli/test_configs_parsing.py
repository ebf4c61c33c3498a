"""The pure parts of ``minikafka configs``: ``--add-config`` syntax, Java's double
printing and how entities print (a client's effective quota is ``QuotaTable``'s, tested with it)."""

from __future__ import annotations

import pytest

from minikafka.cli import client_quotas as cq
from minikafka.cli.configs import ConfigCommandError, parse_add_config, parse_delete_config
from minikafka.quotas.entity import normalize_entity


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
    entity = normalize_entity([("client-id", "billing"), ("user", "alice")])
    assert cq.describe_entity(entity) == "user-principal 'alice', client-id 'billing'"
    assert cq.describe_entity(normalize_entity([("user", None), ("client-id", None)])) == \
        "the default user-principal, the default client-id"
    assert cq.describe_entity(normalize_entity([("ip", "10.0.0.1")])) == "ip '10.0.0.1'"

"""``minikafka configs`` on client quotas: clients, users, user+client, defaults and IPs.

Against a real broker process: each test sets quotas with ``--alter``, reads
them back with ``--describe`` in the lines ``kafka-configs.sh`` prints, and
removes them again (the broker is shared by the module, and a quota left
behind would throttle the next test's tools). Names are unique per test.
"""

from __future__ import annotations

import uuid

import pytest

from tests.integration.cli.test_configs import broker, configs, configs_fail  # noqa: F401


@pytest.fixture
def name():
    return f"q-{uuid.uuid4().hex[:8]}"


def alter(broker, *argv: str) -> str:
    return configs(broker, "--alter", *argv)


def describe(broker, *argv: str) -> list[str]:
    return configs(broker, "--describe", *argv).splitlines()


def test_client_quotas(broker, name):
    client = ("--entity-type", "clients", "--entity-name", name)
    assert alter(broker, *client, "--add-config", "producer_byte_rate=1048576") == \
        f"Completed updating config for client {name}.\n"
    assert describe(broker, *client) == \
        [f"Quota configs for client-id '{name}' are producer_byte_rate=1048576.0"]

    alter(broker, *client, "--add-config", "consumer_byte_rate=2048,request_percentage=12.5")
    assert describe(broker, *client) == [
        f"Quota configs for client-id '{name}' are consumer_byte_rate=2048.0, "
        f"producer_byte_rate=1048576.0, request_percentage=12.5"]

    alter(broker, *client, "--delete-config", "producer_byte_rate,request_percentage")
    assert describe(broker, *client) == \
        [f"Quota configs for client-id '{name}' are consumer_byte_rate=2048.0"]
    assert f"Quota configs for client-id '{name}' are consumer_byte_rate=2048.0" in \
        describe(broker, "--entity-type", "clients")  # every client with a quota

    alter(broker, *client, "--delete-config", "consumer_byte_rate")
    assert describe(broker, *client) == []


def test_user_quotas(broker, name):
    user = ("--entity-type", "users", "--entity-name", name)
    assert alter(broker, *user, "--add-config", "request_percentage=50,"
                 "controller_mutation_rate=10") == f"Completed updating config for user {name}.\n"
    assert describe(broker, *user) == [
        f"Quota configs for user-principal '{name}' are controller_mutation_rate=10.0, "
        f"request_percentage=50.0"]
    alter(broker, *user, "--delete-config", "request_percentage,controller_mutation_rate")
    assert describe(broker, *user) == []


def test_user_and_client_quotas(broker, name):
    user, client = f"{name}-user", f"{name}-client"
    both = ("--entity-type", "users", "--entity-name", user,
            "--entity-type", "clients", "--entity-name", client)
    assert alter(broker, *both, "--add-config", "producer_byte_rate=4096") == \
        f"Completed updating config for user {user}.\n"
    # The same entity, named clients first; and the user's other quota of its own.
    reversed_order = ("--entity-type", "clients", "--entity-name", client,
                      "--entity-type", "users", "--entity-name", user)
    assert alter(broker, *reversed_order, "--add-config", "consumer_byte_rate=8192") == \
        f"Completed updating config for client {client}.\n"
    alter(broker, "--entity-type", "users", "--entity-name", user,
          "--add-config", "producer_byte_rate=100000")

    expected = (f"Quota configs for user-principal '{user}', client-id '{client}' are "
                f"consumer_byte_rate=8192.0, producer_byte_rate=4096.0")
    assert describe(broker, *both) == [expected]
    assert describe(broker, *reversed_order) == [expected]
    # Every client of the user: only the user+client entity, not the user's own.
    assert describe(broker, "--entity-type", "users", "--entity-name", user,
                    "--entity-type", "clients") == [expected]
    assert describe(broker, "--entity-type", "users", "--entity-name", user) == \
        [f"Quota configs for user-principal '{user}' are producer_byte_rate=100000.0"]

    alter(broker, *both, "--delete-config", "producer_byte_rate,consumer_byte_rate")
    alter(broker, "--entity-type", "users", "--entity-name", user,
          "--delete-config", "producer_byte_rate")
    assert describe(broker, *both) == []


def test_default_quotas(broker, name):
    # Generous values: these defaults apply to every client, the tools' own included.
    cases = [
        (("--entity-type", "users", "--entity-default"), "users", "the default user-principal"),
        (("--entity-type", "clients", "--entity-default"), "clients", "the default client-id"),
        (("--entity-type", "users", "--entity-default", "--entity-type", "clients",
          "--entity-default"), "users", "the default user-principal, the default client-id"),
        (("--entity-type", "users", "--entity-name", name, "--entity-type", "clients",
          "--entity-default"), "users", f"user-principal '{name}', the default client-id"),
    ]
    for entity, entity_type, printed in cases:
        out = alter(broker, *entity, "--add-config", "producer_byte_rate=1000000000")
        if "--entity-name" in entity:
            assert out == f"Completed updating config for user {name}.\n"
        else:
            assert out == f"Completed updating default config for {entity_type} in the cluster.\n"
        try:
            assert describe(broker, *entity) == \
                [f"Quota configs for {printed} are producer_byte_rate=1.0E9"]
        finally:
            alter(broker, *entity, "--delete-config", "producer_byte_rate")
        assert describe(broker, *entity) == []


def test_ip_quotas(broker):
    ip = ("--entity-type", "ips", "--entity-name", "10.11.12.13")
    assert alter(broker, *ip, "--add-config", "connection_creation_rate=10") == \
        "Completed updating config for ip 10.11.12.13.\n"
    assert describe(broker, *ip) == \
        ["Quota configs for ip '10.11.12.13' are connection_creation_rate=10.0"]
    default_ip = ("--entity-type", "ips", "--entity-default")
    assert alter(broker, *default_ip, "--add-config", "connection_creation_rate=100000") == \
        "Completed updating default config for ips in the cluster.\n"
    try:
        assert describe(broker, *default_ip) == \
            ["Quota configs for the default ip are connection_creation_rate=100000.0"]
        assert describe(broker, "--entity-type", "ips") == [
            "Quota configs for the default ip are connection_creation_rate=100000.0",
            "Quota configs for ip '10.11.12.13' are connection_creation_rate=10.0"]
    finally:
        alter(broker, *default_ip, "--delete-config", "connection_creation_rate")
        alter(broker, *ip, "--delete-config", "connection_creation_rate")
    assert describe(broker, "--entity-type", "ips") == []


def test_quota_errors(broker, name):
    client = ("--entity-type", "clients", "--entity-name", name)
    assert configs_fail(broker, "--alter", *client, "--add-config", "producer_rate=1") == (
        "Only quota configs can be added for 'clients' using --bootstrap-server. "
        "Unexpected config names: producer_rate")
    assert configs_fail(broker, "--alter", *client, "--delete-config", "retention.ms") == (
        "Only quota configs can be deleted for 'clients' using --bootstrap-server. "
        "Unexpected config names: retention.ms")
    assert configs_fail(broker, "--alter", "--entity-type", "users", "--entity-name", name,
                        "--add-config", "segment.bytes=1") == (
        "Only quota configs can be added for 'users' using --bootstrap-server. "
        "Unexpected config names: segment.bytes")
    assert configs_fail(broker, "--alter", "--entity-type", "ips", "--entity-name", "10.0.0.1",
                        "--add-config", "producer_byte_rate=1") == (
        "Only connection quota configs can be added for 'ips' using --bootstrap-server. "
        "Unexpected config names: producer_byte_rate")
    assert configs_fail(broker, "--alter", *client, "--add-config", "producer_byte_rate=fast") == \
        "Cannot parse quota configuration value for producer_byte_rate: fast"
    assert configs_fail(broker, "--alter", *client, "--add-config", "producer_byte_rate=1_000") == \
        "Cannot parse quota configuration value for producer_byte_rate: 1_000"
    assert configs_fail(broker, "--alter", *client, "--delete-config", "producer_byte_rate") == \
        "Invalid config(s): producer_byte_rate (INVALID_CONFIG)"
    # The broker's own checks: Kafka's error name and message.
    refused = configs_fail(broker, "--alter", *client, "--add-config", "producer_byte_rate=-5")
    assert refused.endswith("(INVALID_REQUEST)"), refused
    refused = configs_fail(broker, "--alter", *client, "--add-config", "producer_byte_rate=1.5")
    assert refused.endswith("(INVALID_REQUEST)"), refused
    assert describe(broker, *client) == []

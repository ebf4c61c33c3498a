"""``minikafka groups describe`` shows what each member's client may fetch.

A real librdkafka consumer in a group, a real broker process, and quotas set
with ``minikafka configs``: the describe tables gain the member client's
effective ``consumer_byte_rate`` (``-`` when none), resolved in the broker's
order, and a note on stderr names the quota entity that sets it.
"""

from __future__ import annotations

import uuid

import pytest

from tests.integration.cli.in_process import run_cli
from tests.integration.cli_brokers import stopping_cleanly
from tests.integration.cli.test_cli_groups import (  # noqa: F401
    GroupsBroker,
    RECORDS,
    by_partition,
    consume,
    produce,
    table,
)
from confluent_kafka import Consumer  # noqa: E402


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    yield from stopping_cleanly(GroupsBroker(tmp_path_factory.mktemp("data")))


def minikafka(*argv: str) -> tuple[str, str]:
    status, out, err = run_cli(*argv)
    assert status == 0, err
    return out, err


def describe(broker, group: str, *extra: str) -> tuple[str, str]:
    return minikafka("groups", "describe", group, "--bootstrap-server", broker.bootstrap, *extra)


def set_consumer_quota(broker, value: int, *entity: str) -> None:
    minikafka("configs", "--bootstrap-server", broker.bootstrap, "--alter", *entity,
              "--add-config", f"consumer_byte_rate={value}")


def test_describe_shows_each_member_clients_consumer_quota(broker):
    suffix = uuid.uuid4().hex[:8]
    topic, group, client_id = f"t-{suffix}", f"g-{suffix}", f"reader-{suffix}"
    minikafka("topics", "create", "--bootstrap-server", broker.bootstrap, "--topic", topic,
              "--partitions", "3")
    produce(broker, topic, {p: RECORDS // 3 for p in range(3)})
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group,
                         "client.id": client_id, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    client = ("--entity-type", "clients", "--entity-name", client_id)
    user_and_client = ("--entity-type", "users", "--entity-name", "ANONYMOUS", *client)
    try:
        assert len(consume(consumer, RECORDS)) == RECORDS
        out, err = describe(broker, group)
        rows = by_partition(table(out))
        assert {r["CONSUMER-BYTE-RATE"] for r in rows.values()} == {"-"}
        assert {r["CLIENT-ID"] for r in rows.values()} == {client_id}
        assert "may fetch" not in err

        set_consumer_quota(broker, 1024, *client)
        out, err = describe(broker, group)
        assert {r["CONSUMER-BYTE-RATE"] for r in table(out)} == {"1024.0"}
        assert f"Client '{client_id}' may fetch 1024.0 bytes/s (consumer_byte_rate of " \
               f"client-id '{client_id}')." in err

        # A user+client quota is more specific than the client's own: it wins.
        set_consumer_quota(broker, 2048, *user_and_client)
        out, err = describe(broker, group, "--members", "--verbose")
        [member] = table(out)
        assert member["CONSUMER-BYTE-RATE"] == "2048.0"
        assert out.rstrip().endswith(f"{topic}(0,1,2)")  # ASSIGNMENT stays last
        assert "(consumer_byte_rate of user-principal 'ANONYMOUS', client-id " \
               f"'{client_id}')." in err
    finally:
        consumer.close()
        for entity in (client, user_and_client):
            run_cli("configs", "--bootstrap-server", broker.bootstrap, "--alter", *entity,
                    "--delete-config", "consumer_byte_rate")

"""Config keys: the same rules for Producer, Consumer and Admin (``client_config.py``).

A key the client uses works; a real Kafka key it does not use is accepted
and ignored; a key it cannot honour is refused with the reason; anything
else is an error naming the key, as librdkafka's "No such configuration
property", with the nearest known key as a hint.
"""

from __future__ import annotations

import pytest

from minikafka.testing import open_broker
from minikafka_clients import Admin, Consumer, NewTopic, Producer
from minikafka_clients.client_config import IGNORED_ADMIN, IGNORED_CONSUMER, IGNORED_PRODUCER

BOOTSTRAP = {"bootstrap.servers": "127.0.0.1:9"}  # never contacted: the checks run first

CLIENTS = [(Producer, IGNORED_PRODUCER), (Consumer, IGNORED_CONSUMER), (Admin, IGNORED_ADMIN)]

# What a lab or a copied Java/librdkafka configuration passes to a consumer.
STANDARD_CONSUMER_KEYS = {
    "client.id": "lab", "group.id": "lab-group", "retry.backoff.ms": 50,
    "retry.backoff.max.ms": 500, "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 1000,
    "request.timeout.ms": 10_000, "default.api.timeout.ms": 10_000, "max.poll.records": 10,
    "fetch.min.bytes": 1, "fetch.max.bytes": 1_000_000, "fetch.max.wait.ms": 100,
    "max.partition.fetch.bytes": 100_000, "metadata.max.age.ms": 60_000,
    "socket.connection.setup.timeout.ms": 5000, "session.timeout.ms": 10_000,
    "heartbeat.interval.ms": 1000, "max.poll.interval.ms": 30_000,
    "enable.auto.commit": "false", "auto.commit.interval.ms": 1000, "auto.offset.reset": "earliest",
    "isolation.level": "read_committed", "partition.assignment.strategy": "range",
    "key.deserializer": "org.apache.kafka.common.serialization.ByteArrayDeserializer",
    "check.crcs": "true", "allow.auto.create.topics": "false", "security.protocol": "PLAINTEXT",
}


@pytest.mark.parametrize("client,ignored", CLIENTS, ids=lambda c: getattr(c, "__name__", ""))
def test_an_unknown_key_is_an_error_naming_it_and_the_nearest_key(client, ignored):
    with pytest.raises(ValueError, match=r"No such configuration property: 'request.timeout.msec'"
                                         r".*did you mean 'request.timeout.ms'"):
        client({**BOOTSTRAP, "request.timeout.msec": 100})


@pytest.mark.parametrize("client,ignored", CLIENTS, ids=lambda c: getattr(c, "__name__", ""))
def test_every_accepted_but_ignored_key_is_accepted(client, ignored):
    client({**BOOTSTRAP, **{key: "1" for key in ignored if key != "security.protocol"},
            "security.protocol": "plaintext"})


@pytest.mark.parametrize("client", [Producer, Consumer, Admin], ids=lambda c: c.__name__)
def test_keys_that_cannot_be_honoured_are_refused_with_the_reason(client):
    with pytest.raises(ValueError, match="PLAINTEXT only"):
        client({**BOOTSTRAP, "security.protocol": "SASL_SSL"})


@pytest.mark.parametrize("client", [Consumer, Admin], ids=lambda c: c.__name__)
def test_transactional_id_is_a_producer_key_only(client):
    with pytest.raises(ValueError, match="No such configuration property: 'transactional.id'"):
        client({**BOOTSTRAP, "transactional.id": "tx-1"})


def test_a_transactional_producer_needs_idempotence():
    assert Producer({**BOOTSTRAP, "transactional.id": "tx-1"}).config.transactional_id == "tx-1"
    with pytest.raises(ValueError, match="transactional.id without also enabling idempotence"):
        Producer({**BOOTSTRAP, "transactional.id": "tx-1", "enable.idempotence": False})
    with pytest.raises(ValueError, match="transactional.id is set, but acks must be all"):
        Producer({**BOOTSTRAP, "transactional.id": "tx-1", "acks": 1})


def test_a_producer_key_is_unknown_to_the_consumer_and_the_reverse():
    with pytest.raises(ValueError, match="'linger.ms' for the consumer"):
        Consumer({**BOOTSTRAP, "linger.ms": 5})
    with pytest.raises(ValueError, match="'group.id' for the producer"):
        Producer({**BOOTSTRAP, "group.id": "g"})


async def test_a_consumer_with_the_standard_keys_reads_from_a_broker(tmp_path):
    async with open_broker(tmp_path, num_partitions=1) as broker:
        bootstrap = f"127.0.0.1:{broker.bound_ports[0]}"
        async with Admin({"bootstrap.servers": bootstrap, "reconnect.backoff.ms": 10}) as admin:
            await admin.create_topics([NewTopic("labs", 1)])
        async with Producer({"bootstrap.servers": bootstrap, "retry.backoff.ms": 10,
                             "metadata.max.age.ms": 60_000, "send.buffer.bytes": 131072}) as producer:
            for i in range(20):
                await producer.send("labs", b"%d" % i)
        async with Consumer({"bootstrap.servers": bootstrap, **STANDARD_CONSUMER_KEYS}) as consumer:
            assert consumer.cluster.backoff.backoff_ms(0) <= 50 * 1.2  # retry.backoff.ms reached the cluster
            consumer.assign([("labs", 0)])
            got = []
            for _ in range(20):
                batch = await consumer.poll(1)
                assert len(batch) <= 10  # max.poll.records
                got += batch
                if len(got) == 20:
                    break
        assert [r.value for r in got] == [b"%d" % i for i in range(20)]

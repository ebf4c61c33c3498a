"""A batch the broker refuses as MESSAGE_TOO_LARGE is split and resent (Java's splitAndReenqueue).

The topic's ``max.message.bytes`` is 1 KiB; the producer lingers long enough
to put many 200-byte records in one batch, which the broker refuses. Every
record must still arrive, once, with its future and callback resolved; in
order too, where Kafka promises order: with idempotence, or with one request
in flight (without idempotence, pieces pipelined behind a piece that is
refused again overtake it, as retries do in Kafka). A single record over
the limit fails with MESSAGE_TOO_LARGE.
"""

import pytest

from minikafka.errors import ErrorCode, KafkaError
from minikafka_clients import Admin, NewTopic, Producer
from .producer_readers import read_confluent

SMALL_TOPIC = {"max.message.bytes": "1024"}


async def create_small_topic(bootstrap, name):
    async with Admin({"bootstrap.servers": bootstrap}) as admin:
        await admin.create_topics([NewTopic(name, 1, configs=SMALL_TOPIC)])


@pytest.mark.parametrize("settings,ordered", [
    ({}, True),
    ({"acks": "1", "max.in.flight.requests.per.connection": 1}, True),
    ({"acks": "1"}, False),
], ids=["idempotent", "acks-1-one-in-flight", "acks-1-pipelined"])
async def test_a_refused_batch_is_split_and_every_record_arrives(
        bootstrap, topic_name, settings, ordered):
    await create_small_topic(bootstrap, topic_name)
    values = [b"%03d" % i + b"x" * 200 for i in range(40)]
    delivered = []
    config = {"bootstrap.servers": bootstrap, "linger.ms": 200, **settings}
    async with Producer(config) as producer:
        futures = [await producer.send(topic_name, value, on_delivery=lambda err, md: delivered.append((err, md)))
                   for value in values]
        assert await producer.flush() == 0
        metadata = [await future for future in futures]
        assert producer.sender.record_retry_total == 0  # a split is not a retry
    assert sorted(m.offset for m in metadata) == list(range(40))
    assert sorted(md.offset for err, md in delivered if err is None) == list(range(40))
    records = read_confluent(bootstrap, topic_name, 40, 1)
    assert [r[1] for r in records] == list(range(40))
    by_offset = {m.offset: value for m, value in zip(metadata, values)}
    assert [r[3] for r in records] == [by_offset[r[1]] for r in records]  # futures tell the truth
    if ordered:
        assert [r[3] for r in records] == values


async def test_one_record_over_the_limit_fails_with_message_too_large(bootstrap, topic_name):
    await create_small_topic(bootstrap, topic_name)
    async with Producer({"bootstrap.servers": bootstrap, "linger.ms": 50}) as producer:
        small = await producer.send(topic_name, b"fits")
        too_large = await producer.send(topic_name, b"x" * 2000)
        await producer.flush()
        with pytest.raises(KafkaError) as info:
            await too_large
        assert info.value.code == ErrorCode.MESSAGE_TOO_LARGE
        assert (await small).offset == 0
        # The producer carries on (a new epoch if it was idempotent).
        after = await producer.send(topic_name, b"after")
        assert (await after).offset == 1

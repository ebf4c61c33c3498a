"""A real client that uses fetch sessions (kafka-python, KIP-227) keeps consuming correctly in one.

kafka-python opens a session with its first full Fetch (v7+, epoch 0) and
then fetches incrementally; records produced while it is in the session must
all arrive, in order, and the broker must have held the session.
"""

from __future__ import annotations

import pytest

from minikafka.testing import BrokerThread

PARTITIONS = 3


@pytest.fixture
def broker_thread(tmp_path):
    with BrokerThread(tmp_path) as broker_thread:
        broker_thread.call(broker_thread.broker.create_topic, "events", PARTITIONS, {})
        yield broker_thread


def consume(consumer, count: int) -> list[tuple[int, bytes]]:
    received = []
    for message in consumer:
        received.append((message.partition, message.value))
        if len(received) == count:
            break
    return received


def in_partition_order(values: list[tuple[int, bytes]]) -> dict[int, list[bytes]]:
    by_partition: dict[int, list[bytes]] = {}
    for partition, value in values:
        by_partition.setdefault(partition, []).append(value)
    return by_partition


def test_kafka_python_consumes_across_a_fetch_session(broker_thread):
    import kafka  # a test dependency: missing means a broken install, not a skip
    producer = kafka.KafkaProducer(bootstrap_servers=broker_thread.bootstrap, linger_ms=5)
    consumer = kafka.KafkaConsumer(bootstrap_servers=broker_thread.bootstrap, enable_auto_commit=False,
                                   consumer_timeout_ms=10_000, fetch_max_wait_ms=100)
    consumer.assign([kafka.TopicPartition("events", p) for p in range(PARTITIONS)])
    consumer.seek_to_beginning()
    sent = []
    received = []
    for round_no in range(3):  # each round is consumed from the same session, incrementally
        batch = [(i % PARTITIONS, b"round-%d-%d" % (round_no, i)) for i in range(30)]
        for partition, value in batch:
            producer.send("events", value=value, partition=partition)
        producer.flush(10)
        sent += batch
        received += consume(consumer, len(batch))
    sessions = broker_thread.broker.services.fetch_sessions.sessions
    consumer.close()
    producer.close()
    assert in_partition_order(received) == in_partition_order(sent)
    assert sessions, "the consumer fetched without a session"
    assert any(s.epoch > 2 for s in sessions.values()), "the session was never used incrementally"

"""Unmodified Kafka clients against an in-process broker (``BrokerThread``)."""

from __future__ import annotations

import pytest

from minikafka.testing import BrokerThread

N_MESSAGES = 200


@pytest.fixture
def broker_thread(tmp_path):
    with BrokerThread(tmp_path) as broker_thread:
        broker_thread.call(broker_thread.broker.create_topic, "orders", 2, {})
        yield broker_thread


def keyed_messages():
    return [(b"key-%d" % (i % 7), b"value-%d" % i) for i in range(N_MESSAGES)]


def per_key(messages):
    by_key = {}
    for key, value in messages:
        by_key.setdefault(key, []).append(value)
    return by_key


def test_confluent_kafka_produce_and_consume(broker_thread):
    import confluent_kafka  # a test dependency: missing means a broken install, not a skip
    producer = confluent_kafka.Producer({
        "bootstrap.servers": broker_thread.bootstrap,
        "enable.idempotence": True,
        "linger.ms": 5,
    })
    errors = []
    for key, value in keyed_messages():
        producer.produce("orders", value, key, on_delivery=lambda err, msg: err and errors.append(err))
    assert producer.flush(10) == 0
    assert errors == []

    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": broker_thread.bootstrap,
        "group.id": "unused",  # required by the client; assign() uses no group
        "enable.auto.commit": False,
    })
    consumer.assign([confluent_kafka.TopicPartition("orders", p, 0) for p in (0, 1)])
    received = []
    try:
        while len(received) < N_MESSAGES:
            message = consumer.poll(10)
            assert message is not None, f"timed out after {len(received)} messages"
            assert message.error() is None, message.error()
            received.append((message.key(), message.value()))
    finally:
        consumer.close()
    # Same key, same partition, so per key the order is the produce order.
    assert per_key(received) == per_key(keyed_messages())


def test_kafka_python_produce_and_consume(broker_thread):
    import kafka  # a test dependency: missing means a broken install, not a skip
    producer = kafka.KafkaProducer(bootstrap_servers=broker_thread.bootstrap, linger_ms=5)
    futures = [producer.send("orders", key=k, value=v) for k, v in keyed_messages()]
    producer.flush(10)
    assert all(f.get(timeout=10).offset >= 0 for f in futures)
    producer.close()

    consumer = kafka.KafkaConsumer(bootstrap_servers=broker_thread.bootstrap,
                                   enable_auto_commit=False, consumer_timeout_ms=10_000)
    consumer.assign([kafka.TopicPartition("orders", p) for p in (0, 1)])
    consumer.seek_to_beginning()
    received = []
    for message in consumer:
        received.append((message.key, message.value))
        if len(received) == N_MESSAGES:
            break
    consumer.close()
    assert per_key(received) == per_key(keyed_messages())

"""Small helpers that drive the real Kafka clients the same way in every test."""

from __future__ import annotations

import asyncio
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def create_topic(bootstrap: str, name: str, partitions: int = 1, config: dict | None = None) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, partitions, 1, config=config or {})])
    futures[name].result(timeout=15)


def confluent_produce(bootstrap: str, topic: str, messages, **config) -> list:
    """Produce (key, value, headers, timestamp_ms) tuples; return the delivered Messages."""
    delivered, errors = [], []

    def on_delivery(err, msg):
        (errors if err else delivered).append(err or msg)

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, **config})
    for key, value, headers, timestamp in messages:
        producer.produce(topic, value=value, key=key, headers=headers, timestamp=timestamp or 0,
                         on_delivery=on_delivery)
        producer.poll(0)
    remaining = producer.flush(30)
    assert remaining == 0 and not errors, f"not delivered: {remaining}, errors: {errors}"
    return delivered


def confluent_consume(bootstrap: str, topic: str, partition: int, count: int,
                      offset: int = 0, timeout_s: float = 20.0, **config) -> list:
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "minikafka-tests-assign-only",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        **config,
    })
    consumer.assign([TopicPartition(topic, partition, offset)])
    out = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(out) < count and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            out.append(msg)
    finally:
        consumer.close()
    return out


def run_async(coro):
    """Run an asyncio coroutine (aiokafka) from a synchronous test."""
    return asyncio.run(coro)

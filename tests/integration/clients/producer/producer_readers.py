"""Read a topic back with real Kafka clients (confluent-kafka, kafka-python).

Both return ``[(partition, offset, key, value, headers, timestamp_ms)]``
sorted by partition and offset, headers as ``[(str, bytes | None)]``, so
tests can compare what the bundled producer wrote with what independent
clients see.
"""

from __future__ import annotations

import time

import confluent_kafka
import kafka


def read_confluent(bootstrap: str, topic: str, count: int, num_partitions: int,
                   timeout_s: float = 15) -> list[tuple]:
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": bootstrap, "group.id": "producer-tests",
        "enable.auto.commit": False, "api.version.request": True})
    try:
        consumer.assign([confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                         for p in range(num_partitions)])
        found, deadline = [], time.monotonic() + timeout_s
        while len(found) < count and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=1000, timeout=0.5):
                if message.error():
                    continue
                found.append((message.partition(), message.offset(), message.key(), message.value(),
                              list(message.headers() or []), message.timestamp()[1]))
        return sorted(found)
    finally:
        consumer.close()


def read_kafka_python(bootstrap: str, topic: str, count: int, num_partitions: int,
                      timeout_s: float = 15) -> list[tuple]:
    consumer = kafka.KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = [kafka.TopicPartition(topic, p) for p in range(num_partitions)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        found, deadline = [], time.monotonic() + timeout_s
        while len(found) < count and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                found += [(r.partition, r.offset, r.key, r.value, list(r.headers), r.timestamp)
                          for r in records]
        return sorted(found)
    finally:
        consumer.close()

"""Transactions between the bundled clients and librdkafka (confluent-kafka), both ways.

librdkafka's read_committed consumer reads what the bundled transactional
producer wrote (so its batches, AddPartitionsToTxn and EndTxn are right by a
real client's measure), and the bundled read_committed consumer reads what
librdkafka's transactional producer wrote (so its aborted-transaction
filtering agrees with a real producer's batches and markers).
"""

from __future__ import annotations

import confluent_kafka
import pytest

from minikafka.testing import BrokerThread
from minikafka_clients import NewTopic, SyncAdmin, SyncConsumer, SyncProducer

pytestmark = pytest.mark.slow


@pytest.fixture
def broker(tmp_path):
    with BrokerThread(tmp_path, num_partitions=1) as thread:
        with SyncAdmin({"bootstrap.servers": thread.bootstrap}) as admin:
            admin.create_topics([NewTopic("t", 2)])
        yield thread.bootstrap


def _rdkafka_read_committed(bootstrap: str, expected: int) -> list[bytes]:
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": bootstrap, "group.id": "rdkafka-reader",
        "isolation.level": "read_committed", "auto.offset.reset": "earliest",
        "enable.auto.commit": False})
    try:
        consumer.assign([confluent_kafka.TopicPartition("t", p, 0) for p in range(2)])
        values = []
        for _ in range(100):
            message = consumer.poll(0.1)
            if message is not None and message.error() is None:
                values.append(message.value())
            if len(values) >= expected and message is None:
                break
        return sorted(values)
    finally:
        consumer.close()


def test_librdkafka_reads_the_bundled_producers_committed_transactions(broker):
    with SyncProducer({"bootstrap.servers": broker, "transactional.id": "bundled-tx"}) as producer:
        producer.init_transactions()
        producer.begin_transaction()
        producer.produce("t", b"kept-0", partition=0)
        producer.produce("t", b"kept-1", partition=1)
        producer.commit_transaction()
        producer.begin_transaction()
        producer.produce("t", b"dropped-0", partition=0)
        producer.produce("t", b"dropped-1", partition=1)
        producer.flush()
        producer.abort_transaction()
        producer.begin_transaction()
        producer.produce("t", b"kept-2", partition=0)
        producer.commit_transaction()
    assert _rdkafka_read_committed(broker, 3) == [b"kept-0", b"kept-1", b"kept-2"]


def test_the_bundled_consumer_reads_librdkafkas_committed_transactions(broker):
    producer = confluent_kafka.Producer({"bootstrap.servers": broker,
                                         "transactional.id": "rdkafka-tx", "linger.ms": 1})
    producer.init_transactions(10)
    producer.begin_transaction()
    producer.produce("t", b"kept-0", partition=0)
    producer.produce("t", b"kept-1", partition=1)
    producer.commit_transaction(10)
    producer.begin_transaction()
    producer.produce("t", b"dropped-0", partition=0)
    producer.produce("t", b"dropped-1", partition=1)
    producer.flush(10)
    producer.abort_transaction(10)
    producer.begin_transaction()
    producer.produce("t", b"kept-2", partition=1)
    producer.commit_transaction(10)

    with SyncConsumer({"bootstrap.servers": broker, "isolation.level": "read_committed",
                       "fetch.max.wait.ms": 100}) as consumer:
        consumer.assign([("t", 0), ("t", 1)])
        for p in range(2):
            consumer.seek(("t", p), 0)
        values = []
        while batch := consumer.poll(timeout=1):
            values += [r.value for r in batch]
        # Records, markers: t-0 holds kept-0, COMMIT, dropped-0, ABORT; t-1 one more pair.
        assert (consumer.position(("t", 0)), consumer.position(("t", 1))) == (4, 6)
    assert sorted(values) == [b"kept-0", b"kept-1", b"kept-2"]

"""The same transactional steps written once per real client.

Each producer face runs a list of transactions with one transactional id:
``[(values, commit), ...]``; value ``i`` of a transaction goes to partition
``i % 2`` so that every transaction spans two partitions. Each reader face
reads partitions 0 and 1 of a topic from the beginning, read_committed or
read_uncommitted, and returns the values in (partition, offset) order.

kafkajs runs in Node.js (``kafkajs.py``); confluent-kafka (blocking) and
aiokafka (under ``asyncio.run``) run in the test process. kafka-python runs
in a child Python process (``in_child``): its I/O thread and blocking calls
keep the interpreter busy, and in the test process they starve the chaos
cluster's proxies (a thread of the same process), which carry every message
between the brokers: the quorum then loses its leader. A process of its own
is also how an application would meet the cluster.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid

import confluent_kafka
import kafka
import kafka.errors
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition as AioTopicPartition

from tests.integration.child_call import run_in_child
from tests.integration.transactions.kafkajs import run_kafkajs

CLIENTS = ["kafka-python", "confluent-kafka", "aiokafka", "kafkajs"]
PARTITIONS = 2

# What a fenced producer sees, in each client's words: Kafka answers
# PRODUCER_FENCED (EndTxn v2+, InitProducerId...) or INVALID_PRODUCER_EPOCH
# (older versions, Produce); librdkafka raises its own fatal _FENCED for both.
FENCED_CODES = {
    "confluent-kafka": (confluent_kafka.KafkaError._FENCED, confluent_kafka.KafkaError.PRODUCER_FENCED,
                        confluent_kafka.KafkaError.INVALID_PRODUCER_EPOCH),
    "kafka-python": ("ProducerFencedError", "InvalidProducerEpochError"),
    "aiokafka": ("ProducerFenced", "InvalidProducerEpoch"),
    "kafkajs": ("PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH"),
}


def placed(values: list[str]) -> list[tuple[int, str]]:
    return [(i % PARTITIONS, value) for i, value in enumerate(values)]


# -- producers ------------------------------------------------------------------

def produce_transactions(client: str, bootstrap: str, topic: str, transactions, transactional_id: str) -> None:
    """Run ``transactions`` ([(values, commit)]) in order with one transactional producer of ``client``."""
    if client == "kafka-python":
        in_child("_kafka_python_transactions", bootstrap, topic, transactions, transactional_id)
    elif client == "confluent-kafka":
        _confluent_transactions(bootstrap, topic, transactions, transactional_id)
    elif client == "aiokafka":
        asyncio.run(_aiokafka_transactions(bootstrap, topic, transactions, transactional_id))
    else:
        for values, commit in transactions:  # a producer per transaction, the same id
            answer = run_kafkajs({"action": "produce", "brokers": bootstrap.split(","), "topic": topic,
                                  "values": values, "partitions": PARTITIONS, "transactional_id": transactional_id, "commit": commit})
            assert answer["ok"], answer


def _kafka_python_transactions(bootstrap, topic, transactions, transactional_id) -> None:
    producer = kafka.KafkaProducer(bootstrap_servers=bootstrap, transactional_id=transactional_id)
    try:
        producer.init_transactions()
        for values, commit in transactions:
            producer.begin_transaction()
            for partition, value in placed(values):
                producer.send(topic, value.encode(), partition=partition)
            producer.flush()
            if commit:
                producer.commit_transaction()
            else:
                producer.abort_transaction()
    finally:
        producer.close()


def _confluent_transactions(bootstrap, topic, transactions, transactional_id) -> None:
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "transactional.id": transactional_id})
    producer.init_transactions(30)
    for values, commit in transactions:
        producer.begin_transaction()
        for partition, value in placed(values):
            producer.produce(topic, value.encode(), partition=partition)
        producer.flush(30)
        if commit:
            producer.commit_transaction(30)
        else:
            producer.abort_transaction(30)
    producer.close()


async def _aiokafka_transactions(bootstrap, topic, transactions, transactional_id) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=transactional_id,
                                enable_idempotence=True)
    await producer.start()
    try:
        for values, commit in transactions:
            await producer.begin_transaction()
            for partition, value in placed(values):
                await producer.send_and_wait(topic, value.encode(), partition=partition)
            if commit:
                await producer.commit_transaction()
            else:
                await producer.abort_transaction()
    finally:
        await producer.stop()


# -- readers --------------------------------------------------------------------

def read_values(client: str, bootstrap: str, topic: str, count: int, *, read_committed: bool = True,
                timeout_s: float = 15.0) -> list[str]:
    """Values of partitions 0 and 1, in (partition, offset) order, once ``count`` are read or the time is up.

    The caller waits for the full timeout only when it expects fewer than ``count``.
    """
    if client == "kafka-python":
        records = in_child("_kafka_python_read", bootstrap, topic, count, read_committed, timeout_s)
    elif client == "confluent-kafka":
        records = _confluent_read(bootstrap, topic, count, read_committed, timeout_s)
    elif client == "aiokafka":
        records = asyncio.run(_aiokafka_read(bootstrap, topic, count, read_committed, timeout_s))
    else:
        answer = run_kafkajs({"action": "consume", "brokers": bootstrap.split(","), "topic": topic,
                              "count": count, "read_committed": read_committed,
                              "timeout_ms": int(timeout_s * 1000)})
        assert answer["ok"], answer
        records = [(r["partition"], r["offset"], r["value"]) for r in answer["records"]]
    return [value for _, _, value in sorted(records)]


def kafka_python_fenced_commit(bootstrap: str, topic: str, transactional_id: str) -> str:
    """Fence a kafka-python producer with a second one; return the first one's commit error (class name).

    The second producer then commits ``fresh`` to partition 0.
    """
    first = kafka.KafkaProducer(bootstrap_servers=bootstrap, transactional_id=transactional_id)
    first.init_transactions()
    first.begin_transaction()
    first.send(topic, b"fenced", partition=0)
    first.flush()
    second = kafka.KafkaProducer(bootstrap_servers=bootstrap, transactional_id=transactional_id)
    second.init_transactions()  # bumps the epoch: the first producer is fenced
    try:
        first.commit_transaction()
        error = "no error"
    except kafka.errors.KafkaError as exc:
        error = type(exc).__name__
    first.close(timeout=5)
    second.begin_transaction()
    second.send(topic, b"fresh", partition=0)
    second.commit_transaction()
    second.close()
    return error


def _kafka_python_read(bootstrap, topic, count, read_committed, timeout_s):
    consumer = kafka.KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                   isolation_level="read_committed" if read_committed else "read_uncommitted")
    consumer.assign([kafka.TopicPartition(topic, p) for p in range(PARTITIONS)])
    consumer.seek_to_beginning()
    records, deadline = [], time.monotonic() + timeout_s
    try:
        while len(records) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records += [(r.partition, r.offset, r.value.decode()) for r in batch]
    finally:
        consumer.close()
    return records


def _confluent_read(bootstrap, topic, count, read_committed, timeout_s):
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "isolation.level": "read_committed" if read_committed else "read_uncommitted"})
    consumer.assign([confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                     for p in range(PARTITIONS)])
    records, deadline = [], time.monotonic() + timeout_s
    try:
        while len(records) < count and time.monotonic() < deadline:
            for message in consumer.consume(100, 0.2):
                if message.error() is None:
                    records.append((message.partition(), message.offset(), message.value().decode()))
    finally:
        consumer.close()
    return records


async def _aiokafka_read(bootstrap, topic, count, read_committed, timeout_s):
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                isolation_level="read_committed" if read_committed else "read_uncommitted")
    await consumer.start()
    records, deadline = [], time.monotonic() + timeout_s
    try:
        consumer.assign([AioTopicPartition(topic, p) for p in range(PARTITIONS)])
        await consumer.seek_to_beginning()
        while len(records) < count and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records += [(r.partition, r.offset, r.value.decode()) for r in batch]
    finally:
        await consumer.stop()
    return records


# -- a child process for kafka-python ---------------------------------------------

def in_child(function: str, *args, timeout_s: float = 120.0):
    """Run ``function(*args)`` of this module in a child Python process; return its (JSON) result."""
    return run_in_child("tests.integration.transactions.txn_clients", function, *args, timeout_s=timeout_s)


if __name__ == "__main__":
    request = json.loads(sys.argv[1])
    print(json.dumps(globals()[request["function"]](*request["args"])))

"""Transactions with unmodified Kafka clients, against one broker and the three-broker cluster.

- commit and abort with kafka-python, confluent-kafka, aiokafka and kafkajs,
  each client also reading its own output read_committed;
- consume-transform-produce with confluent-kafka (``send_offsets_to_transaction``);
- fencing: a second producer with the same ``transactional.id`` fences the first;
- a transaction open longer than ``transaction.timeout.ms`` is aborted by the
  coordinator.

The single broker runs in this process (``BrokerThread``); the cluster is
three broker processes (``minikafka.chaos.Cluster``). Each test uses topics
of its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid

import aiokafka.errors
import confluent_kafka
import pytest
from confluent_kafka import KafkaException, TopicPartition
from aiokafka import AIOKafkaProducer
from confluent_kafka.admin import AdminClient, NewTopic

from minikafka.chaos import Cluster
from minikafka.testing import BrokerThread
from tests.integration.transactions.kafkajs import run_kafkajs
from tests.integration.transactions.txn_clients import (CLIENTS, FENCED_CODES, PARTITIONS, in_child,
                                                        produce_transactions, read_values)
from tests.integration.transactions.txn_cluster import CLUSTER_OVERRIDES
from tests.integration.transactions.workload import end_offsets

BROKER_OVERRIDES = {"transaction.abort.timed.out.transaction.cleanup.interval.ms": 200,
                    "group.initial.rebalance.delay.ms": 0}


@dataclasses.dataclass
class Target:
    bootstrap: str
    replication_factor: int


@pytest.fixture(scope="module", params=["broker", pytest.param("cluster", marks=[pytest.mark.cluster,
                                                                                  pytest.mark.slow])])
def target(request, tmp_path_factory):
    """One in-process broker, or three broker processes."""
    if request.param == "broker":
        with BrokerThread(tmp_path_factory.mktemp("txn-broker"), **BROKER_OVERRIDES) as broker:
            yield Target(broker.bootstrap, 1)
    else:
        overrides = {**CLUSTER_OVERRIDES, **BROKER_OVERRIDES}
        with Cluster(tmp_path_factory.mktemp("txn-cluster") / "cluster", brokers=3, overrides=overrides) as cluster:
            yield Target(cluster.bootstrap, 3)


def new_topic(target: Target, partitions: int = PARTITIONS) -> str:
    name = f"txn-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": target.bootstrap})
    config = {"min.insync.replicas": str(min(2, target.replication_factor))}
    admin.create_topics([NewTopic(name, partitions, target.replication_factor, config=config)])[name].result(30)
    return name


@pytest.mark.slow  # a few seconds
def test_kafkajs_plain_produce_and_consume(target):
    """The Node.js driver itself, without transactions: what the kafkajs tests build on."""
    topic = new_topic(target)
    answer = run_kafkajs({"action": "produce", "brokers": target.bootstrap.split(","), "topic": topic,
                          "values": ["x0", "x1", "x2"], "partitions": PARTITIONS})
    assert answer["ok"], answer
    assert read_values("kafkajs", target.bootstrap, topic, 3, read_committed=False) == ["x0", "x2", "x1"]


@pytest.mark.parametrize("client", [pytest.param(c, marks=pytest.mark.slow) if c == "kafkajs" else c
                                    for c in CLIENTS])  # Node.js and a group join: seconds
def test_commit_and_abort(target, client):
    topic = new_topic(target)
    transactions = [(["a0", "a1", "a2"], True), (["b0", "b1"], False), (["c0", "c1"], True)]
    produce_transactions(client, target.bootstrap, topic, transactions, f"{client}-{uuid.uuid4().hex[:6]}")
    # Partition 0 holds a0 a2 b0 c0, partition 1 a1 b1 c1: the aborted records sit
    # between committed ones, so a reader that stops at 5 values has read past them.
    assert read_values(client, target.bootstrap, topic, 5) == ["a0", "a2", "c0", "a1", "c1"]
    assert read_values("confluent-kafka", target.bootstrap, topic, 7, read_committed=False) == [
        "a0", "a2", "b0", "c0", "a1", "b1", "c1"]


def test_consume_transform_produce(target):
    source, sink = new_topic(target, 1), new_topic(target, 1)
    group = f"ctp-{uuid.uuid4().hex[:6]}"
    plain = confluent_kafka.Producer({"bootstrap.servers": target.bootstrap})
    for i in range(10):
        plain.produce(source, b"%d" % i, partition=0)
    assert plain.flush(30) == 0
    plain.close()
    producer = confluent_kafka.Producer({"bootstrap.servers": target.bootstrap,
                                         "transactional.id": f"ctp-{uuid.uuid4().hex[:6]}"})
    producer.init_transactions(30)

    def transform(count: int, commit: bool) -> None:
        """Read ``count`` inputs, write each doubled, send the offsets, commit or abort."""
        consumer = confluent_kafka.Consumer({"bootstrap.servers": target.bootstrap, "group.id": group,
                                             "enable.auto.commit": False, "auto.offset.reset": "earliest",
                                             "isolation.level": "read_committed"})
        consumer.subscribe([source])
        inputs, deadline = [], time.monotonic() + 30
        while len(inputs) < count and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                inputs.append(message)
        assert len(inputs) == count
        producer.begin_transaction()
        for message in inputs:
            producer.produce(sink, b"%d" % (2 * int(message.value())), partition=0)
        positions = [TopicPartition(source, 0, inputs[-1].offset() + 1)]
        producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 30)
        if commit:
            producer.commit_transaction(30)
        else:
            producer.abort_transaction(30)
        consumer.close()

    transform(4, commit=True)
    transform(3, commit=False)  # neither the outputs nor the offsets count
    transform(6, commit=True)  # so the group starts again at input 4
    producer.close()

    committed = confluent_kafka.Consumer({"bootstrap.servers": target.bootstrap, "group.id": group})
    assert committed.committed([TopicPartition(source, 0)], timeout=30)[0].offset == 10
    committed.close()
    assert read_values_of(target, sink) == [b"%d" % (2 * i) for i in range(10)]


def read_values_of(target: Target, topic: str, count: int = 10) -> list[bytes]:
    consumer = confluent_kafka.Consumer({"bootstrap.servers": target.bootstrap, "group.id": "check",
                                         "isolation.level": "read_committed", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
    values, deadline = [], time.monotonic() + 20
    while len(values) < count and time.monotonic() < deadline:
        values += [m.value() for m in consumer.consume(100, 0.2) if m.error() is None]
    consumer.close()
    return values


def test_fencing_confluent(target):
    topic, transactional_id = new_topic(target), f"fence-{uuid.uuid4().hex[:6]}"
    config = {"bootstrap.servers": target.bootstrap, "transactional.id": transactional_id}
    first = confluent_kafka.Producer(config)
    first.init_transactions(30)
    first.begin_transaction()
    first.produce(topic, b"fenced", partition=0)
    assert first.flush(30) == 0
    second = confluent_kafka.Producer(config)
    second.init_transactions(30)  # bumps the epoch: the first producer's transaction is aborted
    with pytest.raises(KafkaException) as raised:
        first.commit_transaction(30)
    error = raised.value.args[0]
    assert error.fatal() and error.code() in FENCED_CODES["confluent-kafka"], error
    second.begin_transaction()
    second.produce(topic, b"fresh", partition=0)
    second.commit_transaction(30)
    second.close()
    del first  # fenced: close() would raise the fatal error again; dropping it frees librdkafka
    assert read_values("confluent-kafka", target.bootstrap, topic, 1) == ["fresh"]


def test_fencing_kafka_python(target):
    topic, transactional_id = new_topic(target), f"fence-{uuid.uuid4().hex[:6]}"
    error = in_child("kafka_python_fenced_commit", target.bootstrap, topic, transactional_id)
    assert error in FENCED_CODES["kafka-python"], error
    assert read_values("kafka-python", target.bootstrap, topic, 1) == ["fresh"]


def test_fencing_aiokafka(target):
    topic, transactional_id = new_topic(target), f"fence-{uuid.uuid4().hex[:6]}"

    async def fence() -> str:
        config = {"bootstrap_servers": target.bootstrap, "transactional_id": transactional_id,
                  "enable_idempotence": True}
        first, second = AIOKafkaProducer(**config), AIOKafkaProducer(**config)
        await first.start()
        try:
            await first.begin_transaction()
            await first.send_and_wait(topic, b"fenced", partition=0)
            await second.start()  # InitProducerId: the first producer is fenced
            try:
                await first.commit_transaction()
            except aiokafka.errors.KafkaError as exc:
                error = type(exc).__name__
            else:
                error = "no error"
            await second.begin_transaction()
            await second.send_and_wait(topic, b"fresh", partition=0)
            await second.commit_transaction()
        finally:
            await second.stop()
            await first.stop()
        return error

    assert asyncio.run(fence()) in FENCED_CODES["aiokafka"]
    assert read_values("aiokafka", target.bootstrap, topic, 1) == ["fresh"]


@pytest.mark.slow  # a few seconds
def test_fencing_kafkajs(target):
    topic = new_topic(target)
    answer = run_kafkajs({"action": "fence", "brokers": target.bootstrap.split(","), "topic": topic,
                          "transactional_id": f"fence-{uuid.uuid4().hex[:6]}"})
    assert not answer["ok"] and answer["error"] in FENCED_CODES["kafkajs"], answer
    assert read_values("kafkajs", target.bootstrap, topic, 1) == ["from-the-new-producer"]


@pytest.mark.slow  # a few seconds
def test_a_transaction_past_its_timeout_is_aborted_by_the_coordinator(target):
    topic = new_topic(target)
    producer = confluent_kafka.Producer({"bootstrap.servers": target.bootstrap,
                                         "transactional.id": f"slow-{uuid.uuid4().hex[:6]}",
                                         "transaction.timeout.ms": 3000, "message.timeout.ms": 3000})
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(topic, b"too-late", partition=0)
    assert producer.flush(30) == 0
    # The transaction is open: the last stable offset stays below the high watermark.
    assert end_offsets(target.bootstrap, topic, 1, "read_committed") == [0]
    deadline = time.monotonic() + 20  # timeout 3 s, checked every 200 ms, then the markers
    while end_offsets(target.bootstrap, topic, 1, "read_committed") != end_offsets(
            target.bootstrap, topic, 1, "read_uncommitted"):
        assert time.monotonic() < deadline, "the coordinator never aborted the timed-out transaction"
        time.sleep(0.2)
    with pytest.raises(KafkaException) as raised:
        producer.commit_transaction(30)  # the coordinator bumped the epoch when it aborted
    assert raised.value.args[0].code() in FENCED_CODES["confluent-kafka"], raised.value.args[0]
    del producer, raised  # fenced: dropped, not closed (close() would raise the fatal error)
    assert read_values("confluent-kafka", target.bootstrap, topic, 1, timeout_s=2) == []
    assert read_values("confluent-kafka", target.bootstrap, topic, 1, read_committed=False) == ["too-late"]

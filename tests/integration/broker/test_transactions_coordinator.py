"""Transactions end to end with an unmodified client: confluent-kafka (librdkafka).

A transactional producer finds its coordinator, gets its producer id
(InitProducerId), adds partitions, produces, and commits or aborts (EndTxn);
the coordinator writes the markers to the partition leaders. A
``read_committed`` consumer then sees exactly the records of committed
transactions, in order; a ``read_uncommitted`` one sees the aborted records
too (they are in the log, behind an ABORT marker).

One broker (a ``BrokerThread``) and the three-broker in-process cluster,
where the coordinator, the partition leaders and the consumer's broker are
different brokers and the markers travel between them.
"""

from __future__ import annotations

import time

import pytest
import trio
from confluent_kafka import Consumer, Producer, TopicPartition

from minikafka.testing import BrokerThread, bootstrap_servers, open_cluster
from tests.handlers.replication_apis_wire import create_topic

TOPIC = "payments"


def run_transactions(bootstrap: str, transactional_id: str, partitions: int) -> tuple[list, list]:
    """Commit, abort, commit with one producer; return the (partition, value) pairs committed and aborted."""
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": transactional_id,
                         "linger.ms": 5, "transaction.timeout.ms": 60000})
    producer.init_transactions(30)
    committed, aborted = [], []
    for round_number, commit in enumerate([True, False, True]):
        producer.begin_transaction()
        values = [(i % partitions, f"{transactional_id}-{round_number}-{i}".encode())
                  for i in range(2 * partitions)]
        for partition, value in values:
            producer.produce(TOPIC, value=value, partition=partition)
        producer.flush(30)
        if commit:
            producer.commit_transaction(30)
            committed.extend(values)
        else:
            producer.abort_transaction(30)
            aborted.extend(values)
    producer.flush(10)
    return committed, aborted


def consume_all(bootstrap: str, partitions: int, isolation_level: str, count: int,
                timeout_s: float = 30.0) -> list:
    """(partition, value) of the data records of every partition (control records are never returned)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{isolation_level}",
                         "enable.auto.commit": False, "isolation.level": isolation_level})
    consumer.assign([TopicPartition(TOPIC, p, 0) for p in range(partitions)])
    values = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None or message.error() is not None:
                continue
            values.append((message.partition(), message.value()))
        time.sleep(0.5)  # anything past ``count`` would be a record that should not be there
        while (message := consumer.poll(0.2)) is not None:
            if message.error() is None:
                values.append((message.partition(), message.value()))
    finally:
        consumer.close()
    return values


def check_reads(bootstrap: str, partitions: int, committed: list, aborted: list) -> None:
    """read_committed: exactly the committed records, each partition in produce order; read_uncommitted: all."""
    read_committed = consume_all(bootstrap, partitions, "read_committed", len(committed))
    for partition in range(partitions):
        assert [v for p, v in read_committed if p == partition] == [v for p, v in committed if p == partition]
    assert len(read_committed) == len(committed)
    read_uncommitted = consume_all(bootstrap, partitions, "read_uncommitted", len(committed) + len(aborted))
    assert sorted(read_uncommitted) == sorted(committed + aborted)


def test_confluent_kafka_commit_and_abort_on_one_broker(tmp_path):
    with BrokerThread(tmp_path, transaction_state_log_num_partitions=4) as broker:
        broker.call(broker.broker.create_topic, TOPIC, 2, {})
        committed, aborted = run_transactions(broker.bootstrap, "one-broker-app", 2)
        check_reads(broker.bootstrap, 2, committed, aborted)


@pytest.mark.slow
async def test_confluent_kafka_commit_and_abort_on_a_cluster(tmp_path):
    async with open_cluster(tmp_path, brokers=3) as cluster:  # Kafka's 50 partitions of __transaction_state
        await create_topic(cluster, TOPIC, 3, 3)
        bootstrap = bootstrap_servers(*cluster.brokers.values())
        committed, aborted = await trio.to_thread.run_sync(run_transactions, bootstrap, "cluster-app", 3)
        await trio.to_thread.run_sync(check_reads, bootstrap, 3, committed, aborted)


@pytest.mark.slow
async def test_confluent_kafka_commit_survives_a_coordinator_crash(tmp_path):
    """The coordinator stops between the produce and the commit: the client finds its successor,
    which loaded the ongoing transaction from ``__transaction_state`` and commits it."""
    async with open_cluster(tmp_path, brokers=3) as cluster:
        await create_topic(cluster, TOPIC, 3, 3)
        bootstrap = bootstrap_servers(*cluster.brokers.values())
        producer = await trio.to_thread.run_sync(lambda: Producer(
            {"bootstrap.servers": bootstrap, "transactional.id": "crash-app", "linger.ms": 2}))
        await trio.to_thread.run_sync(producer.init_transactions, 30)
        coordinator = next(b for b in cluster.brokers.values() if b.transactions.is_coordinator_for("crash-app"))
        first = [(i % 3, f"first-{i}".encode()) for i in range(6)]
        second = [(i % 3, f"second-{i}".encode()) for i in range(3)]

        def produce(values):
            producer.begin_transaction()
            for partition, value in values:
                producer.produce(TOPIC, value=value, partition=partition)
            producer.flush(30)

        await trio.to_thread.run_sync(produce, first)
        await cluster.stop(coordinator.node_id)
        await trio.to_thread.run_sync(producer.commit_transaction, 60)
        await trio.to_thread.run_sync(produce, second)
        await trio.to_thread.run_sync(producer.commit_transaction, 60)

        read = await trio.to_thread.run_sync(consume_all, bootstrap, 3, "read_committed", 9)
        assert sorted(read) == sorted(first + second)


def transform(bootstrap: str, commit: bool) -> list:
    """One consume-transform-produce transaction: read ``payments``, write ``ledger``, offsets in it."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "ledger-app",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest",
                         "isolation.level": "read_committed"})
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": "ledger-app-0", "linger.ms": 5})
    try:
        consumer.subscribe([TOPIC])
        producer.init_transactions(30)
        records = []
        deadline = time.monotonic() + 30
        while len(records) < 2 and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                records.append(message)
        producer.begin_transaction()
        for message in records:
            producer.produce("ledger", value=b"ledger:" + message.value(), partition=0)
        offsets = [TopicPartition(m.topic(), m.partition(), m.offset() + 1) for m in records]
        producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), 30)
        if commit:
            producer.commit_transaction(30)
        else:
            producer.abort_transaction(30)
        return [m.value() for m in records]
    finally:
        consumer.close()


def committed_offset(bootstrap: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "ledger-app"})
    try:
        [position] = consumer.committed([TopicPartition(TOPIC, 0)], timeout=15)
        return position.offset
    finally:
        consumer.close()


def test_confluent_kafka_consume_transform_produce(tmp_path):
    with BrokerThread(tmp_path, transaction_state_log_num_partitions=4, offsets_topic_num_partitions=4,
                      group_initial_rebalance_delay_ms=0) as broker:
        broker.call(broker.broker.create_topic, TOPIC, 1, {})
        broker.call(broker.broker.create_topic, "ledger", 1, {})
        producer = Producer({"bootstrap.servers": broker.bootstrap})
        for value in (b"p1", b"p2", b"p3", b"p4"):
            producer.produce(TOPIC, value=value, partition=0)
        producer.flush(10)

        assert transform(broker.bootstrap, commit=False) == [b"p1", b"p2"]
        assert committed_offset(broker.bootstrap) < 0  # the aborted transaction committed no offset
        assert transform(broker.bootstrap, commit=True) == [b"p1", b"p2"]
        assert committed_offset(broker.bootstrap) == 2
        assert transform(broker.bootstrap, commit=True) == [b"p3", b"p4"]
        assert committed_offset(broker.bootstrap) == 4

        ledger = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "ledger-reader",
                           "isolation.level": "read_committed", "enable.auto.commit": False})
        ledger.assign([TopicPartition("ledger", 0, 0)])
        values = []
        deadline = time.monotonic() + 20
        while len(values) < 4 and time.monotonic() < deadline:
            message = ledger.poll(0.2)
            if message is not None and message.error() is None:
                values.append(message.value())
        ledger.close()
        assert values == [b"ledger:p1", b"ledger:p2", b"ledger:p3", b"ledger:p4"]

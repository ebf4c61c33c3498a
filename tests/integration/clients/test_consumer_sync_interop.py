"""The synchronous face, and interoperability: confluent-kafka in the same group; Tansu."""

import threading
import time

import confluent_kafka
import confluent_kafka.admin
import pytest

from minikafka.testing import BrokerThread
from minikafka_clients import NewTopic, SyncAdmin, SyncConsumer, SyncProducer

from tests.clients.consumer.consumer_helpers import FAST_GROUPS, fast_group_config
from tests.integration.cli_brokers import TansuBroker


@pytest.fixture
def broker(tmp_path):
    with BrokerThread(tmp_path, **FAST_GROUPS) as thread:
        yield thread.bootstrap


def produce_keyed(bootstrap: str, topic: str, count: int) -> None:
    """``count`` records, value and key ``b"i"``, acknowledged."""
    with SyncProducer({"bootstrap.servers": bootstrap}) as producer:
        futures = [producer.produce(topic, b"%d" % i, b"%d" % i) for i in range(count)]
        producer.flush()
        for future in futures:
            future.result()


def test_sync_consumer_callbacks_run_in_the_callers_thread_and_may_commit(broker):
    with SyncAdmin({"bootstrap.servers": broker}) as admin:
        admin.create_topics([NewTopic("s", 2)])
    produce_keyed(broker, "s", 20)
    seen = []

    def on_revoke(consumer, partitions):
        seen.append(("revoke", threading.current_thread().name, partitions))
        consumer.commit()  # a blocking call from inside a callback

    def on_assign(consumer, partitions):
        seen.append(("assign", threading.current_thread().name, partitions))

    config = fast_group_config(broker, "g-sync", **{"enable.auto.commit": False})
    with SyncConsumer(config, on_assign=on_assign, on_revoke=on_revoke) as consumer:
        consumer.subscribe(["s"])
        records = []
        deadline = time.monotonic() + 10
        while len(records) < 20 and time.monotonic() < deadline:
            records.extend(consumer.poll(0.1))
        assert sorted(int(r.value) for r in records) == list(range(20))
        assert consumer.assignment() == {("s", 0), ("s", 1)}
    me = threading.current_thread().name
    assert seen[0] == ("assign", me, [("s", 0), ("s", 1)])
    assert seen[-1] == ("revoke", me, [("s", 0), ("s", 1)])
    with SyncConsumer(config) as consumer:
        committed = consumer.committed([("s", 0), ("s", 1)])
    assert sum(committed.values()) == 20


@pytest.mark.slow
def test_group_mixing_bundled_and_confluent_consumers(broker):
    with SyncAdmin({"bootstrap.servers": broker}) as admin:
        admin.create_topics([NewTopic("mixed", 6)])
    group = "g-mixed"
    bundled = SyncConsumer(fast_group_config(broker, group, **{"partition.assignment.strategy": "range"}))
    confluent = confluent_kafka.Consumer({
        "bootstrap.servers": broker, "group.id": group, "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "range", "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 100, "fetch.wait.max.ms": 100})
    try:
        bundled.subscribe(["mixed"])
        confluent.subscribe(["mixed"])
        ours, theirs = [], []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (len(bundled.assignment()) == 3
                                                    and len(confluent.assignment()) == 3):
            ours.extend(bundled.poll(0.05))
            message = confluent.poll(0.05)
            if message is not None and not message.error():
                theirs.append(message)
        assert {(t.topic, t.partition) for t in confluent.assignment()} | bundled.assignment() == \
            {("mixed", p) for p in range(6)}
        produce_keyed(broker, "mixed", 120)
        deadline = time.monotonic() + 20
        while len(ours) + len(theirs) < 120 and time.monotonic() < deadline:
            ours.extend(bundled.poll(0.05))
            message = confluent.poll(0.05)
            if message is not None and not message.error():
                theirs.append(message)
        values = sorted([int(r.value) for r in ours] + [int(m.value()) for m in theirs])
        assert values == list(range(120))  # everything, once
        assert ours and theirs
        assert {r.partition for r in ours}.isdisjoint({m.partition() for m in theirs})
    finally:
        confluent.close()
        bundled.close()


@pytest.mark.slow
def test_assign_mode_consume_from_tansu_of_confluent_produced_messages():
    with TansuBroker() as tansu:
        admin = confluent_kafka.admin.AdminClient({"bootstrap.servers": tansu.bootstrap})
        admin.create_topics([confluent_kafka.admin.NewTopic("tansu-t", 2, 1)])["tansu-t"].result(10)
        producer = confluent_kafka.Producer({"bootstrap.servers": tansu.bootstrap})
        for i in range(30):
            producer.produce("tansu-t", value=b"v%d" % i, key=b"k%d" % (i % 5),
                             headers=[("h", b"%d" % i)], timestamp=1_700_000_000_000 + i)
        assert producer.flush(10) == 0
        config = {"bootstrap.servers": tansu.bootstrap, "auto.offset.reset": "earliest",
                  "fetch.max.wait.ms": 100}
        with SyncConsumer(config) as consumer:
            consumer.assign([("tansu-t", 0), ("tansu-t", 1)])
            records = []
            deadline = time.monotonic() + 15
            while len(records) < 30 and time.monotonic() < deadline:
                records.extend(consumer.poll(0.2))
        assert sorted(r.value for r in records) == sorted(b"v%d" % i for i in range(30))
        for r in records:
            i = int(r.value[1:])
            assert r.headers == [("h", b"%d" % i)] and r.timestamp_ms == 1_700_000_000_000 + i
        by_key = {}
        for r in records:
            by_key.setdefault(r.key, set()).add(r.partition)
        assert all(len(ps) == 1 for ps in by_key.values())


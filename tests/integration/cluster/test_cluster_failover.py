"""Cluster behaviour under failure: real processes, real clients, real faults.

Each test starts three broker processes with ``minikafka.chaos.Cluster``
(the supervisor behind ``minikafka cluster start``), drives them with
confluent-kafka, and breaks them as a lab would: kill -9, cut a broker off
from its peers, restart everything.
"""

import threading
import time
import uuid

import confluent_kafka
import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from minikafka.chaos import Cluster

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

LAB_TIMEOUTS = {  # Kafka's defaults are tens of seconds; labs want seconds
    "replica.lag.time.max.ms": 2000,
    "broker.session.timeout.ms": 3000,
    "broker.heartbeat.interval.ms": 500,
    "controller.quorum.election.timeout.ms": 1000,
    "controller.quorum.fetch.timeout.ms": 2000,
    "offsets.topic.replication.factor": 3,
}


@pytest.fixture
def cluster(tmp_path):
    with Cluster(tmp_path / "cluster", brokers=3, overrides=LAB_TIMEOUTS) as running:
        yield running


def wait_until(predicate, timeout_s=30.0, what="condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:  # metadata may be briefly unavailable during elections
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def create_topic(cluster, name, partitions=1, replication_factor=3, min_isr=2):
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    futures = admin.create_topics([NewTopic(name, partitions, replication_factor,
                                            config={"min.insync.replicas": str(min_isr)})])
    futures[name].result(30)
    wait_until(lambda: cluster.leader_of(name, 0) > 0, what=f"a leader for {name}")


def partition_of(cluster, topic, partition=0):
    return cluster.health().topics[topic].partitions[partition]


def producer(cluster, **extra):
    config = {"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True,
              "message.timeout.ms": 30000, "linger.ms": 5}
    config.update(extra)
    return confluent_kafka.Producer(config)


def consume(cluster, topic, count, group=None, timeout_s=30):
    consumer = confluent_kafka.Consumer({"bootstrap.servers": cluster.bootstrap,
                                         "group.id": group or f"check-{uuid.uuid4().hex}",
                                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    records, deadline = [], time.monotonic() + timeout_s
    while len(records) < count and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            records.append((message.key(), message.value()))
    consumer.close()
    return records


class SteadyProducer:
    """Produces (key, sequence) records in a thread; remembers what was acknowledged."""

    def __init__(self, cluster, topic, keys=5):
        self.producer = producer(cluster)
        self.topic = topic
        self.keys = keys
        self.acked: list[tuple[bytes, bytes]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        sequence = 0
        while not self._stop.is_set():
            key = b"k%d" % (sequence % self.keys)
            value = b"%08d" % sequence
            self.producer.produce(self.topic, value, key, on_delivery=self._delivered)
            self.producer.poll(0)
            sequence += 1
            time.sleep(0.002)
        self.producer.flush(60)

    def _delivered(self, error, message):
        if error is None:
            self.acked.append((message.key(), message.value()))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(90)


def assert_every_ack_readable_once_in_order(cluster, topic, acked):
    records = consume(cluster, topic, len(acked))
    acked_set = set(acked)
    read_acked = [r for r in records if r in acked_set]
    assert sorted(read_acked) == sorted(acked), "an acknowledged record is missing or duplicated"
    for key in {k for k, _ in records}:
        values = [v for k, v in records if k == key]
        assert values == sorted(values), f"records of key {key!r} out of order"


def test_kill_the_leader_during_acks_all_produce(cluster):
    topic = "failover"
    create_topic(cluster, topic)
    with SteadyProducer(cluster, topic) as steady:
        time.sleep(1.0)
        leader = cluster.leader_of(topic, 0)
        cluster.kill(leader)
        wait_until(lambda: cluster.leader_of(topic, 0) not in (leader, -1), what="a new leader")
        acked_at_failover = len(steady.acked)
        time.sleep(2.0)
    assert len(steady.acked) > acked_at_failover, "producing did not continue on the new leader"
    assert_every_ack_readable_once_in_order(cluster, topic, steady.acked)


def test_kill_a_follower_isr_shrinks_then_it_catches_up(cluster):
    topic = "follower"
    create_topic(cluster, topic)
    leader = cluster.leader_of(topic, 0)
    follower = next(n for n in (1, 2, 3) if n != leader)
    cluster.kill(follower)
    wait_until(lambda: follower not in partition_of(cluster, topic).isr, what="the ISR to shrink")
    p = producer(cluster)
    for i in range(100):
        p.produce(topic, b"v%d" % i)
    assert p.flush(30) == 0
    cluster.restart(follower)
    wait_until(lambda: follower in partition_of(cluster, topic).isr, what="the follower to rejoin the ISR")


def test_kill_the_active_controller(cluster):
    controller = wait_until(lambda: cluster.health().controller_id if cluster.health().controller_id > 0 else None,
                            what="a controller")
    cluster.kill(controller)
    wait_until(lambda: cluster.health().controller_id not in (controller, -1), what="a new controller")
    create_topic(cluster, "after-controller-failover")


def test_cut_the_leader_off_majority_elects_and_old_leader_truncates(cluster):
    topic = "partitioned"
    create_topic(cluster, topic)
    old_leader = cluster.leader_of(topic, 0)
    p = producer(cluster)
    for i in range(10):
        p.produce(topic, b"before-%d" % i, b"k")
    assert p.flush(30) == 0

    cluster.isolate(old_leader)
    # Straight to the isolated leader: acks=all cannot be satisfied.
    lonely = confluent_kafka.Producer({"bootstrap.servers": cluster.address_of(old_leader), "acks": "all",
                                       "message.timeout.ms": 3000})
    errors = []
    lonely.produce(topic, b"unacked", b"k", on_delivery=lambda err, msg: errors.append(err))
    lonely.flush(10)
    assert errors and errors[0] is not None
    others = [n for n in (1, 2, 3) if n != old_leader]
    # Asked on the majority side: the cut-off broker still answers Metadata
    # with its last image, where it leads (a zombie leader, as in Kafka).
    wait_until(lambda: cluster.leader_of(topic, 0, via=others) in others, what="the majority to elect a leader")
    # Created after the election: a client whose metadata still names the old
    # leader would write there and wait out request.timeout.ms, as with Kafka.
    majority = confluent_kafka.Producer({"bootstrap.servers": ",".join(cluster.address_of(n) for n in others),
                                         "acks": "all", "message.timeout.ms": 30000})
    majority.produce(topic, b"after", b"k")
    assert majority.flush(30) == 0

    cluster.heal_all()
    wait_until(lambda: len(partition_of(cluster, topic).isr) == 3, what="the old leader to rejoin")
    values = [v for _, v in consume(cluster, topic, 11)]
    assert b"unacked" not in values
    assert values == [b"before-%d" % i for i in range(10)] + [b"after"]


def test_stop_and_start_the_whole_cluster(tmp_path):
    data_dir = tmp_path / "cluster"
    with Cluster(data_dir, brokers=3, overrides=LAB_TIMEOUTS) as first:
        base_port = first.layout.base_port
        create_topic(first, "durable")
        p = producer(first)
        for i in range(20):
            p.produce("durable", b"v%d" % i)
        assert p.flush(30) == 0
        consumed = consume(first, "durable", 20, group="durable-group")
        assert len(consumed) == 20
        consumer = confluent_kafka.Consumer({"bootstrap.servers": first.bootstrap, "group.id": "durable-group"})
        consumer.commit(offsets=[confluent_kafka.TopicPartition("durable", 0, 20)], asynchronous=False)
        consumer.close()
    with Cluster(data_dir, brokers=3, overrides=LAB_TIMEOUTS, base_port=base_port) as second:
        wait_until(lambda: second.leader_of("durable", 0) > 0, what="the topic to come back")
        assert [v for _, v in consume(second, "durable", 20)] == [b"v%d" % i for i in range(20)]
        consumer = confluent_kafka.Consumer({"bootstrap.servers": second.bootstrap, "group.id": "durable-group"})
        committed = consumer.committed([confluent_kafka.TopicPartition("durable", 0)], timeout=30)
        consumer.close()
        assert committed[0].offset == 20


def test_consumer_group_survives_a_coordinator_failover(cluster):
    topic, group = "grouped", "failover-group"
    create_topic(cluster, topic, partitions=3)
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    consumer = confluent_kafka.Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group,
                                         "auto.offset.reset": "earliest", "enable.auto.commit": True,
                                         "auto.commit.interval.ms": 200})
    consumer.subscribe([topic])
    p = producer(cluster)
    seen = set()

    def produce_and_poll(start, count):
        for i in range(start, start + count):
            p.produce(topic, b"%d" % i)
        p.flush(30)
        deadline = time.monotonic() + 30
        while not set(range(start, start + count)) <= seen and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                seen.add(int(message.value()))

    produce_and_poll(0, 50)
    assert set(range(50)) <= seen
    description = admin.describe_consumer_groups([group])[group].result(30)
    cluster.kill(description.coordinator.id)
    produce_and_poll(50, 50)
    consumer.close()
    assert set(range(100)) <= seen, "the group stopped consuming after the coordinator failed"

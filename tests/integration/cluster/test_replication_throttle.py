"""Throttles on a real three-broker cluster: a throttled reassignment, and a consumer's fetch quota.

Replication throttle (KIP-73), as ``kafka-reassign-partitions.sh --throttle``
sets it up: the moving partition's current replica is listed in
``leader.replication.throttled.replicas``, the new one in
``follower.replication.throttled.replicas``, and both brokers get
``leader/follower.replication.throttled.rate``. The move then takes about
``log size / rate``: Kafka's own test (``ReplicationQuotasTest``) accepts
0.9x to 1.5x of that. A partition that is not listed moves at full speed
meanwhile, and a producer on the same leader keeps its pace.

Fetch granularity: a throttled replica moves one fetch at a time, and waits
(``replica.fetch.backoff.ms`` on the follower, ``replica.fetch.wait.max.ms``
on the leader) while the rate is exceeded. The cluster uses 100 KB fetches
and 100 ms waits so that those steps stay well below the rate's
500 KB/s; with Kafka's defaults (1 MB, 1 s, 500 ms) a rate this low would be
missed by whole fetches.

Consumer fetch quota (KIP-13/KIP-219): with ``consumer_byte_rate`` set for
its client id, a consumer reading flat out is throttled (its
``fetch-throttle-time-max`` > 0) and reads near the quota. Two one-second
client quota windows keep the initial burst short (as the producer-side
test of the bundled clients does).
"""

from __future__ import annotations

import glob
import os
import threading
import time

import pytest
from kafka import KafkaAdminClient, TopicPartition as KafkaTopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic as KafkaNewTopic

from minikafka.chaos import Cluster
from minikafka.testing import LAB_CLUSTER_OVERRIDES
from minikafka_clients import ClientQuotaAlteration, ClientQuotaEntity, SyncAdmin, SyncConsumer, SyncProducer

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

RATE = 500_000  # bytes/s, leader and follower
VALUE = bytes(10_000)
MOVING_RECORDS = 200  # 2 MB: about four seconds at RATE
LEADER, TARGET = 1, 2
STEADY_RATE = 2_000_000  # bytes/s of the producer beside the move
CONSUMER_QUOTA = 200_000  # bytes/s
WARM_UP_S, MEASURE_S = 2.0, 4.0

OVERRIDES = {
    **LAB_CLUSTER_OVERRIDES, "controller.quorum.election.timeout.ms": 1000,
    "controller.quorum.fetch.timeout.ms": 2000, "broker.session.timeout.ms": 3000,
    "broker.heartbeat.interval.ms": 500,
    "replica.fetch.max.bytes": 100_000, "replica.fetch.backoff.ms": 100, "replica.fetch.wait.max.ms": 100,
    "quota.window.num": 2, "quota.window.size.seconds": 1,
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with Cluster(tmp_path_factory.mktemp("throttles"), brokers=3, overrides=OVERRIDES, proxies=False) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def kafka_admin(cluster):
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap, request_timeout_ms=30_000)
    try:
        yield admin
    finally:
        admin.close()


def create_on_leader(cluster, kafka_admin, names: list[str]) -> None:
    """One-partition topics whose only replica is on LEADER (moved there while still empty)."""
    kafka_admin.create_topics([KafkaNewTopic(name, 1, 1) for name in names])
    kafka_admin.alter_partition_reassignments({KafkaTopicPartition(name, 0): [LEADER] for name in names})
    with SyncAdmin({"bootstrap.servers": cluster.bootstrap, "metadata.max.age.ms": 100}) as admin:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            partitions = [p.partitions[0] for p in admin.describe_topics(names).values()]
            if all(list(p.replicas) == [LEADER] and p.leader_id == LEADER for p in partitions):
                return
            time.sleep(0.05)
    raise AssertionError(f"{names} did not move to broker {LEADER}")


def produce(cluster, topic: str, count: int) -> None:
    with SyncProducer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "linger.ms": 5}) as producer:
        for _ in range(count):
            producer.send(topic, VALUE, partition=0)
        assert producer.flush(60_000) == 0


def log_size(cluster, topic: str) -> int:
    """The bytes of partition 0's log on the leader (what a new replica has to copy)."""
    paths = glob.glob(os.path.join(cluster.layout.data_dir, f"broker-{LEADER}", f"{topic}-0", "*.log"))
    assert paths
    return sum(os.path.getsize(path) for path in paths)


class SteadyProducer(threading.Thread):
    """Produces to a topic at a steady ``STEADY_RATE`` (acks=1) and notes when each record is acknowledged."""

    def __init__(self, cluster, topic: str):
        super().__init__(daemon=True)
        self.config = {"bootstrap.servers": cluster.bootstrap, "acks": 1, "linger.ms": 5}
        self.topic = topic
        self.acked: list[float] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        per_tick = STEADY_RATE // len(VALUE) // 100
        with SyncProducer(self.config) as producer:
            next_tick = time.monotonic()
            while not self.stopping.is_set():
                for _ in range(per_tick):
                    future = producer.send(self.topic, VALUE, partition=0)
                    future.add_done_callback(lambda f: f.exception() or self.acked.append(time.monotonic()))
                next_tick += 0.01
                time.sleep(max(0.0, next_tick - time.monotonic()))

    def rate(self, start: float, end: float) -> float:
        """Acknowledged bytes per second between two moments."""
        return sum(1 for at in self.acked if start <= at < end) * len(VALUE) / (end - start)


def moved(admin: SyncAdmin, topic: str) -> bool:
    """The reassignment to [LEADER, TARGET] completed: both replicas, both in sync."""
    partition = admin.describe_topics([topic])[topic].partitions[0]
    return sorted(partition.replicas) == [LEADER, TARGET] and sorted(partition.isr) == [LEADER, TARGET]


def set_throttles(kafka_admin, topic: str) -> None:
    """What ``kafka-reassign-partitions.sh --throttle RATE`` sets for a move of partition 0
    from LEADER to [LEADER, TARGET]; returns once both brokers report the rates."""
    topic_configs = {"leader.replication.throttled.replicas": f"0:{LEADER}",
                     "follower.replication.throttled.replicas": f"0:{TARGET}"}
    rates = {"leader.replication.throttled.rate": str(RATE), "follower.replication.throttled.rate": str(RATE)}
    kafka_admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, topic_configs)],
                              raise_on_unknown=False, incremental=True)
    kafka_admin.alter_configs([ConfigResource(ConfigResourceType.BROKER, str(b), dict(rates))
                               for b in (LEADER, TARGET)], raise_on_unknown=False, incremental=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        described = kafka_admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, str(b))
                                                  for b in (LEADER, TARGET)])["broker"]
        if all(described[str(b)].get(name, {}).get("value") == value
               for b in (LEADER, TARGET) for name, value in rates.items()):
            return
        time.sleep(0.05)
    raise AssertionError(f"the brokers never reported the throttled rates: {described}")


def test_a_throttled_reassignment_moves_at_the_throttled_rate(cluster, kafka_admin):
    create_on_leader(cluster, kafka_admin, ["moving", "free", "steady"])
    produce(cluster, "moving", MOVING_RECORDS)
    produce(cluster, "free", MOVING_RECORDS)
    expected_s = log_size(cluster, "moving") / RATE
    set_throttles(kafka_admin, "moving")  # "free" lists no throttled replica: it moves at full speed

    steady = SteadyProducer(cluster, "steady")
    steady.start()
    with SyncAdmin({"bootstrap.servers": cluster.bootstrap, "metadata.max.age.ms": 100}) as admin:
        time.sleep(2.0)  # the producer connects, then keeps its pace for a baseline second
        baseline_end = start = time.monotonic()
        kafka_admin.alter_partition_reassignments({KafkaTopicPartition(name, 0): [LEADER, TARGET]
                                                   for name in ("moving", "free")})
        done: dict[str, float] = {}
        while len(done) < 2 and time.monotonic() - start < 3 * expected_s:
            for name in ("moving", "free"):
                if name not in done and moved(admin, name):
                    done[name] = time.monotonic() - start
            time.sleep(0.05)
    steady.stopping.set()
    steady.join(30)
    assert set(done) == {"moving", "free"}, f"not moved in {3 * expected_s:.1f} s: {set(done) ^ {'moving', 'free'}}"
    # Kafka's bounds for a throttled move (ReplicationQuotasTest.shouldThrottleOldSegments).
    assert 0.9 * expected_s < done["moving"] < 1.5 * expected_s, (done, expected_s)
    assert done["free"] < 0.9 * expected_s, (done, expected_s)  # not listed: not throttled
    baseline = steady.rate(baseline_end - 1.0, baseline_end)
    during = steady.rate(start, start + done["moving"])
    # The producer keeps its pace while the move goes on (within 20%: what is in flight at
    # either end of the span, and the two CPUs of a busy test machine).
    assert during >= 0.8 * STEADY_RATE, (during, baseline)


def test_a_consumer_over_its_byte_rate_is_throttled_and_held_near_it(cluster, kafka_admin):
    create_on_leader(cluster, kafka_admin, ["reads"])
    produce(cluster, "reads", 200)  # 2 MB: more than the consumer may read in the test
    entity = ClientQuotaEntity({ClientQuotaEntity.CLIENT_ID: "slow-reader"})
    with SyncAdmin({"bootstrap.servers": cluster.bootstrap}) as admin:
        admin.alter_client_quotas(
            [ClientQuotaAlteration(entity, [ClientQuotaAlteration.Op("consumer_byte_rate", CONSUMER_QUOTA)])])
        deadline = time.monotonic() + 5
        while entity not in admin.describe_client_quotas() and time.monotonic() < deadline:
            time.sleep(0.02)
    time.sleep(0.3)  # every broker applied it (the leader answers from its own image)
    # Fetches of a quarter of the quota: a throttled fetch sends nothing, so its size is the step
    # in which the quota is used (Kafka's consumers fetch up to 1 MB, for quotas of MB/s).
    config = {"bootstrap.servers": cluster.bootstrap, "client.id": "slow-reader", "auto.offset.reset": "earliest",
              "max.partition.fetch.bytes": CONSUMER_QUOTA // 4, "fetch.max.bytes": CONSUMER_QUOTA // 4}
    with SyncConsumer(config) as consumer:
        consumer.assign([("reads", 0)])
        start, received = time.monotonic(), []
        while time.monotonic() - start < WARM_UP_S + MEASURE_S:
            records = consumer.poll(0.2)
            received.append((time.monotonic(), sum(len(r.value) for r in records)))
        metrics = consumer.metrics()
    assert metrics["fetch-throttle-time-max"] > 0
    steady = sum(n for at, n in received if at >= start + WARM_UP_S) / MEASURE_S
    # Throttling works in whole fetches and windows: a second may see 0.7x or 1.3x the quota.
    assert 0.7 * CONSUMER_QUOTA <= steady <= 1.3 * CONSUMER_QUOTA, steady

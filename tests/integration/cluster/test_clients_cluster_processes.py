"""The blocking clients against ``minikafka cluster``: three broker processes, one killed.

``minikafka.chaos.Cluster`` is the supervisor behind ``minikafka cluster
start``; each broker is its own process behind a proxy. The test is what a
lab script does with the bundled clients alone: create a replicated topic,
produce with acks=all, ``kill -9`` the partition leader in the middle, keep
producing, and read everything back in a consumer group.
"""

from __future__ import annotations

import time

import pytest

from minikafka.chaos import Cluster
from minikafka.testing import LAB_CLUSTER_OVERRIDES
from minikafka_clients import NewTopic, SyncAdmin, SyncConsumer, SyncProducer
from tests.clients.cluster.clients_cluster_helpers import FAILOVER_PRODUCER
from tests.clients.consumer.consumer_helpers import FAST_GROUPS, fast_group_config

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

# Separate processes on a busy machine: elections a little less eager than in-process.
PROCESS_TIMEOUTS = {**LAB_CLUSTER_OVERRIDES, "controller.quorum.election.timeout.ms": 1000,
                    "controller.quorum.fetch.timeout.ms": 2000, "broker.session.timeout.ms": 3000,
                    "broker.heartbeat.interval.ms": 500}


def leader_of(admin: SyncAdmin, topic: str) -> int:
    return admin.describe_topics([topic])[topic].partitions[0].leader_id


def wait_for_leader_other_than(admin: SyncAdmin, topic: str, old_leader: int) -> int:
    """Poll Metadata (the admin's ``metadata.max.age.ms`` is short) until a new leader shows."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        leader = leader_of(admin, topic)
        if leader not in (old_leader, -1):
            return leader
        time.sleep(0.2)
    raise AssertionError(f"no new leader for {topic} after broker {old_leader} died")


def test_sync_clients_survive_a_broker_kill(tmp_path):
    with Cluster(tmp_path / "cluster", brokers=3, overrides={**PROCESS_TIMEOUTS, **FAST_GROUPS}) as cluster:
        with SyncAdmin({"bootstrap.servers": cluster.bootstrap, "metadata.max.age.ms": 100}) as admin:
            admin.create_topics([NewTopic("lab", 1, 3, {"min.insync.replicas": "2"})])
            assert [n.node_id for n in admin.describe_cluster().nodes]  # the cluster answers
            with SyncProducer({"bootstrap.servers": cluster.bootstrap, **FAILOVER_PRODUCER}) as producer:
                before = [producer.send("lab", b"%03d" % i, b"k") for i in range(50)]
                assert producer.flush(30_000) == 0
                old_leader = leader_of(admin, "lab")
                cluster.kill(old_leader)
                after = [producer.send("lab", b"%03d" % i, b"k") for i in range(50, 100)]
                assert producer.flush(60_000) == 0
                new_leader = wait_for_leader_other_than(admin, "lab", old_leader)
            offsets = [f.result(0).offset for f in before + after]
            assert offsets == list(range(100))  # every record once, in order
            assert admin.list_offsets({("lab", 0): -1})[("lab", 0)].offset == 100

        with SyncConsumer(fast_group_config(cluster.bootstrap, "lab-readers")) as consumer:
            consumer.subscribe(["lab"])
            values, deadline = [], time.monotonic() + 30
            while len(values) < 100 and time.monotonic() < deadline:
                values.extend(r.value for r in consumer.poll(30))
            consumer.commit()
        assert values == [b"%03d" % i for i in range(100)]
        assert new_leader != old_leader

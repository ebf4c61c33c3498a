"""Client quotas hold on every broker of a cluster, and survive a broker restart.

A quota lives in the cluster's metadata log (a ClientQuotaRecord written by
the active controller), so an alteration sent to any broker reaches every
broker, and a broker that restarts reads it back from its log or snapshot.
Each broker enforces it for the traffic it leads: a client has the quota's
rate on each broker it talks to.

Three broker processes (direct mode, no proxies), a topic of three
partitions with one replica each so that every broker leads one. The quota
(``producer_byte_rate`` 1 MiB/s for client id ``noisy``) is altered through
broker 1; a producer flooding the partition led by broker 2 is held to it;
broker 3 restarts, and a producer flooding its partition is held to it too.
Each flood is measured for 5 s after a 2 s warm-up, with the brokers' quota
window at 2 samples of 1 s. The broker holds the rate over its last two
samples to the quota, but a producer's bytes may bunch into every other
sample, so a measurement not aligned on the broker's samples is off by up to
one sample's worth: a fifth of 5 s, within the ±25% asserted.
"""

from __future__ import annotations

import time

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from minikafka.chaos import Cluster
from minikafka.testing import LAB_CLUSTER_OVERRIDES
from tests.integration.quotas.quota_clients import MB, SHORT_WINDOWS, confluent_flood, set_quota, wait_for_quota

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

QUOTA = 1048576
TOLERANCE = 0.25
PROCESS_TIMEOUTS = {**LAB_CLUSTER_OVERRIDES, "controller.quorum.election.timeout.ms": 1000,
                    "controller.quorum.fetch.timeout.ms": 2000, "broker.session.timeout.ms": 3000,
                    "broker.heartbeat.interval.ms": 500}


def wait_until(predicate, what: str, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:  # a broker restarting, a leader not elected yet
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def partition_led_by(cluster: Cluster, topic: str, partitions: int, node_id: int) -> int:
    def find():
        led = [p for p in range(partitions) if cluster.leader_of(topic, p) == node_id]
        return led[0] + 1 if led else None  # +1: partition 0 must count as found
    return wait_until(find, f"a partition of {topic} led by broker {node_id}") - 1


def assert_held_to_quota(flood, where: str) -> None:
    ratio = flood.rate / QUOTA
    assert abs(ratio - 1) <= TOLERANCE, f"{where}: {flood.rate / MB:.3f} MiB/s, {ratio:.2f}x the quota"
    assert flood.max_throttle_ms > 0, f"{where}: librdkafka never saw a throttle"


def test_a_quota_altered_via_one_broker_holds_on_the_others_and_after_a_restart(tmp_path):
    with Cluster(tmp_path / "cluster", brokers=3, proxies=False,
                 overrides={**PROCESS_TIMEOUTS, **SHORT_WINDOWS}) as cluster:
        topic, partitions = "quota-spread", 6
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)
        addresses = [cluster.address_of(node) for node in (1, 2, 3)]

        set_quota(addresses, {"client-id": "noisy"}, {"producer_byte_rate": QUOTA})

        on_2 = partition_led_by(cluster, topic, partitions, 2)
        flood = confluent_flood(cluster.bootstrap, topic, "noisy", 5.0, warmup_s=2.0, partition=on_2)
        assert_held_to_quota(flood, "broker 2")

        cluster.restart(3)
        wait_for_quota(addresses[2], {"client-id": "noisy"}, {"producer_byte_rate": float(QUOTA)})
        on_3 = partition_led_by(cluster, topic, partitions, 3)
        flood = confluent_flood(cluster.bootstrap, topic, "noisy", 5.0, warmup_s=2.0, partition=on_3)
        assert_held_to_quota(flood, "broker 3 after its restart")

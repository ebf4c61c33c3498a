"""``minikafka topics describe`` with kafka-topics.sh's partition filters, on a real cluster.

Three broker processes; replicas placed by hand so that stopping broker 3
leaves each partition in a known state. Then each filter must list exactly
the partitions it is about, with kafka-topics.sh's partition lines and no
topic lines; several filters print a partition that matches any of them.
"""

from __future__ import annotations

import time

import pytest

from minikafka.chaos import Cluster
from minikafka_clients import NewTopic, SyncAdmin
from tests.integration.cli.in_process import ok

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

FAST_FENCING = {"broker.session.timeout.ms": 3000, "broker.heartbeat.interval.ms": 500,
                "controller.quorum.election.timeout.ms": 1000,
                "controller.quorum.fetch.timeout.ms": 2000}

# Where the replicas go (Kafka wants one replica count per topic), and the
# topic's min.insync.replicas ("1" is the broker's default).
PLACEMENTS = {"audit": ({0: [3, 1]}, "1"),
              "orders": ({0: [1, 2, 3]}, "2"),
              "payments": ({0: [1, 2], 1: [2, 3]}, "2"),
              "solo": ({0: [3], 1: [1]}, "1")}

# What describe shows once broker 3 is gone. It stays the last ISR member of
# solo-0, which has no leader left (Kafka keeps it there too).
AUDIT_0 = "\tTopic: audit\tPartition: 0\tLeader: 1\tReplicas: 3,1\tIsr: 1"
ORDERS_0 = "\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2"
PAYMENTS_0 = "\tTopic: payments\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1,2"
PAYMENTS_1 = "\tTopic: payments\tPartition: 1\tLeader: 2\tReplicas: 2,3\tIsr: 2"
SOLO_0 = "\tTopic: solo\tPartition: 0\tLeader: none\tReplicas: 3\tIsr: 3"
SOLO_1 = "\tTopic: solo\tPartition: 1\tLeader: 1\tReplicas: 1\tIsr: 1"
EVERY_PARTITION = [AUDIT_0, ORDERS_0, PAYMENTS_0, PAYMENTS_1, SOLO_0, SOLO_1]


def describe(bootstrap: str, *flags: str) -> list[str]:
    return ok("topics", "describe", "--bootstrap-server", bootstrap, *flags).splitlines()


def wait_until(predicate, timeout_s: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def partition_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("\t")]


@pytest.fixture(scope="module")
def bootstrap(tmp_path_factory):
    """A three-broker cluster with the topics placed, broker 3 stopped."""
    with Cluster(tmp_path_factory.mktemp("filters"), brokers=3, overrides=FAST_FENCING) as cluster:
        with SyncAdmin({"bootstrap.servers": cluster.bootstrap}) as admin:
            admin.create_topics([
                NewTopic(name, replicas_assignments=placed, configs={"min.insync.replicas": min_isr})
                for name, (placed, min_isr) in PLACEMENTS.items()])
        wait_until(lambda: describe(cluster.bootstrap, "--under-replicated-partitions") == [],
                   what="every ISR to be full")
        cluster.stop_broker(3)
        wait_until(lambda: partition_lines(describe(cluster.bootstrap)) == EVERY_PARTITION,
                   what="broker 3 to leave the ISRs")
        yield cluster.bootstrap


def test_without_a_filter_every_topic_and_partition_prints(bootstrap):
    lines = describe(bootstrap)
    assert [line.split("\t")[0] for line in lines if not line.startswith("\t")] == [
        "Topic: audit", "Topic: orders", "Topic: payments", "Topic: solo"]
    assert partition_lines(lines) == EVERY_PARTITION


def test_under_replicated_partitions_have_a_replica_out_of_the_isr(bootstrap):
    assert describe(bootstrap, "--under-replicated-partitions") == [AUDIT_0, ORDERS_0, PAYMENTS_1]


def test_unavailable_partitions_have_no_live_leader(bootstrap):
    assert describe(bootstrap, "--unavailable-partitions") == [SOLO_0]


def test_under_min_isr_partitions_compare_with_the_topics_min_insync_replicas(bootstrap):
    # solo-0 has no leader: Kafka counts it as under min ISR whatever its ISR says.
    assert describe(bootstrap, "--under-min-isr-partitions") == [PAYMENTS_1, SOLO_0]


def test_at_min_isr_partitions_are_one_replica_from_refusing_acks_all(bootstrap):
    # As in Kafka, only the ISR size counts: solo-0 is leaderless, yet at its minimum.
    assert describe(bootstrap, "--at-min-isr-partitions") == [
        AUDIT_0, ORDERS_0, PAYMENTS_0, SOLO_0, SOLO_1]


def test_filters_combine_with_topic_and_with_each_other(bootstrap):
    assert describe(bootstrap, "--topic", "audit", "--unavailable-partitions") == []
    assert describe(bootstrap, "--topic", "payments", "--under-replicated-partitions") == [
        PAYMENTS_1]
    assert describe(bootstrap, "--topic", "solo", "--unavailable-partitions",
                    "--at-min-isr-partitions") == [SOLO_0, SOLO_1]
    assert describe(bootstrap, "--under-replicated-partitions", "--unavailable-partitions") == [
        AUDIT_0, ORDERS_0, PAYMENTS_1, SOLO_0]

"""`minikafka elect-leaders` against a real three-broker cluster: after a broker
restarts it leads nothing; a preferred election gives it back the partitions
whose first replica it is (kafka-leader-election.sh's job)."""

import subprocess
import sys
import time

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from minikafka.chaos import Cluster

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

LAB_TIMEOUTS = {"broker.session.timeout.ms": 1500, "broker.heartbeat.interval.ms": 250,
                "replica.lag.time.max.ms": 2000, "auto.leader.rebalance.enable": "false"}


def wait_until(predicate, timeout_s=30.0, what="condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception:  # metadata may be briefly unavailable during elections
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def elect(cluster, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "minikafka", "elect-leaders", "--bootstrap-server",
                           cluster.bootstrap, "--election-type", "preferred", *args],
                          capture_output=True, text=True, timeout=60)


def test_preferred_election_after_a_restart(tmp_path):
    with Cluster(tmp_path / "cluster", brokers=3, overrides=LAB_TIMEOUTS) as cluster:
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        admin.create_topics([NewTopic("moves", 3, 3)])["moves"].result(30)
        wait_until(lambda: all(cluster.leader_of("moves", p) > 0 for p in range(3)), what="leaders")
        preferred = {p: cluster.health().topics["moves"].partitions[p].replicas[0] for p in range(3)}
        victim = preferred[0]
        cluster.kill(victim)
        wait_until(lambda: cluster.leader_of("moves", 0) != victim, what="a new leader for moves-0")
        cluster.restart(victim)
        wait_until(lambda: victim in cluster.health().topics["moves"].partitions[0].isr, what="the ISR")
        assert cluster.leader_of("moves", 0) != victim  # leadership does not come back by itself

        result = elect(cluster, "--all-topic-partitions")
        assert result.returncode == 0, result.stderr
        assert "Successfully completed leader election (PREFERRED) for partitions moves-0" in result.stdout
        wait_until(lambda: all(cluster.leader_of("moves", p) == preferred[p] for p in range(3)),
                   what="every preferred leader back")

        again = elect(cluster, "--topic", "moves")
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == "Valid replica already elected for partitions moves-0, moves-1, moves-2"

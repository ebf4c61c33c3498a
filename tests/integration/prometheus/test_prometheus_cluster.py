"""A real Prometheus scrapes a real 3-broker cluster and fires the under-replicated alert.

Prometheus (Debian's package) scrapes each broker's ``/metrics`` every second
and evaluates ``monitoring/minikafka-alerts.yml`` every second; in this copy
of the rules ``KafkaUnderReplicatedPartitions`` waits 1 s instead of 5 min.
Killing a broker leaves the partitions it followed under-replicated on their
leaders, and the alert must fire there.
"""

from __future__ import annotations

import re

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from minikafka.chaos import Cluster
from tests.integration.harness import wait_until

from .promtool import ALERTS
from .server import PrometheusProcess, rules_with_short_for

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

LAB_TIMEOUTS = {
    "replica.lag.time.max.ms": 2000,
    "broker.session.timeout.ms": 3000,
    "broker.heartbeat.interval.ms": 500,
    "controller.quorum.election.timeout.ms": 1000,
    "controller.quorum.fetch.timeout.ms": 2000,
}
URP = "kafka_server_replicamanager_underreplicatedpartitions"


def metrics_the_rules_use() -> set[str]:
    """Every ``kafka_...`` metric name in an ``expr:`` of the shipped rules."""
    exprs = re.findall(r"expr: >-\n((?:\s{10}.*\n)+)|expr: (.*)", ALERTS.read_text())
    return {name for expr in exprs for name in re.findall(r"\bkafka_[a-z_]+", "".join(expr))}


def metrics_targets(cluster: Cluster) -> dict[int, str]:
    return {node: f"127.0.0.1:{cluster.layout.broker(node).metrics_port}" for node in cluster.layout.node_ids}


def values_by_broker(prometheus: PrometheusProcess, expr: str) -> dict[str, float]:
    return {sample["metric"]["broker"]: float(sample["value"][1]) for sample in prometheus.query(expr)}


def firing(prometheus: PrometheusProcess, name: str) -> list[dict]:
    return [alert for alert in prometheus.alerts()
            if alert["labels"]["alertname"] == name and alert["state"] == "firing"]


def test_prometheus_scrapes_every_broker_and_fires_under_replicated_after_a_kill(tmp_path):
    rules = rules_with_short_for(tmp_path / "alerts.yml", "KafkaUnderReplicatedPartitions", "1s")
    cluster = Cluster(tmp_path / "cluster", brokers=3, overrides=LAB_TIMEOUTS)
    # Prometheus first: its target discovery takes about 5 s to hand over the
    # first targets, which then overlaps the cluster's start-up.
    with PrometheusProcess(tmp_path, metrics_targets(cluster), rules) as prometheus, cluster:
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        admin.create_topics([NewTopic("orders", 3, 3)])["orders"].result(30)
        wait_until(lambda: values_by_broker(prometheus, 'up{job="minikafka"}') == {"1": 1, "2": 1, "3": 1},
                   15, "every broker scraped (up == 1)")
        wait_until(lambda: values_by_broker(prometheus, URP) == {"1": 0, "2": 0, "3": 0},
                   20, "every broker reporting no under-replicated partition")
        assert firing(prometheus, "KafkaUnderReplicatedPartitions") == []
        # Every metric an alert watches is served (consumer lag only once a group commits).
        served = {sample["metric"]["__name__"] for sample in prometheus.query(
            'count by (__name__) ({job="minikafka", __name__=~"kafka_.+"})')}
        assert metrics_the_rules_use() - {"kafka_consumergroup_lag"} <= served

        cluster.kill(3)
        alerts = wait_until(lambda: firing(prometheus, "KafkaUnderReplicatedPartitions"),
                            30, "KafkaUnderReplicatedPartitions firing")
        assert {alert["labels"]["broker"] for alert in alerts} <= {"1", "2"}
        assert all(float(alert["value"]) > 0 for alert in alerts)
        assert values_by_broker(prometheus, 'up{job="minikafka"}')["3"] == 0

"""KIP-714 end to end: librdkafka clients push their metrics; GET /metrics shows them.

A real broker with a metrics endpoint, a client-metrics subscription set with
IncrementalAlterConfigs (interval.ms=1000, so clients push every second), and
confluent-kafka clients, which push once a subscription matches them.
"""

from __future__ import annotations

import time
import urllib.request
import uuid

import pytest
from confluent_kafka import Consumer, Producer
from prometheus_client.parser import text_string_to_metric_families

from minikafka.config import ResourceType
from minikafka.testing import BrokerThread
from minikafka_clients.admin_client import SyncAdmin

CLIENT_METRICS = int(ResourceType.CLIENT_METRICS)


@pytest.fixture
def broker(tmp_path):
    # telemetry.default.metrics empty: no default subscription, only the configured ones (as Kafka)
    with BrokerThread(tmp_path, **{"metrics.http.listener": "127.0.0.1:0", "telemetry.default.metrics": ""}) as b:
        yield b


def samples(broker, name: str) -> list:
    text = urllib.request.urlopen(f"http://127.0.0.1:{broker.broker.metrics_port}/metrics", timeout=5).read()
    return [s for family in text_string_to_metric_families(text.decode()) for s in family.samples if s.name == name]


def wait_for_samples(broker, name: str, client, labels: dict, timeout_s: float = 8.0, where=lambda v: True) -> list:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        client.poll(0.2)
        found = [s for s in samples(broker, name) if labels.items() <= s.labels.items() and where(s.value)]
        if found:
            return found
    raise AssertionError(f"{name} with {labels} never appeared; /metrics has {samples(broker, name)}")


def subscribe(broker, name: str, configs: dict[str, str]) -> None:
    with SyncAdmin({"bootstrap.servers": broker.bootstrap}) as admin:
        admin.incremental_alter_configs(name, set_configs=configs, resource_type=CLIENT_METRICS)


def test_a_subscription_is_stored_and_described(broker):
    subscribe(broker, "producers", {"metrics": "org.apache.kafka.producer.", "interval.ms": "1000",
                                    "match": "client_software_name=confluent.*"})
    with SyncAdmin({"bootstrap.servers": broker.bootstrap}) as admin:
        described = admin.describe_configs("producers", resource_type=CLIENT_METRICS)
    assert {k: v.value for k, v in described.items()} == {
        "metrics": "org.apache.kafka.producer.", "interval.ms": "1000", "match": "client_software_name=confluent.*"}
    assert broker.broker.metadata.image.configs[(CLIENT_METRICS, "producers")]["interval.ms"] == "1000"


def test_a_bad_subscription_is_refused(broker):
    with SyncAdmin({"bootstrap.servers": broker.bootstrap}) as admin, pytest.raises(Exception, match="interval"):
        admin.incremental_alter_configs("bad", set_configs={"interval.ms": "10"}, resource_type=CLIENT_METRICS)


def test_a_producers_metrics_appear_on_the_endpoint(broker):
    subscribe(broker, "all", {"metrics": "*", "interval.ms": "1000"})
    client_id = f"telemetry-producer-{uuid.uuid4().hex[:6]}"
    producer = Producer({"bootstrap.servers": broker.bootstrap, "client.id": client_id, "linger.ms": 5})
    for i in range(100):
        producer.produce("telemetry-orders", f"order-{i}".encode())
    producer.flush(10)
    found = wait_for_samples(broker, "org_apache_kafka_producer_request_latency_avg", producer,
                             {"client_id": client_id, "client_software_name": "confluent-kafka-python"})
    assert found[0].value > 0  # librdkafka measured real produce round trips
    assert len(found[0].labels["client_instance_id"]) == 22  # Kafka's Uuid text form
    queue = wait_for_samples(broker, "org_apache_kafka_producer_record_queue_time_avg", producer,
                             {"client_id": client_id})
    assert queue[0].value >= 0


def test_a_match_pattern_chooses_the_clients(broker):
    subscribe(broker, "only-consumers", {"metrics": "*", "interval.ms": "1000", "match": "client_id=consumer-.*"})
    producer = Producer({"bootstrap.servers": broker.bootstrap, "client.id": "not-a-consumer"})
    producer.produce("telemetry-match", b"x")
    producer.flush(10)
    time.sleep(2.5)  # two push intervals: a matching client would have pushed by now
    producer.poll(0)
    assert not [s for s in samples(broker, "org_apache_kafka_producer_request_latency_avg")
                if s.labels.get("client_id") == "not-a-consumer"]


def test_a_consumers_metrics_appear_on_the_endpoint(broker):
    # librdkafka 2.16 pushes no records-lag metric; the group's lag as the broker sees it
    # is kafka_consumergroup_lag. The consumer's fetch latency and assignment are here.
    subscribe(broker, "all", {"metrics": "org.apache.kafka.consumer.", "interval.ms": "1000"})
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(50):
        producer.produce("telemetry-lag", f"m{i}".encode())
    producer.flush(10)
    client_id = f"consumer-{uuid.uuid4().hex[:6]}"
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": client_id, "client.id": client_id,
                         "auto.offset.reset": "earliest"})
    consumer.subscribe(["telemetry-lag"])
    try:
        # the first push may come before the rebalance: wait for one after it
        wait_for_samples(broker, "org_apache_kafka_consumer_coordinator_assigned_partitions", consumer,
                         {"client_id": client_id}, where=lambda value: value == 1)
        latency = wait_for_samples(broker, "org_apache_kafka_consumer_fetch_manager_fetch_latency_avg", consumer,
                                   {"client_id": client_id})
        assert latency[0].value >= 0
    finally:
        consumer.close()


def test_the_default_subscription_needs_no_configuration(tmp_path):
    overrides = {"metrics.http.listener": "127.0.0.1:0", "telemetry.default.interval.ms": "1000"}
    with BrokerThread(tmp_path, **overrides) as broker:
        producer = Producer({"bootstrap.servers": broker.bootstrap, "client.id": "no-config"})
        producer.produce("telemetry-default", b"x")
        producer.flush(10)
        wait_for_samples(broker, "org_apache_kafka_producer_request_latency_avg", producer, {"client_id": "no-config"})

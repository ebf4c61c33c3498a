"""ClientMetricsManager: instance ids, the push-interval rules and Kafka's error codes."""

from __future__ import annotations

import types

from opentelemetry.proto.metrics.v1 import metrics_pb2
from prometheus_client import CollectorRegistry, generate_latest

from minikafka.config import ResourceType
from minikafka.errors import ErrorCode
from minikafka.telemetry.collector import ClientTelemetryCollector
from minikafka.telemetry.manager import ZERO_UUID, ClientMetricsManager
from minikafka_core import compression

CLIENT = {"client_id": "app", "client_software_name": "librdkafka", "client_software_version": "2.16",
          "client_source_address": "127.0.0.1", "client_source_port": "5000"}
NEW_ID = bytes(range(1, 17))


def payload(value: float = 1.5) -> bytes:
    data = metrics_pb2.MetricsData()
    metric = data.resource_metrics.add().scope_metrics.add().metrics.add(name="org.apache.kafka.producer.x.avg")
    metric.gauge.data_points.add(as_double=value)
    return data.SerializeToString()


def manager(interval_ms="1000", max_bytes=1048576) -> ClientMetricsManager:
    m = ClientMetricsManager(max_bytes, new_uuid=lambda: NEW_ID)
    m.refresh({(ResourceType.CLIENT_METRICS, "all"): {"metrics": "*", "interval.ms": interval_ms}})
    return m


def push(m, subscription_id, now_ms, *, metrics=None, codec=0, terminating=False, instance=NEW_ID):
    request = types.SimpleNamespace(client_instance_id=instance, subscription_id=subscription_id,
                                    terminating=terminating, compression_type=codec,
                                    metrics=payload() if metrics is None else metrics)
    return m.push(request, CLIENT, now_ms)


def test_a_new_client_gets_an_id_and_its_subscription():
    got = manager().get_subscriptions(ZERO_UUID, CLIENT, 0)
    assert got["error_code"] == ErrorCode.NONE and got["client_instance_id"] == NEW_ID
    assert got["requested_metrics"] == [""] and got["push_interval_ms"] == 1000
    assert got["telemetry_max_bytes"] == 1048576
    assert got["accepted_compression_types"] == [compression.ZSTD, compression.LZ4, compression.GZIP,
                                                 compression.SNAPPY]


def test_pushes_follow_the_interval():
    m = manager()
    sid = m.get_subscriptions(ZERO_UUID, CLIENT, 0)["subscription_id"]
    assert push(m, sid, 10) == ErrorCode.NONE  # right after GetTelemetrySubscriptions
    assert push(m, sid, 500) == ErrorCode.THROTTLING_QUOTA_EXCEEDED
    assert push(m, sid, 1010) == ErrorCode.NONE
    assert m.get_subscriptions(NEW_ID, CLIENT, 1500)["error_code"] == ErrorCode.THROTTLING_QUOTA_EXCEEDED


def test_a_changed_subscription_makes_the_client_ask_again():
    m = manager()
    sid = m.get_subscriptions(ZERO_UUID, CLIENT, 0)["subscription_id"]
    m.refresh({(ResourceType.CLIENT_METRICS, "all"): {"metrics": "*", "interval.ms": "2000"}})
    assert push(m, sid, 10) == ErrorCode.UNKNOWN_SUBSCRIPTION_ID
    again = m.get_subscriptions(NEW_ID, CLIENT, 20)  # not throttled: the client was told to ask
    assert again["error_code"] == ErrorCode.NONE and again["subscription_id"] != sid
    assert push(m, again["subscription_id"], 30) == ErrorCode.NONE


def test_payload_errors():
    m = manager(max_bytes=50)
    sid = m.get_subscriptions(ZERO_UUID, CLIENT, 0)["subscription_id"]
    assert push(m, sid, 10, codec=7) == ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
    assert push(m, sid, 2000, metrics=b"x" * 51) == ErrorCode.TELEMETRY_TOO_LARGE
    assert push(m, sid, 4000, metrics=b"\xff\xff\xff") == ErrorCode.INVALID_RECORD
    assert push(m, sid, 6000, instance=ZERO_UUID) == ErrorCode.INVALID_REQUEST


def test_after_a_terminating_push_the_instance_takes_no_more():
    m = manager()
    sid = m.get_subscriptions(ZERO_UUID, CLIENT, 0)["subscription_id"]
    assert push(m, sid, 10) == ErrorCode.NONE
    assert push(m, sid, 20, terminating=True) == ErrorCode.NONE  # exempt from the interval
    assert push(m, sid, 5000) == ErrorCode.INVALID_REQUEST


def test_the_collector_shows_the_latest_push_with_the_clients_labels():
    m = manager()
    sid = m.get_subscriptions(ZERO_UUID, CLIENT, 0)["subscription_id"]
    push(m, sid, 10)
    push(m, sid, 1010, metrics=payload(7.0))
    registry = CollectorRegistry()
    registry.register(ClientTelemetryCollector(m, lambda: 1020))
    text = generate_latest(registry).decode()
    assert 'org_apache_kafka_producer_x_avg{client_id="app",client_instance_id="AQIDBAUGBwgJCgsMDQ4PEA",' \
           'client_software_name="librdkafka",client_software_version="2.16",' \
           'client_source_address="127.0.0.1"} 7.0' in text


def test_idle_instances_are_forgotten():
    m = manager()
    sid = m.get_subscriptions(ZERO_UUID, CLIENT, 0)["subscription_id"]
    push(m, sid, 10)
    assert m.latest_points(50_000)
    assert m.latest_points(70_011) == []  # max(3 * 1 s, 60 s) after the last request

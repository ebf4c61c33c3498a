"""The three KIP-714 APIs on the wire, with a hand-built OTLP payload (gzip)."""

from __future__ import annotations

import urllib.request

import trio
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2

from minikafka.config import ResourceType
from minikafka.errors import ErrorCode
from minikafka.testing import open_broker
from minikafka_core import compression
from tests.broker.broker_rawclient import RawClient

GET, PUSH, LIST = 71, 72, 74


def metrics_data(value: float) -> bytes:
    data = metrics_pb2.MetricsData()
    rm = data.resource_metrics.add()
    metric = rm.scope_metrics.add().metrics.add(name="org.apache.kafka.producer.record.send.rate")
    point = metric.gauge.data_points.add(as_double=value)
    point.attributes.append(KeyValue(key="topic", value=AnyValue(string_value="orders")))
    return compression.compress(compression.GZIP, data.SerializeToString())


async def test_get_push_list_over_the_wire(tmp_path):
    async with open_broker(tmp_path, **{"metrics.http.listener": "127.0.0.1:0", "telemetry.default.metrics": ""}) \
            as broker:
        await broker.set_resource_configs(int(ResourceType.CLIENT_METRICS), "raw",
                                          {"metrics": "org.apache.kafka.producer.", "interval.ms": "60000"})
        client = await RawClient.connect(broker.bound_ports[0], client_id="raw-app")
        got = await client.request(GET, 0, {"client_instance_id": bytes(16)})
        assert got.error_code == ErrorCode.NONE and got.client_instance_id != bytes(16)
        assert list(got.requested_metrics) == ["org.apache.kafka.producer."] and got.push_interval_ms == 60000
        push = {"client_instance_id": got.client_instance_id, "subscription_id": got.subscription_id,
                "terminating": False, "compression_type": compression.GZIP, "metrics": metrics_data(42.0)}
        assert (await client.request(PUSH, 0, push)).error_code == ErrorCode.NONE
        assert (await client.request(PUSH, 0, push)).error_code == ErrorCode.THROTTLING_QUOTA_EXCEEDED
        stale = dict(push, subscription_id=got.subscription_id + 1, terminating=True)
        assert (await client.request(PUSH, 0, stale)).error_code == ErrorCode.UNKNOWN_SUBSCRIPTION_ID
        listed = await client.request(LIST, 0, {})
        assert [r.name for r in listed.client_metrics_resources] == ["raw"]
        await client.aclose()

        url = f"http://127.0.0.1:{broker.metrics_port}/metrics"
        text = (await trio.to_thread.run_sync(lambda: urllib.request.urlopen(url, timeout=5).read())).decode()
        line = next(l for l in text.splitlines() if l.startswith("org_apache_kafka_producer_record_send_rate{"))
        assert 'client_id="raw-app"' in line and 'topic="orders"' in line and line.endswith(" 42.0")

"""Decoding pushed OTLP MetricsData: every codec, gauges, sums, histograms, bad payloads."""

from __future__ import annotations

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2

from minikafka.telemetry.otlp import InvalidPayload, MetricPoint, decode_metrics
from minikafka_core import compression


def metrics_data() -> bytes:
    """A MetricsData as a client builds it: one resource, a gauge, a sum, a histogram."""
    data = metrics_pb2.MetricsData()
    rm = data.resource_metrics.add()
    rm.resource.attributes.append(KeyValue(key="client_rack", value=AnyValue(string_value="r1")))
    scope = rm.scope_metrics.add()
    gauge = scope.metrics.add(name="org.apache.kafka.producer.record.queue.time.avg")
    gauge.gauge.data_points.add(as_double=2.5)
    total = scope.metrics.add(name="org.apache.kafka.producer.connection.creation.total")
    point = total.sum.data_points.add(as_int=3)
    point.attributes.append(KeyValue(key="node.id", value=AnyValue(int_value=1)))
    total.sum.is_monotonic = True
    histogram = scope.metrics.add(name="latency")
    histogram.histogram.data_points.add(count=4, sum=10.0)
    return data.SerializeToString()


EXPECTED = [
    MetricPoint("org.apache.kafka.producer.record.queue.time.avg", "gauge", (("client_rack", "r1"),), (), 2.5),
    MetricPoint("org.apache.kafka.producer.connection.creation.total", "sum", (("client_rack", "r1"),),
                (("node.id", "1"),), 3.0),
    MetricPoint("latency.count", "histogram", (("client_rack", "r1"),), (), 4.0),
    MetricPoint("latency.sum", "histogram", (("client_rack", "r1"),), (), 10.0),
]


@pytest.mark.parametrize("codec", [compression.NONE, compression.GZIP, compression.SNAPPY,
                                   compression.LZ4, compression.ZSTD])
def test_every_codec_decodes_to_the_same_points(codec):
    payload = compression.compress(codec, metrics_data())
    assert decode_metrics(codec, payload) == EXPECTED


def test_corrupt_compressed_data_is_an_invalid_payload():
    with pytest.raises(InvalidPayload):
        decode_metrics(compression.GZIP, b"not gzip")


def test_bytes_that_are_not_a_metrics_data_are_an_invalid_payload():
    with pytest.raises(InvalidPayload):
        decode_metrics(compression.NONE, b"\xff\xff\xff\xff")

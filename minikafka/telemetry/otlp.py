"""Decoding a PushTelemetry payload: compressed OTLP ``MetricsData`` to plain points.

The payload is an OpenTelemetry ``MetricsData`` protobuf (opentelemetry-proto's
generated classes), compressed with a record-batch codec id (0 none, 1 gzip,
2 snappy, 3 lz4, 4 zstd; ``minikafka_core.compression`` reads every framing
Kafka clients write). Its shape::

    MetricsData
      resource_metrics[]: resource.attributes (client_id, client_instance_id, ...)
        scope_metrics[]: metrics[]: name, one of gauge | sum | histogram | ...
          data_points[]: attributes (node_id, topic, ...), as_double | as_int

``decode_metrics`` flattens it into ``MetricPoint``s: one per data point,
carrying its resource attributes and its own attributes. Gauges and sums
give their value; a histogram or summary gives two points, ``<name>.count``
and ``<name>.sum``. Exponential histograms are skipped.
"""

from __future__ import annotations

import dataclasses

from google.protobuf.message import DecodeError
from opentelemetry.proto.metrics.v1 import metrics_pb2

from minikafka_core import compression

# PushTelemetry compression codes the broker accepts, preferred first (Kafka's order).
ACCEPTED_COMPRESSION_TYPES = (compression.ZSTD, compression.LZ4, compression.GZIP, compression.SNAPPY)


class InvalidPayload(ValueError):
    """The payload cannot be decompressed or is not a ``MetricsData``."""


@dataclasses.dataclass(frozen=True)
class MetricPoint:
    """One data point: metric name, kind (gauge/sum/...), labels, value."""

    name: str
    kind: str
    resource: tuple[tuple[str, str], ...]
    attributes: tuple[tuple[str, str], ...]
    value: float


def decode_metrics(compression_type: int, payload: bytes) -> list[MetricPoint]:
    """Decompress and parse one push into points.

    Raises:
        InvalidPayload: corrupt compressed data or protobuf.
    """
    try:
        raw = compression.decompress(compression_type, payload)
    except ValueError as exc:
        raise InvalidPayload(str(exc)) from None
    data = metrics_pb2.MetricsData()
    try:
        data.ParseFromString(raw)
    except DecodeError as exc:
        raise InvalidPayload(f"Not an OTLP MetricsData: {exc}") from None
    points = []
    for resource_metrics in data.resource_metrics:
        resource = _attributes(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                points += _points(metric, resource)
    return points


def _points(metric, resource) -> list[MetricPoint]:
    kind = metric.WhichOneof("data")
    if kind in ("gauge", "sum"):
        return [MetricPoint(metric.name, kind, resource, _attributes(p.attributes), _number(p))
                for p in getattr(metric, kind).data_points]
    if kind in ("histogram", "summary"):
        out = []
        for p in getattr(metric, kind).data_points:
            attributes = _attributes(p.attributes)
            out.append(MetricPoint(metric.name + ".count", kind, resource, attributes, float(p.count)))
            out.append(MetricPoint(metric.name + ".sum", kind, resource, attributes, float(p.sum)))
        return out
    return []


def _number(point) -> float:
    return float(point.as_int) if point.WhichOneof("value") == "as_int" else point.as_double


def _attributes(key_values) -> tuple[tuple[str, str], ...]:
    """OTLP ``KeyValue``s as sorted ``(key, string value)`` pairs."""
    pairs = []
    for kv in key_values:
        value = kv.value
        which = value.WhichOneof("value")
        pairs.append((kv.key, str(getattr(value, which)) if which else ""))
    return tuple(sorted(pairs))

"""The pushed client metrics on the broker's Prometheus endpoint.

A ``prometheus_client`` collector, read at each scrape of ``GET /metrics``:
every live client instance's latest points become samples. The name is the
OTLP metric name with every character Prometheus does not allow (dots,
dashes) turned into ``_``::

    org.apache.kafka.producer.record.queue.time.avg
        -> org_apache_kafka_producer_record_queue_time_avg{client_id="...", ...}

Labels, later ones winning: what the broker knows of the client (``client_id``,
``client_instance_id``, ``client_software_name``, ``client_software_version``,
``client_source_address``), then the push's resource attributes, then the
data point's own attributes (``node_id``, ``topic``, ``partition`` ...), each
key with the same character rule. Every family is a gauge: the latest value
the client pushed (its counters are cumulative, see ``manager``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from prometheus_client.core import Metric

from minikafka.telemetry.manager import ClientMetricsManager

_INVALID = re.compile(r"[^a-zA-Z0-9_]")
_LABEL_SELECTORS = ("client_id", "client_instance_id", "client_software_name", "client_software_version",
                    "client_source_address")


def prometheus_name(name: str) -> str:
    """An OTLP metric or attribute name as a Prometheus name."""
    name = _INVALID.sub("_", name)
    return "_" + name if name[:1].isdigit() else name


class ClientTelemetryCollector:
    """Collects the latest pushed points of every client instance.

    Args:
        manager: the broker's ``ClientMetricsManager``.
        now_ms: the broker's monotonic clock (instances idle too long are dropped).
    """

    def __init__(self, manager: ClientMetricsManager, now_ms: Callable[[], float]) -> None:
        self._manager = manager
        self._now_ms = now_ms

    def collect(self):
        families: dict[str, Metric] = {}
        seen: set = set()
        for instance, points in self._manager.latest_points(self._now_ms()):
            base = {k: instance.client[k] for k in _LABEL_SELECTORS if instance.client.get(k)}
            for point in points:
                name = prometheus_name(point.name)
                labels = dict(base)
                labels.update((prometheus_name(k), v) for k, v in point.resource + point.attributes)
                key = (name, tuple(sorted(labels.items())))
                if key in seen:
                    continue
                seen.add(key)
                family = families.get(name)
                if family is None:
                    family = families[name] = Metric(name, f"Client metric {point.name} (KIP-714)", "gauge")
                family.add_sample(name, labels, point.value)
        return list(families.values())

    def describe(self):
        return []  # families exist only once clients push

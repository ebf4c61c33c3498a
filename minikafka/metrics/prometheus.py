"""A ``prometheus_client`` collector that shows a :class:`~minikafka.metrics.Registry` under the exporter's names.

At each scrape, :class:`RegistryCollector` reads every metric of the
registry, turns each MBean attribute into a sample with the JMX exporter's
Kafka rules (:mod:`minikafka.metrics.exporter`) and groups the samples into
metric families by name:

- a rule of type COUNTER named ``..._total`` -> a ``counter`` family
  (``kafka_server_brokertopicmetrics_bytesin_total{topic="orders"}``);
- a rule of type GAUGE -> a ``gauge`` family;
- a histogram's ``..._count`` and its ``{quantile="0.99"}`` samples -> one
  ``summary`` family, which the exporter's rules emulate. minikafka adds the
  ``_sum`` the exporter cannot give (Yammer does not expose it);
- the ``..._count`` of a counter (a Yammer ``Counter`` or a meter not named
  ``...PerSec``) -> an untyped family of that exact name.

Families with samples from several MBeans (the all-topics meter and the
per-topic ones) carry different label sets, as Prometheus allows.
"""

from __future__ import annotations

from prometheus_client.metrics_core import Metric

from minikafka.metrics.exporter import COUNTER, samples
from minikafka.metrics.kinds import Histogram
from minikafka.metrics.registry import Registry


class RegistryCollector:
    """``prometheus_client``'s custom collector over one broker's :class:`Registry`."""

    def __init__(self, registry: Registry):
        self._registry = registry

    def collect(self):
        families: dict[str, Metric] = {}
        for name, metric in self._registry.metrics():
            is_histogram = isinstance(metric, Histogram)
            for sample in samples(name, metric):
                family_name, family_type = _family_of(sample, is_histogram)
                family = families.get(family_name)
                if family is None:
                    family = families[family_name] = Metric(family_name, f"{name.mbean} {sample.attribute}",
                                                            family_type)
                elif family.type != family_type:
                    continue  # two kinds under one name: the first one registered wins
                family.add_sample(sample.name, sample.labels, sample.value)
                if is_histogram and sample.attribute == "Count":
                    family.add_sample(f"{family_name}_sum", sample.labels, float(metric.sum))
        yield from families.values()


def _family_of(sample, is_histogram: bool) -> tuple[str, str]:
    """``(family name, Prometheus type)`` of one sample."""
    if sample.attribute.endswith("thPercentile"):
        return sample.name, "summary"
    if sample.type == COUNTER and sample.name.endswith("_total"):
        return sample.name[:-len("_total")], "counter"
    if sample.type == COUNTER and sample.name.endswith("_count"):
        if is_histogram:
            return sample.name[:-len("_count")], "summary"
        return sample.name, "unknown"
    return sample.name, sample.type

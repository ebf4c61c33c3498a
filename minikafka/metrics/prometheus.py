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

The registry's sample sources (:meth:`Registry.samples`) add gauge families
under the names they give (kafka_exporter's ``kafka_consumergroup_lag``).

Families with samples from several MBeans (the all-topics meter and the
per-topic ones) carry different label sets, as Prometheus allows.
"""

from __future__ import annotations

import logging

from prometheus_client.metrics_core import Metric

from minikafka.metrics.exporter import COUNTER, samples
from minikafka.metrics.kinds import Histogram
from minikafka.metrics.names import MetricName
from minikafka.metrics.registry import Registry


log = logging.getLogger("minikafka.metrics")


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
                    family = families[family_name] = Metric(family_name, _help(name, sample.attribute), family_type)
                elif family.type != family_type:
                    continue  # two kinds under one name: the first one registered wins
                family.add_sample(sample.name, sample.labels, sample.value)
                if is_histogram and sample.attribute == "Count":
                    family.add_sample(f"{family_name}_sum", sample.labels, float(metric.sum))
        self._collect_rows(families)
        yield from families.values()

    def _collect_rows(self, families: dict[str, Metric]) -> None:
        """The registry's sample sources: gauges under the names they give."""
        for key, fn in self._registry.sample_sources():
            try:
                rows = list(fn())
            except Exception:  # a scrape must not fail for one source
                log.debug("sample source %s failed", key, exc_info=True)
                continue
            for prometheus_name, labels, value in rows:
                family = families.get(prometheus_name)
                if family is None:
                    family = families[prometheus_name] = Metric(prometheus_name, f"{key} ({prometheus_name})",
                                                                "gauge")
                elif family.type != "gauge":
                    continue
                family.add_sample(prometheus_name, {str(k): str(v) for k, v in labels.items()}, float(value))


def _help(name, attribute: str) -> str:
    """The family's help: the MBean without its tags, and the attribute (as the exporter's help names them)."""
    untagged = MetricName(name.domain, name.type, name.name, kafka_metric=name.kafka_metric)
    return f"{untagged.mbean} {attribute}"


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

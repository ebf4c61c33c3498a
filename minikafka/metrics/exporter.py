"""Prometheus names for Kafka's MBeans, as the Prometheus JMX exporter's example Kafka rules make them.

Operators scrape Kafka through the Prometheus JMX exporter, a Java agent
configured with rules; the rules every dashboard and alert is written
against are the exporter's example configuration for Kafka 2.0+. minikafka
has no JVM, so it applies the same rules itself (sans-I/O, no
``prometheus_client`` here; :mod:`minikafka.metrics.prometheus` builds the
metric families from the samples this module returns).

How the exporter works, and so this module:

1. Each MBean attribute is written as one string,
   ``domain<key=value, key=value><>Attribute``, the keys in the MBean's order:
   ``kafka.server<type=BrokerTopicMetrics, name=BytesInPerSec, topic=orders><>Count``.
2. The rules (:data:`RULES`) are tried in order; the first whose pattern
   matches the *whole* string wins. Its name and labels are templates filled
   from the pattern's groups (``$1``...). An attribute no rule matches is not
   exported (so a meter's ``OneMinuteRate`` or a histogram's ``Max`` is not:
   Prometheus computes rates and averages itself, from ``Count``).
3. The name is made safe (every character outside ``[a-zA-Z0-9:_]`` becomes
   ``_``, runs of ``_`` merge into one, a leading digit gets a ``_``) and
   lower-cased (``lowercaseOutputName: true``). Label names are made safe;
   label values are kept.

The rules, in order (``$n`` are the pattern's groups):

- special cases: ``kafka.server<type, name, clientId, topic, partition><>Value``
  (replica fetcher lag) and ``kafka.server<type, name, clientId, brokerHost,
  brokerPort><>Value`` (a ``broker="host:port"`` label) -> ``kafka_server_$1_$2``;
  ``kafka.coordinator.X<type, name><>Value`` -> ``kafka_coordinator_X_$2_$3``.
- meters: ``kafka.X<type=T, name=N PerSec..., 0-2 tags><>Count`` -> counter
  ``kafka_X_T_N_total`` (``BytesInPerSec`` -> ``..._bytesin_total``).
- quotas: ``kafka.server<type=T, client-id=C><>attr`` and ``<type=T, user=U,
  client-id=C><>attr`` -> gauge ``kafka_server_quota_attr`` with ``resource``
  (the type), ``user`` and ``clientId`` labels.
- gauges: ``kafka.X<type=T, name=N, 0-2 tags><>Value`` -> gauge ``kafka_X_T_N``.
- histograms, emulating a Prometheus summary: ``<>Count`` -> ``kafka_X_T_N_count``
  and ``<>NNthPercentile`` -> ``kafka_X_T_N{quantile="0.NN"}``.

minikafka adds one rule after them (:data:`KAFKA_METRIC_RULE`) for the
attributes of Kafka's own metrics library (``kafka.server:type=raft-metrics``
``current-leader``), which the example rules leave out: gauge
``kafka_X_T_attr`` (``kafka_server_raft_metrics_current_leader``), the tags as labels.
An MBean with more than two tags (outside the special cases) still matches
a two-tag rule, but the greedy groups fold a tag into the name or into a
label name (``kafka_log_log_size_topic_t``), as the exporter would: keep to two.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from typing import Iterator

from minikafka.metrics.kinds import Gauge, readings
from minikafka.metrics.names import MetricName

log = logging.getLogger("minikafka.metrics")

COUNTER, GAUGE = "counter", "gauge"


@dataclass(frozen=True)
class Rule:
    """One exporter rule: a pattern over the attribute string, a name and label templates."""

    pattern: str
    name: str
    type: str
    labels: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", re.compile(self.pattern))


def _rule(pattern: str, name: str, type_: str, **labels: str) -> Rule:
    return Rule(pattern, name, type_, tuple(labels.items()))


def _pairs(n: int, first: int) -> dict[str, str]:
    """Label templates ``{"$4": "$5", "$6": "$7"}`` for ``n`` tag pairs from group ``first``."""
    return {f"${first + 2 * i}": f"${first + 2 * i + 1}" for i in range(n)}


_TAGS = ["", ", (.+)=(.+)", ", (.+)=(.+), (.+)=(.+)"]  # 0, 1, 2 tag pairs
_PERCENTILE_TAGS = ["", ", (.+)=(.*)", ", (.+)=(.*), (.+)=(.+)"]


def _generic(suffix: str, attribute: str, name: str, type_: str, tags=_TAGS, extra=None) -> list[Rule]:
    """The 2-, 1- and 0-pair variants of one generic rule (the exporter lists them in that order)."""
    rules = []
    for n in (2, 1, 0):
        labels = _pairs(n, 4)
        if extra is not None:
            labels["quantile"] = f"0.${4 + 2 * n}"
        rules.append(Rule(rf"kafka\.(\w+)<type=(.+), name=(.+){suffix}{tags[n]}><>{attribute}", name, type_,
                          tuple(labels.items())))
    return rules


RULES: tuple[Rule, ...] = (
    # Special cases.
    _rule(r"kafka\.server<type=(.+), name=(.+), clientId=(.+), topic=(.+), partition=(.*)><>Value",
          "kafka_server_$1_$2", GAUGE, clientId="$3", topic="$4", partition="$5"),
    _rule(r"kafka\.server<type=(.+), name=(.+), clientId=(.+), brokerHost=(.+), brokerPort=(.+)><>Value",
          "kafka_server_$1_$2", GAUGE, clientId="$3", broker="$4:$5"),
    _rule(r"kafka\.coordinator\.(\w+)<type=(.+), name=(.+)><>Value", "kafka_coordinator_$1_$2_$3", GAUGE),
    # Per-second counters (meters), 2, 1, 0 tag pairs.
    *_generic(r"PerSec\w*", "Count", "kafka_$1_$2_$3_total", COUNTER),
    # Quotas.
    _rule(r"kafka\.server<type=(.+), client-id=(.+)><>([a-z-]+)", "kafka_server_quota_$3", GAUGE,
          resource="$1", clientId="$2"),
    _rule(r"kafka\.server<type=(.+), user=(.+), client-id=(.+)><>([a-z-]+)", "kafka_server_quota_$4", GAUGE,
          resource="$1", user="$2", clientId="$3"),
    # Gauges.
    *_generic("", "Value", "kafka_$1_$2_$3", GAUGE),
    # Histograms as summaries: the count, then the percentiles, per number of tag pairs.
    *(rule for pair in zip(_generic("", "Count", "kafka_$1_$2_$3_count", COUNTER),
                           _generic("", r"(\d+)thPercentile", "kafka_$1_$2_$3", GAUGE,
                                    tags=_PERCENTILE_TAGS, extra=True))
      for rule in pair),
)

KAFKA_METRIC_RULE = _rule(r"kafka\.(\w+)<type=([^,>]+)(?:, [^>]*)?><>([a-z0-9-]+)", "kafka_$1_$2_$3", GAUGE)


@dataclass(frozen=True)
class Sample:
    """One exported value: the Prometheus name, its type, labels and value.

    Attributes:
        name: the sample's name (``..._total`` for counters, ``..._count`` for a histogram count).
        type: ``counter`` or ``gauge``, the rule's type.
        labels: label name -> value.
        value: the reading.
        attribute: the MBean attribute it came from (``Count``, ``99thPercentile``, ``Value``).
    """

    name: str
    type: str
    labels: dict
    value: float
    attribute: str


def safe_name(name: str) -> str:
    """The exporter's safe name: illegal characters and runs of ``_`` become one ``_``; no leading digit."""
    out = ["_"] if name[:1].isdigit() else []
    previous_underscore = False
    for c in name:
        if c == "_" or not (c.isascii() and (c.isalnum() or c == ":")):
            if not previous_underscore:
                out.append("_")
            previous_underscore = True
        else:
            out.append(c)
            previous_underscore = False
    return "".join(out)


def attribute_string(name: MetricName, attribute: str) -> str:
    """The string the rules match: ``kafka.server<type=T, name=N, topic=t><>Count``."""
    keys = [("type", name.type)]
    if not name.kafka_metric:
        keys.append(("name", name.name))
    keys.extend(name.tags)
    return f"{name.domain}<" + ", ".join(f"{k}={v}" for k, v in keys) + f"><>{attribute}"


def _expand(template: str, match: re.Match) -> str:
    return re.sub(r"\$(\d+)", lambda m: match.group(int(m.group(1))) or "", template)


def apply_rules(name: MetricName, attribute: str, value: float) -> Sample | None:
    """The sample the rules make of one attribute, or None when no rule exports it."""
    naming = _naming(name, attribute)
    if naming is None:
        return None
    sample_name, sample_type, labels = naming
    return Sample(sample_name, sample_type, labels, float(value), attribute)


@functools.lru_cache(maxsize=1 << 16)
def _naming(name: MetricName, attribute: str) -> tuple[str, str, dict] | None:
    """``(name, type, labels)`` of one attribute by the first rule that matches it.

    Cached: a metric keeps its name, so the regular expressions run once per
    metric and attribute, not at every scrape (a scrape runs in the broker's
    event loop, and matching every rule every time cost tens of milliseconds).
    Callers must not change the labels they get.
    """
    text = attribute_string(name, attribute)
    rules = (*RULES, KAFKA_METRIC_RULE) if name.kafka_metric else RULES
    for rule in rules:
        match = rule._regex.fullmatch(text)
        if match is None:
            continue
        labels = {safe_name(_expand(k, match)): _expand(v, match) for k, v in rule.labels}
        if rule is KAFKA_METRIC_RULE:
            labels.update((safe_name(k), v) for k, v in name.tags)
        return safe_name(_expand(rule.name, match)).lower(), rule.type, labels
    return None


def prometheus_name(name: MetricName, attribute: str | None = None) -> str | None:
    """The Prometheus name of a metric's main attribute (``Value``, ``Count``), or None.

    ``MetricName("kafka.server", "ReplicaManager", "UnderReplicatedPartitions")`` ->
    ``kafka_server_replicamanager_underreplicatedpartitions``.
    """
    if attribute is None:
        attribute = name.name if name.kafka_metric else ("Count" if "PerSec" in name.name else "Value")
    sample = apply_rules(name, attribute, 0.0)
    return None if sample is None else sample.name


# -- what each kind of metric shows (its MBean attributes) -----------------------------------

def attributes(name: MetricName, metric) -> Iterator[tuple[str, float]]:
    """``(attribute, value)`` of a metric as its MBean shows them; the rules pick what is exported.

    A gauge whose function fails or returns None shows nothing.
    """
    if name.kafka_metric:  # one attribute, named by the metric
        try:
            value = metric.value if isinstance(metric, Gauge) else metric.count
        except Exception:  # a scrape must not fail for one gauge whose subject went away
            log.debug("gauge %s failed", name, exc_info=True)
            return
        if value is not None:
            yield name.name, value
        return
    try:
        found = readings(metric)
    except Exception:
        log.debug("gauge %s failed", name, exc_info=True)
        return
    yield from found.items()


def samples(name: MetricName, metric) -> Iterator[Sample]:
    """Every sample the exporter's rules make of one metric."""
    for attribute, value in attributes(name, metric):
        sample = apply_rules(name, attribute, value)
        if sample is not None:
            yield sample

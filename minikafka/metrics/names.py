"""Kafka's metric names: a JMX ``ObjectName`` as ``domain:type=T,name=N,tag=value``.

Kafka's broker metrics are Yammer metrics, each registered as one JMX MBean
whose name Kafka builds in ``KafkaMetricsGroup``: the domain (``kafka.server``,
``kafka.network``, ``kafka.log``, ``kafka.controller``, ...), then
``type=`` (the class that owns the metric), ``name=`` (the metric), then the
tags in the order given (``topic=orders``, ``request=Produce``, ...). The
MBean's *attributes* are the metric's readings (``Value`` for a gauge,
``Count`` and ``OneMinuteRate`` for a meter, ``99thPercentile`` for a
histogram).

Kafka's other metrics library (``org.apache.kafka.common.metrics``, used by
the raft, coordinator and quota metrics) names an MBean by ``type=`` (the
metric *group*) and tags only; each metric is an attribute in Kafka's
lower-case-hyphen style (``kafka.server:type=raft-metrics`` attribute
``current-leader``). :class:`MetricName` with ``kafka_metric=True`` is such a
name.

A ``MetricName`` is an immutable, hashable value: the registry's key.
"""

from __future__ import annotations

from dataclasses import dataclass

Tags = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class MetricName:
    """One metric's JMX name.

    Attributes:
        domain: ``kafka.server``, ``kafka.network``, ...
        type: the MBean's ``type=`` (Yammer: the owning class; Kafka metrics: the group).
        name: the MBean's ``name=`` (Yammer), or the attribute (``kafka_metric``).
        tags: ``(key, value)`` pairs in Kafka's order, after ``name=``.
        kafka_metric: a Kafka-metrics attribute (``type=`` and tags only in the
            MBean, ``name`` is the attribute) rather than a Yammer MBean.
    """

    domain: str
    type: str
    name: str
    tags: Tags = ()
    kafka_metric: bool = False

    def __post_init__(self) -> None:
        # Accept a dict or any iterable of pairs; store a tuple of str pairs (hashable).
        pairs = self.tags.items() if isinstance(self.tags, dict) else self.tags
        object.__setattr__(self, "tags", tuple((str(k), str(v)) for k, v in pairs))

    @property
    def mbean(self) -> str:
        """The MBean's ``ObjectName``: ``kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec,topic=t``.

        For a Kafka metric, the MBean of its group (the attribute is ``name``).
        """
        keys = [("type", self.type)]
        if not self.kafka_metric:
            keys.append(("name", self.name))
        keys.extend(self.tags)
        return f"{self.domain}:" + ",".join(f"{k}={v}" for k, v in keys)

    @property
    def jmx(self) -> str:
        """The name as JMX tools show it: the MBean, or ``mbean`` + ``/attribute`` for a Kafka metric."""
        return f"{self.mbean}/{self.name}" if self.kafka_metric else self.mbean

    def tag(self, key: str) -> str | None:
        """The value of tag ``key``, or None."""
        for k, v in self.tags:
            if k == key:
                return v
        return None

    def __str__(self) -> str:
        return self.jmx

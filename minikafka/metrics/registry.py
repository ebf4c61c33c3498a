"""One broker's metrics: a map from :class:`MetricName` to a metric, get-or-create.

Theory of operation:

- The broker owns one :class:`Registry` (``broker.metrics``) and hands it to
  the parts that record. A part asks for its metric once, by name, and keeps
  the object: ``self.bytes_in = metrics.meter(MetricName(...))``, then
  ``self.bytes_in.mark(n)`` on every request. Asking again for the same name
  returns the same object (get-or-create, as Kafka's
  ``KafkaMetricsGroup.newMeter``), so two parts that share a metric (the
  all-topics ``BytesInPerSec``) count into one.
- Asking for a name that exists with another kind is a programming error
  (``TypeError``).
- A metric whose subject goes away (a deleted topic, a partition moved away)
  is removed with :meth:`Registry.remove` or :meth:`Registry.remove_matching`,
  as Kafka's ``removeMetric``; a gauge keeps its subject alive until then.
- Readers (the Prometheus collector, the console) iterate :meth:`metrics`.
- What has no JMX name (kafka_exporter's consumer lag rows) is registered as
  a *sample source*, a callable returning ``(prometheus_name, labels, value)``
  rows at each scrape (:meth:`Registry.samples`).
  The registry is used from the broker's Trio thread only: no locks.
- ``MINIKAFKA_METRICS=0`` in the environment (read when the registry is
  built) turns recording into a no-op: counters, meters, histograms and timers
  are shared do-nothing objects, never registered. Gauges cost nothing until
  read and stay registered. This is what the benchmark compares against.
"""

from __future__ import annotations

import os
from typing import Callable, Iterable, Iterator

from minikafka.metrics.kinds import (Clock, Counter, Gauge, Histogram, Meter, NullCounter, NullHistogram,
                                     NullMeter, NullTimer, Timer)
from minikafka.metrics.names import MetricName

Metric = Gauge | Counter | Meter | Histogram | Timer
SampleRow = tuple[str, dict, float]  # (Prometheus name, labels, value)

ENV_SWITCH = "MINIKAFKA_METRICS"


def metrics_enabled(environ=None) -> bool:
    """False when ``MINIKAFKA_METRICS`` is ``0`` (or ``false``/``off``/``no``)."""
    value = (os.environ if environ is None else environ).get(ENV_SWITCH, "1")
    return value.strip().lower() not in ("0", "false", "off", "no")


class Registry:
    """The metrics of one broker, keyed by :class:`MetricName`.

    Args:
        clock: monotonic seconds (read when a meter is created and when a rate is read).
        enabled: record or not; None reads ``MINIKAFKA_METRICS`` from the environment.
    """

    def __init__(self, clock: Clock, enabled: bool | None = None):
        self.clock = clock
        self.enabled = metrics_enabled() if enabled is None else enabled
        self._metrics: dict[MetricName, Metric] = {}
        self._sample_sources: dict[str, Callable[[], Iterable[SampleRow]]] = {}
        self._null_counter = NullCounter()
        self._null_meter: NullMeter | None = None
        self._null_histogram = NullHistogram()
        self._null_timer: NullTimer | None = None

    # -- get-or-create ------------------------------------------------------------------

    def gauge(self, name: MetricName, fn: Callable[[], float]) -> Gauge:
        """The gauge ``name`` reading ``fn()``; an existing gauge gets the new ``fn``."""
        gauge = self._existing(name, Gauge)
        if gauge is None:
            gauge = self._metrics[name] = Gauge(fn)
        else:
            gauge.fn = fn
        return gauge

    def counter(self, name: MetricName) -> Counter:
        """The counter ``name`` (created at 0)."""
        if not self.enabled:
            return self._null_counter
        return self._existing(name, Counter) or self._metrics.setdefault(name, Counter())

    def meter(self, name: MetricName) -> Meter:
        """The meter ``name`` (its rates start now)."""
        if not self.enabled:
            if self._null_meter is None:
                self._null_meter = NullMeter(self.clock)
            return self._null_meter
        return self._existing(name, Meter) or self._metrics.setdefault(name, Meter(self.clock))

    def histogram(self, name: MetricName) -> Histogram:
        """The histogram ``name``."""
        if not self.enabled:
            return self._null_histogram
        return self._existing(name, Histogram) or self._metrics.setdefault(name, Histogram())

    def timer(self, name: MetricName) -> Timer:
        """The timer ``name`` (a histogram of durations and the meter of its calls)."""
        if not self.enabled:
            if self._null_timer is None:
                self._null_timer = NullTimer(self.clock)
            return self._null_timer
        return self._existing(name, Timer) or self._metrics.setdefault(name, Timer(self.clock))

    def _existing(self, name: MetricName, kind: type):
        metric = self._metrics.get(name)
        if metric is None:
            return None
        if type(metric) is not kind:
            raise TypeError(f"{name} is a {type(metric).__name__}, not a {kind.__name__}")
        return metric

    # -- removal and reading --------------------------------------------------------------

    def remove(self, name: MetricName) -> bool:
        """Forget ``name``; True if it was there."""
        return self._metrics.pop(name, None) is not None

    def remove_matching(self, predicate: Callable[[MetricName], bool]) -> int:
        """Forget every metric whose name satisfies ``predicate``; returns how many."""
        doomed = [name for name in self._metrics if predicate(name)]
        for name in doomed:
            del self._metrics[name]
        return len(doomed)

    def get(self, name: MetricName) -> Metric | None:
        """The metric ``name``, or None."""
        return self._metrics.get(name)

    def metrics(self) -> Iterator[tuple[MetricName, Metric]]:
        """Every ``(name, metric)``, in registration order (a copy: safe to remove while iterating)."""
        return iter(list(self._metrics.items()))

    # -- rows with plain Prometheus names (not JMX-named) -------------------------------------

    def samples(self, key: str, fn: Callable[[], Iterable[SampleRow]]) -> None:
        """Register ``fn``, called at each scrape for ``(prometheus_name, labels, value)`` rows.

        For what has no JMX name and whose label sets come and go, such as
        kafka_exporter's ``kafka_consumergroup_lag{consumergroup,topic,partition}``.
        The names are used as given (gauges); ``key`` identifies the source
        (registering the same key again replaces it). Like gauges, kept when
        recording is off.
        """
        self._sample_sources[key] = fn

    def remove_samples(self, key: str) -> bool:
        """Forget the sample source ``key``; True if it was there."""
        return self._sample_sources.pop(key, None) is not None

    def sample_sources(self) -> Iterator[tuple[str, Callable[[], Iterable[SampleRow]]]]:
        """Every ``(key, fn)`` registered with :meth:`samples` (a copy)."""
        return iter(list(self._sample_sources.items()))

    def __len__(self) -> int:
        return len(self._metrics)

    def __contains__(self, name: MetricName) -> bool:
        return name in self._metrics

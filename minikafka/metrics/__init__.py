"""The broker's metrics: Kafka's JMX names, gauges, counters, meters, histograms and timers (sans-I/O).

Kafka's broker publishes its metrics as JMX MBeans
(``kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec,topic=orders``)
holding Yammer metrics. This package re-creates both halves:

- :mod:`.names` -- :class:`MetricName`, the MBean name;
- :mod:`.kinds` -- :class:`Gauge`, :class:`Counter`, :class:`Meter` (Yammer's
  EWMA rates), :class:`Histogram` and :class:`Timer` (Yammer's percentiles);
- :mod:`.registry` -- :class:`Registry`, one per broker, get-or-create by name;
  ``MINIKAFKA_METRICS=0`` turns recording off;
- :mod:`.exporter` -- the Prometheus names the JMX exporter's Kafka rules give them;
- :mod:`.prometheus` -- :class:`~.prometheus.RegistryCollector`, the
  ``prometheus_client`` collector the broker's ``/metrics`` endpoint serves
  (imported on its own, so that recording never imports ``prometheus_client``).

Usage, in a part of the broker handed the registry::

    bytes_in = metrics.meter(MetricName("kafka.server", "BrokerTopicMetrics", "BytesInPerSec",
                                        (("topic", topic),)))
    bytes_in.mark(len(records))       # hot path: one addition
"""

from minikafka.metrics.kinds import EWMA, Counter, Gauge, Histogram, Meter, Timer, readings
from minikafka.metrics.names import MetricName
from minikafka.metrics.registry import Registry, metrics_enabled

__all__ = ["EWMA", "Counter", "Gauge", "Histogram", "Meter", "MetricName", "Registry", "Timer",
           "metrics_enabled", "readings"]

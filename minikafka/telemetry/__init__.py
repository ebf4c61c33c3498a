"""Client metrics (KIP-714): clients push their own metrics to the broker.

``subscriptions`` turns client-metrics config resources into subscriptions
and matches them to clients; ``otlp`` decompresses and decodes the pushed
OpenTelemetry ``MetricsData``; ``manager`` is Kafka's ``ClientMetricsManager``
(client instance ids, subscription ids, the push-interval rules, the latest
values per client instance); ``collector`` shows those values on the
broker's Prometheus endpoint. Everything but the collector is sans-I/O: the
handlers pass ``now_ms`` in.
"""

"""The registry: get-or-create by name, removal, MINIKAFKA_METRICS=0."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from minikafka.metrics import Counter, Gauge, Histogram, Meter, MetricName, Registry, Timer, metrics_enabled
from minikafka.metrics.prometheus import RegistryCollector


def topic_meter(topic: str | None = None) -> MetricName:
    return MetricName("kafka.server", "BrokerTopicMetrics", "BytesInPerSec", (("topic", topic),) if topic else ())


def new_registry(enabled: bool = True) -> Registry:
    return Registry(clock=lambda: 100.0, enabled=enabled)


def test_get_or_create_returns_the_same_object():
    registry = new_registry()
    meter = registry.meter(topic_meter("a"))
    assert registry.meter(topic_meter("a")) is meter
    assert registry.meter(topic_meter("b")) is not meter
    assert isinstance(registry.counter(MetricName("d", "T", "C")), Counter)
    assert isinstance(registry.histogram(MetricName("d", "T", "H")), Histogram)
    assert isinstance(registry.timer(MetricName("d", "T", "Ti")), Timer)
    assert registry.histogram(MetricName("d", "T", "H")) is registry.get(MetricName("d", "T", "H"))
    assert len(registry) == 5 and topic_meter("a") in registry


def test_a_name_keeps_its_kind():
    registry = new_registry()
    registry.meter(topic_meter())
    with pytest.raises(TypeError):
        registry.histogram(topic_meter())
    with pytest.raises(TypeError):
        registry.timer(topic_meter())


def test_a_gauge_registered_again_reads_the_new_function():
    registry = new_registry()
    name = MetricName("kafka.server", "ReplicaManager", "LeaderCount")
    gauge = registry.gauge(name, lambda: 1)
    assert isinstance(gauge, Gauge) and registry.gauge(name, lambda: 2) is gauge and gauge.value == 2


def test_remove_and_remove_matching():
    registry = new_registry()
    for topic in ("a", "b", "c"):
        registry.meter(topic_meter(topic))
    registry.meter(topic_meter())
    assert registry.remove(topic_meter("a")) and not registry.remove(topic_meter("a"))
    assert registry.remove_matching(lambda name: name.tag("topic") is not None) == 2
    assert [name for name, _ in registry.metrics()] == [topic_meter()]


def test_disabled_recording_is_a_no_op():
    registry = new_registry(enabled=False)
    meter = registry.meter(topic_meter("a"))
    meter.mark(100)
    histogram = registry.histogram(MetricName("d", "T", "H"))
    histogram.update(5)
    registry.counter(MetricName("d", "T", "C")).inc()
    registry.timer(MetricName("d", "T", "Ti")).update(3)
    assert isinstance(meter, Meter) and meter.count == 0 and meter.one_minute_rate == 0.0
    assert histogram.count == 0
    registry.gauge(MetricName("d", "T", "G"), lambda: 1)  # gauges cost nothing until read: kept
    assert [name.name for name, _ in registry.metrics()] == ["G"]


def test_the_environment_switch(monkeypatch):
    assert metrics_enabled({}) and metrics_enabled({"MINIKAFKA_METRICS": "1"})
    assert not metrics_enabled({"MINIKAFKA_METRICS": "0"}) and not metrics_enabled({"MINIKAFKA_METRICS": "false"})
    monkeypatch.setenv("MINIKAFKA_METRICS", "0")
    assert not Registry(clock=lambda: 0.0).enabled
    monkeypatch.delenv("MINIKAFKA_METRICS")
    assert Registry(clock=lambda: 0.0).enabled


def test_the_collector_renders_every_kind():
    registry = new_registry()
    registry.meter(topic_meter("orders")).mark(5)
    registry.meter(topic_meter()).mark(5)
    registry.gauge(MetricName("kafka.server", "ReplicaManager", "PartitionCount"), lambda: 7)
    registry.gauge(MetricName("kafka.server", "ReplicaManager", "Broken"), lambda: 1 / 0)  # skipped
    registry.gauge(MetricName("kafka.server", "ReplicaManager", "NotYet"), lambda: None)  # skipped
    registry.counter(MetricName("kafka.server", "Things", "Made")).inc(3)
    registry.timer(MetricName("kafka.log", "LogFlushStats", "LogFlushRateAndTimeMs")).update(2.0)
    prometheus = CollectorRegistry(auto_describe=False)
    prometheus.register(RegistryCollector(registry))
    text = generate_latest(prometheus).decode()
    for line in ('kafka_server_brokertopicmetrics_bytesin_total{topic="orders"} 5.0',
                 "kafka_server_brokertopicmetrics_bytesin_total 5.0",
                 "# TYPE kafka_server_brokertopicmetrics_bytesin_total counter",
                 "kafka_server_replicamanager_partitioncount 7.0",
                 "kafka_server_things_made_count 3.0",
                 "# TYPE kafka_log_logflushstats_logflushrateandtimems summary",
                 "kafka_log_logflushstats_logflushrateandtimems_count 1.0",
                 "kafka_log_logflushstats_logflushrateandtimems_sum 2.0",
                 'kafka_log_logflushstats_logflushrateandtimems{quantile="0.99"} 2.0'):
        assert line in text.splitlines(), line
    assert "broken" not in text and "notyet" not in text


def test_sample_sources_give_plain_gauges_read_at_each_scrape():
    registry = new_registry(enabled=False)  # scrape-time sources stay when recording is off
    lag = {("g", "orders", 0): 5}

    def lag_rows():
        for (group, topic, partition), value in lag.items():
            yield "kafka_consumergroup_lag", {"consumergroup": group, "topic": topic, "partition": partition}, value

    registry.samples("consumer-lag", lag_rows)
    registry.samples("broken", lambda: 1 / 0)  # skipped, the scrape goes on
    prometheus = CollectorRegistry(auto_describe=False)
    prometheus.register(RegistryCollector(registry))
    text = generate_latest(prometheus).decode().splitlines()
    assert "# TYPE kafka_consumergroup_lag gauge" in text
    assert 'kafka_consumergroup_lag{consumergroup="g",partition="0",topic="orders"} 5.0' in text
    lag[("g", "orders", 1)] = 2
    text = generate_latest(prometheus).decode().splitlines()
    assert 'kafka_consumergroup_lag{consumergroup="g",partition="1",topic="orders"} 2.0' in text
    assert [key for key, _ in registry.sample_sources()] == ["consumer-lag", "broken"]
    assert registry.remove_samples("consumer-lag") and not registry.remove_samples("consumer-lag")
    assert "kafka_consumergroup_lag" not in generate_latest(prometheus).decode()

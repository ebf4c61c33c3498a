"""A broker's ``GET /metrics`` shows what is recorded in ``broker.metrics``, under the exporter's names."""

from __future__ import annotations

import urllib.request

import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from minikafka.metrics import MetricName
from minikafka.testing import open_broker


def scrape(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return {family.name: family for family in text_string_to_metric_families(response.read().decode())}


@pytest.mark.trio
async def test_a_registered_gauge_meter_and_histogram_appear_under_the_exporters_names(tmp_path):
    async with open_broker(tmp_path, metrics_http_listener="127.0.0.1:0") as broker:
        under_replicated = [2]
        broker.metrics.gauge(MetricName("kafka.server", "ReplicaManager", "UnderReplicatedPartitions"),
                             lambda: under_replicated[0])
        bytes_in = broker.metrics.meter(MetricName("kafka.server", "BrokerTopicMetrics", "BytesInPerSec",
                                                   (("topic", "orders"),)))
        bytes_in.mark(1000)
        bytes_in.mark(24)
        total_time = broker.metrics.histogram(MetricName("kafka.network", "RequestMetrics", "TotalTimeMs",
                                                         (("request", "Produce"),)))
        for ms in (1, 2, 3, 4):
            total_time.update(ms)

        found = await trio.to_thread.run_sync(scrape, broker.metrics_port)
        (gauge,) = found["kafka_server_replicamanager_underreplicatedpartitions"].samples
        assert found["kafka_server_replicamanager_underreplicatedpartitions"].type == "gauge"
        assert gauge.value == 2.0 and gauge.labels == {}
        family = found["kafka_server_brokertopicmetrics_bytesin"]
        assert family.type == "counter"
        (count,) = [s for s in family.samples if s.labels == {"topic": "orders"}]  # the broker may add all-topics
        assert (count.name, count.value) == ("kafka_server_brokertopicmetrics_bytesin_total", 1024.0)
        summary = {(s.name, s.labels.get("quantile")): s.value
                   for s in found["kafka_network_requestmetrics_totaltimems"].samples}
        assert summary[("kafka_network_requestmetrics_totaltimems_count", None)] == 4.0
        assert summary[("kafka_network_requestmetrics_totaltimems_sum", None)] == 10.0
        assert summary[("kafka_network_requestmetrics_totaltimems", "0.50")] == 2.5

        under_replicated[0] = 0  # a gauge is read at every scrape
        bytes_in.mark(1)
        found = await trio.to_thread.run_sync(scrape, broker.metrics_port)
        assert found["kafka_server_replicamanager_underreplicatedpartitions"].samples[0].value == 0.0
        assert [s.value for s in found["kafka_server_brokertopicmetrics_bytesin"].samples
                if s.labels == {"topic": "orders"}] == [1025.0]
        # The quota collector still answers next to it.
        assert "kafka_server_produce_byte_rate" in found

"""The Prometheus endpoint: its tiny HTTP server, the registry, the client quota collector."""

from __future__ import annotations

import dataclasses
import socket
import urllib.error
import urllib.request

import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from minikafka.server.metrics_http import (
    ClientQuotaCollector,
    MetricsRegistry,
    exporter_name,
    parse_listener,
    respond,
    serve_metrics,
)


@dataclasses.dataclass
class Metric:  # the fields ClientQuotaCollector reads from a ClientMetric
    user: str
    client_id: str
    rate: float
    throttle_time_ms: float


class Manager:
    def __init__(self, metrics):
        self.metrics = metrics
        self.asked_at = []

    def client_metrics(self, now_ms):
        self.asked_at.append(now_ms)
        return self.metrics


class Quotas:
    def __init__(self):
        self.produce = Manager([Metric("ANONYMOUS", "app", 2048.0, 250.0)])
        self.fetch = Manager([Metric("alice", "", 10.5, 0.0)])
        self.request = Manager([])
        self.controller_mutation = Manager([Metric("ANONYMOUS", "admin", 3.0, 1000.0)])


def families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_names_are_the_jmx_exporters():
    assert exporter_name("kafka.server", "Produce", "byte-rate") == "kafka_server_produce_byte_rate"
    assert exporter_name("kafka.server", "Request", "throttle-time") == "kafka_server_request_throttle_time"
    assert exporter_name("kafka.server", "ControllerMutation", "mutation-rate") == \
        "kafka_server_controllermutation_mutation_rate"


def test_the_quota_collector_reports_every_sensor_with_user_and_client_id_labels():
    registry = MetricsRegistry()
    quotas = Quotas()
    registry.register(ClientQuotaCollector(quotas, lambda: 1234.0))
    found = families(registry.render().decode())
    assert set(found) == {f"kafka_server_{t}_{a}" for t, a in (
        ("produce", "byte_rate"), ("produce", "throttle_time"), ("fetch", "byte_rate"),
        ("fetch", "throttle_time"), ("request", "request_time"), ("request", "throttle_time"),
        ("controllermutation", "mutation_rate"), ("controllermutation", "throttle_time"))}
    (sample,) = found["kafka_server_produce_throttle_time"].samples
    assert sample.labels == {"user": "ANONYMOUS", "client_id": "app"} and sample.value == 250.0
    (sample,) = found["kafka_server_fetch_byte_rate"].samples
    assert sample.labels == {"user": "alice", "client_id": ""} and sample.value == 10.5
    assert found["kafka_server_request_throttle_time"].samples == []
    assert quotas.produce.asked_at == [1234.0]  # read at scrape time, with the quotas' clock


def test_more_collectors_can_be_registered():
    from prometheus_client.core import GaugeMetricFamily

    class Up:
        def collect(self):
            yield GaugeMetricFamily("minikafka_up", "Always 1.", value=1)

    registry = MetricsRegistry()
    registry.register(ClientQuotaCollector(None, lambda: 0))  # no quotas built: nothing
    registry.register(Up())
    assert list(families(registry.render().decode())) == ["minikafka_up"]


def test_only_get_metrics_answers():
    registry = MetricsRegistry()
    assert respond(b"GET /metrics HTTP/1.1\r\nHost: x", registry)[0] == "200 OK"
    assert respond(b"GET /metrics?name[]=x HTTP/1.0", registry)[0] == "200 OK"
    assert respond(b"GET / HTTP/1.1", registry)[0] == "404 Not Found"
    status, headers, _ = respond(b"POST /metrics HTTP/1.1", registry)
    assert status == "405 Method Not Allowed" and headers["Allow"] == "GET"
    assert respond(b"nonsense", registry)[0] == "400 Bad Request"


def test_parse_listener():
    assert parse_listener("127.0.0.1:0") == ("127.0.0.1", 0)
    assert parse_listener(":9400") == ("", 9400)
    assert parse_listener("[::1]:9400") == ("::1", 9400)
    with pytest.raises(ValueError):
        parse_listener("9400x")


@pytest.mark.trio
async def test_the_server_answers_a_real_http_client_and_survives_garbage():
    registry = MetricsRegistry()
    registry.register(ClientQuotaCollector(Quotas(), lambda: 0))
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_metrics, "127.0.0.1:0", registry)

        def scrape(path):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                return response.status, response.headers["Content-Type"], response.read().decode()

        def garbage():
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(b"x" * 20000)  # a head too long: closed without an answer
                try:
                    assert sock.recv(100) == b""
                except ConnectionResetError:  # closed with our bytes unread
                    pass

        await trio.to_thread.run_sync(garbage)
        status, content_type, body = await trio.to_thread.run_sync(scrape, "/metrics")
        assert status == 200 and content_type.startswith("text/plain; version=")
        assert 'kafka_server_produce_throttle_time{client_id="app",user="ANONYMOUS"} 250.0' in body
        with pytest.raises(urllib.error.HTTPError) as info:
            await trio.to_thread.run_sync(scrape, "/other")
        assert info.value.code == 404
        nursery.cancel_scope.cancel()


# -- a real broker -------------------------------------------------------------------------

@pytest.mark.trio
async def test_a_brokers_endpoint_shows_the_clients_it_throttles(tmp_path):
    from minikafka.errors import ErrorCode
    from minikafka.testing import bootstrap_servers, open_broker
    from minikafka_clients import open_cluster

    async with open_broker(tmp_path, metrics_http_listener="127.0.0.1:0", auto_create_topics_enable=False,
                           controller_quota_window_num=2) as broker:
        bootstrap = bootstrap_servers(broker)
        entity = [{"entity_type": "client-id", "entity_name": "hasty-admin"}]
        async with open_cluster(bootstrap, client_id="operator") as cluster:
            await cluster.request(None, 49, {"entries": [{"entity": entity, "ops": [
                {"key": "controller_mutation_rate", "value": 1.0, "remove": False}]}], "validate_only": False})
        with trio.fail_after(10):
            while (("client-id", "hasty-admin"),) not in broker.topics.client_quotas():
                await trio.sleep(0.01)

        def scrape():
            with urllib.request.urlopen(f"http://127.0.0.1:{broker.metrics_port}/metrics", timeout=5) as r:
                return families(r.read().decode())

        assert (await trio.to_thread.run_sync(scrape))["kafka_server_controllermutation_throttle_time"].samples == []
        topics = [{"name": f"t{i}", "num_partitions": 2, "replication_factor": 1, "assignments": [],
                   "configs": []} for i in range(3)]
        async with open_cluster(bootstrap, client_id="hasty-admin") as cluster:
            response = await (await cluster.any_connection()).request(
                19, {"topics": topics, "timeout_ms": 5000, "validate_only": False})
        # A burst of 2 tokens: t0 empties the bucket, t1 drives it to -2, t2 is refused.
        assert [t.error_code for t in response.topics] == [ErrorCode.NONE, ErrorCode.NONE,
                                                            ErrorCode.THROTTLING_QUOTA_EXCEEDED]
        assert response.throttle_time_ms > 0

        found = await trio.to_thread.run_sync(scrape)
        (throttle,) = found["kafka_server_controllermutation_throttle_time"].samples
        assert throttle.labels == {"user": "", "client_id": "hasty-admin"}  # a client-id quota: no user tag
        assert throttle.value == response.throttle_time_ms
        (rate,) = found["kafka_server_controllermutation_mutation_rate"].samples
        assert rate.value > 0
        for name in ("kafka_server_produce_byte_rate", "kafka_server_produce_throttle_time",
                     "kafka_server_fetch_byte_rate", "kafka_server_request_request_time"):
            assert name in found


@pytest.mark.trio
async def test_a_throttled_producer_appears_under_the_jmx_exporters_names(tmp_path):
    from minikafka.testing import bootstrap_servers, open_broker
    from minikafka_clients import Producer, open_cluster

    async with open_broker(tmp_path, metrics_http_listener="127.0.0.1:0", quota_window_num=2) as broker:
        await broker.create_topic("t", 1, {})
        entity = [{"entity_type": "client-id", "entity_name": "slow-producer"}]
        async with open_cluster(bootstrap_servers(broker), client_id="operator") as cluster:
            await cluster.request(None, 49, {"entries": [{"entity": entity, "ops": [
                {"key": "producer_byte_rate", "value": 5000.0, "remove": False}]}], "validate_only": False})
        with trio.fail_after(10):
            while (("client-id", "slow-producer"),) not in broker.topics.client_quotas():
                await trio.sleep(0.01)
        config = {"bootstrap.servers": bootstrap_servers(broker), "client.id": "slow-producer", "linger.ms": 0}
        async with Producer(config) as producer:
            for _ in range(2):
                await (await producer.send("t", b"x" * 10_000))

        def scrape():
            with urllib.request.urlopen(f"http://127.0.0.1:{broker.metrics_port}/metrics", timeout=5) as r:
                return families(r.read().decode())

        found = await trio.to_thread.run_sync(scrape)
    (throttle,) = found["kafka_server_produce_throttle_time"].samples
    assert throttle.labels == {"user": "", "client_id": "slow-producer"} and throttle.value > 0
    (rate,) = found["kafka_server_produce_byte_rate"].samples
    assert rate.labels == throttle.labels and rate.value > 0

"""``minikafka cluster status``: each broker's metrics endpoint and the clients it throttles."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from minikafka.chaos.layout import METRICS_OFFSET, find_free_base_port
from minikafka.cli.cluster import metrics_lines, throttled_clients
from minikafka.server.metrics_http import MetricsRegistry, serve_metrics

EXPOSITION = """\
# HELP kafka_server_produce_throttle_time Average produce throttle time in ms, per user/client-id
# TYPE kafka_server_produce_throttle_time gauge
kafka_server_produce_throttle_time{client_id="slow-app",user="ANONYMOUS"} 412.5
kafka_server_produce_throttle_time{client_id="fast-app",user="ANONYMOUS"} 0.0
# HELP kafka_server_produce_byte_rate Produce bytes per second, per user/client-id
# TYPE kafka_server_produce_byte_rate gauge
kafka_server_produce_byte_rate{client_id="slow-app",user="ANONYMOUS"} 99999.0
# HELP kafka_server_request_throttle_time Average request throttle time in ms, per user/client-id
# TYPE kafka_server_request_throttle_time gauge
kafka_server_request_throttle_time{client_id="",user="alice"} 20.0
"""


def test_throttled_clients_are_the_sensors_with_a_throttle_time():
    assert throttled_clients(EXPOSITION) == ["produce user=ANONYMOUS client_id=slow-app 412 ms",
                                             "request user=alice client_id= 20 ms"]
    assert throttled_clients("") == []


class Text:
    """A collector that serves a fixed exposition."""

    def __init__(self, text):
        self.text = text

    def collect(self):
        yield from text_string_to_metric_families(self.text)


@pytest.mark.trio
async def test_metrics_lines_scrape_the_endpoint():
    registry = MetricsRegistry()
    registry.register(Text(EXPOSITION))
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_metrics, "127.0.0.1:0", registry)
        lines = await trio.to_thread.run_sync(metrics_lines, port)
        nursery.cancel_scope.cancel()
    assert lines == [f"    metrics: http://127.0.0.1:{port}/metrics",
                     "    throttling: produce user=ANONYMOUS client_id=slow-app 412 ms; "
                     "request user=alice client_id= 20 ms"]
    down = metrics_lines(port)  # nothing listens there any more
    assert down[1].startswith("    throttling: unknown (the metrics endpoint did not answer")
    assert metrics_lines(port, scrape=False) == [f"    metrics: http://127.0.0.1:{port}/metrics"]


def minikafka(*args, timeout=90):
    return subprocess.run([sys.executable, "-m", "minikafka", "cluster", *args],
                          capture_output=True, text=True, timeout=timeout)


async def throttle_an_admin_client(bootstrap: str, client_id: str) -> int:
    """Give ``client_id`` a controller mutation quota, then exceed it; returns the throttle time."""
    from minikafka_clients import open_cluster

    entity = [{"entity_type": "client-id", "entity_name": client_id}]
    async with open_cluster(bootstrap, client_id="operator") as cluster:
        await cluster.request(None, 49, {"entries": [{"entity": entity, "ops": [
            {"key": "controller_mutation_rate", "value": 0.5, "remove": False}]}], "validate_only": False})
    topics = [{"name": f"{client_id}-{i}", "num_partitions": 6, "replication_factor": 1, "assignments": [],
               "configs": []} for i in range(2)]
    async with open_cluster(bootstrap, client_id=client_id) as cluster:
        connection = await cluster.any_connection()
        with trio.fail_after(10):
            while True:  # until the broker has the quota (it replays it from the metadata log)
                response = await connection.request(19, {"topics": topics, "timeout_ms": 5000,
                                                         "validate_only": False})
                if response.throttle_time_ms > 0:
                    return response.throttle_time_ms
                topics = [{**t, "name": t["name"] + "x"} for t in topics]


@pytest.mark.slow
def test_status_prints_each_brokers_metrics_endpoint_and_throttled_clients(tmp_path):
    data_dir = tmp_path / "cluster"
    base = find_free_base_port(1)
    started = minikafka("start", "--detach", "--no-proxies", "--brokers", "1", "--dir", str(data_dir),
                        "--base-port", str(base))
    assert started.returncode == 0, started.stderr
    try:
        state = json.loads((data_dir / "cluster.json").read_text())
        assert state["brokers"][0]["metrics_port"] == base + METRICS_OFFSET
        status = minikafka("status", "--dir", str(data_dir))
        assert status.returncode == 0, status.stderr
        lines = status.stdout.splitlines()
        at = next(i for i, line in enumerate(lines) if line.strip().startswith("broker 1"))
        assert lines[at + 1] == f"    metrics: http://127.0.0.1:{base + METRICS_OFFSET}/metrics"
        assert lines[at + 2] == "    throttling: none"

        throttle_ms = trio.run(throttle_an_admin_client, state["bootstrap"], "hasty-admin")
        lines = minikafka("status", "--dir", str(data_dir)).stdout.splitlines()
        assert lines[at + 2] == f"    throttling: controllermutation user= client_id=hasty-admin {throttle_ms} ms"
    finally:
        stopped = minikafka("stop", "--dir", str(data_dir))
    assert stopped.returncode == 0, stopped.stderr

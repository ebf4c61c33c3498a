"""``minikafka cluster start`` runs a schema registry next to the console; status and stop know it."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import httpx
import pytest

from minikafka.chaos.layout import find_free_base_port
from minikafka.chaos.supervisor import Supervisor
from minikafka.cli import cluster
from minikafka.cli.cluster import process_state

from ..harness import free_port
from .harness import CONTENT_TYPE


def minikafka(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "minikafka", "cluster", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_cluster_start_runs_a_registry_that_status_lists_and_stop_stops(tmp_path):
    data_dir, port = tmp_path / "cluster", free_port()
    started = minikafka("start", "--detach", "--brokers", "1", "--dir", str(data_dir),
                        "--base-port", str(find_free_base_port(1)), "--no-console",
                        "--schema-registry-port", str(port),
                        "--override", "offsets.topic.num.partitions=1")
    assert started.returncode == 0, started.stderr
    url = f"http://127.0.0.1:{port}"
    assert f"schema registry: {url}" in started.stdout
    registry_pid = json.loads((data_dir / "cluster.json").read_text())["schema_registry_pid"]
    try:
        assert f"schema registry: {url}" in minikafka("status", "--dir", str(data_dir)).stdout
        # It is ready for writes as soon as `start` returns: it has a leader.
        response = httpx.post(f"{url}/subjects/orders-value/versions", json={"schema": '"string"'},
                              headers={"Content-Type": CONTENT_TYPE}, timeout=10)
        assert response.status_code == 200, response.text
        assert response.json() == {"id": 1}
    finally:
        stopped = minikafka("stop", "--dir", str(data_dir))
    assert stopped.returncode == 0, stopped.stderr
    assert process_state(registry_pid) == "dead"


def test_no_schema_registry_leaves_it_out(tmp_path):
    parser = argparse.ArgumentParser()
    cluster.add_arguments(parser)
    default = cluster._layout(parser.parse_args(["start", "--dir", str(tmp_path)]))
    assert default.schema_registry_url == "http://127.0.0.1:8081"
    left_out = cluster._layout(parser.parse_args(["start", "--dir", str(tmp_path),
                                                  "--no-schema-registry"]))
    assert left_out.schema_registry_port is None
    assert Supervisor(left_out).schema_registry is None
    assert cluster.schema_registry_line({"schema_registry_url": None}).startswith(
        "schema registry: none (--no-schema-registry")

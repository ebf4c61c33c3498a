"""A local cluster with its console, started as a user starts one, and a browser.

``minikafka cluster start --detach`` runs three broker processes under a
supervisor in a temporary directory, with the console next to them on a free
port; ``minikafka cluster stop`` always ends it, whatever the tests did. The
timeouts are a lab's (seconds, not Kafka's tens of seconds), given the way a
user gives them: ``--override``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from minikafka.chaos.layout import find_free_base_port
from tests.integration.console_browser.chromium import open_chromium

LAB_OVERRIDES = {
    "broker.session.timeout.ms": 3000,
    "broker.heartbeat.interval.ms": 500,
    "controller.quorum.election.timeout.ms": 1000,
    "controller.quorum.fetch.timeout.ms": 2000,
    "replica.lag.time.max.ms": 2000,
    "group.initial.rebalance.delay.ms": 0,
}


def minikafka(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "minikafka", *args],
                          capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ConsoleCluster:
    """Three brokers and the console, in ``data_dir``.

    Attributes:
        bootstrap: the cluster's ``bootstrap.servers``.
        console_url: the console's page, ``http://127.0.0.1:P``.
    """

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.bootstrap = ""
        self.console_url = ""

    def start(self) -> None:
        base = find_free_base_port(3)
        overrides = [arg for key, value in LAB_OVERRIDES.items() for arg in ("--override", f"{key}={value}")]
        started = minikafka("cluster", "start", "--detach", "--dir", str(self.data_dir),
                            "--base-port", str(base), "--console-port", str(free_port()), *overrides)
        assert started.returncode == 0, started.stderr
        state = json.loads((self.data_dir / "cluster.json").read_text())
        self.bootstrap = state["bootstrap"]
        self.console_url = state["console_url"]
        assert self.console_url, (self.data_dir / "console.log").read_text()
        assert f"console: {self.console_url}" in started.stdout

    def stop(self) -> None:
        if (self.data_dir / "cluster.json").exists():  # absent: the start failed and cleaned up
            stopped = minikafka("cluster", "stop", "--dir", str(self.data_dir))
            assert stopped.returncode == 0, stopped.stderr


@pytest.fixture(scope="module")
def console_cluster(tmp_path_factory):
    cluster = ConsoleCluster(tmp_path_factory.mktemp("console") / "cluster")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def browser():
    with open_chromium() as driver:
        yield driver


@pytest.fixture
def page(browser, console_cluster):
    """The console's page, freshly loaded."""
    browser.get(console_cluster.console_url)
    return browser


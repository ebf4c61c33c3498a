"""A real broker that validates against a real schema registry, both in child processes.

``RegistryProcess`` runs ``python -m minikafka schema-registry`` (its schemas in
the broker's ``_schemas`` topic) on a port chosen before the broker starts,
because the broker's ``confluent.schema.registry.url`` is a static config.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from tests.integration.harness import BrokerProcess, free_port


class RegistryProcess:
    """One ``minikafka schema-registry`` child process on ``port``."""

    def __init__(self, bootstrap: str, port: int, log_dir: Path):
        self.bootstrap = bootstrap
        self.port = port
        self.log_path = log_dir / f"registry-{port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> "RegistryProcess":
        """Start it and wait for its line ``schema registry: URL``.

        The line says it has read ``_schemas`` and knows its writer: its port
        answers reads earlier, but a write before the election is over gets
        50004.
        """
        self.log_file = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "minikafka", "schema-registry", "--bootstrap-server", self.bootstrap,
             "--listen", f"127.0.0.1:{self.port}"], stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the registry exited; its log:\n{self.log_path.read_text()}")
            if f"schema registry: {self.url}" in self.log_path.read_text(errors="replace"):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the registry did not answer; its log:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()


class ValidatingCluster:
    """A broker with ``confluent.schema.registry.url`` and the registry it names."""

    def __init__(self, broker: BrokerProcess, registry: RegistryProcess):
        self.broker = broker
        self.registry = registry
        self.admin = AdminClient({"bootstrap.servers": broker.bootstrap})

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    def create_topic(self, **configs: str) -> str:
        """A fresh one-partition topic with these topic configs (``_`` in names read as ``.``)."""
        name = f"sv-{uuid.uuid4().hex[:8]}"
        config = {key.replace("_", "."): value for key, value in configs.items()}
        self.admin.create_topics([NewTopic(name, 1, 1, config=config)])[name].result(timeout=30)
        return name


def start_validating_cluster(tmp_path: Path) -> ValidatingCluster:
    registry_port = free_port()
    broker = BrokerProcess(tmp_path / "broker", **{
        "confluent.schema.registry.url": f"http://127.0.0.1:{registry_port}",
        "offsets.topic.replication.factor": "1", "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1", "group.initial.rebalance.delay.ms": "0"}).start()
    try:
        registry = RegistryProcess(broker.bootstrap, registry_port, tmp_path).start()
    except BaseException:
        broker.stop()
        raise
    return ValidatingCluster(broker, registry)


def stop_validating_cluster(cluster: ValidatingCluster) -> None:
    cluster.registry.stop()
    cluster.broker.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = start_validating_cluster(tmp_path_factory.mktemp("schema-validation"))
    yield cluster
    stop_validating_cluster(cluster)


@pytest.fixture
def own_cluster(tmp_path):
    """A cluster of the test's own (for tests that stop its registry)."""
    cluster = start_validating_cluster(tmp_path)
    yield cluster
    stop_validating_cluster(cluster)

"""A real broker that validates against a real schema registry, both in child processes.

The registry is the storage tests' ``RegistryProcess`` (``python -m
minikafka schema-registry``, its schemas in the broker's ``_schemas``
topic), on a port chosen before the broker starts, because the broker's
``confluent.schema.registry.url`` is a static config.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from tests.integration.harness import BrokerProcess
from tests.integration.registry.harness import SESSION_TIMEOUT_MS, RegistryProcess


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
    # Both ports are chosen before either process starts: the broker's
    # confluent.schema.registry.url is a static config.
    broker = BrokerProcess(tmp_path / "broker", **{
        "offsets.topic.replication.factor": "1", "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1", "group.initial.rebalance.delay.ms": "0",
        # The registry's election group uses a short session timeout.
        "group.min.session.timeout.ms": str(min(SESSION_TIMEOUT_MS, 1000))})
    registry = RegistryProcess(broker.bootstrap, tmp_path, topic="_schemas", group_id="schema-registry")
    broker.overrides["confluent.schema.registry.url"] = registry.url
    broker.start()
    try:
        registry.start()
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

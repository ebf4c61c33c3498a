"""A fresh broker process per quota test: a client's quota sensor must start empty.

Two clients with the same client id on one broker share one sensor (Kafka's
metric tags), so a test that follows another with the same client id would
start with part of its quota already spent. Each test gets its own broker.
"""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from tests.integration.harness import BrokerProcess


@pytest.fixture
def broker(tmp_path):
    """One broker with Kafka's quota windows (11 samples of 1 s)."""
    with BrokerProcess(tmp_path / "data") as proc:
        yield proc
        assert proc.alive(), f"the broker died during the test; its log:\n{proc.log()}"


def create_topic(bootstrap: str, partitions: int = 1, replication_factor: int = 1) -> str:
    """A new topic, created and with its leaders known when this returns."""
    name = f"q-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, replication_factor)])[name].result(30)
    return name


@pytest.fixture
def topic(broker):
    return create_topic(broker.bootstrap)


# A lab-sized quota window for the short runs: a rate is measured over 2 samples
# of 1 s instead of Kafka's 11, so a client reaches its steady state (throttled
# to the quota) within a second or two instead of eleven.
SHORT_WINDOWS = {"quota.window.num": "2", "quota.window.size.seconds": "1"}


@pytest.fixture
def short_window_broker(tmp_path):
    with BrokerProcess(tmp_path / "data", **SHORT_WINDOWS) as proc:
        yield proc
        assert proc.alive(), f"the broker died during the test; its log:\n{proc.log()}"

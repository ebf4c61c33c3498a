"""A fresh broker process per quota test: a client's quota sensor must start empty.

Two clients with the same client id on one broker share one sensor (Kafka's
metric tags), so a test that follows another with the same client id would
start with part of its quota already spent. Each test gets its own broker.
"""

from __future__ import annotations

import pytest

from tests.integration.harness import BrokerProcess
from tests.integration.quotas.quota_clients import SHORT_WINDOWS, create_topic


@pytest.fixture
def broker(tmp_path):
    """One broker with Kafka's quota windows (11 samples of 1 s)."""
    with BrokerProcess(tmp_path / "data") as proc:
        yield proc
        assert proc.alive(), f"the broker died during the test; its log:\n{proc.log()}"


@pytest.fixture
def topic(broker):
    return create_topic(broker.bootstrap)


@pytest.fixture
def short_window_broker(tmp_path):
    """One broker with a lab-sized quota window (2 samples of 1 s), for short runs."""
    with BrokerProcess(tmp_path / "data", **SHORT_WINDOWS) as proc:
        yield proc
        assert proc.alive(), f"the broker died during the test; its log:\n{proc.log()}"

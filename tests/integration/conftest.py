"""Fixtures that start real minikafka broker processes."""

from __future__ import annotations

import uuid

import pytest

from .harness import BrokerProcess


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """One broker process shared by a test module (topics are unique per test)."""
    with BrokerProcess(tmp_path_factory.mktemp("broker") / "data") as proc:
        yield proc
        assert proc.alive(), f"the broker died during the tests; its log:\n{proc.log()}"


@pytest.fixture
def topic():
    """A fresh topic name per test (auto-created on first use)."""
    return f"t-{uuid.uuid4().hex[:10]}"

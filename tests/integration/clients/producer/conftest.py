"""Fixtures: one in-thread minikafka broker per module."""

import uuid

import pytest

from minikafka.testing import BrokerThread


@pytest.fixture(scope="module")
def broker_thread(tmp_path_factory):
    with BrokerThread(tmp_path_factory.mktemp("producer-broker"), num_partitions=1) as broker:
        yield broker


@pytest.fixture
def bootstrap(broker_thread):
    return broker_thread.bootstrap


@pytest.fixture
def topic_name():
    return f"p-{uuid.uuid4().hex[:10]}"

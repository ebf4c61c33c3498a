"""Fixtures: one in-thread minikafka broker per module; the readers module importable."""

import pathlib
import sys
import uuid

import pytest

from minikafka.testing import BrokerThread

_HERE = pathlib.Path(__file__).resolve().parent
for _path in (_HERE, _HERE.parents[1]):  # producer_readers; tests.integration.harness
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


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

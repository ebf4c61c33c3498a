"""One Tansu broker (an independent Kafka-compatible broker, in Rust) per module."""

import pytest

from tests.integration.cli_brokers import TansuBroker


@pytest.fixture(scope="module")
def tansu():
    with TansuBroker() as broker:
        yield broker

"""One Tansu broker (an independent Kafka-compatible broker, in Rust) per module."""

import pathlib
import sys

import pytest

_CLI_TESTS = pathlib.Path(__file__).resolve().parents[1] / "cli"
if str(_CLI_TESTS) not in sys.path:
    sys.path.insert(0, str(_CLI_TESTS))

from cli_brokers import TansuBroker  # noqa: E402


@pytest.fixture(scope="module")
def tansu():
    with TansuBroker() as broker:
        yield broker

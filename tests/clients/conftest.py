"""Fixtures of the client tests; and ``tests.integration.harness`` (real broker processes) importable from here."""

import pathlib
import sys

import pytest

_REPO = pathlib.Path(__file__).resolve().parents[2]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from minikafka.testing import bootstrap_servers, open_broker  # noqa: E402
from minikafka_clients import Admin  # noqa: E402


@pytest.fixture
async def admin(tmp_path):
    """An ``Admin`` of one broker in this Trio run (topics get ``num.partitions`` = 1 by default)."""
    async with open_broker(tmp_path / "data") as broker:
        config = {"bootstrap.servers": bootstrap_servers(broker), "default.api.timeout.ms": 5000}
        async with Admin(config) as client:
            yield client

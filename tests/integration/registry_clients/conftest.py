"""One broker and one real schema registry process for the registry client tests.

The registry is ``python -m minikafka schema-registry`` in a child process
(the storage tests' ``RegistryProcess``), keeping its schemas in the
broker's ``_schemas`` topic, exactly as a user runs it; the clients under
test reach it over HTTP once it has printed its ready line.
"""

from __future__ import annotations

import pytest

from minikafka.testing import BrokerThread
from tests.integration.registry.harness import SESSION_TIMEOUT_MS, RegistryProcess


@pytest.fixture(scope="package")
def broker(tmp_path_factory):
    # The registry's election group uses a short session timeout; the broker must allow it.
    with BrokerThread(tmp_path_factory.mktemp("registry-clients-broker"),
                      **{"group.min.session.timeout.ms": min(SESSION_TIMEOUT_MS, 1000)}) as running:
        yield running


@pytest.fixture(scope="package")
def registry_url(broker, tmp_path_factory):
    registry = RegistryProcess(broker.bootstrap, tmp_path_factory.mktemp("registry"),
                               topic="_schemas", group_id="schema-registry").start()
    try:
        yield registry.url
    finally:
        registry.stop()

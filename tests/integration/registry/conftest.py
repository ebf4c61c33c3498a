"""One broker process per module; each test gets its own ``_schemas`` topic and group."""

from __future__ import annotations

import uuid

import pytest

from ..harness import BrokerProcess

from .harness import RegistryProcess


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    # The registry group's short session timeout must be allowed by the coordinator;
    # one __consumer_offsets partition keeps the first election quick.
    with BrokerProcess(tmp_path_factory.mktemp("broker") / "data",
                       group_min_session_timeout_ms=500, group_initial_rebalance_delay_ms=0,
                       offsets_topic_num_partitions=1) as proc:
        yield proc
        assert proc.alive(), f"the broker died during the tests; its log:\n{proc.log()}"


@pytest.fixture
def registries(broker, tmp_path):
    """``new()`` builds registry instances sharing this test's topic and group; all stopped after."""
    suffix = uuid.uuid4().hex[:8]
    made: list[RegistryProcess] = []

    def new() -> RegistryProcess:
        registry = RegistryProcess(broker.bootstrap, tmp_path, topic=f"_schemas-{suffix}",
                                   group_id=f"schema-registry-{suffix}")
        made.append(registry)
        return registry

    new.topic = f"_schemas-{suffix}"
    yield new
    for registry in made:
        registry.kill()
        registry.client.close()

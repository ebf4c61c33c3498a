"""Admin config calls on BROKER resources (one broker, or the cluster-wide default ``""``)."""

from __future__ import annotations

import pytest

from minikafka.errors import ErrorCode, KafkaError
from minikafka.testing import bootstrap_servers, open_broker
from minikafka_clients import BROKER_RESOURCE, Admin, ConfigSource, NewTopic


@pytest.fixture
async def admin(tmp_path):
    async with open_broker(tmp_path / "data") as broker:
        config = {"bootstrap.servers": bootstrap_servers(broker), "default.api.timeout.ms": 5000}
        async with Admin(config) as client:
            yield client


async def _retention(admin, name: str, **kwargs):
    configs = await admin.describe_configs(name, ["log.retention.ms"], resource_type=BROKER_RESOURCE,
                                           **kwargs)
    return configs["log.retention.ms"]


async def test_broker_configs_are_altered_per_broker_and_cluster_wide(admin):
    await admin.incremental_alter_configs("", set_configs={"log.retention.ms": "5000"},
                                          resource_type=BROKER_RESOURCE)
    entry = await _retention(admin, "1")
    assert (entry.value, entry.source) == ("5000", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG)
    assert entry.synonyms == ()  # not asked for

    await admin.incremental_alter_configs("1", set_configs={"log.retention.ms": "7000"},
                                          resource_type=BROKER_RESOURCE)
    entry = await _retention(admin, "1", include_synonyms=True)
    assert (entry.value, entry.source) == ("7000", ConfigSource.DYNAMIC_BROKER_CONFIG)
    assert entry.synonyms[:2] == (
        ("log.retention.ms", "7000", ConfigSource.DYNAMIC_BROKER_CONFIG),
        ("log.retention.ms", "5000", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG))
    assert (await _retention(admin, "")).value == "5000"  # the default layer alone

    await admin.incremental_alter_configs("1", delete_configs=["log.retention.ms"],
                                          resource_type=BROKER_RESOURCE)
    assert (await _retention(admin, "1")).value == "5000"


async def test_a_topic_value_shows_the_broker_synonyms_it_falls_back_to(admin):
    await admin.create_topics([NewTopic("logs", 1)])
    await admin.incremental_alter_configs("", set_configs={"log.retention.ms": "5000"},
                                          resource_type=BROKER_RESOURCE)
    entry = (await admin.describe_configs("logs", ["retention.ms"],
                                          include_synonyms=True))["retention.ms"]
    assert entry.value == "5000"
    assert entry.synonyms[0] == ("log.retention.ms", "5000",
                                 ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG)


async def test_a_refused_broker_config_names_the_broker_not_a_topic(admin):
    with pytest.raises(KafkaError) as info:
        await admin.incremental_alter_configs("1", set_configs={"log.dirs": "/elsewhere"},
                                              resource_type=BROKER_RESOURCE)
    assert info.value.code == ErrorCode.INVALID_CONFIG
    assert "topic" not in str(info.value)
    assert "broker 1" in str(info.value)

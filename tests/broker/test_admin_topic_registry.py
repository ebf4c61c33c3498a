"""Topics in the metadata image: Kafka's topic rules, persistence across restarts
(through the Raft metadata log), dynamic broker configs.

The ``TopicRegistry`` is now a read view of the broker's metadata image; every
change goes through the (one-voter) controller quorum, so these tests drive
a real broker.
"""

from __future__ import annotations

import os

import pytest

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers.alter_configs import apply_overrides
from minikafka.metadata.image import BROKER_RESOURCE, TOPIC_RESOURCE
from minikafka.testing import open_broker


async def _code(call, *args, **kwargs):
    with pytest.raises(KafkaError) as info:
        await call(*args, **kwargs)
    return info.value.code


async def test_create_and_get(tmp_path):
    async with open_broker(tmp_path, num_partitions=3) as broker:
        registry = broker.topics
        info = await broker.create_topic("orders", 2, {"retention.ms": "1000"})
        assert info.num_partitions == 2 and info.replication_factor == 1
        assert len(info.topic_id) == 16 and info.topic_id != bytes(16)
        assert registry.get("orders") == info
        assert registry.get_by_id(info.topic_id) == info
        assert registry.names() == ["orders"]
        assert registry.effective_config("orders")["retention.ms"] == 1000
        assert (await broker.create_topic("defaults", -1, {})).num_partitions == 3  # -1: num.partitions


@pytest.mark.parametrize("name", ["", ".", "..", "a" * 250, "bad name", "slash/", "ümlaut"],
                         ids=["empty", "dot", "dotdot", "too-long", "space", "slash", "non-ascii"])
async def test_illegal_names(tmp_path, name):
    async with open_broker(tmp_path) as broker:
        assert await _code(broker.create_topic, name, 1, {}) == ErrorCode.INVALID_TOPIC_EXCEPTION


async def test_legal_edge_names(tmp_path):
    async with open_broker(tmp_path) as broker:
        await broker.create_topic("a" * 249, 1, {})
        await broker.create_topic("A-z_0.9", 1, {})


async def test_create_errors(tmp_path):
    async with open_broker(tmp_path) as broker:
        await broker.create_topic("t", 1, {})
        assert await _code(broker.create_topic, "t", 1, {}) == ErrorCode.TOPIC_ALREADY_EXISTS
        assert await _code(broker.create_topic, "x", 0, {}) == ErrorCode.INVALID_PARTITIONS
        assert await _code(broker.create_topic, "x", 1, {}, 3) == ErrorCode.INVALID_REPLICATION_FACTOR
        assert await _code(broker.create_topic, "x", 1, {"segment.bytes": "1"}) == ErrorCode.INVALID_CONFIG
        await broker.create_topic("a.b", 1, {})
        # '.' and '_' collide in metric names
        assert await _code(broker.create_topic, "a_b", 1, {}) == ErrorCode.INVALID_TOPIC_EXCEPTION
        assert broker.topics.names() == ["a.b", "t"]


async def test_partitions_only_grow(tmp_path):
    async with open_broker(tmp_path) as broker:
        await broker.create_topic("t", 2, {})
        assert await _code(broker.add_partitions, "t", 1) == ErrorCode.INVALID_PARTITIONS
        assert await _code(broker.add_partitions, "t", 2) == ErrorCode.INVALID_PARTITIONS
        assert await _code(broker.add_partitions, "nope", 5) == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        await broker.add_partitions("t", 5)
        assert broker.topics.get("t").num_partitions == 5


async def test_state_survives_restart(tmp_path):
    async with open_broker(tmp_path) as broker:
        created = await broker.create_topic("t", 2, {"cleanup.policy": "compact"})
        await broker.create_topic("gone", 1, {})
        await broker.delete_topic("gone")
        await broker.add_partitions("t", 4)
        await broker.set_resource_configs(TOPIC_RESOURCE, "t", {"retention.bytes": "100"})
        await broker.set_resource_configs(BROKER_RESOURCE, "1", {"log.retention.ms": "5000"})
        await broker.set_resource_configs(BROKER_RESOURCE, "", {"message.max.bytes": "2000"})

    async with open_broker(tmp_path) as reopened:  # a fresh BrokerConfig, replayed from the Raft log
        info = reopened.topics.get("t")
        assert (info.topic_id, info.num_partitions, info.configs) == (created.topic_id, 4, {"retention.bytes": "100"})
        assert reopened.topics.names() == ["t"]
        assert reopened.config["log.retention.ms"] == 5000
        assert reopened.config["message.max.bytes"] == 2000
        assert reopened.topics.effective_config("t")["retention.ms"] == 5000
        assert not os.path.exists(tmp_path / "gone-0")
    assert os.path.isdir(tmp_path / "__cluster_metadata-0")


async def test_alter_configs_validates_before_changing(tmp_path):
    async with open_broker(tmp_path) as broker:
        await broker.create_topic("t", 1, {"retention.ms": "1"})
        code = await _code(apply_overrides, broker.services, TOPIC_RESOURCE, "t", {"retention.ms": "2", "bogus": "x"}, False)
        assert code == ErrorCode.INVALID_CONFIG
        assert await _code(broker.set_resource_configs, TOPIC_RESOURCE, "t",
                           {"retention.ms": "2", "bogus": "x"}) == ErrorCode.INVALID_CONFIG  # the controller too
        assert broker.topics.get("t").configs == {"retention.ms": "1"}
        await apply_overrides(broker.services, TOPIC_RESOURCE, "t", {"retention.ms": "3"}, True)
        assert broker.topics.get("t").configs == {"retention.ms": "1"}


async def test_dynamic_broker_configs_rejects_static_keys(tmp_path):
    async with open_broker(tmp_path) as broker:
        assert await _code(broker.set_resource_configs, BROKER_RESOURCE, "1",
                           {"num.partitions": "2"}) == ErrorCode.INVALID_CONFIG
        assert broker.topics.dynamic_broker_configs(True) == {}

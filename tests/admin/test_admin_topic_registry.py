"""TopicRegistry: Kafka's topic rules, persistence across restarts, dynamic broker configs."""

from __future__ import annotations

import os

import pytest

from minikafka.config import BrokerConfig
from minikafka.errors import ErrorCode, KafkaError
from minikafka.topics import REGISTRY_FILE, TopicRegistry


@pytest.fixture
def config(tmp_path):
    return BrokerConfig({"log.dirs": str(tmp_path / "data"), "num.partitions": "3"})


def _code(call, *args, **kwargs):
    with pytest.raises(KafkaError) as info:
        call(*args, **kwargs)
    return info.value.code


def test_create_and_get(config):
    registry = TopicRegistry(config)
    info = registry.create("orders", 2, {"retention.ms": "1000"})
    assert info.num_partitions == 2 and info.replication_factor == 1
    assert len(info.topic_id) == 16 and info.topic_id != bytes(16)
    assert registry.get("orders") is info
    assert registry.get_by_id(info.topic_id) is info
    assert registry.names() == ["orders"]
    assert registry.effective_config("orders")["retention.ms"] == 1000
    assert registry.create("defaults", -1).num_partitions == 3  # -1: num.partitions


@pytest.mark.parametrize("name", ["", ".", "..", "a" * 250, "bad name", "slash/", "ümlaut"],
                         ids=["empty", "dot", "dotdot", "too-long", "space", "slash", "non-ascii"])
def test_illegal_names(config, name):
    assert _code(TopicRegistry(config).create, name, 1) == ErrorCode.INVALID_TOPIC_EXCEPTION


def test_legal_edge_names(config):
    registry = TopicRegistry(config)
    registry.create("a" * 249, 1)
    registry.create("A-z_0.9", 1)


def test_create_errors(config):
    registry = TopicRegistry(config)
    registry.create("t", 1)
    assert _code(registry.create, "t", 1) == ErrorCode.TOPIC_ALREADY_EXISTS
    assert _code(registry.create, "x", 0) == ErrorCode.INVALID_PARTITIONS
    assert _code(registry.create, "x", 1, {}, 3) == ErrorCode.INVALID_REPLICATION_FACTOR
    assert _code(registry.create, "x", 1, {"segment.bytes": "1"}) == ErrorCode.INVALID_CONFIG
    registry.create("a.b", 1)
    assert _code(registry.create, "a_b", 1) == ErrorCode.INVALID_TOPIC_EXCEPTION  # collides in metrics
    assert registry.names() == ["a.b", "t"]


def test_partitions_only_grow(config):
    registry = TopicRegistry(config)
    registry.create("t", 2)
    assert _code(registry.set_partitions, "t", 1) == ErrorCode.INVALID_PARTITIONS
    assert _code(registry.set_partitions, "t", 2) == ErrorCode.INVALID_PARTITIONS
    assert _code(registry.set_partitions, "nope", 5) == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    assert registry.set_partitions("t", 5).num_partitions == 5


def test_state_survives_restart(config):
    registry = TopicRegistry(config)
    created = registry.create("t", 2, {"cleanup.policy": "compact"})
    registry.create("gone", 1)
    registry.delete("gone")
    registry.set_partitions("t", 4)
    registry.alter_configs("t", {"retention.bytes": "100"})
    registry.set_dynamic_broker_configs(True, {"log.retention.ms": "5000"})
    registry.set_dynamic_broker_configs(False, {"message.max.bytes": "2000"})

    fresh_config = BrokerConfig({"log.dirs": config.log_dirs[0]})
    reopened = TopicRegistry(fresh_config)
    info = reopened.get("t")
    assert (info.topic_id, info.num_partitions, info.configs) == (created.topic_id, 4, {"retention.bytes": "100"})
    assert reopened.names() == ["t"]
    assert fresh_config["log.retention.ms"] == 5000
    assert fresh_config["message.max.bytes"] == 2000
    assert reopened.effective_config("t")["retention.ms"] == 5000
    assert not os.path.exists(os.path.join(config.log_dirs[0], REGISTRY_FILE + ".tmp"))


def test_alter_configs_validates_before_changing(config):
    registry = TopicRegistry(config)
    registry.create("t", 1, {"retention.ms": "1"})
    assert _code(registry.alter_configs, "t", {"retention.ms": "2", "bogus": "x"}) == ErrorCode.INVALID_CONFIG
    assert registry.get("t").configs == {"retention.ms": "1"}
    registry.alter_configs("t", {"retention.ms": "3"}, validate_only=True)
    assert registry.get("t").configs == {"retention.ms": "1"}


def test_dynamic_broker_configs_rejects_static_keys(config):
    registry = TopicRegistry(config)
    assert _code(registry.set_dynamic_broker_configs, True, {"num.partitions": "2"}) == ErrorCode.INVALID_CONFIG
    assert registry.dynamic_broker_configs(True) == {}

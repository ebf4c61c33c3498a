"""ReplicationThrottles: the throttled-replicas topic configs of the image reach the quota managers."""

from __future__ import annotations

import pytest

from minikafka.config import validate_topic_configs
from minikafka.errors import ErrorCode, KafkaError
from minikafka.metadata.image import BROKER_RESOURCE, TOPIC_RESOURCE
from minikafka.quotas.replication import ReplicationQuotaManager
from minikafka.replication.throttles import ReplicationThrottles
from minikafka.storage.config import LogConfig

LEADER = "leader.replication.throttled.replicas"
FOLLOWER = "follower.replication.throttled.replicas"


def throttles(node_id: int = 1):
    leader, follower = ReplicationQuotaManager(), ReplicationQuotaManager(name="FollowerReplication")
    return ReplicationThrottles(node_id, leader, follower), leader, follower


def test_only_this_brokers_entries_are_throttled():
    state, leader, follower = throttles(node_id=1)
    state.apply({(TOPIC_RESOURCE, "t"): {LEADER: "0:1,1:2, 2:1", FOLLOWER: "3:2"},
                 (BROKER_RESOURCE, "1"): {LEADER: "0:1"}})  # a broker resource is not a topic
    assert leader.throttled_topics() == {"t": frozenset({0, 2})}
    assert follower.throttled_topics() == {}  # only broker 2 is listed
    assert leader.is_throttled("t", 2) and not leader.is_throttled("t", 1)


def test_a_star_throttles_every_partition():
    state, leader, follower = throttles()
    state.apply({(TOPIC_RESOURCE, "t"): {LEADER: "*", FOLLOWER: "*"}})
    assert leader.is_throttled("t", 41) and follower.is_throttled("t", 0)
    assert not leader.is_throttled("other", 0)


def test_changes_and_removals_follow_the_image():
    state, leader, follower = throttles()
    state.apply({(TOPIC_RESOURCE, "a"): {LEADER: "0:1"}, (TOPIC_RESOURCE, "b"): {FOLLOWER: "*"}})
    state.apply({(TOPIC_RESOURCE, "a"): {LEADER: "1:1", "retention.ms": "1000"}})  # b deleted, a changed
    assert leader.throttled_topics() == {"a": frozenset({1})}
    assert follower.throttled_topics() == {}
    state.apply({(TOPIC_RESOURCE, "a"): {LEADER: ""}})  # set to empty: no throttle
    assert leader.throttled_topics() == {}


def test_a_bad_stored_value_is_ignored_not_fatal():
    state, leader, _ = throttles()
    state.apply({(TOPIC_RESOURCE, "t"): {LEADER: "zero:one"}})
    assert leader.throttled_topics() == {}


@pytest.mark.parametrize("value", ["*", "", "0:1", "0:1,1:2", " 0:1 , 1:2 "])
def test_valid_throttled_replicas_values(value):
    for key in (LEADER, FOLLOWER):
        assert validate_topic_configs({key: value}) == {key: [v.strip() for v in value.split(",")] if value else []}


@pytest.mark.parametrize("value", ["0", "a:1", "*,0:1", "0:1:2", "-1:1"])
def test_invalid_throttled_replicas_values_have_kafkas_message(value):
    with pytest.raises(KafkaError) as error:
        validate_topic_configs({LEADER: value})
    assert error.value.code == ErrorCode.INVALID_CONFIG
    assert ("leader.replication.throttled.replicas must be the literal '*' or a list of replicas in the "
            "following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...") in str(error.value)


def test_the_log_config_carries_the_throttled_replicas():
    config = LogConfig.from_topic_config({LEADER: ["0:1"], FOLLOWER: ["*"], "retention.ms": 5})
    assert (config.leader_replication_throttled_replicas, config.follower_replication_throttled_replicas) == (
        ["0:1"], ["*"])
    assert LogConfig().leader_replication_throttled_replicas == []

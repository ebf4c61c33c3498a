"""The follower side of the replication throttle, in an in-process cluster; the topic keys over the wire.

A new replica added by a reassignment is out of sync; while its broker's
follower replication quota is exceeded, its fetcher leaves the throttled
partition out of its Fetch requests, so nothing arrives. Under the rate it
fetches again and records what arrives; once in sync it is never held back.
"""

from __future__ import annotations

import pytest
import trio

from minikafka.config import ConfigSource
from minikafka.errors import ErrorCode, KafkaError
from minikafka.quotas.replication import ALL, UNLIMITED_RATE, ReplicationQuotaManager
from minikafka.testing import bootstrap_servers, open_broker, open_cluster
from minikafka_clients import Admin, NewTopic
from replication_runtime_helpers import assert_ok, call, produce

ALTER_PARTITION_REASSIGNMENTS = 45
VALUE = b"y" * 1000


class CountingQuota(ReplicationQuotaManager):
    """The real follower quota, also summing what it records."""

    def __init__(self, rate: float):
        super().__init__(rate, name="FollowerReplication")
        self.recorded = 0

    def record(self, num_bytes: int, now_ms: int) -> None:
        self.recorded += num_bytes
        super().record(num_bytes, now_ms)


async def create_rf1_topic(cluster, name: str):
    """A one-replica topic; its leader once it leads."""
    brokers = list(cluster.brokers.values())
    await cluster.wait_for(lambda: all(len(b.metadata.image.active_broker_ids()) == len(brokers) for b in brokers))
    await brokers[0].create_topic(name, 1, {}, 1)
    def leader():
        return next((b for b in brokers if (name, 0) in b.partitions and b.partition(name, 0).is_leader), None)
    await cluster.wait_for(lambda: leader() is not None)
    return leader()


def now_ms() -> int:
    return int(trio.current_time() * 1000)


async def test_an_out_of_sync_follower_is_held_back_while_over_the_follower_rate(tmp_path):
    async with open_cluster(tmp_path, brokers=3, replica_fetch_backoff_ms=100) as cluster:
        leader = await create_rf1_topic(cluster, "t")
        for _ in range(20):
            assert_ok(await produce(leader, "t", [VALUE]))
        target = cluster.brokers[next(b for b in cluster.brokers if b != leader.node_id)]
        quota = CountingQuota(rate=1000)
        quota.mark_throttled("t", ALL)
        quota.record(10_000_000, now_ms())  # far over 1000 bytes/s for the whole window
        target.quotas.follower_replication = quota  # the fetcher it is about to create takes this one

        response = await call(leader, ALTER_PARTITION_REASSIGNMENTS, 0, {"timeout_ms": 5000, "topics": [
            {"name": "t", "partitions": [{"partition_index": 0, "replicas": [leader.node_id, target.node_id]}]}]})
        assert response.responses[0].partitions[0].error_code == 0
        await cluster.wait_for(lambda: ("t", 0) in target.partitions)
        await trio.sleep(1.0)  # ten backoffs: each asked the quota and held the partition back
        assert leader.partition("t", 0).log_end_offset == 20
        assert target.partition("t", 0).log_end_offset == 0
        assert target.replicas.fetchers[leader.node_id].quota is quota

        quota.update_rate(UNLIMITED_RATE)
        recorded_before = quota.recorded
        await cluster.wait_for(lambda: target.partition("t", 0).log_end_offset == 20, timeout_s=10)
        assert quota.recorded - recorded_before >= 20 * len(VALUE)  # what arrived was recorded

        await cluster.wait_for(lambda: target.node_id in leader.partition("t", 0).leader_state.isr, timeout_s=10)
        quota.update_rate(1000)  # exceeded again, but the replica is in sync now: never held back
        assert quota.is_quota_exceeded(now_ms())
        for _ in range(3):
            assert_ok(await produce(leader, "t", [VALUE]))  # acks=all: the follower must fetch them
        await cluster.wait_for(lambda: target.partition("t", 0).log_end_offset == 23, timeout_s=10)


async def test_throttled_replicas_set_by_create_topics_and_incremental_alter_configs(tmp_path):
    leader_key, follower_key = "leader.replication.throttled.replicas", "follower.replication.throttled.replicas"
    async with open_broker(tmp_path) as broker:
        leader, follower = broker.quotas.leader_replication, broker.quotas.follower_replication
        async with Admin({"bootstrap.servers": bootstrap_servers(broker)}) as admin:
            await admin.create_topics([NewTopic("t", 2, 1, {leader_key: f"1:{broker.node_id}"})])
            described = await admin.describe_configs("t", [leader_key, follower_key])
            assert (described[leader_key].value, described[leader_key].source) == (
                f"1:{broker.node_id}", ConfigSource.TOPIC_CONFIG)
            assert (described[follower_key].value, described[follower_key].source) == ("", ConfigSource.DEFAULT_CONFIG)
            assert leader.throttled_topics() == {"t": frozenset({1})} and follower.throttled_topics() == {}

            await admin.incremental_alter_configs("t", set_configs={follower_key: "*"}, delete_configs=[leader_key])
            with trio.fail_after(5):
                while leader.throttled_topics() or not follower.is_throttled("t", 0):
                    await trio.sleep(0.01)
            with pytest.raises(KafkaError) as error:
                await admin.incremental_alter_configs("t", set_configs={leader_key: "0-1"})
            assert error.value.code == ErrorCode.INVALID_CONFIG

"""OffsetForLeaderEpoch (23) over a real socket: a single broker, then a leader change in a cluster."""

from __future__ import annotations

from minikafka.errors import ErrorCode
from minikafka.protocol.records import Record, build_batch
from minikafka.testing import open_broker, open_cluster
from replication_apis_wire import OFFSET_FOR_LEADER_EPOCH, call, create_topic, partition_state

PRODUCE = 0


def epoch_request(topic: str, leader_epoch: int, current_leader_epoch: int = -1, replica_id: int = -1) -> dict:
    return {"replica_id": replica_id, "topics": [{"topic": topic, "partitions": [
        {"partition": 0, "current_leader_epoch": current_leader_epoch, "leader_epoch": leader_epoch}]}]}


async def end_of_epoch(broker, topic: str, leader_epoch: int, current_leader_epoch: int = -1, *,
                       version: int = 4, replica_id: int = -1) -> tuple:
    """(error_code, leader_epoch, end_offset) of partition 0."""
    response = await call(broker, OFFSET_FOR_LEADER_EPOCH, version,
                          epoch_request(topic, leader_epoch, current_leader_epoch, replica_id))
    [topic_result] = response["topics"]
    [p] = topic_result["partitions"]
    assert (topic_result["topic"], p["partition"]) == (topic, 0)
    return p["error_code"], p["leader_epoch"], p["end_offset"]


async def produce(broker, topic: str, count: int) -> None:
    records = build_batch([Record(i, 0, None, b"v%d" % i) for i in range(count)])
    body = {"transactional_id": None, "acks": -1, "timeout_ms": 5000, "topic_data": [
        {"name": topic, "partition_data": [{"index": 0, "records": records}]}]}
    response = await call(broker, PRODUCE, 9, body)
    assert response["responses"][0]["partition_responses"][0]["error_code"] == ErrorCode.NONE


async def test_fresh_topic_on_a_single_broker(tmp_path):
    async with open_broker(tmp_path) as broker:
        await broker.create_topic("t", 1, {})
        epoch = broker.partition("t", 0).leader_epoch
        for version in (2, 3, 4):  # a consumer (-1), a debug tool (-2), any version
            assert await end_of_epoch(broker, "t", epoch, version=version) == (ErrorCode.NONE, epoch, 0)
            assert await end_of_epoch(broker, "t", epoch, replica_id=-2, version=version) == (ErrorCode.NONE, epoch, 0)
        await produce(broker, "t", 3)
        assert await end_of_epoch(broker, "t", epoch, current_leader_epoch=epoch) == (ErrorCode.NONE, epoch, 3)
        # An epoch this log never had after its latest: undefined (Kafka: -1, -1).
        assert await end_of_epoch(broker, "t", epoch + 5) == (ErrorCode.NONE, -1, -1)
        # Metadata from the future (FENCED_LEADER_EPOCH for the past: the cluster test).
        assert (await end_of_epoch(broker, "t", epoch, current_leader_epoch=epoch + 1))[0] == \
            ErrorCode.UNKNOWN_LEADER_EPOCH
        assert (await end_of_epoch(broker, "missing", 0))[0] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


async def test_after_a_leader_change_the_old_epoch_ends_where_the_new_one_starts(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        await create_topic(cluster, "t", 1, 3)
        first = partition_state(cluster.brokers[1], "t")
        leader = cluster.brokers[first.leader]
        await produce(leader, "t", 2)
        follower = next(b for n, b in cluster.brokers.items() if n != first.leader)
        assert (await end_of_epoch(follower, "t", first.leader_epoch))[0] == ErrorCode.NOT_LEADER_OR_FOLLOWER
        await cluster.stop(first.leader, controlled=True)  # leadership moves to an in-sync follower
        await cluster.wait_for(lambda: partition_state(follower, "t").leader not in (first.leader, -1))
        second = partition_state(follower, "t")
        new_leader = cluster.brokers[second.leader]
        await cluster.wait_for(lambda: new_leader.partition("t", 0).leader_epoch == second.leader_epoch)
        # KIP-320: a consumer that read epoch `first` asks where it ends: at 2.
        assert await end_of_epoch(new_leader, "t", first.leader_epoch, second.leader_epoch) == (
            ErrorCode.NONE, first.leader_epoch, 2)
        assert (await end_of_epoch(new_leader, "t", first.leader_epoch, first.leader_epoch))[0] == \
            ErrorCode.FENCED_LEADER_EPOCH

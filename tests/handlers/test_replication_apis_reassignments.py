"""AlterPartitionReassignments (45) and ListPartitionReassignments (46) over real sockets.

A reassignment first *adds* the target replicas; it completes when they
have all joined the ISR (the leader's AlterPartition once they caught up),
and then the old replicas are removed. The tests drive that last step with
AlterPartition themselves where the partition leader's own replication has
not done it yet (``join_isr``).
"""

from __future__ import annotations

from minikafka.errors import ErrorCode
from minikafka.testing import open_cluster
from replication_apis_wire import (ALTER_PARTITION_REASSIGNMENTS, LIST_PARTITION_REASSIGNMENTS, call, create_topic,
                                   join_isr, partition_state)


def reassign_body(topic: str, replicas) -> dict:
    return {"timeout_ms": 5000, "topics": [{"name": topic, "partitions": [
        {"partition_index": 0, "replicas": None if replicas is None else list(replicas)}]}]}


async def reassign(broker, topic: str, replicas) -> dict:
    """The partition's result of an AlterPartitionReassignments sent to ``broker``."""
    response = await call(broker, ALTER_PARTITION_REASSIGNMENTS, 0, reassign_body(topic, replicas))
    assert (response["error_code"], response["error_message"]) == (ErrorCode.NONE, None)
    return response["responses"][0]["partitions"][0]


async def ongoing(broker, topics=None) -> list:
    response = await call(broker, LIST_PARTITION_REASSIGNMENTS, 0, {"timeout_ms": 5000, "topics": topics})
    assert response["error_code"] == ErrorCode.NONE
    return response["topics"]


async def test_move_an_rf1_partition_to_another_broker(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        await create_topic(cluster, "t", 1, 1)
        source = partition_state(cluster.brokers[1], "t").leader
        target = next(b for b in cluster.brokers if b != source)
        other = cluster.brokers[next(b for b in cluster.brokers if b not in (source, target))]
        assert (await reassign(other, "t", [target]))["error_code"] == ErrorCode.NONE
        listed = await ongoing(other, [{"name": "t", "partition_indexes": [0]}])
        # Unless the new replica caught up already (an empty log: it may have), the
        # partition lists the union of both replica sets.
        assert listed in ([], [{"name": "t", "partitions": [{"partition_index": 0, "replicas": [target, source],
                                                             "adding_replicas": [target],
                                                             "removing_replicas": [source]}]}])
        await join_isr(cluster, "t", target)  # it caught up: the move completes
        await cluster.wait_for(lambda: partition_state(other, "t").replicas == (target,))
        state = partition_state(other, "t")
        assert (state.leader, state.isr, state.adding_replicas) == (target, (target,), ())
        assert await ongoing(other) == []


async def test_cancel_a_reassignment_that_cannot_finish(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        await create_topic(cluster, "t", 1, 1)
        source = partition_state(cluster.brokers[1], "t").leader
        stopped, alive = [b for b in cluster.brokers if b != source]
        await cluster.stop(stopped, controlled=True)  # fenced: it cannot join the ISR
        broker = cluster.brokers[alive]
        assert (await reassign(broker, "t", [stopped, alive]))["error_code"] == ErrorCode.NONE
        [topic] = await ongoing(broker)
        assert topic["partitions"][0]["adding_replicas"] == [stopped, alive]
        assert topic["partitions"][0]["removing_replicas"] == [source]
        cancelled = await reassign(broker, "t", None)
        assert cancelled["error_code"] == ErrorCode.NONE
        assert await ongoing(broker) == []
        await cluster.wait_for(lambda: partition_state(broker, "t").replicas == (source,))
        again = await reassign(broker, "t", None)
        assert again["error_code"] == ErrorCode.NO_REASSIGNMENT_IN_PROGRESS


async def test_invalid_reassignments_are_refused_per_partition(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        await create_topic(cluster, "t", 1, 1)
        broker = cluster.brokers[2]
        duplicate = await reassign(broker, "t", [1, 1])
        assert duplicate["error_code"] == ErrorCode.INVALID_REPLICA_ASSIGNMENT
        unknown_broker = await reassign(broker, "t", [7])
        assert unknown_broker["error_code"] == ErrorCode.INVALID_REPLICA_ASSIGNMENT
        missing = await reassign(broker, "nope", [1])
        assert missing["error_code"] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        assert await ongoing(broker, [{"name": "nope", "partition_indexes": [0]}]) == []

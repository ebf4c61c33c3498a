"""ElectLeaders (43) and AlterPartition (56) over real sockets against an in-process 3-broker cluster.

ElectLeaders is client-facing: any broker forwards it to the active
controller. AlterPartition is broker-to-controller: only the active
controller answers it, NOT_CONTROLLER elsewhere; the tests send it as a
partition leader would.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode
from minikafka.testing import open_cluster
from replication_apis_wire import (ALTER_PARTITION, ELECT_LEADERS, alter_partition_body, call,
                                   controller_and_other, create_topic, join_isr, partition_state)


async def test_preferred_election_on_a_healthy_cluster_is_not_needed(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        _, other = controller_and_other(cluster)
        await create_topic(cluster, "t", 2, 3)
        for version in (0, 1, 2):
            body = {"election_type": 0, "timeout_ms": 5000,
                    "topic_partitions": [{"topic": "t", "partitions": [0, 1]},
                                         {"topic": "missing", "partitions": [0]}]}
            response = await call(other, ELECT_LEADERS, version, body)
            results = {(r["topic"], p["partition_id"]): p["error_code"]
                       for r in response["replica_election_results"] for p in r["partition_result"]}
            assert results == {("t", 0): ErrorCode.ELECTION_NOT_NEEDED, ("t", 1): ErrorCode.ELECTION_NOT_NEEDED,
                               ("missing", 0): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}, version
        # Every partition (null): Kafka lists only the partitions where an election ran.
        response = await call(other, ELECT_LEADERS, 2, {"election_type": 0, "topic_partitions": None})
        assert response["error_code"] == ErrorCode.NONE
        assert all(not r["partition_result"] for r in response["replica_election_results"])


async def test_preferred_election_moves_leadership_back(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        await create_topic(cluster, "t", 1, 3)
        preferred = partition_state(cluster.brokers[1], "t").preferred_leader
        # A controlled restart of the preferred leader moves leadership away and
        # takes it out of the ISR; it comes back as a follower.
        await cluster.stop(preferred, controlled=True)
        await cluster.start(preferred)
        observer = cluster.brokers[preferred]
        assert partition_state(observer, "t").leader != preferred
        await join_isr(cluster, "t", preferred)
        body = {"election_type": 0, "timeout_ms": 5000, "topic_partitions": [{"topic": "t", "partitions": [0]}]}
        response = await call(observer, ELECT_LEADERS, 2, body)
        assert response["replica_election_results"][0]["partition_result"][0]["error_code"] == ErrorCode.NONE
        await cluster.wait_for(lambda: partition_state(observer, "t").leader == preferred)


async def test_elect_leaders_without_a_controller_times_out_per_partition(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        await create_topic(cluster, "t", 2, 3)
        # Only a follower is left: no quorum, so no active controller (a controller
        # left alone would still answer from its own view until Raft resigns it).
        controller, survivor = controller_and_other(cluster)
        for node_id in [n for n in cluster.brokers if n != survivor.node_id]:
            await cluster.stop(node_id)
        body = {"election_type": 0, "timeout_ms": 1000, "topic_partitions": [{"topic": "t", "partitions": [0, 1]}]}
        response = await call(survivor, ELECT_LEADERS, 2, body)
        assert response["error_code"] == ErrorCode.REQUEST_TIMED_OUT
        [result] = response["replica_election_results"]
        assert [(p["partition_id"], p["error_code"]) for p in result["partition_result"]] == [
            (0, ErrorCode.REQUEST_TIMED_OUT), (1, ErrorCode.REQUEST_TIMED_OUT)]


async def stale_alter_partition(cluster) -> tuple:
    """A topic "t" (RF 3), and an AlterPartition from its leader with an outdated partition epoch."""
    await create_topic(cluster, "t", 1, 3)
    controller, other = controller_and_other(cluster)
    state = partition_state(controller, "t")
    return controller, other, alter_partition_body(controller, "t", 0, state.isr,
                                                   partition_epoch=state.partition_epoch - 1)


async def test_alter_partition_with_a_stale_partition_epoch_is_refused(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        controller, _, stale = await stale_alter_partition(cluster)
        response = await call(controller, ALTER_PARTITION, 3, stale)
        assert response["error_code"] == ErrorCode.NONE
        assert response["topics"][0]["partitions"][0]["error_code"] == ErrorCode.INVALID_UPDATE_VERSION
        assert response["topics"][0]["topic_id"] == controller.metadata.image.topic("t").topic_id
        # The leader shrinks the ISR to itself (a lagging follower): committed, epoch + 1.
        state = partition_state(controller, "t")
        shrink = alter_partition_body(controller, "t", 0, [state.leader])
        result = (await call(controller, ALTER_PARTITION, 3, shrink))["topics"][0]["partitions"][0]
        assert result["error_code"] == ErrorCode.NONE
        assert (result["leader_id"], result["isr"]) == (state.leader, [state.leader])
        assert result["partition_epoch"] > state.partition_epoch


async def test_alter_partition_reaches_the_controller_only(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        controller, other, body = await stale_alter_partition(cluster)
        response = await call(other, ALTER_PARTITION, 3, body)
        assert response["error_code"] == ErrorCode.NOT_CONTROLLER
        # Through the broker's channel the request finds the active controller.
        response = await other.controller_channel.call("alter_partition", body)
        assert response["topics"][0]["partitions"][0]["error_code"] == ErrorCode.INVALID_UPDATE_VERSION
        # v2 carries new_isr instead of the members' broker epochs.
        partition = body["topics"][0]["partitions"][0]
        partition["new_isr"] = [s["broker_id"] for s in partition.pop("new_isr_with_epochs")]
        response = await call(controller, ALTER_PARTITION, 2, body)
        assert response["topics"][0]["partitions"][0]["error_code"] == ErrorCode.INVALID_UPDATE_VERSION

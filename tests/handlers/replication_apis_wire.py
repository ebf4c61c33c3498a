"""Helpers for the replication-API tests: one request over a real socket, cluster lookups."""

from __future__ import annotations

import itertools

import trio

from minikafka.errors import ErrorCode
from minikafka.protocol.codec import as_dict
from minikafka.rpc.client import exchange

ELECT_LEADERS, ALTER_PARTITION_REASSIGNMENTS, LIST_PARTITION_REASSIGNMENTS = 43, 45, 46
OFFSET_FOR_LEADER_EPOCH, ALTER_PARTITION, ALLOCATE_PRODUCER_IDS, INIT_PRODUCER_ID = 23, 56, 67, 22
_correlation_ids = itertools.count(1)


async def call(broker, api_key: int, version: int, body: dict) -> dict:
    """Send one request to ``broker``'s first listener on 127.0.0.1; its response as a dict."""
    stream = await trio.open_tcp_stream("127.0.0.1", broker.bound_ports[0])
    async with stream:
        response = await exchange(stream, api_key, version, next(_correlation_ids), "replication-apis-test", body)
    return as_dict(response)


def partition_state(broker, topic: str, index: int = 0):
    """The partition's registration in ``broker``'s committed metadata image."""
    return broker.metadata.image.topic(topic).partitions[index]


def broker_epoch(broker, node_id: int) -> int:
    return broker.metadata.image.brokers[node_id].broker_epoch


def alter_partition_body(cluster_broker, topic: str, index: int, new_isr, *, partition_epoch=None) -> dict:
    """AlterPartition v3 as the partition's current leader would send it (from the image)."""
    image = cluster_broker.metadata.image
    state = image.topic(topic).partitions[index]
    return {"broker_id": state.leader, "broker_epoch": broker_epoch(cluster_broker, state.leader),
            "topics": [{"topic_id": image.topic(topic).topic_id, "partitions": [{
                "partition_index": index, "leader_epoch": state.leader_epoch,
                "new_isr_with_epochs": [{"broker_id": b, "broker_epoch": broker_epoch(cluster_broker, b)}
                                        for b in new_isr],
                "leader_recovery_state": 0,
                "partition_epoch": state.partition_epoch if partition_epoch is None else partition_epoch}]}]}


def controller_and_other(cluster):
    """(the active controller's broker, a broker that is not the active controller)."""
    active = cluster.active_controller()
    return active, next(b for b in cluster.brokers.values() if b is not active)


async def create_topic(cluster, name: str, num_partitions: int, replication_factor: int):
    """Create a topic once every broker's image lists every broker; wait until all see it."""
    brokers = list(cluster.brokers.values())
    await cluster.wait_for(lambda: all(len(b.metadata.image.brokers) == len(brokers) for b in brokers))
    info = await brokers[0].create_topic(name, num_partitions, {}, replication_factor)
    await cluster.wait_for(lambda: all(b.metadata.image.topic(name) is not None for b in brokers))
    return info


async def join_isr(cluster, topic: str, replica: int) -> None:
    """Put ``replica`` into partition 0's ISR with AlterPartition, as the leader does once the
    follower caught up (the leader's own AlterPartition may win the race: fine too).
    A reassignment whose adding replicas are then all in sync completes at once."""
    while True:
        await cluster.wait_for(lambda: cluster.active_controller() is not None)
        controller = cluster.active_controller()
        state = partition_state(controller, topic)
        if replica in state.isr:
            return
        body = alter_partition_body(controller, topic, 0, state.isr + (replica,))
        response = await call(controller, ALTER_PARTITION, 3, body)
        assert response["topics"][0]["partitions"][0]["error_code"] in (
            ErrorCode.NONE, ErrorCode.INVALID_UPDATE_VERSION, ErrorCode.FENCED_LEADER_EPOCH)
        await cluster.wait_for(lambda: partition_state(cluster.brokers[replica], topic).partition_epoch
                               > state.partition_epoch)

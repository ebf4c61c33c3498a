"""The transaction coordinator across brokers: markers to remote leaders, remote verification, failover.

A three-broker in-process cluster. The partition side of WriteTxnMarkers is
a recording handler on every broker (as in ``test_runtime.py``), so the
tests see which broker received which marker.
"""

from __future__ import annotations

import trio

from minikafka.errors import ErrorCode
from minikafka.testing import open_cluster
from tests.coordinator.transaction.test_runtime import (
    WRITE_TXN_MARKERS, MarkerLeader, begin, call, describe, end, wait_for_state)
from tests.handlers.replication_apis_wire import create_topic

OVERRIDES = {"transaction.state.log.num.partitions": 3}
TXN_TOPIC = "__transaction_state"


async def open_transactions(cluster, transactional_id: str):
    """FindCoordinator through broker 1, then wait until every broker sees the topic; the coordinator."""
    response = await call(cluster.brokers[1], 10, 4, {"key_type": 1, "coordinator_keys": [transactional_id]})
    brokers = list(cluster.brokers.values())
    await cluster.wait_for(lambda: all(b.metadata.image.topic(TXN_TOPIC) is not None for b in brokers))
    index = brokers[0].transactions.partition_for(transactional_id)
    await cluster.wait_for(lambda: any(b.transactions.is_coordinator_for(transactional_id) for b in brokers))
    coordinator = next(b for b in brokers if b.transactions.is_coordinator_for(transactional_id))
    found = response["coordinators"][0]
    assert found["error_code"] in (ErrorCode.NONE, ErrorCode.COORDINATOR_NOT_AVAILABLE)
    return coordinator, index


async def test_markers_go_to_each_partition_leader(tmp_path):
    async with open_cluster(tmp_path, brokers=3, **OVERRIDES) as cluster:
        leaders = {node_id: MarkerLeader() for node_id in cluster.brokers}
        for node_id, broker in cluster.brokers.items():
            broker.handlers[WRITE_TXN_MARKERS] = leaders[node_id]
        await create_topic(cluster, "t", 3, 1)
        coordinator, _ = await open_transactions(cluster, "tx-cluster")
        partitions = [("t", 0), ("t", 1), ("t", 2)]
        producer_id, epoch = await begin(coordinator, "tx-cluster", partitions)
        assert await end(coordinator, "tx-cluster", producer_id, epoch, commit=True) == ErrorCode.NONE
        await wait_for_state(coordinator, "tx-cluster", "CompleteCommit")

        image = coordinator.metadata.image
        for node_id, leader in leaders.items():
            led = sorted(i for i, p in image.topic("t").partitions.items() if p.leader == node_id)
            sent = sorted(i for r in leader.requests for m in r["markers"] for t in m["topics"]
                          for i in t["partition_indexes"])
            assert sent == led


async def test_a_partition_leader_verifies_with_a_remote_coordinator(tmp_path):
    async with open_cluster(tmp_path, brokers=3, **OVERRIDES) as cluster:
        await create_topic(cluster, "t", 2, 1)
        coordinator, _ = await open_transactions(cluster, "tx-verify")
        producer_id, epoch = await begin(coordinator, "tx-verify", [("t", 0)])
        other = next(b for b in cluster.brokers.values() if b is not coordinator)
        verified = await other.transaction_verifier.verify("tx-verify", producer_id, epoch, [("t", 0), ("t", 1)])
        assert verified == {("t", 0): ErrorCode.NONE, ("t", 1): ErrorCode.TRANSACTION_ABORTABLE}
        fenced = await other.transaction_verifier.verify("tx-verify", producer_id, epoch + 1, [("t", 0)])
        assert fenced == {("t", 0): ErrorCode.PRODUCER_FENCED}


async def test_a_new_coordinator_completes_a_prepared_commit(tmp_path):
    async with open_cluster(tmp_path, brokers=3, **OVERRIDES) as cluster:
        refusing = MarkerLeader([ErrorCode.TRANSACTION_COORDINATOR_FENCED])
        for broker in cluster.brokers.values():
            broker.handlers[WRITE_TXN_MARKERS] = refusing
        await create_topic(cluster, "t", 1, 1)
        coordinator, index = await open_transactions(cluster, "tx-failover")
        producer_id, epoch = await begin(coordinator, "tx-failover", [("t", 0)])
        assert await end(coordinator, "tx-failover", producer_id, epoch, commit=True) == ErrorCode.NONE
        await trio.sleep(0.3)
        assert (await describe(coordinator, "tx-failover"))["transaction_state"] == "PrepareCommit"
        old_epoch = coordinator.partitions[(TXN_TOPIC, index)].leader_epoch

        accepting = MarkerLeader()
        survivors = [b for b in cluster.brokers.values() if b is not coordinator]
        for broker in survivors:
            broker.handlers[WRITE_TXN_MARKERS] = accepting
        await cluster.stop(coordinator.node_id)
        await cluster.wait_for(lambda: any(b.transactions.is_coordinator_for("tx-failover") for b in survivors))
        successor = next(b for b in survivors if b.transactions.is_coordinator_for("tx-failover"))
        await wait_for_state(successor, "tx-failover", "CompleteCommit", timeout_s=20)
        marker = accepting.requests[-1]["markers"][0]
        assert marker["transaction_result"] is True and marker["producer_id"] == producer_id
        assert marker["coordinator_epoch"] > old_epoch

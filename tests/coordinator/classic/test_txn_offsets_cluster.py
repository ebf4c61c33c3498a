"""Transactional offsets survive a group coordinator failover (three in-process brokers).

The producer's transaction commits offsets through the group coordinator,
whose broker then stops. The broker that takes over the group's
``__consumer_offsets`` partition loads the replicated log, transactional
batch included: the offsets are still pending there, and the transaction
coordinator's COMMIT marker, retried until it reaches the new leader,
makes them visible.
"""

from __future__ import annotations

from groups_calls import FIND_COORDINATOR, call
from test_txn_offset_commit_handler import (
    ADD_OFFSETS_TO_TXN,
    INIT_PRODUCER_ID,
    end_txn,
    fetch_stable,
    txn_commit,
    wait_stable,
)

from minikafka.errors import ErrorCode
from minikafka.testing import open_cluster
from tests.handlers.replication_apis_wire import create_topic

OVERRIDES = {"offsets.topic.num.partitions": 3, "transaction.state.log.num.partitions": 3,
             "group.initial.rebalance.delay.ms": 0}


async def test_pending_offsets_move_with_the_group_coordinator(tmp_path):
    async with open_cluster(tmp_path, brokers=3, **OVERRIDES) as cluster:
        brokers = list(cluster.brokers.values())
        await create_topic(cluster, "t", 1, 1)
        await call(brokers[0], FIND_COORDINATOR, 4, key_type=1, coordinator_keys=["tx"])
        await call(brokers[0], FIND_COORDINATOR, 3, key="any")
        await cluster.wait_for(lambda: any(b.transactions.is_coordinator_for("tx") for b in brokers))
        txn_broker = next(b for b in brokers if b.transactions.is_coordinator_for("tx"))
        # A group whose coordinator is another broker than the transaction coordinator.
        candidates = [f"g{i}" for i in range(30)]
        await cluster.wait_for(lambda: all(any(b.group_coordinator.is_coordinator_for(g) for b in brokers)
                                           for g in candidates))
        group, group_broker = next((g, b) for g in candidates for b in brokers
                                   if b.group_coordinator.is_coordinator_for(g) and b is not txn_broker)

        init = await call(txn_broker, INIT_PRODUCER_ID, 5, transactional_id="tx",
                          transaction_timeout_ms=60000, producer_id=-1, producer_epoch=-1)
        pid, epoch = init.producer_id, init.producer_epoch
        added = await call(txn_broker, ADD_OFFSETS_TO_TXN, 4, transactional_id="tx", producer_id=pid,
                           producer_epoch=epoch, group_id=group)
        assert (init.error_code, added.error_code) == (0, 0)
        answer = await txn_commit(group_broker, group, {("t", 0): 42}, producer_id=pid, producer_epoch=epoch)
        assert answer == {("t", 0): ErrorCode.NONE}  # answered once the in-sync replicas have it

        await cluster.stop(group_broker.node_id)
        survivors = [b for b in brokers if b is not group_broker]
        await cluster.wait_for(lambda: any(b.group_coordinator.is_coordinator_for(group) for b in survivors))
        successor = next(b for b in survivors if b.group_coordinator.is_coordinator_for(group))
        assert await fetch_stable(successor, group, "t", [0]) == {0: (-1, ErrorCode.UNSTABLE_OFFSET_COMMIT)}

        assert await end_txn(txn_broker, pid, epoch, commit=True) == ErrorCode.NONE
        assert await wait_stable(successor, group, "t", [0]) == {0: (42, ErrorCode.NONE)}

"""The bundled transactional producer against a replicated three-broker cluster.

A transaction spans partitions led by different brokers; and when the
transaction coordinator crashes in the middle of one, the producer finds
the new coordinator (FindCoordinator again after NOT_COORDINATOR or a broken
connection) and commits there: the new coordinator loaded the transaction's
state from ``__transaction_state``.
"""

from __future__ import annotations

import pytest
import trio

from minikafka_clients import Admin, Consumer, Producer
from clients_cluster_helpers import create_topic, leader_of, three_brokers

pytestmark = pytest.mark.slow

TRANSACTIONAL = {"linger.ms": 1, "retry.backoff.ms": 20, "retry.backoff.max.ms": 200,
                 "request.timeout.ms": 5000, "max.block.ms": 30_000}


async def committed_values(bootstrap: str, topic: str, partitions: int, count: int) -> list:
    """``count`` values readable under read_committed, sorted (waits up to 15 s)."""
    config = {"bootstrap.servers": bootstrap, "isolation.level": "read_committed",
              "auto.offset.reset": "earliest", "fetch.max.wait.ms": 100}
    values = []
    async with Consumer(config) as consumer:
        consumer.assign([(topic, p) for p in range(partitions)])
        with trio.fail_after(15):
            while len(values) < count:
                values += [r.value for r in await consumer.poll(0.2)]
    return sorted(values)


async def test_a_transaction_across_leaders_and_a_coordinator_crash(tmp_path):
    async with three_brokers(tmp_path) as (cluster, bootstrap):
        await create_topic(bootstrap, "ledger", 3, configs={"min.insync.replicas": "2"})
        assert len({leader_of(cluster, "ledger", p) for p in range(3)}) > 1
        config = {"bootstrap.servers": bootstrap, "transactional.id": "ledger-1", **TRANSACTIONAL}
        async with Producer(config) as producer, Admin({"bootstrap.servers": bootstrap}) as admin:
            await producer.init_transactions()
            producer.begin_transaction()
            for p in range(3):
                await producer.send("ledger", b"first-%d" % p, partition=p)
            await producer.commit_transaction()

            producer.begin_transaction()
            for p in range(3):
                await producer.send("ledger", b"second-%d" % p, partition=p)
            await producer.flush()  # every partition added to the transaction
            coordinator = (await admin.describe_transactions(["ledger-1"]))["ledger-1"].coordinator_id
            await cluster.stop(coordinator)
            await producer.commit_transaction()  # at the coordinator elected next

        values = await committed_values(bootstrap, "ledger", 3, 6)
        assert values == sorted([b"first-%d" % p for p in range(3)]
                                + [b"second-%d" % p for p in range(3)])

"""The bundled Admin against a replicated cluster: topics, brokers, leaders, reassignments.

Describe calls are answered by any broker from its metadata image; elections
and reassignments are forwarded to the active controller (KIP-590). After a
broker crashes and comes back, it is a follower of the partitions it used to
lead: a *preferred* election (KIP-183) hands leadership back to the first
replica of each partition's list, which spreads leaders evenly again.
"""

from __future__ import annotations

import pytest
import trio

from minikafka.errors import ErrorCode
from minikafka_clients import Admin, Producer
from minikafka_clients.admin import EARLIEST, LATEST
from clients_cluster_helpers import FAILOVER_PRODUCER, create_topic, three_brokers, wait_for_new_leader


async def wait_for_isr(admin, topic: str, size: int) -> None:
    with trio.fail_after(15):
        while any(len(p.isr) != size for p in (await admin.describe_topics([topic]))[topic].partitions.values()):
            await trio.sleep(0.05)


async def test_describe_cluster_lists_every_broker(tmp_path):
    """Whichever broker answers, it describes the whole cluster (as Kafka's brokers do)."""
    async with three_brokers(tmp_path) as (cluster, _):
        for broker in cluster.brokers.values():
            async with Admin({"bootstrap.servers": f"127.0.0.1:{broker.bound_ports[0]}"}) as admin:
                description = await admin.describe_cluster()
            assert [n.node_id for n in description.nodes] == [1, 2, 3]
            assert description.controller_id in (1, 2, 3)
            assert description.cluster_id == cluster.cluster_id


@pytest.mark.slow
async def test_admin_describes_and_rebalances_leadership(tmp_path):
    async with three_brokers(tmp_path) as (cluster, bootstrap):
        async with Admin({"bootstrap.servers": bootstrap}) as admin:
            await create_topic(bootstrap, "rf3", 3)
            await wait_for_isr(admin, "rf3", 3)
            partitions = (await admin.describe_topics(["rf3"]))["rf3"].partitions
            for p in partitions.values():
                assert sorted(p.replicas) == [1, 2, 3] and sorted(p.isr) == [1, 2, 3]
                assert p.leader_id == p.replicas[0]  # the preferred replica leads
            preferred = {i: p.replicas[0] for i, p in partitions.items()}

            async with Producer({"bootstrap.servers": bootstrap, **FAILOVER_PRODUCER}) as producer:
                for i in range(30):
                    await producer.send("rf3", b"%d" % i, partition=i % 3)
            ends = await admin.list_offsets({("rf3", i): LATEST for i in range(3)})
            starts = await admin.list_offsets({("rf3", i): EARLIEST for i in range(3)})
            assert [ends[("rf3", i)].offset for i in range(3)] == [10, 10, 10]
            assert [starts[("rf3", i)].offset for i in range(3)] == [0, 0, 0]

            crashed = preferred[0]
            await cluster.stop(crashed)
            await wait_for_new_leader(cluster, "rf3", crashed)
            await cluster.start(crashed)
            await wait_for_isr(admin, "rf3", 3)  # back in sync, but not leading
            assert (await admin.describe_topics(["rf3"]))["rf3"].partitions[0].leader_id != crashed

            outcome = await admin.elect_leaders([("rf3", i) for i in range(3)])
            assert outcome[("rf3", 0)] == ErrorCode.NONE
            with trio.fail_after(10):
                while {i: p.leader_id for i, p in
                       (await admin.describe_topics(["rf3"]))["rf3"].partitions.items()} != preferred:
                    await trio.sleep(0.05)
            ends = await admin.list_offsets({("rf3", i): LATEST for i in range(3)})
            assert [ends[("rf3", i)].offset for i in range(3)] == [10, 10, 10]  # nothing lost


async def test_admin_reassigns_a_partition(tmp_path):
    async with three_brokers(tmp_path) as (cluster, bootstrap):
        async with Admin({"bootstrap.servers": bootstrap}) as admin:
            await create_topic(bootstrap, "moving", 1, replication_factor=2)
            [source, _] = replicas = (await admin.describe_topics(["moving"]))["moving"].partitions[0].replicas
            target = next(n for n in (1, 2, 3) if n not in replicas)
            new_replicas = [target, replicas[1]]
            assert await admin.alter_partition_reassignments({("moving", 0): new_replicas}) == {
                ("moving", 0): ErrorCode.NONE}
            with trio.fail_after(10):  # done once the target caught up and joined the ISR
                while await admin.list_partition_reassignments():
                    await trio.sleep(0.05)
            moved = (await admin.describe_topics(["moving"]))["moving"].partitions[0]
            assert list(moved.replicas) == new_replicas and source not in moved.isr
            assert await admin.alter_partition_reassignments({("moving", 0): None}) == {
                ("moving", 0): ErrorCode.NO_REASSIGNMENT_IN_PROGRESS}

"""The bundled Consumer against a replicated cluster: coordinator and leader failover.

A group's coordinator is the leader of the group's ``__consumer_offsets``
partition. When that broker crashes, another replica becomes the leader,
loads the group from the replicated log and coordinates it from then on:
the consumer gets NOT_COORDINATOR or a broken connection, finds the new
coordinator (FindCoordinator) and carries on, its committed offsets intact.

With ``assign()`` there is no group: the consumer fetches from the leader
Metadata names, with that leader's epoch (KIP-320). When the leader
crashes, it refreshes its metadata and fetches from the new leader from
the same position.
"""

from __future__ import annotations

import pytest
import trio

from minikafka_clients import Admin, Consumer, Producer
from clients_cluster_helpers import (FAILOVER_PRODUCER, create_topic, leader_of, three_brokers,
                                     wait_for_new_leader)
from consumer_helpers import fast_group_config


async def produce_range(bootstrap: str, topic: str, numbers: range) -> None:
    async with Producer({"bootstrap.servers": bootstrap, **FAILOVER_PRODUCER}) as producer:
        futures = [await producer.send(topic, b"%d" % n, b"%d" % n) for n in numbers]
        for future in futures:
            await future


async def poll_numbers(consumer, seen: list, wanted: set, timeout_s: float = 20) -> None:
    """Poll until every number in ``wanted`` was seen (``seen`` keeps duplicates)."""
    with trio.fail_after(timeout_s):
        while not wanted <= set(seen):
            seen.extend(int(r.value) for r in await consumer.poll(0.2))


@pytest.mark.slow
async def test_group_consumer_survives_a_coordinator_crash(tmp_path):
    async with three_brokers(tmp_path) as (cluster, bootstrap):
        await create_topic(bootstrap, "events", 3)
        config = fast_group_config(bootstrap, "billing", **{"enable.auto.commit": False})
        seen: list[int] = []
        async with Consumer(config) as consumer:
            await consumer.subscribe(["events"])
            await produce_range(bootstrap, "events", range(0, 60))
            await poll_numbers(consumer, seen, set(range(0, 60)))
            await consumer.commit()
            async with Admin({"bootstrap.servers": bootstrap}) as admin:
                coordinator = (await admin.describe_consumer_groups(["billing"]))["billing"].coordinator
            await cluster.stop(coordinator.node_id)

            await produce_range(bootstrap, "events", range(60, 120))
            await poll_numbers(consumer, seen, set(range(0, 120)))
            await consumer.commit()  # to the new coordinator
        assert sorted(set(seen)) == list(range(120)), "a record was lost"

        async with Admin({"bootstrap.servers": bootstrap}) as admin:
            description = (await admin.describe_consumer_groups(["billing"]))["billing"]
            committed = await admin.list_consumer_group_offsets("billing")
        assert description.coordinator.node_id != coordinator.node_id
        assert sum(o.offset for o in committed.values()) == 120  # every record committed once
        await produce_range(bootstrap, "events", range(120, 130))
        async with Consumer(config) as successor:  # resumes from the committed offsets
            await successor.subscribe(["events"])
            after: list[int] = []
            await poll_numbers(successor, after, set(range(120, 130)))
        assert sorted(after) == list(range(120, 130))


@pytest.mark.slow
async def test_assigned_consumer_follows_a_leader_change(tmp_path):
    async with three_brokers(tmp_path) as (cluster, bootstrap):
        await create_topic(bootstrap, "ticks", 1)
        await produce_range(bootstrap, "ticks", range(0, 50))
        config = {"bootstrap.servers": bootstrap, "auto.offset.reset": "earliest",
                  "fetch.max.wait.ms": 100, "max.poll.records": 20}
        seen: list[int] = []
        async with Consumer(config) as consumer:
            consumer.assign([("ticks", 0)])
            epoch_before = None
            while len(seen) < 20:
                seen.extend(int(r.value) for r in await consumer.poll(1))
                epoch_before = consumer.cluster.topics["ticks"].partitions[0].leader_epoch
            old_leader = leader_of(cluster, "ticks")
            await cluster.stop(old_leader)
            await wait_for_new_leader(cluster, "ticks", old_leader)
            await produce_range(bootstrap, "ticks", range(50, 100))
            await poll_numbers(consumer, seen, set(range(100)))
            seen.extend(int(r.value) for r in await consumer.poll(0.3))
            assert await consumer.position(("ticks", 0)) == 100
            metadata = consumer.cluster.topics["ticks"].partitions[0]
        assert seen == list(range(100)), "records lost, repeated or out of order"
        assert metadata.leader_id != old_leader and metadata.leader_epoch > epoch_before

"""Bundled consumers in one group against a real minikafka broker (classic and KIP-848)."""

import re

import pytest
import trio

from consumer_helpers import broker_with_topics, fast_group_config, produce_values
from minikafka_clients import groups
from minikafka_clients.cluster import open_cluster
from minikafka_clients.consumer import Consumer


class Member:
    """A consumer polling in its own task; records and callback calls are kept."""

    def __init__(self, nursery, config, topics, name):
        self.name, self.records, self.events = name, [], []
        self.consumer = Consumer(config, on_assign=self._on("assign"), on_revoke=self._on("revoke"),
                                 on_lost=self._on("lost"))
        self.stop = trio.Event()
        self.done = trio.Event()
        nursery.start_soon(self._run, topics)

    def _on(self, kind):
        def callback(consumer, partitions):
            self.events.append((kind, sorted(partitions)))
        return callback

    async def _run(self, topics):
        try:
            async with self.consumer:
                await self.consumer.subscribe(topics)
                while not self.stop.is_set():
                    self.records.extend(await self.consumer.poll(0.05))
        finally:
            self.done.set()

    async def close(self):
        self.stop.set()
        await self.done.wait()


async def wait_for(predicate, timeout_s=10):
    with trio.fail_after(timeout_s):
        while not predicate():
            await trio.sleep(0.02)


def partitions_of(members):
    return {m.name: m.consumer.assignment() for m in members if not m.done.is_set()}


def exact_cover(members, topic, count):
    owned = [tp for m in members if not m.done.is_set() for tp in m.consumer.assignment()]
    return sorted(owned) == [(topic, p) for p in range(count)]


@pytest.mark.parametrize("strategy", ["range", "roundrobin", "cooperative-sticky"])
async def test_group_shares_partitions_as_members_come_and_go(tmp_path, strategy):
    async with broker_with_topics(tmp_path, {"shared": 6}) as bootstrap:
        config = fast_group_config(bootstrap, f"g-{strategy}",
                                   **{"partition.assignment.strategy": strategy})
        async with trio.open_nursery() as nursery:
            a, b = Member(nursery, config, ["shared"], "a"), Member(nursery, config, ["shared"], "b")
            await wait_for(lambda: exact_cover([a, b], "shared", 6)
                           and len(a.consumer.assignment()) == 3)
            await produce_values(bootstrap, "shared", [b"v%d" % i for i in range(60)],
                                 key=lambda v: v)
            await wait_for(lambda: len(a.records) + len(b.records) == 60)
            assert a.records and b.records
            c = Member(nursery, config, ["shared"], "c")
            await wait_for(lambda: exact_cover([a, b, c], "shared", 6)
                           and all(len(m.consumer.assignment()) == 2 for m in (a, b, c)))
            await a.close()
            await wait_for(lambda: exact_cover([b, c], "shared", 6)
                           and len(b.consumer.assignment()) == 3)
            await produce_values(bootstrap, "shared", [b"w%d" % i for i in range(30)],
                                 key=lambda v: v)
            await wait_for(lambda: len(a.records) + len(b.records) + len(c.records) == 90)
            values = sorted(r.value for m in (a, b, c) for r in m.records)
            assert len(values) == len(set(values)) == 90  # everything once (commits on revoke)
            if strategy == "cooperative-sticky":
                # KIP-429: when c joined, a and b revoked only what moved (one each), never all.
                for m in (a, b):
                    revokes = [ps for kind, ps in m.events if kind == "revoke"]
                    assert revokes[0] and len(revokes[0]) == 1, m.events
            else:
                # Eager: everything revoked before each rejoin.
                assert ("revoke", sorted(b.events[1][1])) == b.events[1]
            await b.close()
            await c.close()


async def test_static_member_restart_keeps_its_partitions_without_rebalance(tmp_path):
    async with broker_with_topics(tmp_path, {"st": 4}) as bootstrap:
        base = fast_group_config(bootstrap, "g-static")
        async with trio.open_nursery() as nursery:
            a = Member(nursery, {**base, "group.instance.id": "i-a"}, ["st"], "a")
            b = Member(nursery, {**base, "group.instance.id": "i-b"}, ["st"], "b")
            await wait_for(lambda: exact_cover([a, b], "st", 4) and len(a.consumer.assignment()) == 2)
            before = a.consumer.assignment()
            b_events = len(b.events)
            await a.close()  # a static member sends no LeaveGroup
            a2 = Member(nursery, {**base, "group.instance.id": "i-a"}, ["st"], "a2")
            await wait_for(lambda: a2.consumer.assignment() == before)
            await trio.sleep(0.3)
            assert len(b.events) == b_events  # b saw no rebalance
            await a2.close()
            await b.close()


async def test_kip848_consumer_protocol_group(tmp_path):
    async with broker_with_topics(tmp_path, {"k": 4}) as bootstrap:
        config = fast_group_config(bootstrap, "g-848", **{"group.protocol": "consumer"})
        async with trio.open_nursery() as nursery:
            a = Member(nursery, config, ["k"], "a")
            await wait_for(lambda: len(a.consumer.assignment()) == 4)
            b = Member(nursery, config, ["k"], "b")
            await wait_for(lambda: exact_cover([a, b], "k", 4) and len(b.consumer.assignment()) == 2)
            assert [kind for kind, _ in a.events][:2] == ["assign", "revoke"]
            await produce_values(bootstrap, "k", [b"%d" % i for i in range(40)], key=lambda v: v)
            await wait_for(lambda: len(a.records) + len(b.records) == 40)
            async with open_cluster(bootstrap) as cluster:
                description = await groups.describe_group(cluster, "g-848")
                assert description.state == "Stable" and len(description.members) == 2
            await a.close()
            await wait_for(lambda: len(b.consumer.assignment()) == 4)
            await b.close()
            async with open_cluster(bootstrap) as cluster:
                offsets = await groups.fetch_offsets(cluster, "g-848")
            assert sum(o.offset for o in offsets.values()) == 40


async def test_regex_subscription_follows_new_topics(tmp_path):
    async with broker_with_topics(tmp_path, {"logs-a": 1, "other": 1}) as bootstrap:
        config = fast_group_config(bootstrap, "g-regex", **{"metadata.max.age.ms": 200})
        async with trio.open_nursery() as nursery:
            a = Member(nursery, config, re.compile(r"logs-.*"), "a")
            await wait_for(lambda: a.consumer.assignment() == {("logs-a", 0)})
            async with open_cluster(bootstrap) as cluster:
                from minikafka_clients import admin
                await admin.create_topics(cluster, [admin.NewTopic("logs-b", 2)])
            await wait_for(lambda: a.consumer.assignment() ==
                           {("logs-a", 0), ("logs-b", 0), ("logs-b", 1)})
            await a.close()

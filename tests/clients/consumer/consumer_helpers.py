"""Shared helpers for the consumer tests: a fast-rebalancing broker, topics, producing."""

from __future__ import annotations

import contextlib

from minikafka.testing import open_broker
from minikafka_clients import Producer, admin
from minikafka_clients.admin import NewTopic
from minikafka_clients.cluster import open_cluster

# Rebalances in tens of ms, not seconds (Kafka's defaults wait 3 s / heartbeat every 5 s).
FAST_GROUPS = {
    "group.initial.rebalance.delay.ms": 0,
    "group.min.session.timeout.ms": 500,
    "group.consumer.min.heartbeat.interval.ms": 100,
    "group.consumer.heartbeat.interval.ms": 100,
    "group.consumer.min.session.timeout.ms": 1000,
    "group.consumer.session.timeout.ms": 3000,
    "offsets.topic.num.partitions": 1,
}


def fast_group_config(bootstrap: str, group_id: str, **extra) -> dict:
    return {"bootstrap.servers": bootstrap, "group.id": group_id, "auto.offset.reset": "earliest",
            "session.timeout.ms": 3000, "heartbeat.interval.ms": 100,
            "max.poll.interval.ms": 10_000, "fetch.max.wait.ms": 100, **extra}


@contextlib.asynccontextmanager
async def broker_with_topics(tmp_path, topics: dict[str, int], **overrides):
    """A broker in this trio run with ``topics`` created; yields its bootstrap string."""
    async with open_broker(tmp_path, **{**FAST_GROUPS, **overrides}) as broker:
        bootstrap = f"127.0.0.1:{broker.bound_ports[0]}"
        async with open_cluster(bootstrap) as cluster:
            await admin.create_topics(cluster, [NewTopic(name, count) for name, count in topics.items()])
        yield bootstrap


async def produce_values(bootstrap: str, topic: str, values, *, partition=None, key=None):
    """Produce ``values`` with the bundled producer; their ``RecordMetadata``, in order."""
    async with Producer({"bootstrap.servers": bootstrap}) as producer:
        futures = [await producer.send(topic, v, key(v) if callable(key) else key,
                                       partition=partition) for v in values]
        return [await future for future in futures]


async def poll_until(consumers, count: int, timeout_s: float = 10):
    """Poll every consumer in turn until ``count`` records arrived in all; {consumer: [records]}."""
    import trio

    got = {c: [] for c in consumers}
    with trio.fail_after(timeout_s):
        while sum(len(v) for v in got.values()) < count:
            for c in consumers:
                got[c].extend(await c.poll(0.05))
    return got

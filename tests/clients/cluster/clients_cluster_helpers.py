"""Shared helpers for the bundled clients against a replicated in-process cluster.

``three_brokers`` runs a three-node KRaft cluster in the test's own Trio run
(``minikafka.testing.open_cluster``: real loopback sockets, lab timeouts,
fast group rebalances); the clients reach it only through
``bootstrap.servers``, as they would reach Apache Kafka. Crashing a broker is
``cluster.stop(node_id)``; what the clients see is a broken connection.
"""

from __future__ import annotations

import contextlib
import pathlib
import sys

import trio

from minikafka.testing import open_cluster
from minikafka_clients import Admin, Consumer, NewTopic

_CONSUMER_HELPERS = pathlib.Path(__file__).resolve().parents[1] / "consumer"
if str(_CONSUMER_HELPERS) not in sys.path:
    sys.path.insert(0, str(_CONSUMER_HELPERS))

from consumer_helpers import FAST_GROUPS  # noqa: E402  (rebalances in tens of ms)

# What a producer needs to ride out a failover: idempotent, acks=all, and
# short backoffs so the test does not wait out Kafka's 100 ms..1 s ladder.
FAILOVER_PRODUCER = {"acks": "all", "enable.idempotence": True, "linger.ms": 2,
                     "retry.backoff.ms": 20, "retry.backoff.max.ms": 200,
                     "request.timeout.ms": 5000, "delivery.timeout.ms": 30_000}


def bootstrap_of(cluster) -> str:
    """``bootstrap.servers`` naming every running broker of ``cluster``."""
    return ",".join(f"127.0.0.1:{b.bound_ports[0]}" for b in cluster.brokers.values())


@contextlib.asynccontextmanager
async def three_brokers(tmp_path, **overrides):
    """A three-broker cluster with fast group timings; yields ``(cluster, bootstrap)``."""
    async with open_cluster(tmp_path, brokers=3, **{**FAST_GROUPS, **overrides}) as cluster:
        # Every broker sees all three unfenced: topics then get three replicas.
        await cluster.wait_for(lambda: all(b.metadata.image.active_broker_ids() == [1, 2, 3]
                                           for b in cluster.brokers.values()))
        yield cluster, bootstrap_of(cluster)


async def create_topic(bootstrap: str, name: str, partitions: int = 1, *,
                       replication_factor: int = 3, configs: dict | None = None) -> None:
    """Create a topic with the bundled Admin; return once every partition has a leader."""
    async with Admin({"bootstrap.servers": bootstrap}) as admin:
        await admin.create_topics([NewTopic(name, partitions, replication_factor,
                                            configs=configs or {})])
        with trio.fail_after(10):
            while not all(p.leader_id >= 0 for p in (await admin.describe_topics([name]))[name]
                          .partitions.values()):
                await trio.sleep(0.02)


def leader_of(cluster, topic: str, partition: int = 0) -> int:
    """The partition's leader in the committed metadata of a running broker."""
    broker = next(iter(cluster.brokers.values()))
    return broker.metadata.image.topic(topic).partitions[partition].leader


async def wait_for_new_leader(cluster, topic: str, old_leader: int, partition: int = 0) -> int:
    """Wait until a broker other than ``old_leader`` leads the partition; its id."""
    await cluster.wait_for(lambda: leader_of(cluster, topic, partition) not in (old_leader, -1))
    return leader_of(cluster, topic, partition)


async def read_all(bootstrap: str, topic: str, partitions: int, count: int,
                   timeout_s: float = 15) -> list:
    """Every record of ``topic`` from the beginning, with an assign()ed consumer."""
    config = {"bootstrap.servers": bootstrap, "auto.offset.reset": "earliest",
              "fetch.max.wait.ms": 100}
    records = []
    async with Consumer(config) as consumer:
        consumer.assign([(topic, p) for p in range(partitions)])
        with trio.fail_after(timeout_s):
            while len(records) < count:
                records.extend(await consumer.poll(0.2))
        records.extend(await consumer.poll(0.3))  # anything beyond count: a duplicate
    return records

"""Leader failover: a new leader from the ISR, a divergent suffix truncated, no acked record lost.

A leader crash is ``cluster.stop(node_id)`` (its tasks are cancelled; the
others notice when the controller fences it after ``broker.session.timeout.ms``).
The controller then elects a new leader from the ISR with a higher leader
epoch; the old leader, restarted, follows it and truncates whatever it
appended that no one else has (KIP-101/KIP-279, here through the fetch's
``diverging_epoch`` of KIP-595).
"""

from __future__ import annotations

import pytest

from minikafka.testing import open_cluster
from minikafka_clients.producer import Producer
from replication_runtime_helpers import (assert_ok, create_topic, epoch_entries, leader_of, log_contents,
                                         pause_fetching, produce, registration, values_in,
                                         wait_until_replicated)


async def wait_for_new_leader(cluster, topic: str, old_leader: int, old_epoch: int):
    """The broker the image names leader once it moved away from ``old_leader`` (and leads)."""
    def elected():
        leader = leader_of(cluster, topic)
        return leader is not None and leader.node_id != old_leader and all(
            registration(b, topic).leader_epoch > old_epoch for b in cluster.brokers.values())
    await cluster.wait_for(elected)
    return leader_of(cluster, topic)


@pytest.mark.slow
async def test_a_divergent_suffix_is_truncated_when_the_old_leader_returns(tmp_path):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        old = await create_topic(cluster, "t")
        assert_ok(await produce(old, "t", [b"a", b"b"]))
        await wait_until_replicated(cluster, "t")
        first_epoch = old.partition("t", 0).leader_epoch
        for follower in cluster.brokers.values():
            if follower is not old:
                pause_fetching(follower)
        assert_ok(await produce(old, "t", [b"lost 1", b"lost 2"], acks=1))  # never replicated
        await cluster.stop(old.node_id)

        new = await wait_for_new_leader(cluster, "t", old.node_id, first_epoch)
        assert_ok(await produce(new, "t", [b"c"], timeout_ms=15_000))
        returned = await cluster.start(old.node_id)
        await wait_until_replicated(cluster, "t")

        assert values_in(log_contents(returned, "t")) == [b"a", b"b", b"c"]
        assert log_contents(returned, "t") == log_contents(new, "t")
        new_epoch = new.partition("t", 0).leader_epoch
        assert epoch_entries(returned, "t") == epoch_entries(new, "t") == [(first_epoch, 0), (new_epoch, 2)]
        assert returned.partition("t", 0).high_watermark == 3


@pytest.mark.slow
async def test_an_idempotent_producer_survives_a_leader_crash_without_loss_or_duplicates(tmp_path):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        leader = await create_topic(cluster, "t", configs={"min.insync.replicas": "2"})
        bootstrap = ",".join(f"127.0.0.1:{b.bound_ports[0]}" for b in cluster.brokers.values())
        config = {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                  "linger.ms": 1, "retry.backoff.ms": 50, "metadata.max.age.ms": 500}
        values = [b"record %d" % i for i in range(60)]
        async with Producer(config) as producer:
            futures = []
            for i, value in enumerate(values):
                if i == 20:  # mid-stream, with batches in flight
                    epoch = leader.partition("t", 0).leader_epoch
                    await cluster.stop(leader.node_id)
                futures.append(await producer.send("t", value, partition=0))
            await producer.flush()
            assert [(await future).offset for future in futures] == list(range(len(values)))
        new = leader_of(cluster, "t")
        assert new.node_id != leader.node_id and new.partition("t", 0).leader_epoch > epoch
        await wait_until_replicated(cluster, "t")
        stored = values_in(log_contents(new, "t"))
        assert stored == values  # each once, in order (idempotence: retries are not appended twice)

"""acks=all against a shrinking ISR: wait, time out, NOT_ENOUGH_REPLICAS, and the ISR growing back.

A stopped follower stays in the ISR until the leader's shrink check (every
``replica.lag.time.max.ms / 2``) or the controller's fencing
(``broker.session.timeout.ms``) takes it out; until then an acks=all produce
waits for it, as Kafka's ``DelayedProduce`` does.
"""

from __future__ import annotations

import pytest
import trio

from minikafka.errors import ErrorCode
from minikafka.replication.follower_state import FetchPosition
from minikafka.testing import open_cluster
from replication_runtime_helpers import (assert_ok, create_topic, log_contents, pause_fetching, produce,
                                         registration, wait_for_isr, wait_until_replicated)


@pytest.mark.slow
async def test_acks_all_waits_for_the_isr_to_shrink_then_refuses_below_min_isr(tmp_path):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        leader = await create_topic(cluster, "t", configs={"min.insync.replicas": "2"})
        assert_ok(await produce(leader, "t", [b"before"]))
        stopped, alive = [n for n in cluster.node_ids if n != leader.node_id]
        await cluster.stop(stopped)

        # Still in the ISR: a short acks=all produce times out (the record stays in the log).
        assert await produce(leader, "t", [b"timed out"], timeout_ms=100) == (ErrorCode.REQUEST_TIMED_OUT, 1)
        # A patient one is answered once the ISR has shrunk without the stopped follower.
        assert await produce(leader, "t", [b"after shrink"], timeout_ms=15_000) == (ErrorCode.NONE, 2)
        assert stopped not in leader.partition("t", 0).leader_state.isr
        await wait_for_isr(cluster, "t", {leader.node_id, alive})

        # min.insync.replicas=3 now cannot be met: refused before appending, acks=1 still works.
        await leader.set_resource_configs(2, "t", {"min.insync.replicas": "3"})
        await cluster.wait_for(lambda: leader.partition("t", 0).leader_state.effective_min_isr == 3)
        end = leader.partition("t", 0).log_end_offset
        assert (await produce(leader, "t", [b"refused"]))[0] == ErrorCode.NOT_ENOUGH_REPLICAS
        assert leader.partition("t", 0).log_end_offset == end
        assert_ok(await produce(leader, "t", [b"acks=1"], acks=1))


@pytest.mark.slow
async def test_a_restarted_follower_catches_up_and_rejoins_the_isr(tmp_path):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        leader = await create_topic(cluster, "t")
        stopped = next(n for n in cluster.node_ids if n != leader.node_id)
        await cluster.stop(stopped)
        for i in range(3):  # waits for the shrink the first time
            assert_ok(await produce(leader, "t", [b"while down %d" % i], timeout_ms=15_000))
        await wait_for_isr(cluster, "t", set(cluster.node_ids) - {stopped})

        restarted = await cluster.start(stopped)
        await wait_for_isr(cluster, "t", set(cluster.node_ids))
        await wait_until_replicated(cluster, "t")
        assert log_contents(restarted, "t") == log_contents(leader, "t")
        assert restarted.partition("t", 0).high_watermark == 3


async def test_not_enough_replicas_after_append_when_the_isr_shrinks_under_a_waiting_produce(tmp_path):
    """HW reached, but the ISR fell below min.insync.replicas before the answer (Kafka's
    ``checkEnoughReplicasReachOffset``). Real timing cannot place the shrink between the
    two, so the test plays the lagging follower's last fetch and the controller's answer
    on the leader's partition, in one step."""
    async with open_cluster(tmp_path, brokers=3) as cluster:
        leader = await create_topic(cluster, "t", configs={"min.insync.replicas": "3"})
        lagging, caught_up = [cluster.brokers[n] for n in cluster.node_ids if n != leader.node_id]
        pause_fetching(lagging)
        partition = leader.partition("t", 0)
        answers = []

        async def produce_one():
            answers.append(await produce(leader, "t", [b"x"], timeout_ms=10_000))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce_one)
            await cluster.wait_for(lambda: partition.leader_state.followers[caught_up.node_id].log_end_offset == 1)
            assert partition.high_watermark == 0 and not answers  # held back by `lagging`
            position = FetchPosition(1, partition.leader_epoch, partition.leader_epoch)
            partition.read_for_follower(lagging.node_id, position, 0, 0, leader.now_ms(), min_one_batch=False)
            assert partition.high_watermark == 1
            shrunk = (leader.node_id, caught_up.node_id)
            partition.isr_change_answered(shrunk, registration(leader, "t").partition_epoch + 1, leader.now_ms())
        assert answers == [(ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, 0)]

"""Leadership moving on purpose: controlled shutdown, and the leader epochs that fence stale readers.

A controlled shutdown (``cluster.stop(node_id, controlled=True)``) asks the
controller to move the broker's leaderships to in-sync followers *before*
the broker exits, so producers see at most the one NOT_LEADER_OR_FOLLOWER
that sends them to the new leader. The move bumps the leader epoch; a Fetch
carrying the old one is FENCED_LEADER_EPOCH, one from the future
UNKNOWN_LEADER_EPOCH (KIP-320), for consumers and followers alike.
"""

from __future__ import annotations

import pytest
import trio

from minikafka.errors import ErrorCode
from minikafka.testing import open_cluster
from replication_runtime_helpers import (create_topic, fetch, leader_of, log_contents, produce,
                                         registration, values_in)

RETRY_BACKOFF_S = 0.1  # the producers' retry.backoff.ms


@pytest.mark.slow
async def test_controlled_shutdown_of_the_leader_moves_leadership_first(tmp_path):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        old = await create_topic(cluster, "t", configs={"min.insync.replicas": "2"})
        answers: list[tuple[int, bytes, int]] = []  # (broker, value, error_code)
        done = trio.Event()

        async def produce_until_done():
            target = old
            for i in range(10_000):
                if done.is_set():
                    return
                value = b"v%d" % i
                # As a client: the leader its metadata names (``stop`` forgets the stopping
                # broker at once, so until the new leader takes over, keep the old one).
                target = leader_of(cluster, "t") or target
                code, _ = await produce(target, "t", [value], timeout_ms=5000)
                answers.append((target.node_id, value, code))
                if code != ErrorCode.NONE:
                    await trio.sleep(RETRY_BACKOFF_S)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce_until_done)
            await trio.sleep(0.3)
            await cluster.stop(old.node_id, controlled=True)
            await cluster.wait_for(lambda: sum(n != old.node_id and code == ErrorCode.NONE
                                               for n, _, code in answers) >= 10, timeout_s=10)
            done.set()

        errors = [code for _, _, code in answers if code != ErrorCode.NONE]
        assert set(errors) <= {ErrorCode.NOT_LEADER_OR_FOLLOWER} and len(errors) <= 1, answers
        acked = [value for _, value, code in answers if code == ErrorCode.NONE]
        new = leader_of(cluster, "t")
        assert {n for n, _, _ in answers} == {old.node_id, new.node_id}
        stored = values_in(log_contents(new, "t"))
        assert len(set(stored)) == len(stored)
        # Every acked record is there, in order; a failed one may be too (appended before
        # the leader moved: Kafka does not promise either way).
        assert [value for value in stored if value in acked] == acked


async def test_a_fetch_with_another_leader_epoch_is_fenced_or_unknown(tmp_path):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        old = await create_topic(cluster, "t")
        first_epoch = old.partition("t", 0).leader_epoch
        await cluster.stop(old.node_id, controlled=True)
        await cluster.wait_for(lambda: (leader := leader_of(cluster, "t")) is not None
                               and leader.partition("t", 0).leader_epoch > first_epoch)
        leader = leader_of(cluster, "t")
        epoch = leader.partition("t", 0).leader_epoch
        follower = next(b for b in cluster.brokers.values() if b is not leader)
        for replica_id in (-1, follower.node_id):  # a consumer, then a follower
            def error_for(current_leader_epoch):
                return fetch(leader, "t", current_leader_epoch=current_leader_epoch, replica_id=replica_id)
            assert (await error_for(first_epoch)).error_code == ErrorCode.FENCED_LEADER_EPOCH
            assert (await error_for(epoch + 1)).error_code == ErrorCode.UNKNOWN_LEADER_EPOCH
            assert (await error_for(epoch)).error_code == ErrorCode.NONE
            assert (await error_for(-1)).error_code == ErrorCode.NONE
        assert registration(follower, "t").leader_epoch == epoch

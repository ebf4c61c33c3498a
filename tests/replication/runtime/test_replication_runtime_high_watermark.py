"""Consumers read only below the high watermark; a long-polling fetch wakes when it moves.

With the followers paused (their fetchers cancelled, the brokers still up
and in the ISR) an acks=1 produce is in the leader's log but not committed:
a consumer's Fetch stops at the high watermark. Once the followers fetch
again the high watermark passes the records and the waiting fetch answers.
"""

from __future__ import annotations

import trio

from minikafka.errors import ErrorCode
from minikafka.testing import open_cluster
from replication_runtime_helpers import (assert_ok, create_topic, fetch, pause_fetching, produce,
                                         resume_fetching, values_in)


async def test_a_consumer_never_reads_past_the_high_watermark(tmp_path):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        leader = await create_topic(cluster, "t")
        assert_ok(await produce(leader, "t", [b"committed"]))
        followers = [b for b in cluster.brokers.values() if b is not leader]
        for follower in followers:
            pause_fetching(follower)
        assert_ok(await produce(leader, "t", [b"not yet", b"committed"], acks=1))
        partition = leader.partition("t", 0)
        assert (partition.log_end_offset, partition.high_watermark) == (3, 1)

        answer = await fetch(leader, "t", 0)
        assert (answer.error_code, answer.high_watermark) == (ErrorCode.NONE, 1)
        assert values_in(answer.records) == [b"committed"]
        assert values_in((await fetch(leader, "t", 1)).records) == []

        waiting = []

        async def long_poll():
            waiting.append(await fetch(leader, "t", 1, max_wait_ms=10_000))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(long_poll)
            await trio.sleep(0.2)
            assert not waiting  # held: nothing committed at offset 1 yet
            for follower in followers:
                resume_fetching(follower)
        assert waiting[0].high_watermark == 3
        assert values_in(waiting[0].records) == [b"not yet", b"committed"]

"""Followers fetch in sessions (KIP-227): after one full Fetch, incremental ones keep the logs equal."""

from __future__ import annotations

import trio

from minikafka.testing import open_cluster
from replication_runtime_helpers import assert_ok, create_topic, log_contents, produce, wait_until_replicated


async def test_followers_replicate_through_incremental_fetch_sessions(tmp_path):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        leader = await create_topic(cluster, "t")
        for i in range(5):
            assert_ok(await produce(leader, "t", [b"v%d" % i]))
            await trio.sleep(0.05)  # each batch reaches the followers in its own fetch
        await wait_until_replicated(cluster, "t")
        assert len({log_contents(b, "t") for b in cluster.brokers.values()}) == 1
        sessions = leader.services.fetch_sessions.sessions.values()
        followers = [s for s in sessions if s.privileged]
        assert len(followers) == 2  # one per follower, opened by its first (full) fetch
        assert all(s.epoch > 2 for s in followers)  # and used incrementally since
        assert all(("t", 0) in s.partitions for s in followers)

"""Replication in steady state: acks=all copies, equal logs, checkpoints on disk."""

from __future__ import annotations

import os

from minikafka.storage.checkpoints import LEADER_EPOCH_CHECKPOINT
from minikafka.testing import open_cluster
from replication_runtime_helpers import (assert_ok, create_topic, epoch_entries, log_contents, produce,
                                         values_in, wait_until_replicated)


async def test_acks_all_copies_every_batch_byte_for_byte(tmp_path):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        leader = await create_topic(cluster, "t")
        offsets = [assert_ok(await produce(leader, "t", [b"a%d" % i, b"b%d" % i])) for i in range(5)]
        assert offsets == [0, 2, 4, 6, 8]
        await wait_until_replicated(cluster, "t")
        contents = {n: log_contents(b, "t") for n, b in cluster.brokers.items()}
        assert len(set(contents.values())) == 1
        assert values_in(contents[leader.node_id]) == [v for i in range(5) for v in (b"a%d" % i, b"b%d" % i)]
        for broker in cluster.brokers.values():
            assert broker.partition("t", 0).high_watermark == 10
        checkpoints = {open(os.path.join(b.partition("t", 0).log.dir, LEADER_EPOCH_CHECKPOINT), "rb").read()
                       for b in cluster.brokers.values()}
        assert len(checkpoints) == 1
        assert len({tuple(epoch_entries(b, "t")) for b in cluster.brokers.values()}) == 1

"""A whole-cluster restart: the high watermark comes back from ``replication-offset-checkpoint``.

Each broker writes its partitions' high watermarks to the checkpoint file
of its log dir (periodically, and when it shuts down) and reads them back
when it opens its partitions. Without it a restarted leader would start at
the log start offset and could not give consumers anything until every ISR
member had fetched again; with ``min.insync.replicas`` equal to the
replication factor and one broker still down, not before that broker
returns (KIP-966: the high watermark stands still under min ISR).
"""

from __future__ import annotations

import pytest
import trio

from minikafka.errors import ErrorCode
from minikafka.replication.manager import read_high_watermarks
from minikafka.testing import open_cluster
from replication_runtime_helpers import (assert_ok, create_topic, fetch, leader_of, log_contents, produce,
                                         values_in, wait_until_replicated)


@pytest.mark.slow
async def test_the_high_watermark_and_the_data_survive_a_whole_cluster_restart(tmp_path):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        leader = await create_topic(cluster, "t", configs={"min.insync.replicas": "3"})
        values = [b"v%d" % i for i in range(10)]
        for value in values:
            assert_ok(await produce(leader, "t", [value]))
        await wait_until_replicated(cluster, "t")
        logs = {n: log_contents(b, "t") for n, b in cluster.brokers.items()}
        stopped = list(cluster.brokers.values())
        for broker in stopped:
            await cluster.stop(broker.node_id)
        await cluster.wait_for(lambda: not any(b.partitions for b in stopped))  # closed: checkpoints written
        for broker in stopped:
            assert read_high_watermarks(broker.log_dirs()) == {("t", 0): len(values)}

        # Two of three: a quorum, but the ISR cannot be full again, so nothing can commit anew.
        absent = next(n for n in cluster.node_ids if n != leader.node_id)
        async with trio.open_nursery() as nursery:
            for node_id in cluster.node_ids:
                if node_id != absent:
                    nursery.start_soon(cluster.start, node_id)
        await cluster.wait_for(lambda: leader_of(cluster, "t") is not None)
        answer = await fetch(leader_of(cluster, "t"), "t")
        assert (answer.error_code, answer.high_watermark) == (ErrorCode.NONE, len(values))
        assert values_in(answer.records) == values
        for node_id, broker in cluster.brokers.items():
            assert log_contents(broker, "t") == logs[node_id]
            assert broker.partition("t", 0).high_watermark == len(values)

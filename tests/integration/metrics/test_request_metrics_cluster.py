"""An acks=all produce waits in the leader's Produce purgatory; that wait is its remote time.

Two brokers of one in-process cluster (``open_cluster``: Raft and controller
calls in memory, client traffic on real sockets); a bare wire client
produces with acks=all to the leader of a partition replicated on both.
"""

from __future__ import annotations

import trio

from minikafka.metrics import MetricName
from minikafka.testing import open_cluster
from minikafka_core.records import Record, build_batch
from tests.broker.broker_rawclient import RawClient, produce_body

PRODUCE, PRODUCE_VERSION = 0, 9
PURGATORY = MetricName("kafka.server", "DelayedOperationPurgatory", "PurgatorySize",
                       (("delayedOperation", "Produce"),))


def produce_metric(name: str) -> MetricName:
    return MetricName("kafka.network", "RequestMetrics", name, (("request", "Produce"),))


async def test_acks_all_waits_in_the_produce_purgatory_and_counts_as_remote_time(tmp_path):
    async with open_cluster(tmp_path, brokers=2) as cluster:
        some_broker = cluster.brokers[1]
        await some_broker.create_topic("orders", 1, {}, 2)
        await cluster.wait_for(lambda: all(("orders", 0) in b.partitions for b in cluster.brokers.values()))
        await cluster.wait_for(lambda: any(b.partitions[("orders", 0)].is_leader for b in cluster.brokers.values()))
        leader = next(b for b in cluster.brokers.values() if b.partitions[("orders", 0)].is_leader)
        await cluster.wait_for(lambda: len(leader.partitions[("orders", 0)].leader_state.isr) == 2)
        seen_waiting = []

        async def watch_purgatory():
            while True:
                seen_waiting.append(leader.metrics.get(PURGATORY).value)
                await trio.sleep(0)

        client = await RawClient.connect(leader.bound_ports[0], "acks-all")
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(watch_purgatory)
                for _ in range(3):
                    records = build_batch([Record(0, 1_700_000_000_000, b"k", b"v")])
                    response = await client.request(PRODUCE, PRODUCE_VERSION,
                                                    produce_body("orders", 0, records, acks=-1))
                    assert response.responses[0].partition_responses[0].error_code == 0
                nursery.cancel_scope.cancel()
        finally:
            await client.aclose()
        assert max(seen_waiting) >= 1  # a produce was parked until the follower had its records
        assert leader.metrics.get(PURGATORY).value == 0
        with trio.fail_after(2):
            while leader.metrics.get(produce_metric("RemoteTimeMs")) is None or \
                    leader.metrics.get(produce_metric("RemoteTimeMs")).count < 3:
                await trio.sleep(0.001)
        assert leader.metrics.get(produce_metric("RemoteTimeMs")).max > 0

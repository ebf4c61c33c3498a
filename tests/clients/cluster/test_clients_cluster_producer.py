"""The bundled Producer against a replicated cluster: failover and min.insync.replicas.

An idempotent ``acks=all`` producer keeps sending while the partition leader
crashes. Its requests to the dead broker fail (a broken connection, or
NOT_LEADER_OR_FOLLOWER from a broker that heard of the change first); the
sender refreshes metadata, finds the new leader and resends the same batches
with the same sequence numbers, so nothing acknowledged is lost or doubled.
"""

from __future__ import annotations

import pytest
import trio

from minikafka.errors import ErrorCode, KafkaError
from minikafka_clients import Admin, Producer
from clients_cluster_helpers import (FAILOVER_PRODUCER, create_topic, leader_of, read_all,
                                     three_brokers, wait_for_new_leader)

KEYS = [b"k%d" % i for i in range(6)]


async def produce_steadily(producer, topic: str, sent: list, stop: trio.Event) -> None:
    """Send ``(key, sequence)`` records round the keys until ``stop``; ``sent`` gets the futures."""
    sequence = 0
    while not stop.is_set():
        key = KEYS[sequence % len(KEYS)]
        sent.append((key, b"%06d" % sequence, await producer.send(topic, b"%06d" % sequence, key)))
        sequence += 1
        await trio.sleep(0.002)


@pytest.mark.slow
async def test_idempotent_producer_rides_out_a_leader_crash(tmp_path):
    async with three_brokers(tmp_path) as (cluster, bootstrap):
        await create_topic(bootstrap, "orders", 3, configs={"min.insync.replicas": "2"})
        sent, stop = [], trio.Event()
        async with Producer({"bootstrap.servers": bootstrap, **FAILOVER_PRODUCER}) as producer:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(produce_steadily, producer, "orders", sent, stop)
                await trio.sleep(0.3)
                old_leader = leader_of(cluster, "orders", 0)
                await cluster.stop(old_leader)
                await wait_for_new_leader(cluster, "orders", old_leader)
                sent_at_failover = len(sent)
                await trio.sleep(0.5)
                stop.set()
            assert await producer.flush(30_000) == 0
            retried = producer.sender.record_retry_total
            followed = producer.cluster.topics["orders"].partitions[0].leader_id
        outcomes = [(key, value, future.exception()) for key, value, future in sent]
        assert [o for o in outcomes if o[2] is not None] == []  # nothing really failed
        assert retried > 0, "the crash should have made the producer resend"
        assert followed not in (old_leader, -1), "the producer's metadata still names the dead leader"
        assert len(sent) > sent_at_failover + 10, "producing did not continue after the failover"
        partition_of = {key: future.result().partition for key, _, future in sent}
        records = await read_all(bootstrap, "orders", 3, len(sent))
        assert sorted((r.key, r.value) for r in records) == sorted((k, v) for k, v, _ in sent)
        for key in KEYS:  # one partition per key, in the order sent
            mine = [r for r in records if r.key == key]
            assert {r.partition for r in mine} == {partition_of[key]}
            assert [r.value for r in mine] == [v for k, v, _ in sent if k == key]


@pytest.mark.slow
async def test_not_enough_replicas_is_retried_until_the_delivery_timeout(tmp_path):
    async with three_brokers(tmp_path) as (cluster, bootstrap):
        await create_topic(bootstrap, "strict", 1, configs={"min.insync.replicas": "3"})
        follower = next(n for n in cluster.brokers if n != leader_of(cluster, "strict"))
        await cluster.stop(follower)
        async with Admin({"bootstrap.servers": bootstrap}) as admin:
            with trio.fail_after(10):  # replica.lag.time.max.ms (2 s in the lab) drops it
                while follower in (await admin.describe_topics(["strict"]))["strict"].partitions[0].isr:
                    await trio.sleep(0.1)
        config = {"bootstrap.servers": bootstrap, **FAILOVER_PRODUCER,
                  "delivery.timeout.ms": 1500, "request.timeout.ms": 1000}
        async with Producer(config) as producer:
            future = await producer.send("strict", b"needs three", b"k")
            with pytest.raises(KafkaError) as failure:
                await future
            assert failure.value.code == ErrorCode.NOT_ENOUGH_REPLICAS
            assert producer.sender.record_retry_total > 1  # retriable: it was tried again

        # Retriable indeed: a send with time to spare succeeds once the follower is back.
        async with Producer({"bootstrap.servers": bootstrap, **FAILOVER_PRODUCER}) as producer:
            future = await producer.send("strict", b"waits for three", b"k")
            await trio.sleep(0.3)
            assert not future.done()
            await cluster.start(follower)
            assert (await future).offset >= 0

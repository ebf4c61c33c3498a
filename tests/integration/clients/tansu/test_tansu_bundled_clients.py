"""The bundled clients against Tansu, a Kafka-compatible broker that is not minikafka.

Whatever passes here does not lean on minikafka's quirks: the admin subset
Tansu serves (it has no CreatePartitions), and the Producer and Consumer over
the real wire, in both their Trio and their blocking faces.
"""

from __future__ import annotations

import uuid

import pytest

from minikafka.errors import ErrorCode, KafkaError
from minikafka_clients import (Admin, Consumer, NewTopic, Producer, SyncAdmin, SyncConsumer,
                               SyncProducer)
from minikafka_clients import admin as admin_ops
from minikafka_clients.partitioner import partition_for_key


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def config(tansu):
    return {"bootstrap.servers": tansu.bootstrap}


async def test_admin_topics_and_cluster_on_tansu(config):
    topic = _name("admin")
    async with Admin(config) as admin:
        ids = await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
        assert any(ids[topic])
        assert topic in await admin.list_topics()
        described = await admin.describe_topics([topic])
        assert sorted(described[topic].partitions) == [0, 1, 2]

        cluster = await admin.describe_cluster()
        assert cluster.cluster_id and cluster.nodes
        assert cluster.controller_id in {node.node_id for node in cluster.nodes}

        offsets = await admin.list_offsets({(topic, 0): admin_ops.EARLIEST,
                                            (topic, 1): admin_ops.LATEST})
        assert {tp: info.offset for tp, info in offsets.items()} == {(topic, 0): 0, (topic, 1): 0}

        with pytest.raises(KafkaError) as info:
            await admin.create_topics([NewTopic(topic, 1, 1)])
        assert info.value.code == ErrorCode.TOPIC_ALREADY_EXISTS

        await admin.delete_topics([topic])
        assert topic not in await admin.list_topics()


def test_sync_admin_on_tansu(config):
    topic = _name("sync")
    with SyncAdmin(config) as admin:
        admin.create_topics([NewTopic(topic, 1, 1)])
        assert topic in admin.list_topics()
        assert admin.describe_cluster().nodes
        admin.delete_topics([topic])
        assert topic not in admin.list_topics()


def test_sync_producer_and_consumer_on_tansu(config):
    topic = _name("sync-clients")
    with SyncAdmin(config) as admin:
        admin.create_topics([NewTopic(topic, 2, 1)])
    with SyncProducer({**config, "acks": "all"}) as producer:
        futures = [producer.produce(topic, b"v%d" % i, b"k%d" % i, headers=[("h", b"%d" % i)])
                   for i in range(6)]
        producer.flush()
        landed = [future.result() for future in futures]
    assert [m.partition for m in landed] == [partition_for_key(b"k%d" % i, 2) for i in range(6)]
    with SyncConsumer({**config, "auto.offset.reset": "earliest", "fetch.max.wait.ms": 100}) as consumer:
        assert consumer.partitions_for(topic) == [0, 1]
        consumer.assign([(topic, 0), (topic, 1)])
        got = []
        for _ in range(50):
            got += consumer.poll(0.2)
            if len(got) >= 6:
                break
    assert {r.key: (r.value, r.headers) for r in got} == {
        b"k%d" % i: (b"v%d" % i, [("h", b"%d" % i)]) for i in range(6)}


async def test_producer_and_consumer_on_tansu(config):
    topic = _name("clients")
    async with Admin(config) as admin:
        await admin.create_topics([NewTopic(topic, 3, 1)])
    sent = []
    async with Producer({**config, "linger.ms": 5}) as producer:
        for i in range(9):
            future = await producer.send(topic, b"value-%d" % i, key=b"key-%d" % i,
                                         headers=[("n", b"%d" % i)], timestamp_ms=1_700_000_000_000 + i)
            sent.append(future)
        await producer.flush()
        delivered = [await future for future in sent]
    assert [m.partition for m in delivered] == [partition_for_key(b"key-%d" % i, 3) for i in range(9)]

    async with Consumer({**config, "auto.offset.reset": "earliest"}) as consumer:
        consumer.assign([(topic, p) for p in range(3)])
        got = []
        for _ in range(50):
            got += await consumer.poll(0.5)
            if len(got) >= 9:
                break
    by_key = {r.key: r for r in got}
    assert len(got) == 9
    for i, metadata in enumerate(delivered):
        record = by_key[b"key-%d" % i]
        assert (record.partition, record.offset) == (metadata.partition, metadata.offset)
        assert record.value == b"value-%d" % i
        assert record.headers == [("n", b"%d" % i)]
        assert record.timestamp_ms == 1_700_000_000_000 + i

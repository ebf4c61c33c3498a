"""Unmodified Kafka clients against a real minikafka broker process.

Each client produces keyed messages and reads them back in order; every
compression codec; headers and timestamps round-trip between different client
libraries; offsets_for_times; admin operations; kcat.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigEntry, AlterConfigOpType

from .clients import confluent_consume, confluent_produce, create_topic, run_async

N = 200


def keyed_messages(n=N):
    return [(f"key-{i % 7}".encode(), f"value-{i}".encode(), None, None) for i in range(n)]


def check_keyed_order(consumed: list[tuple[bytes, bytes, int]]):
    """Per key, values come back in the order produced, all of them, once."""
    by_key: dict[bytes, list[int]] = {}
    partition_of_key: dict[bytes, int] = {}
    for key, value, partition in consumed:
        by_key.setdefault(key, []).append(int(value.split(b"-")[1]))
        assert partition_of_key.setdefault(key, partition) == partition, "a key moved partition"
    for key, seq in by_key.items():
        assert seq == sorted(seq), f"{key!r} out of order"
    assert sorted(i for seq in by_key.values() for i in seq) == list(range(N))


def test_confluent_kafka_keyed_round_trip(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=3)
    delivered = confluent_produce(broker.bootstrap, topic, keyed_messages(), acks="all")
    counts = {p: sum(1 for m in delivered if m.partition() == p) for p in range(3)}
    consumed = []
    for partition, count in counts.items():
        msgs = confluent_consume(broker.bootstrap, topic, partition, count)
        assert [m.offset() for m in msgs] == list(range(count))
        consumed += [(m.key(), m.value(), partition) for m in msgs]
    check_keyed_order(consumed)


def test_kafka_python_keyed_round_trip(broker, topic):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition as KTP

    create_topic(broker.bootstrap, topic, partitions=3)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks=1, linger_ms=5)
    futures = [producer.send(topic, key=k, value=v) for k, v, _, _ in keyed_messages()]
    producer.flush(30)
    metadata = [f.get(timeout=30) for f in futures]
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                             enable_auto_commit=False, consumer_timeout_ms=5000)
    partitions = [KTP(topic, p) for p in range(3)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    consumed = [(r.key, r.value, r.partition) for r in consumer]
    consumer.close()
    assert len(consumed) == N
    check_keyed_order(consumed)
    assert {(m.partition, m.offset) for m in metadata} == {
        (p, o) for p in range(3) for o in range(sum(1 for _, _, q in consumed if q == p))
    }


def test_aiokafka_keyed_round_trip(broker, topic):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition as ATP

    create_topic(broker.bootstrap, topic, partitions=3)

    async def scenario():
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        await producer.start()
        try:
            for key, value, _, _ in keyed_messages():
                await producer.send(topic, key=key, value=value)
            await producer.flush()
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        consumer.assign([ATP(topic, p) for p in range(3)])
        consumed = []
        try:
            deadline = time.monotonic() + 20
            while len(consumed) < N and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    consumed += [(r.key, r.value, r.partition) for r in records]
        finally:
            await consumer.stop()
        return consumed

    check_keyed_order(run_async(scenario()))


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_confluent_every_compression_codec(broker, topic, codec):
    messages = [(b"k%d" % i, b"compress me %d " % i * 20, None, None) for i in range(300)]
    confluent_produce(broker.bootstrap, topic, messages, **{"compression.type": codec, "linger.ms": 50})
    consumed = confluent_consume(broker.bootstrap, topic, 0, len(messages))
    assert [(m.key(), m.value()) for m in consumed] == [(k, v) for k, v, _, _ in messages]


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_aiokafka_every_compression_codec(broker, topic, codec):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition as ATP

    values = [b"aiokafka %d " % i * 20 for i in range(100)]

    async def scenario():
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, compression_type=codec,
                                    linger_ms=50)
        await producer.start()
        try:
            for value in values:
                await producer.send(topic, value=value)
            await producer.flush()
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                                    auto_offset_reset="earliest")
        await consumer.start()
        consumer.assign([ATP(topic, 0)])
        out = []
        try:
            deadline = time.monotonic() + 20
            while len(out) < len(values) and time.monotonic() < deadline:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    out += [r.value for r in records]
        finally:
            await consumer.stop()
        return out

    assert run_async(scenario()) == values


def test_headers_and_timestamps_cross_client(broker, topic):
    """Produced by confluent-kafka, read by kafka-python: same headers and timestamps."""
    from kafka import KafkaConsumer, TopicPartition as KTP

    base_ts = int(time.time() * 1000) - 60_000
    messages = [
        (b"k%d" % i, b"v%d" % i, [("trace", b"id-%d" % i), ("empty", b""), ("dup", b"1"), ("dup", b"2")],
         base_ts + i)
        for i in range(20)
    ]
    confluent_produce(broker.bootstrap, topic, messages)
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                             auto_offset_reset="earliest", consumer_timeout_ms=5000)
    consumer.assign([KTP(topic, 0)])
    records = list(consumer)
    consumer.close()
    assert [(r.key, r.value, r.timestamp, list(r.headers)) for r in records] == [
        (k, v, ts, [(hk, hv) for hk, hv in headers]) for k, v, headers, ts in messages
    ]
    assert all(r.timestamp_type == 0 for r in records)  # CreateTime


def test_offsets_for_times(broker, topic):
    from confluent_kafka import Consumer
    from kafka import KafkaConsumer, TopicPartition as KTP

    base_ts = 1_700_000_000_000
    messages = [(None, b"v%d" % i, None, base_ts + 1000 * i) for i in range(10)]
    confluent_produce(broker.bootstrap, topic, messages,
                      **{"linger.ms": 0, "batch.num.messages": 1})  # one batch per message
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "oft"})
    try:
        found = consumer.offsets_for_times([TopicPartition(topic, 0, base_ts + 3500)], timeout=10)
        assert found[0].offset == 4
        past_end = consumer.offsets_for_times([TopicPartition(topic, 0, base_ts + 99_000)], timeout=10)
        assert past_end[0].offset == -1  # no such record: Kafka answers offset -1 (end)
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        assert (low, high) == (0, 10)
    finally:
        consumer.close()
    kconsumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None)
    result = kconsumer.offsets_for_times({KTP(topic, 0): base_ts + 3000})
    kconsumer.close()
    assert result[KTP(topic, 0)].offset == 3
    assert result[KTP(topic, 0)].timestamp == base_ts + 3000


def test_admin_create_describe_alter_delete(broker, topic):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    create_topic(broker.bootstrap, topic, partitions=2, config={"retention.ms": "3600000"})
    metadata = admin.list_topics(topic, timeout=10)
    assert len(metadata.topics[topic].partitions) == 2

    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    configs = admin.describe_configs([resource])[resource].result(timeout=10)
    assert configs["retention.ms"].value == "3600000"
    assert configs["cleanup.policy"].value == "delete"

    alter = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
        ConfigEntry("retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET)])
    admin.incremental_alter_configs([alter])[alter].result(timeout=10)
    configs = admin.describe_configs([resource])[resource].result(timeout=10)
    assert configs["retention.ms"].value == "7200000"

    admin.delete_topics([topic])[topic].result(timeout=10)
    deadline = time.monotonic() + 10
    while topic in admin.list_topics(timeout=10).topics and time.monotonic() < deadline:
        time.sleep(0.1)
    assert topic not in admin.list_topics(timeout=10).topics


def kcat(*args, input_bytes=None, timeout=30):
    return subprocess.run(["kcat", *args], input=input_bytes, capture_output=True, timeout=timeout)


def test_kcat_metadata_produce_consume(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=1)
    listing = kcat("-b", broker.bootstrap, "-L")
    assert listing.returncode == 0, listing.stderr
    assert f'topic "{topic}" with 1 partitions' in listing.stdout.decode()

    lines = b"".join(b"k%d:line %d\n" % (i, i) for i in range(50))
    produced = kcat("-b", broker.bootstrap, "-t", topic, "-P", "-K:", input_bytes=lines)
    assert produced.returncode == 0, produced.stderr

    consumed = kcat("-b", broker.bootstrap, "-t", topic, "-C", "-o", "beginning", "-e",
                    "-f", "%k=%s@%o\n")
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout.decode().splitlines() == [f"k{i}=line {i}@{i}" for i in range(50)]

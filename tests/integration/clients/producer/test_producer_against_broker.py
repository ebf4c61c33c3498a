"""The bundled producer against a real minikafka broker, read back by real clients."""

import confluent_kafka
import pytest
import trio

from minikafka.errors import ErrorCode, KafkaError
from minikafka_clients import admin
from minikafka_clients.cluster import open_cluster
from minikafka_clients.partitioner import partition_for_key
from minikafka_clients.producer import Producer, ProducerConfig
from minikafka_clients.sync_producer import SyncProducer
from .producer_readers import read_confluent, read_kafka_python


async def create_topic(bootstrap, name, partitions):
    async with open_cluster(bootstrap) as cluster:
        await admin.create_topics(cluster, [admin.NewTopic(name, partitions)])


async def test_keyed_records_land_where_confluent_kafka_puts_them(bootstrap, topic_name):
    await create_topic(bootstrap, topic_name, 6)
    keys = [f"key-{i}".encode() for i in range(60)]
    async with Producer({"bootstrap.servers": bootstrap}) as producer:
        futures = [await producer.send(topic_name, b"ours", key=key) for key in keys]
        ours = {key: (await future).partition for key, future in zip(keys, futures)}
    theirs = {}
    confluent = confluent_kafka.Producer({"bootstrap.servers": bootstrap,
                                          "partitioner": "murmur2_random"})
    for key in keys:
        confluent.produce(topic_name, b"theirs", key=key,
                          on_delivery=lambda err, msg: theirs.__setitem__(msg.key(), msg.partition()))
    assert confluent.flush(10) == 0
    assert ours == theirs == {key: partition_for_key(key, 6) for key in keys}
    assert len(set(ours.values())) == 6


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
async def test_every_codec_is_readable_by_confluent_kafka(bootstrap, topic_name, codec):
    values = [f"value {i} ".encode() * 20 for i in range(300)]
    async with Producer({"bootstrap.servers": bootstrap, "compression.type": codec}) as producer:
        for value in values:
            await producer.send(topic_name, value, key=b"k")
        assert await producer.flush() == 0
    records = read_confluent(bootstrap, topic_name, len(values), 1)
    assert [r[3] for r in records] == values
    assert [r[1] for r in records] == list(range(len(values)))


async def test_headers_and_timestamps_read_back_identically(bootstrap, topic_name):
    sent = [(b"k1", b"v1", [("trace", b"abc"), ("empty", b""), ("null", None)], 1_700_000_000_123),
            (None, None, [], 1_700_000_000_000),  # a tombstone with no key, timestamp going back
            (b"k3", b"v3", [("dup", b"1"), ("dup", b"2")], 1_700_000_000_999)]
    async with Producer({"bootstrap.servers": bootstrap}) as producer:
        futures = [await producer.send(topic_name, value, key, headers=headers, timestamp_ms=ts)
                   for key, value, headers, ts in sent]
        metadata = [await future for future in futures]
    assert [m.timestamp_ms for m in metadata] == [s[3] for s in sent]
    expected = [(0, offset, key, value, headers, ts)
                for offset, (key, value, headers, ts) in enumerate(sent)]
    assert read_confluent(bootstrap, topic_name, 3, 1) == expected
    assert read_kafka_python(bootstrap, topic_name, 3, 1) == expected


@pytest.mark.parametrize("acks", [0, 1, "all"])
async def test_acks(bootstrap, topic_name, acks):
    config = {"bootstrap.servers": bootstrap, "acks": acks}
    async with Producer(config) as producer:
        assert producer.config.enable_idempotence == (acks == "all")  # the default yields
        futures = [await producer.send(topic_name, b"%d" % i) for i in range(50)]
        offsets = [(await future).offset for future in futures]
    assert offsets == ([-1] * 50 if acks == 0 else list(range(50)))
    assert [r[3] for r in read_confluent(bootstrap, topic_name, 50, 1)] == [b"%d" % i for i in range(50)]


async def test_idempotent_batches_carry_producer_id_and_sequences(bootstrap, topic_name):
    async with Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "batch.size": 200}) as producer:
        futures = [await producer.send(topic_name, b"x" * 50) for _ in range(40)]
        await producer.flush()
        assert [(await f).offset for f in futures] == list(range(40))
        assert producer.sender.idempotence.producer_id >= 0


async def test_on_delivery_callbacks_report_each_record(bootstrap, topic_name):
    reports = []
    async with Producer({"bootstrap.servers": bootstrap}) as producer:
        for i in range(20):
            await producer.send(topic_name, b"%d" % i,
                                on_delivery=lambda err, md: reports.append((err, md.offset)))
        assert len(producer) > 0 or len(reports) == 20
    assert reports == [(None, i) for i in range(20)]


async def test_unknown_partition_fails_after_max_block_ms(bootstrap, topic_name):
    await create_topic(bootstrap, topic_name, 2)
    async with Producer({"bootstrap.servers": bootstrap, "max.block.ms": 300}) as producer:
        with trio.fail_after(5):
            with pytest.raises(KafkaError) as caught:
                await producer.send(topic_name, b"v", partition=7)
    assert caught.value.code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


def test_sync_producer_returns_concurrent_futures(bootstrap, topic_name):
    delivered = []
    with SyncProducer({"bootstrap.servers": bootstrap, "linger.ms": 20}) as producer:
        futures = [producer.produce(topic_name, b"s%d" % i, key=b"k",
                                    on_delivery=lambda err, md: delivered.append(md.offset))
                   for i in range(30)]
        assert producer.flush(timeout_ms=10_000) == 0
        assert [f.result(timeout=1).offset for f in futures] == list(range(30))
    assert sorted(delivered) == list(range(30))
    assert [r[3] for r in read_confluent(bootstrap, topic_name, 30, 1)] == [b"s%d" % i for i in range(30)]


def test_config_follows_kafkas_rules():
    assert ProducerConfig.from_dict({}).linger_ms == 5  # Kafka 4.0 (KIP-1030)
    assert not ProducerConfig.from_dict({"acks": 1}).enable_idempotence
    with pytest.raises(ValueError, match="acks"):
        ProducerConfig.from_dict({"acks": 1, "enable.idempotence": "true"})
    with pytest.raises(ValueError, match="No such configuration property"):
        ProducerConfig.from_dict({"lingerms": 1})
    with pytest.raises(ValueError, match="delivery.timeout.ms"):
        ProducerConfig.from_dict({"delivery.timeout.ms": 1000})

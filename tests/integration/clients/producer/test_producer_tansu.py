"""The bundled producer against Tansu, a Kafka-compatible broker that is not minikafka."""

import pytest

from minikafka_clients.partitioner import partition_for_key
from minikafka_clients.producer import Producer
from tests.integration.cli_brokers import TansuBroker

from .producer_readers import read_confluent


@pytest.fixture(scope="module")
def tansu():
    with TansuBroker() as broker:
        yield broker


@pytest.mark.slow
async def test_keyed_messages_read_back_by_confluent_kafka(tansu):
    sent = [(f"key-{i % 4}".encode(), f"value-{i}".encode()) for i in range(12)]
    async with Producer({"bootstrap.servers": tansu.bootstrap}) as producer:
        futures = [await producer.send("tansu-topic", value, key, headers=[("h", b"1")])
                   for key, value in sent]
        metadata = [await future for future in futures]
    num_partitions = max(m.partition for m in metadata) + 1
    assert all(m.partition == partition_for_key(key, num_partitions) or num_partitions == 1
               for m, (key, _) in zip(metadata, sent))
    records = read_confluent(tansu.bootstrap, "tansu-topic", len(sent), num_partitions, timeout_s=20)
    assert sorted((r[2], r[3]) for r in records) == sorted(sent)
    assert all(r[4] == [("h", b"1")] for r in records)

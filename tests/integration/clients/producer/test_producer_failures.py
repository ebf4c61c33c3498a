"""Retries, idempotence and timeouts against a real broker process that we pause (SIGSTOP)."""

import confluent_kafka
import pytest
import trio

from minikafka.errors import KafkaError
from minikafka_clients.producer import Producer
from .producer_readers import read_confluent
from tests.integration.harness import BrokerProcess


@pytest.fixture
def broker_process(tmp_path):
    with BrokerProcess(tmp_path / "data", num_partitions=1) as process:
        yield process


@pytest.mark.slow
async def test_idempotent_retries_write_each_record_once_in_order(broker_process):
    config = {"bootstrap.servers": broker_process.bootstrap, "request.timeout.ms": 800,
              "delivery.timeout.ms": 30_000, "linger.ms": 2, "batch.size": 2048}
    values = [b"%06d" % i for i in range(3000)]
    async with Producer(config) as producer:
        futures = []
        for i, value in enumerate(values):
            futures.append(await producer.send("chaos", value))
            if i == 1000:
                await futures[-1]  # the pipeline is full and flowing...
                broker_process.pause()  # ...when the broker freezes
            if i % 100 == 0:
                await trio.sleep(0.01)
            if i == 1500:
                await trio.sleep(2)  # requests time out, connections close, batches retry
                broker_process.resume()
        assert await producer.flush(timeout_ms=30_000) == 0
        offsets = [(await future).offset for future in futures]
        assert producer.sender.record_retry_total > 0
    assert offsets == list(range(len(values)))
    records = read_confluent(broker_process.bootstrap, "chaos", len(values), 1)
    assert [r[3] for r in records] == values  # no duplicate, no gap, same order
    assert high_watermark(broker_process.bootstrap, "chaos") == len(values)  # nothing after


def high_watermark(bootstrap: str, topic: str) -> int:
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": "hw"})
    try:
        return consumer.get_watermark_offsets(confluent_kafka.TopicPartition(topic, 0), timeout=10)[1]
    finally:
        consumer.close()


@pytest.mark.slow
async def test_flush_and_close_give_up_after_their_timeouts(broker_process):
    config = {"bootstrap.servers": broker_process.bootstrap, "linger.ms": 0}
    async with Producer(config) as producer:
        await (await producer.send("stuck", b"first"))  # topic known, connection open
        broker_process.pause()
        try:
            future = await producer.send("stuck", b"second")
            started = trio.current_time()
            assert await producer.flush(timeout_ms=300) == 1
            assert 0.25 < trio.current_time() - started < 2
            started = trio.current_time()
            await producer.close(timeout_ms=0)
            assert trio.current_time() - started < 1
            with pytest.raises(KafkaError, match="closed before delivery"):
                await future
        finally:
            broker_process.resume()

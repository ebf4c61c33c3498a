"""The bundled clients under a real broker's client quotas (KIP-219 throttling end to end).

The broker measures a client's byte rate over ``quota.window.num`` windows of
``quota.window.size.seconds`` (at least ``num - 1`` windows, so a new client
may burst that many seconds' worth of quota first). Two one-second windows keep
that burst short (two seconds' worth, then a pause), so a few seconds show
the steady state.
"""

from __future__ import annotations

import pytest
import trio

from minikafka.testing import bootstrap_servers, open_broker
from minikafka_clients import (Admin, ClientQuotaAlteration, ClientQuotaEntity, Consumer,
                               NewTopic, Producer)

QUOTA_BYTES_PER_S = 200_000
RECORD = bytes(2_000)
WARM_UP_S, MEASURE_S = 2.0, 4.0  # the burst, and its pause, are over after 2 s


@pytest.fixture
async def bootstrap(tmp_path):
    async with open_broker(tmp_path / "data", quota_window_num=2,
                           quota_window_size_seconds=1) as broker:
        yield bootstrap_servers(broker)


async def _set_quota(bootstrap: str, client_id: str, key: str, rate: float) -> None:
    entity = ClientQuotaEntity({ClientQuotaEntity.CLIENT_ID: client_id})
    async with Admin({"bootstrap.servers": bootstrap}) as admin:
        await admin.create_topics([NewTopic("quota", 1)])
        await admin.alter_client_quotas(
            [ClientQuotaAlteration(entity, [ClientQuotaAlteration.Op(key, rate)])])
        with trio.fail_after(5):  # the broker's image (and quota table) has it
            while entity not in await admin.describe_client_quotas():
                await trio.sleep(0.02)


async def _produce_flat_out(producer: Producer, seconds: float) -> list[tuple[float, int]]:
    """Send as fast as ``send()`` accepts; return (ack time, bytes) per acknowledged record."""
    acked: list[tuple[float, int]] = []
    with trio.move_on_after(seconds):
        while True:
            future = await producer.send("quota", RECORD, partition=0)
            future.add_done_callback(
                lambda f: acked.append((trio.current_time(), len(RECORD))) if not f.exception()
                else None)
    return acked


@pytest.mark.slow
async def test_a_producer_over_its_byte_rate_is_throttled_and_held_near_it(bootstrap):
    await _set_quota(bootstrap, "slow", "producer_byte_rate", QUOTA_BYTES_PER_S)
    config = {"bootstrap.servers": bootstrap, "client.id": "slow", "linger.ms": 5,
              "buffer.memory": 200_000, "acks": 1}
    async with Producer(config) as producer:
        start = trio.current_time()
        acked = await _produce_flat_out(producer, WARM_UP_S + MEASURE_S)
        metrics = producer.metrics()
        await producer.close(timeout_ms=0)  # what is still buffered fails: not measured
    assert metrics["produce-throttle-time-max"] > 0
    assert metrics["produce-throttle-time-avg"] > 0
    steady = sum(n for at, n in acked if at >= start + WARM_UP_S) / MEASURE_S
    # Throttling works in steps of whole requests and windows: a second may
    # see 0.7x or 1.3x the quota, four of them average close to it.
    assert 0.7 * QUOTA_BYTES_PER_S <= steady <= 1.3 * QUOTA_BYTES_PER_S, steady


async def test_a_producer_without_a_quota_is_not_throttled(bootstrap):
    await _set_quota(bootstrap, "slow", "producer_byte_rate", QUOTA_BYTES_PER_S)
    config = {"bootstrap.servers": bootstrap, "client.id": "fast", "linger.ms": 5, "acks": 1}
    async with Producer(config) as producer:
        for _ in range(200):  # 400 kB: twice the other client's quota per second
            await producer.send("quota", RECORD, partition=0)
        await producer.flush()
        assert producer.metrics()["produce-throttle-time-max"] == 0


@pytest.mark.slow
async def test_a_consumer_over_its_byte_rate_is_throttled_and_held_near_it(bootstrap):
    await _set_quota(bootstrap, "slow-reader", "consumer_byte_rate", QUOTA_BYTES_PER_S)
    async with Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": 1}) as producer:
        for _ in range(1_200):  # 2.4 MB: more than the consumer may read in the test
            await producer.send("quota", RECORD, partition=0)
        await producer.flush()
    # Smaller fetches than the cap (the quota for one window) make finer steps.
    config = {"bootstrap.servers": bootstrap, "client.id": "slow-reader",
              "max.partition.fetch.bytes": 65_536}
    received: list[tuple[float, int]] = []
    async with Consumer(config) as consumer:
        consumer.assign([("quota", 0)])
        consumer.seek(("quota", 0), 0)
        start = trio.current_time()
        with trio.move_on_after(WARM_UP_S + MEASURE_S):
            while True:
                for record in await consumer.poll(timeout=0.5):
                    received.append((trio.current_time(), len(record.value)))
        metrics = consumer.metrics()
    assert metrics["fetch-throttle-time-max"] > 0
    steady = sum(n for at, n in received if at >= start + WARM_UP_S) / MEASURE_S
    assert 0.7 * QUOTA_BYTES_PER_S <= steady <= 1.3 * QUOTA_BYTES_PER_S, steady

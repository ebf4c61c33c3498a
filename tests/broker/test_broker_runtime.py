"""The broker's runtime: failures stay on one connection, timers, restarts."""

from __future__ import annotations

import os
import time

import trio

from broker_rawclient import RawClient, batch, fetch_body, produce_body, values_of
from minikafka.errors import ErrorCode
from minikafka.testing import open_broker

PRODUCE, FETCH, API_VERSIONS, INIT_PRODUCER_ID = 0, 1, 18, 22
DAY_MS = 86_400_000


async def closed(client) -> bool:
    with trio.fail_after(5):
        return await client.receive_frame() is None


async def test_handler_bug_closes_only_that_connection(tmp_path, caplog):
    async with open_broker(tmp_path) as broker:
        async def broken(broker, request, ctx):
            raise RuntimeError("bug in a handler")

        broker.handlers[FETCH] = broken
        victim = await RawClient.connect(broker.bound_ports[0])
        other = await RawClient.connect(broker.bound_ports[0])
        await victim.send(FETCH, 12, fetch_body("t", 0, 0))
        assert await closed(victim)
        assert "bug in a handler" in caplog.text  # logged with its traceback
        response = await other.request(API_VERSIONS, 0, {})
        assert response.error_code == ErrorCode.NONE
        await other.aclose()


async def test_acks_zero_error_closes_the_connection(tmp_path):
    # Kafka's only way to tell an acks=0 producer that something failed.
    async with open_broker(tmp_path) as broker:
        client = await RawClient.connect(broker.bound_ports[0])
        await client.send(PRODUCE, 9, produce_body("missing", 0, batch([b"x"]), acks=0))
        assert await closed(client)


async def test_maintenance_applies_retention(tmp_path):
    wall_clock_ms = [int(time.time() * 1000)]
    async with open_broker(tmp_path, now_ms=lambda: wall_clock_ms[0],
                           log_retention_check_interval_ms=20) as broker:
        await broker.create_topic("old", 1, {})
        client = await RawClient.connect(broker.bound_ports[0])
        await client.request(PRODUCE, 9, produce_body("old", 0, batch([b"a", b"b"])))
        wall_clock_ms[0] += 10 * DAY_MS  # past segment.ms and retention.ms (7 days)
        with trio.fail_after(5):
            while broker.partition("old", 0).log_start_offset < 2:
                await trio.sleep(0.02)
        response = await client.request(FETCH, 12, fetch_body("old", 0, 0))
        assert response.responses[0].partitions[0].error_code == ErrorCode.OFFSET_OUT_OF_RANGE
        await client.aclose()


async def test_producer_state_survives_clean_restart(tmp_path):
    async with open_broker(tmp_path) as broker:
        await broker.create_topic("t", 1, {})
        client = await RawClient.connect(broker.bound_ports[0])
        init = await client.request(INIT_PRODUCER_ID, 4, {"transactional_id": None,
                                                          "transaction_timeout_ms": 1000})
        records = batch([b"once"], producer_id=init.producer_id,
                        producer_epoch=init.producer_epoch, base_sequence=0)
        await client.request(PRODUCE, 9, produce_body("t", 0, records))
        await client.aclose()
    assert any(name.endswith(".snapshot") for name in os.listdir(tmp_path / "t-0"))
    async with open_broker(tmp_path) as broker:
        client = await RawClient.connect(broker.bound_ports[0])
        retry = await client.request(PRODUCE, 9, produce_body("t", 0, records))
        part = retry.responses[0].partition_responses[0]
        assert (part.error_code, part.base_offset) == (ErrorCode.NONE, 0)
        response = await client.request(FETCH, 12, fetch_body("t", 0, 0))
        assert values_of(response.responses[0].partitions[0].records) == [b"once"]
        await client.aclose()


async def test_delete_and_grow_topics(tmp_path):
    async with open_broker(tmp_path) as broker:
        await broker.create_topic("t", 1, {})
        await broker.add_partitions("t", 3)
        assert broker.partition("t", 2).log_end_offset == 0
        await broker.delete_topic("t")
        assert "t" not in broker.topics.names()
        assert not os.path.exists(tmp_path / "t-0")


async def test_long_poll_uses_trio_clock(tmp_path, autojump_clock):
    # The handler is called directly (no client socket), and a virtual clock makes a
    # 30-second long poll instantaneous.
    from minikafka.handlers import RequestContext, fetch
    from minikafka.protocol import messages

    # The broker runs (its metadata quorum creates the topic) under the same clock.
    async with open_broker(tmp_path) as broker:
        await broker.create_topic("t", 1, {})
        message = messages.REQUESTS[FETCH]
        request = message.decode(message.encode(fetch_body("t", 0, 0, max_wait_ms=30_000), 12), 12)
        ctx = RequestContext(FETCH, 12, 1, "test", "in-memory", None)
        start = trio.current_time()
        response = await fetch.handle(broker.services, request, ctx)
        assert trio.current_time() - start == 30.0
        assert values_of(response["responses"][0]["partitions"][0]["records"]) == []

        async def append_later():
            await trio.sleep(5)
            broker.partition("t", 0).append_records(batch([b"late"]), broker.now_ms())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(append_later)
            start = trio.current_time()
            response = await fetch.handle(broker.services, request, ctx)
        assert trio.current_time() - start == 5.0
        assert values_of(response["responses"][0]["partitions"][0]["records"]) == [b"late"]

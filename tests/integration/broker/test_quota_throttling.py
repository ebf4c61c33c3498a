"""Client quotas over the wire (KIP-219): throttle_time_ms in responses, muted connections.

A broker runs in-process on real sockets; quotas are set with AlterClientQuotas
like an operator would. The client here never honours a throttle hint: it
pipelines or sends at once, so the gaps it sees come from the broker's
muted connection. Quota windows are 2 x 1 s so a rate is over its quota
within a second (Kafka's 11 x 1 s would need ten).
"""

from __future__ import annotations

import pytest
import trio

from minikafka.errors import ErrorCode
from minikafka.testing import open_broker

from .quota_wire import API_VERSIONS, METADATA, PRODUCE, WireClient, metadata_body, produce_body, set_client_quota

PRODUCE_VERSION = 9
RECORD_BYTES = 10_000
BYTE_RATE = 20_000.0  # two requests per second


@pytest.fixture
async def quota_broker(tmp_path):
    async with open_broker(tmp_path, quota_window_num=2, quota_window_size_seconds=1) as broker:
        await broker.create_topic("t", 1, {})
        yield broker


async def wait_until(condition, timeout_s: float = 5.0) -> None:
    with trio.fail_after(timeout_s):
        while not condition():
            await trio.sleep(0.01)


async def limit_producer(broker, client_id: str, rate: float) -> None:
    await set_client_quota(broker.bound_ports[0], {"client-id": client_id}, "producer_byte_rate", rate)
    await wait_until(lambda: broker.quotas.produce.quota("ANONYMOUS", client_id) == rate)


async def test_a_client_over_its_produce_quota_gets_throttle_time_and_a_muted_connection(quota_broker):
    await limit_producer(quota_broker, "greedy", BYTE_RATE)
    client = await WireClient.connect(quota_broker.bound_ports[0], "greedy")
    try:
        for _ in range(5):  # pipelined: the client does not wait for anything
            await client.send(PRODUCE, PRODUCE_VERSION, produce_body("t", RECORD_BYTES))
        arrivals = []
        for _ in range(5):
            response = await client.receive(PRODUCE, PRODUCE_VERSION)
            arrivals.append((trio.current_time(), response.throttle_time_ms))
            assert response.responses[0].partition_responses[0].error_code == ErrorCode.NONE
    finally:
        await client.aclose()
    throttled = [i for i, (_, throttle_ms) in enumerate(arrivals[:-1]) if throttle_ms > 0]
    assert throttled, f"never throttled: {arrivals}"
    for i in throttled:  # the next response waited for the mute, although it was sent long before
        (sent_at, throttle_ms), (next_at, _) = arrivals[i], arrivals[i + 1]
        assert next_at - sent_at >= 0.9 * throttle_ms / 1000, arrivals


async def test_a_client_without_a_quota_is_not_throttled(quota_broker):
    await limit_producer(quota_broker, "greedy", BYTE_RATE)
    client = await WireClient.connect(quota_broker.bound_ports[0], "polite")
    try:
        for _ in range(5):
            await client.send(PRODUCE, PRODUCE_VERSION, produce_body("t", RECORD_BYTES))
        throttles = [(await client.receive(PRODUCE, PRODUCE_VERSION)).throttle_time_ms for _ in range(5)]
    finally:
        await client.aclose()
    assert throttles == [0] * 5


async def test_acks_0_has_no_response_but_still_mutes_the_connection(quota_broker):
    await limit_producer(quota_broker, "greedy", BYTE_RATE)
    client = await WireClient.connect(quota_broker.bound_ports[0], "greedy")
    try:
        started = trio.current_time()
        for _ in range(4):  # 40 kB against 20 kB/s: throttled after the third
            await client.send(PRODUCE, PRODUCE_VERSION, produce_body("t", RECORD_BYTES, acks=0))
        await client.request(API_VERSIONS, 3, {"client_software_name": "wire", "client_software_version": "1"})
        elapsed = trio.current_time() - started
    finally:
        await client.aclose()
    # Third request: 30 kB in the 1 s window, 50% over: 500 ms of mute at least.
    assert elapsed >= 0.45, elapsed
    [metric] = [m for m in quota_broker.quotas.produce.client_metrics(int(quota_broker.monotonic_ms()))
                if m.client_id == "greedy"]
    assert metric.throttle_time_ms > 0


async def test_request_time_over_request_percentage_is_throttled(quota_broker):
    # 0.1% of one handler's time per second: 1 ms/s, some hundred Metadata requests.
    await set_client_quota(quota_broker.bound_ports[0], {"client-id": "busy"}, "request_percentage", 0.1)
    await wait_until(lambda: quota_broker.quotas.request.enabled)
    client = await WireClient.connect(quota_broker.bound_ports[0], "busy")
    try:
        for _ in range(2000):
            response = await client.request(METADATA, 12, metadata_body())
            if response.throttle_time_ms > 0:
                break
        throttle_ms = response.throttle_time_ms
        assert 0 < throttle_ms <= 1000  # Kafka caps a request throttle at one quota window
        before = trio.current_time()
        await client.request(METADATA, 12, metadata_body())  # sent at once: the broker holds it back
        assert trio.current_time() - before >= 0.9 * throttle_ms / 1000
    finally:
        await client.aclose()

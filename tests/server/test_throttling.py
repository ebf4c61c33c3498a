"""The server's side of quotas, without a broker: muting, throttle fields, task time, the gate.

A ``Connection`` runs over an in-memory stream with a stub broker whose only
handler is a fake ApiVersions, and Trio's ``MockClock`` (autojump) stands in
for time, so "muted for 250 ms" is checked exactly.
"""

from __future__ import annotations

import types

import pytest
import trio
import trio.testing

from minikafka.config import BrokerConfig
from minikafka.protocol import framing
from minikafka.quotas.broker_quotas import BrokerQuotas
from minikafka.quotas.connection import AcceptAction, ConnectionQuotas
from minikafka.server.connection import FIRST_THROTTLE_VERSION, Connection, is_follower_fetch
from minikafka.server.listener import ConnectionGate
from minikafka.server.task_time import task_times

API_VERSIONS = 18


class Clock:
    def monotonic_ms(self) -> float:
        return trio.current_time() * 1000


def stub_broker(tmp_path, handler, quotas=None):
    """What a ``Connection`` reads of its broker, with ``handler`` for ApiVersions."""
    return types.SimpleNamespace(
        node_id=1, config=BrokerConfig({"log.dirs": str(tmp_path)}), handlers={API_VERSIONS: handler},
        services=types.SimpleNamespace(quotas=quotas, clock=Clock()), caught_up=True)


def bandwidth_throttled(throttle_ms: int):
    """A handler that answers ApiVersions as a throttled Produce would: with a bandwidth throttle."""
    async def handle(services, request, ctx):
        ctx.throttle_time_ms = throttle_ms
        return {"error_code": 0, "api_keys": [], "throttle_time_ms": 0}
    return handle


async def exchange_pipelined(broker, version: int, count: int) -> list[tuple[float, object]]:
    """Send ``count`` ApiVersions at once; return (arrival time, response) of each."""
    client, server = trio.testing.memory_stream_pair()
    arrivals = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(Connection(broker, server, "peer:1").run)
        for correlation_id in range(count):
            await client.send_all(framing.encode_request(API_VERSIONS, version, correlation_id, "c", {}))
        reader = framing.FrameReader()
        while len(arrivals) < count:
            reader.receive_data(await client.receive_some())
            while (frame := reader.next_frame()) is not None:
                arrivals.append((trio.current_time(), framing.read_response(frame, API_VERSIONS, version)[1]))
        await client.aclose()
    return arrivals


@pytest.fixture
def autojump_clock():
    return trio.testing.MockClock(autojump_threshold=0)


async def test_a_throttled_response_goes_out_at_once_then_the_connection_is_muted(tmp_path, autojump_clock):
    broker = stub_broker(tmp_path, bandwidth_throttled(250), BrokerQuotas())
    started = trio.current_time()
    arrivals = await exchange_pipelined(broker, version=3, count=3)
    times = [at - started for at, _ in arrivals]
    assert [response.throttle_time_ms for _, response in arrivals] == [250, 250, 250]
    assert times[0] == pytest.approx(0, abs=0.001)  # sent before the mute, not after
    assert times[1] - times[0] == pytest.approx(0.25, abs=0.001)
    assert times[2] - times[1] == pytest.approx(0.25, abs=0.001)


async def test_a_version_without_throttle_time_is_muted_all_the_same(tmp_path, autojump_clock):
    assert FIRST_THROTTLE_VERSION[API_VERSIONS] == 1
    broker = stub_broker(tmp_path, bandwidth_throttled(100), BrokerQuotas())
    arrivals = await exchange_pipelined(broker, version=0, count=2)
    assert arrivals[1][0] - arrivals[0][0] == pytest.approx(0.1, abs=0.001)


async def test_without_quotas_nothing_is_muted(tmp_path, autojump_clock):
    async def handle(services, request, ctx):
        return {"error_code": 0, "api_keys": [], "throttle_time_ms": 0}
    arrivals = await exchange_pipelined(stub_broker(tmp_path, handle), version=3, count=3)
    assert arrivals[2][0] - arrivals[0][0] == 0


async def test_the_larger_of_a_response_throttle_and_the_bandwidth_throttle_wins(tmp_path, autojump_clock):
    async def forwarded(services, request, ctx):  # a controller's answer carries its own throttle
        ctx.throttle_time_ms = 40
        return {"error_code": 0, "api_keys": [], "throttle_time_ms": 90}
    arrivals = await exchange_pipelined(stub_broker(tmp_path, forwarded, BrokerQuotas()), version=3, count=2)
    assert arrivals[0][1].throttle_time_ms == 90
    assert arrivals[1][0] - arrivals[0][0] == pytest.approx(0.09, abs=0.001)


def test_throttle_time_versions_are_kafkas():
    assert FIRST_THROTTLE_VERSION[0] == 1  # Produce
    assert FIRST_THROTTLE_VERSION[1] == 1  # Fetch
    assert FIRST_THROTTLE_VERSION[3] == 3  # Metadata
    assert 27 not in FIRST_THROTTLE_VERSION  # WriteTxnMarkers has none


def test_a_follower_fetch_is_told_by_its_replica_id():
    assert is_follower_fetch(types.SimpleNamespace(replica_id=2, replica_state=None))
    assert not is_follower_fetch(types.SimpleNamespace(replica_id=-1, replica_state=None))
    assert is_follower_fetch(types.SimpleNamespace(replica_id=-1, replica_state=types.SimpleNamespace(replica_id=3)))


# -- task time: what the request quota charges --------------------------------------------


async def test_task_time_counts_running_not_waiting():
    timer = task_times()
    timer.start()
    await trio.sleep(0.2)  # parked: not running
    waited = timer.stop()
    timer.start()
    deadline = trio.current_time() + 0.03
    while trio.current_time() < deadline:  # running
        pass
    await trio.lowlevel.checkpoint()
    busy = timer.stop()
    assert waited < 0.02e9
    assert busy >= 0.025e9


async def test_task_time_ignores_other_tasks_running_meanwhile():
    async def busy_elsewhere():
        deadline = trio.current_time() + 0.05
        while trio.current_time() < deadline:
            pass
    timer = task_times()
    async with trio.open_nursery() as nursery:
        timer.start()
        nursery.start_soon(busy_elsewhere)
        await trio.sleep(0.1)
        measured = timer.stop()
    assert measured < 0.02e9


# -- the connection gate ------------------------------------------------------------------


async def test_the_gate_waits_for_a_slot_under_max_connections(autojump_clock):
    gate = ConnectionGate(ConnectionQuotas(max_connections=1), Clock().monotonic_ms)
    assert (await gate.admit("10.0.0.1")).action is AcceptAction.ACCEPT
    admitted = []

    async def second():
        admitted.append((await gate.admit("10.0.0.2")).action)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(second)
        await trio.sleep(10)
        assert admitted == []
        gate.release("10.0.0.1")
    assert admitted == [AcceptAction.ACCEPT]


async def test_the_gate_wakes_waiters_when_the_limit_is_raised(autojump_clock):
    quotas = ConnectionQuotas(max_connections=1)
    gate = ConnectionGate(quotas, Clock().monotonic_ms)
    await gate.admit("10.0.0.1")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(gate.admit, "10.0.0.2")
        await trio.sleep(1)
        quotas.update(max_connections=2)
        gate.limits_changed()
    assert quotas.connection_count() == 2


async def test_the_gate_delays_accepts_over_the_creation_rate(autojump_clock):
    gate = ConnectionGate(ConnectionQuotas(max_connection_creation_rate=5, num_samples=2, window_ms=1000),
                          Clock().monotonic_ms)
    started = trio.current_time()
    for i in range(10):
        assert (await gate.admit(f"10.0.0.{i}")).action is AcceptAction.ACCEPT
    assert trio.current_time() - started >= 0.9  # 10 connections at 5/s: about a second

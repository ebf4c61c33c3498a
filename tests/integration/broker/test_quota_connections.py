"""Connection quotas on a real listener: max.connections.per.ip closes, max.connections waits."""

from __future__ import annotations

import logging

import trio

from minikafka.metadata.image import BROKER_RESOURCE
from minikafka.testing import open_broker

from .quota_wire import API_VERSIONS, WireClient, set_client_quota

API_VERSIONS_BODY = {"client_software_name": "wire", "client_software_version": "1"}


async def is_served(client: WireClient, timeout_s: float = 5.0) -> bool:
    """Whether the broker answers an ApiVersions (False: it closed the connection)."""
    try:
        await client.send(API_VERSIONS, 3, API_VERSIONS_BODY)
    except trio.BrokenResourceError:  # already reset by the broker
        return False
    with trio.fail_after(timeout_s):
        return await client.receive_frame() is not None


async def open_clients(port: int, count: int) -> list[WireClient]:
    return [await WireClient.connect(port) for _ in range(count)]


async def close_all(clients) -> None:
    for client in clients:
        await client.aclose()


async def test_max_connections_per_ip_closes_the_extra_connection_with_a_log_line(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="minikafka.server")
    async with open_broker(tmp_path, max_connections_per_ip=2) as broker:
        clients = await open_clients(broker.bound_ports[0], 3)
        try:
            assert [await is_served(c) for c in clients] == [True, True, False]
            assert "refusing the connection from 127.0.0.1" in caplog.text
            assert "Too many connections from 127.0.0.1 (maximum = 2)" in caplog.text
            await clients[0].aclose()  # its slot comes back once the broker sees the close
            with trio.fail_after(5):
                while True:
                    again = await WireClient.connect(broker.bound_ports[0])
                    clients.append(again)
                    if await is_served(again):
                        break
                    await trio.sleep(0.05)
        finally:
            await close_all(clients[1:])


async def test_a_dynamic_per_ip_limit_applies_to_new_connections(tmp_path):
    async with open_broker(tmp_path) as broker:
        first = await WireClient.connect(broker.bound_ports[0])
        clients = [first]
        try:
            assert await is_served(first)
            await broker.set_resource_configs(BROKER_RESOURCE, "", {"max.connections.per.ip": "1"})
            second = await WireClient.connect(broker.bound_ports[0])
            clients.append(second)
            assert not await is_served(second)
            assert await is_served(first)  # existing connections stay
        finally:
            await close_all(clients)


async def test_max_connections_makes_a_new_connection_wait_for_a_slot(tmp_path):
    async with open_broker(tmp_path, max_connections=1) as broker:
        first, second = await open_clients(broker.bound_ports[0], 2)
        try:
            assert await is_served(first)
            await second.send(API_VERSIONS, 3, API_VERSIONS_BODY)
            with trio.move_on_after(0.5):
                await second.receive_frame()
                raise AssertionError("the second connection was served while the first held the only slot")
            await first.aclose()
            with trio.fail_after(5):
                assert await second.receive_frame() is not None  # accepted once the slot was free
        finally:
            await second.aclose()


async def test_an_ip_over_its_connection_creation_rate_is_closed_after_the_throttle_time(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="minikafka.server")
    async with open_broker(tmp_path, quota_window_num=2, quota_window_size_seconds=1) as broker:
        port = broker.bound_ports[0]
        await set_client_quota(port, {"ip": "127.0.0.1"}, "connection_creation_rate", 2.0)
        with trio.fail_after(5):
            while broker.quotas.table.ip_limit("127.0.0.1") != 2.0:
                await trio.sleep(0.01)
        clients = await open_clients(port, 4)  # within a second: the third is one too many
        try:
            started = trio.current_time()
            assert [await is_served(c) for c in clients] == [True, True, False, False]
            assert trio.current_time() - started >= 0.4  # not closed at once: after the throttle time
            assert "throttling the connection from 127.0.0.1" in caplog.text
        finally:
            await close_all(clients)

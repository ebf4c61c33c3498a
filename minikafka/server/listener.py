"""Listeners: accept client connections and give each its own task.

The ``listeners`` setting is Kafka's: a comma-separated list of
``NAME://host:port`` (``PLAINTEXT://127.0.0.1:9092``). An empty host binds
every interface; port 0 lets the kernel choose, and the port actually bound is
reported back so tests can connect to it. Only PLAINTEXT is spoken.

Each connection knows the name of the listener that accepted it: on a
listener named in ``controller.listener.names`` a few admin APIs are the
controller's (:mod:`minikafka.handlers.controller_apis`).

Each accepted connection runs in its own task (``Connection.run``), which
catches its own errors: one client's failure never reaches the listener or
the broker.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

import trio

from minikafka.metadata.records import Endpoint
from minikafka.server.connection import Connection, ServedBroker
from minikafka.server.network import bound_port

log = logging.getLogger("minikafka.server")

OpenListeners = Callable[[str | None, int], Awaitable[list[trio.abc.Listener]]]
"""``open_listeners(host, port)`` of the broker's network seam (``TcpNetwork``)."""


def parse_endpoints(value) -> list[Endpoint]:
    """Parse a ``listeners``-style value (a string or a list of strings)."""
    if not value:
        return []
    entries = value.split(",") if isinstance(value, str) else list(value)
    endpoints = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        name, sep, address = entry.partition("://")
        host, colon, port = address.rpartition(":")
        if not sep or not colon or not port.isdigit():
            raise ValueError(f"not a listener (NAME://host:port): {entry!r}")
        endpoints.append(Endpoint(name.upper(), host.strip("[]"), int(port)))
    return endpoints


def peer_name(stream: trio.abc.Stream) -> str:
    """``"host:port"`` of the other end, or a placeholder for in-memory streams."""
    try:
        host, port = stream.socket.getpeername()[:2]
    except (AttributeError, OSError):
        return "unknown"
    return f"{host}:{port}"


async def serve_endpoints(broker: ServedBroker, open_listeners: OpenListeners, endpoints: list[Endpoint], *,
                          task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Listen on every endpoint and serve connections until cancelled.

    Calls ``task_status.started(ports)`` with the bound port of each endpoint,
    in the order given, once all are listening.

    Args:
        broker: the broker each connection serves.
        open_listeners: ``open_listeners(host, port)``, the network seam's
            (``server.network``) way to listen.
        endpoints: the parsed ``listeners`` setting.
    """
    bound, ports = [], []
    for endpoint in endpoints:
        listeners = await open_listeners(endpoint.host, endpoint.port)
        ports.append(bound_port(listeners[0]))
        bound.append((endpoint.name, listeners))
        log.info("broker %s: listening on %s (port %d)", broker.node_id, endpoint, ports[-1])

    def handler_for(listener_name: str):
        async def handle(stream: trio.abc.Stream) -> None:
            await Connection(broker, stream, peer_name(stream), listener_name).run()
        return handle

    async with trio.open_nursery() as nursery:
        for listener_name, listeners in bound:
            await nursery.start(trio.serve_listeners, handler_for(listener_name), listeners)
        task_status.started(ports)

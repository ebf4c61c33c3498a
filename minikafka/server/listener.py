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

Connection quotas (Kafka's ``ConnectionQuotas``, KIP-402 and KIP-612): each
listener has one accept loop (Kafka's ``Acceptor``), and every socket it
accepts passes the broker's ``ConnectionGate`` before it is served:

- ``max.connection.creation.rate``: above the rate the accept loop *sleeps*
  the throttle time before it goes on, so connections arrive more slowly;
- ``max.connections``: while the broker holds that many, the accept loop
  *waits for a slot* (a connection closing, or a larger limit);
- an IP's ``connection_creation_rate`` quota: the socket is closed after the
  throttle time (it is not served, and the client does not come back at once);
- ``max.connections.per.ip`` (and its overrides): the socket is closed at once.

Each refused or throttled socket gets a log line. As in Kafka, the
inter-broker listener is *protected* when the broker has several client
listeners (it skips the broker-wide limits); connections to a controller
listener are not counted (Kafka's controller has its own socket server).
Lowering ``max.connections`` below the current count does not close
connections here (Kafka closes the least recently used ones): new ones wait.
"""

from __future__ import annotations

import errno
import logging
from typing import Awaitable, Callable

import trio

from minikafka.metadata.records import Endpoint
from minikafka.quotas.connection import AcceptAction, AcceptDecision, ConnectionQuotas
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
    host_port = peer_address(stream)
    return "unknown" if host_port is None else f"{host_port[0]}:{host_port[1]}"


def peer_address(stream: trio.abc.Stream) -> tuple[str, int] | None:
    """``(ip, port)`` of the other end; None for a stream without a socket."""
    try:
        host, port = stream.socket.getpeername()[:2]
    except (AttributeError, OSError):
        return None
    return host, port


class ConnectionGate:
    """The Trio side of the broker's ``ConnectionQuotas``: sleeps, waits for slots.

    Shared by the broker's listeners; its accept loops call ``admit`` one
    socket at a time, connection tasks call ``release`` as they end, and the
    broker calls ``limits_changed`` after a dynamic config change so that
    waiting accept loops look again.

    Args:
        quotas: the broker's ``ConnectionQuotas`` (sans-I/O: counts, rates, limits).
        now_ms: the clock of the rates (the broker's monotonic clock).
    """

    def __init__(self, quotas: ConnectionQuotas, now_ms: Callable[[], float]):
        self.quotas = quotas
        self._now_ms = now_ms
        self._slot_freed = trio.lowlevel.ParkingLot()

    async def admit(self, ip: str, protected: bool = False) -> AcceptDecision:
        """Decide on a socket from ``ip``; returns once it is ACCEPT, REFUSE or THROTTLE.

        Sleeps while the broker-wide creation rate is exceeded and waits
        while ``max.connections`` are open. ACCEPT counts the connection:
        the caller owes a ``release(ip)``.
        """
        decision = self.quotas.on_accept(ip, self._now(), protected)
        while decision.action is AcceptAction.WAIT:
            if decision.delay_ms > 0:
                log.debug("delaying the accept of a connection from %s by %d ms (%s)",
                          ip, decision.delay_ms, decision.reason)
                await trio.sleep(decision.delay_ms / 1000)
            while not protected and not self.quotas.slot_available():
                await self._slot_freed.park()
            decision = self.quotas.admit(ip, self._now(), protected)
        return decision

    def release(self, ip: str) -> None:
        """An accepted connection from ``ip`` closed: free its slot, wake a waiting accept loop."""
        self.quotas.on_close(ip)
        self._slot_freed.unpark_all()

    def limits_changed(self) -> None:
        """The connection limits changed: waiting accept loops check again."""
        self._slot_freed.unpark_all()

    def _now(self) -> int:
        return int(self._now_ms())


# accept() errors that mean "out of file descriptors or memory for now": retry later.
_ACCEPT_CAPACITY_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}
_ACCEPT_RETRY_S = 0.1


async def serve_endpoints(broker: ServedBroker, open_listeners: OpenListeners, endpoints: list[Endpoint], *,
                          gate: ConnectionGate | None = None, task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Listen on every endpoint and serve connections until cancelled.

    Calls ``task_status.started(ports)`` with the bound port of each endpoint,
    in the order given, once all are listening.

    Args:
        broker: the broker each connection serves.
        open_listeners: ``open_listeners(host, port)``, the network seam's
            (``server.network``) way to listen.
        endpoints: the parsed ``listeners`` setting.
        gate: the broker's connection quotas; None: every connection is taken.
    """
    bound, ports = [], []
    for endpoint in endpoints:
        listeners = await open_listeners(endpoint.host, endpoint.port)
        ports.append(bound_port(listeners[0]))
        bound.append((endpoint.name, listeners))
        log.info("broker %s: listening on %s (port %d)", broker.node_id, endpoint, ports[-1])
    controller_names = broker.config["controller.listener.names"]
    client_names = [e.name for e in endpoints if e.name not in controller_names]
    inter_broker = broker.config.get("inter.broker.listener.name") or (client_names[0] if client_names else None)

    async with trio.open_nursery() as nursery:
        for listener_name, listeners in bound:
            listener_gate = None if listener_name in controller_names else gate
            protected = listener_name == inter_broker and len(client_names) > 1
            for listener in listeners:
                nursery.start_soon(_accept_loop, broker, listener, listener_name, listener_gate, protected)
        task_status.started(ports)


async def _accept_loop(broker: ServedBroker, listener: trio.abc.Listener, listener_name: str,
                       gate: ConnectionGate | None, protected: bool) -> None:
    """Accept sockets one at a time (Kafka's ``Acceptor``); serve each in its own task.

    The loop itself waits when the gate says so: while it waits, no socket
    of this listener is accepted (they queue in the kernel's backlog).
    """
    async with listener, trio.open_nursery() as connections:  # the listener closes as the loop ends
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                if exc.errno not in _ACCEPT_CAPACITY_ERRNOS:
                    raise
                log.error("broker %s: accept failed (%s), retrying", broker.node_id, exc)
                await trio.sleep(_ACCEPT_RETRY_S)
                continue
            address = peer_address(stream)
            if gate is None or address is None:
                connections.start_soon(_serve, broker, stream, listener_name, None, None)
                continue
            ip = address[0]
            decision = await gate.admit(ip, protected)
            if decision.action is AcceptAction.ACCEPT:
                connections.start_soon(_serve, broker, stream, listener_name, gate, ip)
            elif decision.action is AcceptAction.THROTTLE:
                log.info("broker %s: throttling the connection from %s:%d for %d ms (%s), then closing it",
                         broker.node_id, ip, address[1], decision.delay_ms, decision.reason)
                connections.start_soon(_close_after, stream, decision.delay_ms)
            else:
                log.info("broker %s: refusing the connection from %s:%d: %s",
                         broker.node_id, ip, address[1], decision.reason)
                await trio.aclose_forcefully(stream)


async def _serve(broker: ServedBroker, stream: trio.abc.Stream, listener_name: str,
                 gate: ConnectionGate | None, ip: str | None) -> None:
    """Serve one accepted connection; free its slot when it ends."""
    try:
        await Connection(broker, stream, peer_name(stream), listener_name).run()
    finally:
        if gate is not None:
            gate.release(ip)


async def _close_after(stream: trio.abc.Stream, delay_ms: int) -> None:
    """Close a throttled socket after its throttle time (Kafka's throttled sockets)."""
    try:
        await trio.sleep(delay_ms / 1000)
    finally:
        await trio.aclose_forcefully(stream)

"""Front proxies: controllable TCP forwarders that cut or slow chosen links.

Why proxies (and not network namespaces): a namespace per broker with veth
pairs and ``tc netem`` is the most faithful network, but it needs root (and
Linux), every client would have to enter the namespaces, and a crashed test
leaves interfaces behind. A proxy needs nothing: it runs inside the supervisor,
on 127.0.0.1, and dies with it.

Topology. Every broker listens on hidden ports; the supervisor puts one
``FrontProxy`` in front of each of them (see ``minikafka.chaos.layout``). All
traffic to broker B, whoever sends it, goes through B's front proxies: B's
client port is its ``advertised.listeners`` address (so replica fetches from
peers, which use the leader's advertised address, pass through it too) and its
controller port is its entry in ``controller.quorum.voters``.

A link is ``(source, destination)``: ``source`` is a node id, or ``CLIENT``
for anything that is not a broker. A front proxy learns the source of each
accepted connection by asking which broker process owns the other end
(``minikafka.chaos.socket_owner``, Linux ``/proc``). Per-ordered-pair proxy
ports would avoid that lookup for the quorum, but not for replication: a
broker has one advertised address, so every peer reaches its PLAINTEXT
listener at the same port, and only the source process tells the links apart.

``LinkRules`` holds the faults, and every connection consults it:

- **cut**: the connection becomes a black hole. Bytes are read and dropped in
  both directions and the sockets stay open, as in a real partition where
  packets vanish and nobody gets a reset: the peers find out only through their
  own timeouts (``replica.lag.time.max.ms``, the Raft fetch timeout,
  ``request.timeout.ms``). A connection accepted while its link is cut is a
  black hole from the start.
- **heal**: black-holed connections are closed, since their byte streams lost
  data and cannot resume; the peers reconnect, as after a real TCP timeout.
- **slow**: every chunk is held ``delay_ms`` before it is forwarded (both
  directions), keeping order.

If the broker behind a proxy is down, the accepted connection is closed at
once: the client sees the connection end, as with a refused connection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio

CLIENT = 0  # the source of connections not made by a broker (node ids start at 1)
CHUNK_BYTES = 256 * 1024
QUEUED_CHUNKS = 64  # per direction: backpressure once this much is delayed

log = logging.getLogger("minikafka.chaos.proxy")


class LinkRules:
    """The faults on each link ``(source, destination)``.

    Owned by the supervisor's Trio run; read by every proxied connection.
    """

    def __init__(self):
        self.cut: set[tuple[int, int]] = set()
        self.delay_ms: dict[tuple[int, int], float] = {}
        self.connections: set["ProxiedConnection"] = set()

    def cut_link(self, source: int, destination: int) -> None:
        """Black-hole the link's open connections and the ones that follow."""
        self.cut.add((source, destination))
        for connection in list(self.connections):
            if connection.link == (source, destination):
                connection.blackholed = True

    def heal_link(self, source: int, destination: int) -> None:
        """Let the link carry traffic again; close its black-holed connections."""
        self.cut.discard((source, destination))
        for connection in list(self.connections):
            if connection.link == (source, destination) and connection.blackholed:
                connection.close()

    def set_delay(self, source: int, destination: int, delay_ms: float) -> None:
        """Hold every chunk on the link ``delay_ms`` (0 removes the delay)."""
        if delay_ms > 0:
            self.delay_ms[(source, destination)] = delay_ms
        else:
            self.delay_ms.pop((source, destination), None)

    def is_cut(self, link: tuple[int, int]) -> bool:
        return link in self.cut

    def delay_s(self, link: tuple[int, int]) -> float:
        return self.delay_ms.get(link, 0) / 1000

    def describe(self) -> dict:
        """The faults as plain data (for ``cluster status`` and the state file)."""
        return {"cut": sorted(list(link) for link in self.cut),
                "slow": sorted([s, d, ms] for (s, d), ms in self.delay_ms.items())}


class ProxiedConnection:
    """One accepted connection and its upstream: two pumps, one per direction."""

    def __init__(self, link: tuple[int, int], rules: LinkRules):
        self.link = link
        self.rules = rules
        self.blackholed = rules.is_cut(link)
        self.cancel_scope = trio.CancelScope()

    def close(self) -> None:
        self.cancel_scope.cancel()

    async def run(self, downstream: trio.SocketStream, target_port: int, host: str) -> None:
        """Forward until either side closes or the connection is closed."""
        self.rules.connections.add(self)
        try:
            with self.cancel_scope:
                if self.blackholed:
                    await self._drain(downstream)  # never connect: nothing may pass
                    return
                try:
                    upstream = await trio.open_tcp_stream(host, target_port)
                except OSError:
                    return  # the broker is down: end the client's connection
                async with upstream, trio.open_nursery() as nursery:
                    nursery.start_soon(self._pump, downstream, upstream, nursery.cancel_scope)
                    nursery.start_soon(self._pump, upstream, downstream, nursery.cancel_scope)
        finally:
            self.rules.connections.discard(self)
            await trio.aclose_forcefully(downstream)

    async def _drain(self, stream: trio.SocketStream) -> None:
        while await _receive(stream):
            pass

    async def _pump(self, source: trio.SocketStream, sink: trio.SocketStream,
                    done: trio.CancelScope) -> None:
        """Copy ``source`` to ``sink``; chunks wait out the link's delay in a queue."""
        send_channel, receive_channel = trio.open_memory_channel(QUEUED_CHUNKS)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._deliver, receive_channel, sink)
            async with send_channel:
                while data := await _receive(source):
                    if not self.blackholed:  # a cut link drops bytes in flight
                        due = trio.current_time() + self.rules.delay_s(self.link)
                        try:
                            await send_channel.send((due, data))
                        except trio.BrokenResourceError:
                            break  # the sink is gone
        done.cancel()  # one side closed: close the other, as a TCP proxy does

    async def _deliver(self, receive_channel, sink: trio.SocketStream) -> None:
        async with receive_channel:
            async for due, data in receive_channel:
                await trio.sleep_until(due)
                if self.blackholed:
                    continue
                try:
                    await sink.send_all(data)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return


async def _receive(stream: trio.SocketStream) -> bytes:
    """The next chunk, or b"" at end of stream or on a broken connection."""
    try:
        return await stream.receive_some(CHUNK_BYTES)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        return b""


class FrontProxy:
    """Forwards ``listen_port`` to ``target_port`` (both on ``host``) for one broker.

    Args:
        name: for logs (``"broker 2 PLAINTEXT"``).
        destination: the node id of the broker behind the proxy.
        identify: ``identify(peer_port, listen_port) -> source`` (a node id or
            ``CLIENT``); called once per accepted connection.
    """

    def __init__(self, name: str, host: str, listen_port: int, target_port: int,
                 destination: int, rules: LinkRules,
                 identify: Callable[[int, int], int] = lambda peer_port, listen_port: CLIENT):
        self.name = name
        self.host = host
        self.listen_port = listen_port
        self.target_port = target_port
        self.destination = destination
        self.rules = rules
        self.identify = identify

    async def serve(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Accept and forward forever; ``task_status.started()`` once bound."""
        listeners = await trio.open_tcp_listeners(self.listen_port, host=self.host)
        if self.listen_port == 0:
            self.listen_port = listeners[0].socket.getsockname()[1]
        task_status.started(self.listen_port)
        await trio.serve_listeners(self._handle, listeners)

    async def _handle(self, stream: trio.SocketStream) -> None:
        peer_port = stream.socket.getpeername()[1]
        source = self.identify(peer_port, self.listen_port)
        connection = ProxiedConnection((source, self.destination), self.rules)
        log.debug("%s: connection from %s", self.name, "client" if source == CLIENT else f"broker {source}")
        await connection.run(stream, self.target_port, self.host)

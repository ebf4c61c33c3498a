"""The one seam between the broker and the network.

Everything the broker does with sockets goes through a ``Network`` object:
open listeners for a ``host:port`` and open an outgoing stream. Production
uses ``TcpNetwork`` (real TCP through Trio); a test or the cluster simulator
can pass another object with the same two methods (for example one built on
``trio.testing.memory_stream_pair``) to run brokers without sockets, or to cut
and delay links on purpose.

Streams are Trio ``Stream`` objects (``receive_some``, ``send_all``,
``aclose``); listeners are Trio ``Listener`` objects (``accept``, ``aclose``).
"""

from __future__ import annotations

import socket

import trio


class TcpNetwork:
    """Real TCP through Trio. Stateless: one instance may serve many brokers."""

    async def open_listeners(self, host: str | None, port: int) -> list[trio.abc.Listener]:
        """Bind and listen on ``host:port``; port 0 picks a free port.

        Args:
            host: the address to bind; ``None`` or ``""`` means every interface.
            port: the TCP port, or 0 for one chosen by the kernel.
        """
        listeners = await trio.open_tcp_listeners(port, host=host or None)
        for listener in listeners:
            # Produce requests are large and fetch responses larger: bigger
            # kernel buffers mean fewer trips through the event loop.
            listener.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        return listeners

    async def open_stream(self, host: str, port: int) -> trio.abc.Stream:
        """Connect to ``host:port`` (for clients, tests and, later, replication)."""
        return await trio.open_tcp_stream(host, port)


def bound_port(listener: trio.abc.Listener) -> int:
    """The port a listener actually bound (useful after asking for port 0)."""
    sock = getattr(listener, "socket", None)
    if sock is None:  # an in-memory listener says its port itself
        return listener.port
    return sock.getsockname()[1]

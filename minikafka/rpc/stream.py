"""Kafka frames over a Trio stream: the I/O half of ``protocol.framing``.

``protocol.framing.FrameReader`` splits bytes into frames and never touches
a socket; :func:`receive_frame` is the loop that feeds it from a Trio
stream. Every reader of frames in the project uses this one loop: a
broker's client connections (``server/connection.py``), the inter-broker
client (:mod:`minikafka.rpc.client`) and the bundled clients.

How bytes are read (the copies matter: a produce request or a replica fetch
answer can be megabytes):

- While the next frame's size is unknown, ``receive_some(receive_bytes)``:
  one read may bring many small pipelined frames, each handed out as a
  slice of the bytes read, with no copy.
- Once the size of an incomplete frame is known, and the stream is a
  socket, the rest of the frame is read with ``recv_into`` straight into a
  buffer of exactly the frame's size (``FrameReader.receive_buffer``): no
  read ever crosses the end of the frame, and nothing is joined or copied.
  An in-memory test stream (no socket) gets ``receive_some`` of the bytes
  still missing instead.
"""

from __future__ import annotations

import trio

from minikafka.protocol.framing import SIZE_PREFIX_BYTES, FrameReader

RECEIVE_BYTES = 256 * 1024  # one read when the next frame's size is unknown
MAX_RECEIVE_BYTES = 1024 * 1024  # cap: receive_some() allocates this much up front
EXACT = SIZE_PREFIX_BYTES  # receive_bytes that never reads past the frame in progress


async def receive_frame(stream: trio.abc.Stream, reader: FrameReader, *,
                        receive_bytes: int = RECEIVE_BYTES) -> memoryview | None:
    """The next whole frame of ``stream`` (size prefix removed), or None at its end.

    Bytes received past the frame stay in ``reader`` for the next call, so
    a connection keeps one reader for its lifetime.

    Args:
        stream: the connection; a ``trio.SocketStream`` is read with
            ``recv_into`` where that saves copies.
        reader: the connection's frame reader (it holds the size limit).
        receive_bytes: how much one read may ask for while the next frame's
            size is unknown. :data:`EXACT` reads the size prefix alone, so
            nothing after the frame is consumed (one request, one answer).

    Returns:
        The frame, or None if the peer closed the stream (a frame it left
        unfinished is dropped).

    Raises:
        FramingError: the size prefix is negative or above the limit.
        trio.BrokenResourceError, trio.ClosedResourceError: the stream failed.
    """
    while (frame := reader.next_frame()) is None:
        sock = getattr(stream, "socket", None)  # None: an in-memory test stream
        buffer = reader.receive_buffer() if sock is not None else None
        if buffer is not None:
            try:
                count = await sock.recv_into(buffer)
            except OSError as exc:
                # What SocketStream.receive_some raises for the same failure.
                raise trio.BrokenResourceError(f"receiving failed: {exc!r}") from exc
            if count == 0:
                return None
            reader.received_into(count)
            continue
        # Ask for what the frame in progress lacks, so a read ends where it ends.
        wanted = reader.bytes_missing() or max(receive_bytes - reader.buffered_bytes, 1)
        data = await stream.receive_some(min(wanted, MAX_RECEIVE_BYTES))
        if not data:
            return None
        reader.receive_data(data)
    return frame

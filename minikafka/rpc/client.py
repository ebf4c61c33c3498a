"""One request, one response, on a stream to another broker.

Brokers talk to each other with the same framed Kafka requests clients send:
the Raft RPCs between voters (``quorum/runtime.py``), the controller calls a
broker forwards to the active controller (``metadata/broker_lifecycle.py``)
and a follower's Fetch from its leader (``replication/fetcher.py``). Each
sends a request on a stream it owns and waits for its answer before the
next one, so no pipelining bookkeeping is needed: the answer must carry the
correlation id just sent.

Receiving: one answer can be a megabyte of records (a replica fetch). Its
size prefix says how long it is, so the body is read straight into one
buffer of exactly that size (``recv_into``, no joining of pieces, no
copies); the decoded ``records`` are slices of that buffer.
"""

from __future__ import annotations

import trio

from minikafka.protocol import framing
from minikafka.protocol.codec import DecodeError, Struct

SIZE_PREFIX_BYTES = 4
MAX_RESPONSE_BYTES = 1 << 30  # a size above this is garbage, not an answer


async def exchange(stream: trio.abc.Stream, api_key: int, version: int, correlation_id: int,
                   client_id: str, body) -> Struct:
    """Send one request frame on ``stream`` and return its decoded response body.

    Raises:
        trio.BrokenResourceError: the peer closed the connection first.
        DecodeError: the answer is malformed or answers another request.
    """
    await stream.send_all(framing.encode_request(api_key, version, correlation_id, client_id, body))
    size = int.from_bytes(await receive_exactly(stream, SIZE_PREFIX_BYTES), "big", signed=True)
    if not 0 <= size <= MAX_RESPONSE_BYTES:
        raise DecodeError(f"response size {size} is not a plausible frame size")
    got_id, response = framing.read_response(await receive_exactly(stream, size), api_key, version)
    if got_id != correlation_id:
        raise DecodeError(f"correlation id {got_id}, expected {correlation_id}")
    return response


async def receive_exactly(stream: trio.abc.Stream, size: int) -> memoryview:
    """The next ``size`` bytes of ``stream``, in one buffer.

    Raises:
        trio.BrokenResourceError: the stream ended first.
    """
    view = memoryview(bytearray(size))
    sock = getattr(stream, "socket", None)  # None: an in-memory test stream
    received = 0
    while received < size:
        if sock is not None:
            count = await sock.recv_into(view[received:])
        else:
            data = await stream.receive_some(size - received)
            count = len(data)
            view[received:received + count] = data
        if count == 0:
            raise trio.BrokenResourceError("the peer closed the connection")
        received += count
    return view

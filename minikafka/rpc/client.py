"""One request, one response, on a stream to another broker.

Brokers talk to each other with the same framed Kafka requests clients send:
the Raft RPCs between voters (``quorum/runtime.py``), the controller calls a
broker forwards to the active controller (``metadata/broker_lifecycle.py``)
and a follower's Fetch from its leader (``replication/fetcher.py``). Each
sends a request on a stream it owns and waits for its answer before the
next one, so no pipelining bookkeeping is needed: the answer must carry the
correlation id just sent.

Receiving goes through the project's one frame reader
(``protocol.framing.FrameReader``, fed by :func:`minikafka.rpc.stream.receive_frame`).
One answer can be a megabyte of records (a replica fetch); its size prefix
says how long it is, so the body is read straight into one buffer of
exactly that size (``recv_into``: no joining of pieces, no copies), and the
decoded ``records`` are slices of that buffer. Nothing past the answer is
read, so each exchange starts from a fresh reader.
"""

from __future__ import annotations

import trio

from minikafka.protocol import framing
from minikafka.protocol.codec import DecodeError, Struct
from minikafka.rpc.stream import EXACT, receive_frame

MAX_RESPONSE_BYTES = 1 << 30  # a size above this is garbage, not an answer


async def exchange(stream: trio.abc.Stream, api_key: int, version: int, correlation_id: int,
                   client_id: str, body) -> Struct:
    """Send one request frame on ``stream`` and return its decoded response body.

    Raises:
        trio.BrokenResourceError: the peer closed the connection first.
        DecodeError: the answer is malformed or answers another request.
        FramingError: the answer's size prefix is negative or absurd.
    """
    await stream.send_all(framing.encode_request(api_key, version, correlation_id, client_id, body))
    frame = await receive_frame(stream, framing.FrameReader(MAX_RESPONSE_BYTES), receive_bytes=EXACT)
    if frame is None:
        raise trio.BrokenResourceError("the peer closed the connection")
    got_id, response = framing.read_response(frame, api_key, version)
    if got_id != correlation_id:
        raise DecodeError(f"correlation id {got_id}, expected {correlation_id}")
    return response

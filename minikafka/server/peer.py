"""One request, one response, on a stream to another broker.

Brokers talk to each other with the same framed Kafka requests clients send:
the Raft RPCs between voters (``quorum/runtime.py``) and the controller calls
a broker forwards to the active controller (``metadata/broker_lifecycle.py``).
Both send a request on a stream they own and wait for its answer before the
next one, so no pipelining bookkeeping is needed: the answer must carry the
correlation id just sent.
"""

from __future__ import annotations

import trio

from minikafka.protocol import framing
from minikafka.protocol.codec import DecodeError, Struct

RECEIVE_BYTES = 65536


async def exchange(stream: trio.abc.Stream, api_key: int, version: int, correlation_id: int,
                   client_id: str, body) -> Struct:
    """Send one request frame on ``stream`` and return its decoded response body.

    Raises:
        trio.BrokenResourceError: the peer closed the connection first.
        DecodeError: the answer is malformed or answers another request.
    """
    await stream.send_all(framing.encode_request(api_key, version, correlation_id, client_id, body))
    reader = framing.FrameReader()
    while (frame := reader.next_frame()) is None:
        data = await stream.receive_some(RECEIVE_BYTES)
        if not data:
            raise trio.BrokenResourceError("the peer closed the connection")
        reader.feed(data)
    got_id, response = framing.read_response(frame, api_key, version)
    if got_id != correlation_id:
        raise DecodeError(f"correlation id {got_id}, expected {correlation_id}")
    return response

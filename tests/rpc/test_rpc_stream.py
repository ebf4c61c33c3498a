"""receive_frame: frames read from a Trio stream, over TCP and in memory."""

import struct

import pytest
import trio
import trio.testing

from minikafka.protocol import framing
from minikafka.rpc.stream import EXACT, receive_frame

PAYLOADS = [b"small", b"x" * 3_000_000, b"", b"y" * 70_000, b"tail"]


def framed(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


async def tcp_pair():
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    client = await trio.open_tcp_stream("127.0.0.1", port)
    server = await listeners[0].accept()
    await listeners[0].aclose()
    return client, server


async def read_all(stream, reader, receive_bytes):
    got = []
    while (frame := await receive_frame(stream, reader, receive_bytes=receive_bytes)) is not None:
        got.append(bytes(frame))
    return got


@pytest.mark.parametrize("receive_bytes", [EXACT, 256 * 1024])
async def test_frames_over_tcp_with_recv_into(receive_bytes):
    client, server = await tcp_pair()
    async with trio.open_nursery() as nursery:
        async def send():
            for payload in PAYLOADS:
                await client.send_all(framed(payload))
            await client.aclose()
        nursery.start_soon(send)
        got = await read_all(server, framing.FrameReader(1 << 30), receive_bytes)
    await server.aclose()
    assert got == PAYLOADS


async def test_frames_over_an_in_memory_stream():
    sender, receiver = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        async def send():
            data = b"".join(framed(p) for p in PAYLOADS)
            for start in range(0, len(data), 100_003):
                await sender.send_all(data[start:start + 100_003])
            await sender.aclose()
        nursery.start_soon(send)
        got = await read_all(receiver, framing.FrameReader(1 << 30), 64 * 1024)
    assert got == PAYLOADS


async def test_an_oversized_prefix_raises_before_the_body_arrives():
    client, server = await tcp_pair()
    await client.send_all(struct.pack(">i", 1001))
    with pytest.raises(framing.FrameTooLargeError):
        await receive_frame(server, framing.FrameReader(1000))
    await client.aclose()
    await server.aclose()

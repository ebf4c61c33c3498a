"""Zero-copy Fetch on the wire: the same bytes as the copying path, partial
sends, the in-memory fallback, and a region outliving its segment mid-send."""

import os

import pytest
import trio
import trio.testing

from minikafka.storage import Log, LogConfig
from minikafka.protocol import codec, framing
from minikafka.server.connection import send_parts, send_region
from minikafka.testing import open_broker
from minikafka_core.records import build_batch_of_values as build_batch
from minikafka_core.segment import FileRegion

NOW = 1_700_000_000_000
FETCH, API_VERSIONS = 1, 18


def fill(partition, batches: int, values_per_batch: int, value_size: int) -> None:
    for b in range(batches):
        values = [bytes([b % 251]) * value_size for _ in range(values_per_batch)]
        partition.append_records(build_batch(values, base_timestamp=NOW), NOW)


async def connect(port: int, zero_copy: bool, monkeypatch) -> trio.SocketStream:
    """A connection whose broker side read MINIKAFKA_ZERO_COPY as asked."""
    monkeypatch.setenv("MINIKAFKA_ZERO_COPY", "1" if zero_copy else "0")
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    await exchange(stream, framing.encode_request(API_VERSIONS, 0, 1, "zc", {}))  # accepted now
    return stream


async def exchange(stream, request: bytes) -> bytes:
    """Send a request frame; return the response frame, size prefix included."""
    await stream.send_all(request)
    reader = framing.FrameReader(1 << 30)
    while (frame := reader.next_frame()) is None:
        reader.receive_data(await stream.receive_some(1 << 20))
    return len(frame).to_bytes(4, "big") + bytes(frame)


def fetch_request(version: int, topic: str, topic_id: bytes, offsets, *, max_bytes=50 << 20,
                  partition_max_bytes=1 << 20) -> bytes:
    body = {"max_wait_ms": 0, "min_bytes": 1, "max_bytes": max_bytes, "isolation_level": 0,
            "session_id": 0, "session_epoch": -1,
            "topics": [{"topic": topic, "topic_id": topic_id, "partitions": [
                {"partition": index, "fetch_offset": offset, "partition_max_bytes": partition_max_bytes}
                for index, offset in offsets]}]}
    return framing.encode_request(FETCH, version, 7, "zc", body)


@pytest.mark.parametrize("version", [4, 11, 12, 16])
async def test_fetch_bytes_identical_with_and_without_zero_copy(tmp_path, monkeypatch, version):
    async with open_broker(tmp_path, log_segment_bytes=1 << 20) as broker:
        info = await broker.create_topic("zc", 3, {})
        fill(broker.partition("zc", 0), 40, 5, 30_000)  # 6 MB: several segments
        fill(broker.partition("zc", 1), 3, 1, 300_000)  # batches bigger than a fetch limit
        port = broker.bound_ports[0]
        copying = await connect(port, False, monkeypatch)
        zero_copy = await connect(port, True, monkeypatch)
        cases = [([(0, 0), (1, 0), (2, 0)], {}),
                 ([(0, 17), (1, 1)], {"partition_max_bytes": 100_000}),
                 ([(0, 33)], {"partition_max_bytes": 10 << 20}),  # to the segment's end
                 ([(0, 150), (1, 2), (2, 0)], {"max_bytes": 300_000}),
                 ([(0, 200), (1, 3)], {})]  # the log end: empty records
        sendfile_calls = []
        real_sendfile = os.sendfile
        monkeypatch.setattr(os, "sendfile", lambda *a: sendfile_calls.append(a) or real_sendfile(*a))
        for offsets, limits in cases:
            request = fetch_request(version, "zc", info.topic_id, offsets, **limits)
            expected = await exchange(copying, request)
            assert not sendfile_calls  # the copying connection never uses it
            assert await exchange(zero_copy, request) == expected, (offsets, limits)
            assert sendfile_calls or offsets[0][1] == 200  # the zero-copy one does
            sendfile_calls.clear()
            _, body = framing.read_response(expected[4:], FETCH, version)
            assert body.responses[0].partitions[0].error_code == 0
        assert len(body.responses[0].partitions[0].records) == 0
        await copying.aclose()
        await zero_copy.aclose()


def test_encoded_region_frame_equals_bytes_frame(tmp_path):
    log = Log(str(tmp_path / "t-0"), LogConfig(), NOW)
    data = build_batch([b"x" * 500] * 3, base_timestamp=NOW)
    log.append(data, log.validate(data, now_ms=NOW), NOW)
    for version in (4, 12):
        body = {"responses": [{"topic": "t", "partitions": [
            {"partition_index": 0, "high_watermark": 3, "records": None}]}]}
        body["responses"][0]["partitions"][0]["records"] = log.read(0, 10**6)
        expected = framing.encode_response(FETCH, version, 5, body)
        region = log.read_region(0, 10**6)
        body["responses"][0]["partitions"][0]["records"] = region
        parts = framing.encode_response(FETCH, version, 5, body)
        assert isinstance(parts, list) and parts[1] is region  # v12+: tagged fields follow
        assert b"".join(p if isinstance(p, bytes) else p.read() for p in parts) == expected
        assert codec.part_size(region) == region.length
        region.close()
    log.close()


def region_of(tmp_path, data: bytes) -> FileRegion:
    path = tmp_path / "data"
    path.write_bytes(b"#" * 10 + data)
    fd = os.open(path, os.O_RDONLY)
    return FileRegion(fd, 10, len(data))


async def tcp_pair():
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    client = await trio.open_tcp_stream("127.0.0.1", port)
    server = await listeners[0].accept()
    await listeners[0].aclose()
    return server, client


async def receive_exactly(stream, count: int, chunk: int = 1 << 20, pause_s: float = 0) -> bytes:
    received = bytearray()
    while len(received) < count:
        data = await stream.receive_some(min(chunk, count - len(received)))
        assert data, "connection closed early"
        received += data
        if pause_s:
            await trio.sleep(pause_s)
    return bytes(received)


async def test_partial_sends_over_a_slow_reader(tmp_path):
    data = os.urandom(6 << 20)  # far more than the socket buffers hold
    region = region_of(tmp_path, data)
    server, client = await tcp_pair()
    async with server, client:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_parts, server, [b"head", region, b"tail"])
            received = await receive_exactly(client, len(data) + 8, chunk=256 << 10, pause_s=0.001)
    assert received == b"head" + data + b"tail"
    assert region.fd == -1  # send_parts closed it


async def test_memory_stream_falls_back_to_pread(tmp_path):
    data = os.urandom(100_000)
    region = region_of(tmp_path, data)
    sender, receiver = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(send_parts, sender, [b"<", region, b">"])
        received = await receive_exactly(receiver, len(data) + 2)
    assert received == b"<" + data + b">" and region.fd == -1


async def test_region_survives_segment_deletion_mid_send(tmp_path):
    log = Log(str(tmp_path / "t-0"), LogConfig(segment_bytes=4 << 20), NOW)
    for i in range(5):
        data = build_batch([bytes([i]) * 1_000_000], base_timestamp=NOW)  # one 1 MB batch
        log.append(data, log.validate(data, now_ms=NOW), NOW)
    expected = log.read(0, 10 << 20)
    region = log.read_region(0, 10 << 20)
    assert region.length == len(expected) > 3_000_000
    server, client = await tcp_pair()
    async with server, client:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_region, server, region)
            first = await receive_exactly(client, 100_000)
            path = log.segments[0].log_path
            log.delete_files()  # the whole partition directory goes, mid-send
            assert not os.path.exists(path)
            rest = await receive_exactly(client, len(expected) - len(first))
    region.close()
    assert first + rest == expected


async def test_truncated_file_closes_the_connection(tmp_path):
    from minikafka.server.connection import CloseConnection

    region = region_of(tmp_path, b"z" * 1000)
    os.truncate(tmp_path / "data", 500)
    server, client = await tcp_pair()
    async with server, client:
        with pytest.raises(CloseConnection):
            await send_region(server, region)
    region.close()

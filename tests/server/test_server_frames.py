"""FrameReader: a byte stream cut into frames, however it arrives."""

import struct

import pytest

from minikafka.server.frames import FrameError, FrameReader


def framed(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def test_one_frame_in_pieces():
    reader = FrameReader(1000)
    data = framed(b"hello world")
    for i in range(len(data) - 1):
        reader.feed(data[i:i + 1])
        assert reader.next_frame() is None
    reader.feed(data[-1:])
    assert bytes(reader.next_frame()) == b"hello world"
    assert reader.next_frame() is None


def test_many_frames_in_one_piece_and_a_partial_tail():
    reader = FrameReader(1000)
    payloads = [b"a" * n for n in range(0, 50, 7)]
    stream = b"".join(framed(p) for p in payloads) + framed(b"tail")[:3]
    reader.feed(stream)
    got = []
    while (frame := reader.next_frame()) is not None:
        got.append(bytes(frame))
    assert got == payloads
    reader.feed(framed(b"tail")[3:])
    assert bytes(reader.next_frame()) == b"tail"


def test_frames_stay_valid_after_more_data_arrives():
    reader = FrameReader(1 << 20)
    reader.feed(framed(b"x" * 100) + framed(b"y" * 10)[:2])
    first = reader.next_frame()
    for _ in range(100):
        reader.feed(b"\0" * 1000)  # would move a shared buffer
    assert bytes(first) == b"x" * 100


def test_whole_buffer_is_handed_over_without_copy():
    reader = FrameReader(1 << 20)
    reader.feed(framed(b"z" * 5000))
    frame = reader.next_frame()
    assert bytes(frame) == b"z" * 5000
    reader.feed(framed(b"next"))
    assert bytes(reader.next_frame()) == b"next"
    assert bytes(frame) == b"z" * 5000


@pytest.mark.parametrize("size", [-1, 1001])
def test_bad_sizes(size):
    reader = FrameReader(1000)
    reader.feed(struct.pack(">i", size))
    with pytest.raises(FrameError):
        reader.next_frame()


def test_bytes_missing():
    reader = FrameReader(1 << 20)
    assert reader.bytes_missing() == 0
    reader.feed(struct.pack(">i", 500) + b"a" * 100)
    assert reader.bytes_missing() == 400

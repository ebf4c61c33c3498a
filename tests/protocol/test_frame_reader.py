"""FrameReader: a byte stream cut into frames, however it arrives."""

import struct

import pytest

from minikafka.protocol.framing import FrameReader, FramingError


def framed(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def test_one_frame_in_pieces():
    reader = FrameReader(1000)
    data = framed(b"hello world")
    for i in range(len(data) - 1):
        reader.receive_data(data[i:i + 1])
        assert reader.next_frame() is None
    reader.receive_data(data[-1:])
    assert bytes(reader.next_frame()) == b"hello world"
    assert reader.next_frame() is None


def test_many_frames_in_one_piece_and_a_partial_tail():
    reader = FrameReader(1000)
    payloads = [b"a" * n for n in range(0, 50, 7)]
    stream = b"".join(framed(p) for p in payloads) + framed(b"tail")[:3]
    reader.receive_data(stream)
    got = []
    while (frame := reader.next_frame()) is not None:
        got.append(bytes(frame))
    assert got == payloads
    reader.receive_data(framed(b"tail")[3:])
    assert bytes(reader.next_frame()) == b"tail"


def test_frames_stay_valid_after_more_data_arrives():
    reader = FrameReader(1 << 20)
    reader.receive_data(framed(b"x" * 100) + framed(b"y" * 10)[:2])
    first = reader.next_frame()
    for _ in range(100):
        reader.receive_data(b"\0" * 1000)  # would move a shared buffer
    assert bytes(first) == b"x" * 100


def test_whole_buffer_is_handed_over_without_copy():
    reader = FrameReader(1 << 20)
    reader.receive_data(framed(b"z" * 5000))
    frame = reader.next_frame()
    assert bytes(frame) == b"z" * 5000
    reader.receive_data(framed(b"next"))
    assert bytes(reader.next_frame()) == b"next"
    assert bytes(frame) == b"z" * 5000


@pytest.mark.parametrize("size", [-1, 1001])
def test_bad_sizes(size):
    reader = FrameReader(1000)
    reader.receive_data(struct.pack(">i", size))
    with pytest.raises(FramingError):
        reader.next_frame()


def test_bytes_missing():
    reader = FrameReader(1 << 20)
    assert reader.bytes_missing() == 0
    reader.receive_data(struct.pack(">i", 500) + b"a" * 100)
    assert reader.bytes_missing() == 400


def test_receive_buffer_reads_the_rest_of_a_frame_in_place():
    reader = FrameReader(1 << 20)
    payload = bytes(range(256)) * 40
    data = framed(payload)
    reader.receive_data(data[:1000])
    buffer = reader.receive_buffer()
    assert len(buffer) == len(data) - 1000 == reader.bytes_missing()
    buffer[:10] = data[1000:1010]
    reader.received_into(10)
    assert reader.next_frame() is None
    buffer = reader.receive_buffer()
    buffer[:] = data[1010:]
    reader.received_into(len(buffer))
    frame = reader.next_frame()
    assert frame.readonly and bytes(frame) == payload
    assert reader.buffered_bytes == 0 and reader.next_frame() is None


def test_receive_data_fills_a_frame_in_place_and_keeps_what_follows():
    reader = FrameReader(1 << 20)
    first, second = framed(b"a" * 3000), framed(b"b" * 20)
    reader.receive_data(first[:6])
    assert len(reader.receive_buffer()) == len(first) - 6
    reader.receive_data(first[6:] + second[:5])
    assert bytes(reader.next_frame()) == b"a" * 3000
    assert reader.next_frame() is None
    reader.receive_data(second[5:])
    assert bytes(reader.next_frame()) == b"b" * 20


def test_receive_buffer_is_none_until_the_size_is_known_or_when_a_frame_is_whole():
    reader = FrameReader(1000)
    assert reader.receive_buffer() is None
    reader.receive_data(b"\x00\x00")
    assert reader.receive_buffer() is None
    reader.receive_data(b"\x00\x02ok")
    assert reader.receive_buffer() is None
    assert bytes(reader.next_frame()) == b"ok"
    reader.receive_data(struct.pack(">i", 1001))
    with pytest.raises(FramingError):
        reader.receive_buffer()

"""Splitting a byte stream into Kafka's size-prefixed frames (sans-I/O).

Every request on the wire is ``int32 size`` followed by ``size`` bytes. TCP
delivers the stream in arbitrary pieces: one ``receive_some`` may hold half a
frame, or ten pipelined frames. ``FrameReader`` is fed those pieces and hands
back whole frames, in order, without the size prefix.

Copies matter here (a produce request can be a megabyte): the bytes received
are appended once to an internal ``bytearray``. When that buffer holds exactly
one whole frame (the usual case for a large request) the buffer itself is
handed over and a fresh one started, so the frame is never copied again;
otherwise each frame is copied out once. A frame is a ``memoryview`` that the
reader never touches again, so handlers may keep slices of it (the codec
decodes ``records`` as such slices).

A size below zero or above ``max_frame_bytes`` raises ``FrameError``: the
connection cannot be resynchronised and must be closed (Kafka's
``InvalidReceiveException``).
"""

from __future__ import annotations

SIZE_PREFIX_BYTES = 4


class FrameError(Exception):
    """The stream cannot be split into frames; close the connection."""


class FrameReader:
    """Buffers received bytes and returns whole frames. Owned by one connection.

    Args:
        max_frame_bytes: the largest frame accepted
            (``socket.request.max.bytes``).
    """

    def __init__(self, max_frame_bytes: int):
        self.max_frame_bytes = max_frame_bytes
        self._buffer = bytearray()
        self._start = 0  # where the next unread frame begins in _buffer

    def feed(self, data: bytes) -> None:
        """Add bytes received from the peer."""
        if self._start and self._start == len(self._buffer):
            self._buffer = bytearray()  # everything consumed: start afresh
            self._start = 0
        elif self._start > 65536:
            del self._buffer[: self._start]  # reclaim consumed bytes now and then
            self._start = 0
        self._buffer += data

    def next_frame(self) -> memoryview | None:
        """Return the next whole frame (without its size), or None if incomplete.

        Raises:
            FrameError: the size prefix is negative or too large.
        """
        size = self.pending_frame_size()
        if size is None:
            return None
        begin = self._start + SIZE_PREFIX_BYTES
        end = begin + size
        if end > len(self._buffer):
            return None
        if self._start == 0 and end == len(self._buffer):
            frame = memoryview(self._buffer)[begin:end]  # hand the buffer over
            self._buffer = bytearray()
            return frame
        self._start = end
        with memoryview(self._buffer) as view:
            return memoryview(view[begin:end].tobytes())

    def pending_frame_size(self) -> int | None:
        """The size of the frame being received, once its prefix has arrived."""
        if len(self._buffer) - self._start < SIZE_PREFIX_BYTES:
            return None
        size = int.from_bytes(self._buffer[self._start : self._start + 4], "big", signed=True)
        if size < 0 or size > self.max_frame_bytes:
            raise FrameError(
                f"frame size {size} is outside 0..{self.max_frame_bytes}"
                " (socket.request.max.bytes)"
            )
        return size

    def bytes_missing(self) -> int:
        """How many more bytes complete the current frame (0 if unknown)."""
        size = self.pending_frame_size()
        if size is None:
            return 0
        have = len(self._buffer) - self._start - SIZE_PREFIX_BYTES
        return max(0, size - have)

"""Splitting a byte stream into Kafka's size-prefixed frames (sans-I/O).

Every request on the wire is ``int32 size`` followed by ``size`` bytes. TCP
delivers the stream in arbitrary pieces: one ``receive_some`` may hold half a
frame, or ten pipelined frames. ``FrameReader`` is fed those pieces and hands
back whole frames, in order, without the size prefix.

Copies matter here (a produce request can be a megabyte). Received pieces are
kept as they came, in a list, never appended to a growing buffer (which would
copy every byte again each time it reallocates). A frame that lies within one
piece is handed out as a ``memoryview`` slice of it, with no copy at all; a
frame spread over several pieces is joined once, into a buffer of exactly the
size needed. The server asks the socket for the bytes still missing from the
frame in progress, so a large frame usually arrives in pieces that end where
it ends. Pieces are immutable ``bytes``, so handlers may keep slices of a frame
(the codec decodes ``records`` as such slices).

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
        self._pieces: list[bytes] = []  # received, not yet consumed, in order
        self._offset = 0  # bytes of _pieces[0] already consumed
        self._buffered = 0  # unconsumed bytes over all pieces

    def feed(self, data: bytes) -> None:
        """Add bytes received from the peer."""
        if data:
            self._pieces.append(bytes(data))  # no copy if already bytes
            self._buffered += len(data)

    def next_frame(self) -> memoryview | None:
        """Return the next whole frame (without its size), or None if incomplete.

        Raises:
            FrameError: the size prefix is negative or too large.
        """
        size = self.pending_frame_size()
        if size is None or self._buffered < SIZE_PREFIX_BYTES + size:
            return None
        end = self._offset + SIZE_PREFIX_BYTES + size
        if end > len(self._pieces[0]):
            self._join(SIZE_PREFIX_BYTES + size)
            end = SIZE_PREFIX_BYTES + size
        frame = memoryview(self._pieces[0])[self._offset + SIZE_PREFIX_BYTES:end]
        self._consume(SIZE_PREFIX_BYTES + size)
        return frame

    def pending_frame_size(self) -> int | None:
        """The size of the frame being received, once its prefix has arrived."""
        if self._buffered < SIZE_PREFIX_BYTES:
            return None
        if len(self._pieces[0]) - self._offset < SIZE_PREFIX_BYTES:
            self._join(SIZE_PREFIX_BYTES)  # the prefix itself was split
        size = int.from_bytes(
            self._pieces[0][self._offset:self._offset + SIZE_PREFIX_BYTES], "big", signed=True)
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
        return max(0, SIZE_PREFIX_BYTES + size - self._buffered)

    def _join(self, at_least: int) -> None:
        """Merge leading pieces into one holding at least ``at_least`` bytes."""
        merged, total = [], 0
        while total < at_least + self._offset:
            piece = self._pieces.pop(0)
            merged.append(piece)
            total += len(piece)
        first = memoryview(merged[0])[self._offset:]
        self._pieces.insert(0, b"".join([first, *merged[1:]]))
        self._offset = 0

    def _consume(self, count: int) -> None:
        self._offset += count
        self._buffered -= count
        if self._offset == len(self._pieces[0]):
            self._pieces.pop(0)
            self._offset = 0

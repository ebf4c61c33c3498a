"""Size-prefixed frames and the request/response headers around every body.

On a Kafka connection every request and every response is one *frame*:

    size: int32 | header | body        (size counts header + body)

The request header has three versions and the response header two; which one
a frame uses is not written anywhere in it, both ends derive it from the API
key and version (Kafka's ``ApiKeys.requestHeaderVersion``):

======================  ===================================================
request header v0       api_key int16, api_version int16, correlation_id int32
request header v1       v0 + client_id (nullable string)
request header v2       v1 + tagged fields; used by *flexible* API versions.
                        client_id stays a non-compact string (KIP-482 kept
                        it readable by a broker that does not know the API)
response header v0      correlation_id int32
response header v1      v0 + tagged fields; used by flexible API versions,
                        except ApiVersions, always v0: a client that does not
                        yet know the broker's versions must still read it
                        (KIP-511)
======================  ===================================================

The headers are declared with ``schema.Message`` like any other message, so
the one codec handles them.

This module is sans-I/O, after h11: :class:`FrameReader` is fed whatever bytes
a connection received and hands back whole frames; it never touches a socket.
It is the one frame splitter of the project: the broker's connections
(``server/connection.py``), the inter-broker client (``rpc/client.py``) and
the bundled clients all read frames through it, by way of the Trio loop in
``rpc/stream.py``. A size prefix below zero or above the limit raises a
:class:`FramingError`: the stream cannot be resynchronised and the connection
is closed (Kafka's ``InvalidReceiveException``).
"""

from __future__ import annotations

from . import codec
from .codec import DecodeError
from .primitives import INT16, INT32
from .schema import Field, Message

SIZE_PREFIX_BYTES = 4
API_VERSIONS_KEY = 18
CONTROLLED_SHUTDOWN_KEY = 7

REQUEST_HEADER = Message(
    "RequestHeader", None, "header", valid_versions="0-2", flexible_versions="2+",
    fields=[
        Field("request_api_key", "int16", "0+", about="The API key of this request."),
        Field("request_api_version", "int16", "0+", about="The API version of this request."),
        Field("correlation_id", "int32", "0+", about="The correlation ID of this request."),
        Field("client_id", "string", "1+", nullable="1+", ignorable=True,
              flexible_versions="none", about="The client ID string."),
    ],
    about="The header of every request.",
)

RESPONSE_HEADER = Message(
    "ResponseHeader", None, "header", valid_versions="0-1", flexible_versions="1+",
    fields=[Field("correlation_id", "int32", "0+",
                  about="The correlation ID of this response.")],
    about="The header of every response.",
)


class FramingError(ValueError):
    """A frame the broker cannot even route; the connection is closed."""


class UnknownApiError(FramingError):
    """The request's API key is not one this broker declares."""

    def __init__(self, api_key: int, correlation_id: int):
        super().__init__(f"unknown API key {api_key} (correlation id {correlation_id})")
        self.api_key = api_key
        self.correlation_id = correlation_id


class UnsupportedVersionError(FramingError):
    """The API is known but not at this version.

    The server answers an ApiVersions request in this state with
    UNSUPPORTED_VERSION in an ApiVersions v0 response (KIP-511), so the
    correlation id has been parsed already.
    """

    def __init__(self, api_key: int, api_version: int, correlation_id: int):
        super().__init__(f"API key {api_key} has no version {api_version} "
                         f"(correlation id {correlation_id})")
        self.api_key = api_key
        self.api_version = api_version
        self.correlation_id = correlation_id


class FrameTooLargeError(FramingError):
    """A frame's size prefix exceeds the limit (``socket.request.max.bytes``)."""

    def __init__(self, size: int, max_bytes: int):
        super().__init__(f"frame of {size} bytes exceeds the limit of {max_bytes} bytes")
        self.size = size
        self.max_bytes = max_bytes


class InvalidFrameSizeError(FramingError):
    """A negative size prefix: the stream is not Kafka's protocol."""


def _registry(kind: str):
    # Imported on first use: the declarations import schema, not framing.
    from . import messages

    return getattr(messages, kind)


def request_header_version(api_key: int, api_version: int, message: Message) -> int:
    """The request header version for an API version (Kafka's rule)."""
    if api_key == CONTROLLED_SHUTDOWN_KEY and api_version == 0:
        return 0  # the one request older than client_id
    return 2 if message.is_flexible(api_version) else 1


def response_header_version(api_key: int, api_version: int, message: Message) -> int:
    """The response header version: v1 for flexible, v0 for ApiVersions."""
    if api_key == API_VERSIONS_KEY:
        return 0
    return 1 if message.is_flexible(api_version) else 0


# --- requests -------------------------------------------------------------------


def read_request_header(frame, requests=None):
    """Decode the header of a request frame (without its size prefix).

    Args:
        frame: the frame's bytes, size prefix excluded.
        requests: the request declarations by API key (default:
            ``messages.REQUESTS``).

    Returns:
        (header, body_offset): a Struct with ``request_api_key``,
        ``request_api_version``, ``correlation_id``, ``client_id``, and the
        offset of the body in ``frame``.

    Raises:
        DecodeError: too short or malformed.
        UnknownApiError, UnsupportedVersionError: as their names say.
    """
    requests = _registry("REQUESTS") if requests is None else requests
    view = memoryview(frame)
    if len(view) < 8:
        raise DecodeError(f"a request frame of {len(view)} bytes is too short for a header")
    api_key = INT16.unpack_from(view, 0)[0]
    api_version = INT16.unpack_from(view, 2)[0]
    correlation_id = INT32.unpack_from(view, 4)[0]
    message = requests.get(api_key)
    if message is None:
        raise UnknownApiError(api_key, correlation_id)
    if api_version not in message.valid_versions:
        raise UnsupportedVersionError(api_key, api_version, correlation_id)
    header_version = request_header_version(api_key, api_version, message)
    return codec.decode_from(REQUEST_HEADER, view, 0, header_version)


def encode_request(api_key, api_version, correlation_id, client_id, body, requests=None):
    """Encode a whole request frame, size prefix included (used by clients).

    ``body`` is a Struct or dict, or bytes already encoded at ``api_version``.
    """
    requests = _registry("REQUESTS") if requests is None else requests
    message = requests[api_key]
    header = {"request_api_key": api_key, "request_api_version": api_version,
              "correlation_id": correlation_id, "client_id": client_id}
    header_version = request_header_version(api_key, api_version, message)
    parts = [b""]
    codec.encode_into(parts, REQUEST_HEADER, header, header_version)
    _append_body(parts, message, body, api_version)
    return _finish_frame(parts)


# --- responses ------------------------------------------------------------------


def encode_response(api_key, api_version, correlation_id, body, responses=None):
    """Encode a whole response frame, size prefix included.

    ``body`` is a Struct or dict (fields left out take their default), or
    bytes already encoded at ``api_version``.

    Returns:
        ``bytes``; or, if a ``records`` field of ``body`` holds a file region
        (zero-copy Fetch), a list of ``bytes`` and regions to send in order
        (see ``codec.join_parts``). The size prefix counts the regions'
        lengths either way.
    """
    responses = _registry("RESPONSES") if responses is None else responses
    message = responses[api_key]
    header_version = response_header_version(api_key, api_version, message)
    parts = [b""]
    codec.encode_into(parts, RESPONSE_HEADER, {"correlation_id": correlation_id},
                      header_version)
    _append_body(parts, message, body, api_version)
    return _finish_frame(parts)


def read_response(frame, api_key, api_version, responses=None):
    """Decode a response frame (without its size prefix).

    Returns:
        (correlation_id, body Struct).
    """
    responses = _registry("RESPONSES") if responses is None else responses
    message = responses[api_key]
    view = memoryview(frame)
    header_version = response_header_version(api_key, api_version, message)
    header, offset = codec.decode_from(RESPONSE_HEADER, view, 0, header_version)
    return header.correlation_id, message.decode(view[offset:], api_version)


def _append_body(parts, message, body, api_version):
    if isinstance(body, (bytes, bytearray, memoryview)):
        parts.append(body)
    else:
        codec.encode_into(parts, message, body, api_version)


def _finish_frame(parts):
    """Fill in parts[0] with the size prefix and join: one copy of the body.

    A file region among the parts (a zero-copy fetch) counts its ``length``
    in the size and stays unread: the frame is then a list of parts.
    """
    size = sum(codec.part_size(part) for part in parts)
    parts[0] = INT32.pack(size)
    return codec.join_parts(parts)


# --- frames on a stream ----------------------------------------------------------


def frame_size(buf, max_bytes: int | None = None) -> int | None:
    """Read the size prefix at the start of ``buf``.

    Returns:
        the size of the frame that follows the 4-byte prefix, or None if
        fewer than 4 bytes have arrived.

    Raises:
        InvalidFrameSizeError: the size is negative.
        FrameTooLargeError: the size exceeds ``max_bytes``.
    """
    if len(buf) < SIZE_PREFIX_BYTES:
        return None
    return _checked_size(INT32.unpack_from(buf, 0)[0], max_bytes)


def _checked_size(size: int, max_bytes: int | None) -> int:
    if size < 0:
        raise InvalidFrameSizeError(f"invalid frame size {size}")
    if max_bytes is not None and size > max_bytes:
        raise FrameTooLargeError(size, max_bytes)
    return size


class FrameReader:
    """Cuts a byte stream into frames (size prefix removed), with no I/O.

    Owned by one connection; not task-safe. The size is checked as soon as
    its 4 bytes arrive, before the body is buffered, so an oversized or
    garbage prefix never makes the reader wait for (or keep) its body.

    Two ways in, one way out:

    - ``receive_data(data)``: bytes the caller received. They are kept as
      they came (never appended to a growing buffer, which would copy every
      byte again on each reallocation). A frame that lies within one piece
      is handed out as a slice of it, with no copy; a frame spread over
      several pieces is joined once.
    - ``receive_buffer()`` then ``received_into(count)``: for a caller that
      can read straight into memory (``socket.recv_into``). Once the size of
      an incomplete frame is known, the reader allocates one buffer of
      exactly that size, moves the bytes already received into it, and
      returns the part still empty; the frame then reaches the caller with
      no join and no copy (a replica fetch answer can be many megabytes).
    - ``next_frame()``: the next whole frame, or None until it has arrived.

    Frames are read-only ``memoryview``s over memory the reader never
    touches again, so a handler may keep slices of one (the codec decodes
    ``records`` as such slices).

    Args:
        max_bytes: the largest frame accepted (``socket.request.max.bytes``
            on a broker); None for no limit.
    """

    def __init__(self, max_bytes: int | None = None):
        self.max_bytes = max_bytes
        self._pieces: list = []  # received, unconsumed: bytes (or views of bytes), in order
        self._offset = 0  # bytes of _pieces[0] already consumed
        self._buffered = 0  # unconsumed bytes over all pieces
        self._size: int | None = None  # the next frame's size, once its prefix is parsed
        self._frame: bytearray | None = None  # the frame being filled in place, if any
        self._filled = 0  # bytes of _frame received so far

    def receive_data(self, data) -> None:
        """Add bytes received from the peer (an empty ``data`` is ignored)."""
        if not data:
            return
        if not isinstance(data, bytes):
            data = bytes(data)  # keep an immutable copy: frames are slices of it
        if self._frame is not None:
            # Fill the frame in progress first; the rest starts the next frames.
            taken = min(len(data), len(self._frame) - self._filled)
            self._frame[self._filled:self._filled + taken] = memoryview(data)[:taken]
            self._filled += taken
            if taken == len(data):
                return
            data = memoryview(data)[taken:]
        self._pieces.append(data)
        self._buffered += len(data)

    def receive_buffer(self) -> memoryview | None:
        """Where to read the rest of the current frame, or None.

        None when the size prefix has not all arrived (use ``receive_data``)
        or when a whole frame is already buffered (call ``next_frame``).
        After reading ``count`` bytes into the buffer, call
        ``received_into(count)``. The buffer has the size the prefix
        announced (at most ``max_bytes``), allocated as soon as the prefix
        is in, as Kafka's ``NetworkReceive`` does.

        Raises:
            InvalidFrameSizeError, FrameTooLargeError: see ``frame_size``.
        """
        if self._frame is None:
            size = self.pending_frame_size()
            if size is None or self._buffered >= SIZE_PREFIX_BYTES + size:
                return None
            # Every buffered byte after the prefix belongs to this frame.
            self._consume(SIZE_PREFIX_BYTES)
            self._size = None
            self._frame = bytearray(size)
            for piece in self._pieces:
                chunk = memoryview(piece)[self._offset:]
                self._frame[self._filled:self._filled + len(chunk)] = chunk
                self._filled += len(chunk)
                self._offset = 0
            self._pieces.clear()
            self._buffered = 0
        return memoryview(self._frame)[self._filled:]

    def received_into(self, count: int) -> None:
        """Record that ``count`` bytes were written into ``receive_buffer()``."""
        self._filled += count

    def next_frame(self) -> memoryview | None:
        """Return the next complete frame, or None if it has not all arrived.

        Raises:
            InvalidFrameSizeError, FrameTooLargeError: see ``frame_size``.
        """
        if self._frame is not None:
            if self._filled < len(self._frame):
                return None
            frame = memoryview(self._frame).toreadonly()
            self._frame, self._filled = None, 0
            return frame
        size = self._size if self._size is not None else self.pending_frame_size()
        if size is None or self._buffered < SIZE_PREFIX_BYTES + size:
            return None
        start = self._offset + SIZE_PREFIX_BYTES
        if start + size > len(self._pieces[0]):
            self._join(SIZE_PREFIX_BYTES + size)
            start = SIZE_PREFIX_BYTES
        frame = memoryview(self._pieces[0])[start:start + size]
        self._size = None
        self._consume(SIZE_PREFIX_BYTES + size)
        return frame

    def frames(self):
        """Yield every complete frame buffered so far."""
        while (frame := self.next_frame()) is not None:
            yield frame

    def pending_frame_size(self) -> int | None:
        """The size of the frame being received, once its prefix has arrived.

        Raises:
            InvalidFrameSizeError, FrameTooLargeError: see ``frame_size``.
        """
        if self._frame is not None:
            return len(self._frame)
        if self._size is None and self._buffered >= SIZE_PREFIX_BYTES:
            if len(self._pieces[0]) - self._offset < SIZE_PREFIX_BYTES:
                self._join(SIZE_PREFIX_BYTES)  # the prefix itself was split
            prefix = self._pieces[0][self._offset:self._offset + SIZE_PREFIX_BYTES]
            self._size = _checked_size(int.from_bytes(prefix, "big", signed=True), self.max_bytes)
        return self._size

    def bytes_missing(self) -> int:
        """How many more bytes complete the current frame (0 if its size is unknown).

        Raises:
            InvalidFrameSizeError, FrameTooLargeError: see ``frame_size``.
        """
        if self._frame is not None:
            return len(self._frame) - self._filled
        size = self.pending_frame_size()
        if size is None:
            return 0
        return max(0, SIZE_PREFIX_BYTES + size - self._buffered)

    @property
    def buffered_bytes(self) -> int:
        """Bytes received but not yet returned as a frame (size prefixes included)."""
        if self._frame is not None:
            return SIZE_PREFIX_BYTES + self._filled
        return self._buffered

    def _join(self, at_least: int) -> None:
        """Merge leading pieces into one holding at least ``at_least`` unconsumed bytes."""
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

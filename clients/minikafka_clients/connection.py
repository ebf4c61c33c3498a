"""One TCP connection from a client to one Kafka broker (Trio).

A Kafka connection is a stream of size-prefixed frames. The client sends
requests, each carrying a *correlation id*; the broker answers every request
(except a Produce with ``acks=0``) **in the order it received them** on that
connection, echoing the correlation id. That ordering rule is what makes
*pipelining* simple: many requests may be in flight at once, and the client
matches each response to the oldest request still waiting for one.

So a ``Connection`` keeps a FIFO of in-flight requests:

- ``send()`` takes the send lock, assigns the next correlation id, writes
  the whole frame, appends an ``InFlightRequest`` slot to the FIFO and
  returns it without waiting for the response (the producer's sender
  pipelines its Produce requests this way, as Kafka's ``NetworkClient``
  does); ``request()`` is ``send()`` plus waiting for the slot;
- one reader task reads frames forever and fills the slot at the head of the
  FIFO, checking that the correlation ids agree (if not, the stream is
  unusable and the connection is closed).

A caller that gives up (timeout, cancellation) leaves its slot in the FIFO: the
reader still consumes that response later and drops it, so the matching of
every later response stays right.

Right after connecting, the client sends ApiVersions (KIP-35, KIP-511) and
keeps, per API, the highest version both it and the broker speak. A broker
that does not know our ApiVersions version answers with a v0 response holding
``UNSUPPORTED_VERSION`` and its own range for ApiVersions; we retry once at a
version it speaks, as Kafka's clients do.

Throttling (KIP-219, ``throttle.py``): a connection may carry its broker's
``NodeThrottle``. The reader applies every response to it before handing the
response over, and ``send()`` writes nothing while the throttle runs (it
waits, in its FIFO place, until the deadline). ``request()`` waits out the
throttle before its timeout starts: as in Java, ``request.timeout.ms`` counts
from the moment the request leaves.

Encoding and decoding of bodies and headers is ``minikafka.protocol``'s job,
and frames are split by the broker's own reader (``framing.FrameReader``, fed
by ``minikafka.rpc.stream.receive_frame``); this module only moves frames and
matches them up.
"""

from __future__ import annotations

import collections
import itertools
import math
import os
from collections.abc import Callable

import trio

from minikafka.errors import ErrorCode, KafkaError
from minikafka.protocol import framing, messages
from minikafka.rpc.stream import receive_frame

from .throttle import NodeThrottle

API_VERSIONS_KEY = 18
RECEIVE_BYTES = 65536
DEFAULT_MAX_RESPONSE_BYTES = 100 * 1024 * 1024  # refuse absurd sizes from a confused peer


class KafkaConnectionError(Exception):
    """The connection could not be opened, or broke while a request waited."""


class RequestTimedOut(KafkaConnectionError):
    """No response arrived within the request's ``timeout_ms``."""


class InFlightRequest:
    """One request written to a connection, waiting for its response (a one-shot slot).

    Attributes:
        done: set once the response (or an error) is in.
        response: the decoded response body (a ``Struct``), once done.
        error: a ``KafkaConnectionError`` instead of a response, once done.
        on_done: called with the slot when it resolves (in the connection's
            reader task, or in the task that closes the connection); it must
            not block or raise.
    """

    __slots__ = ("api_key", "api_version", "correlation_id", "done", "response", "error",
                 "on_done")

    def __init__(self, api_key: int, api_version: int, correlation_id: int, on_done=None):
        self.api_key = api_key
        self.api_version = api_version
        self.correlation_id = correlation_id
        self.done = trio.Event()
        self.response = None
        self.error: BaseException | None = None
        self.on_done = on_done

    def resolve(self, response=None, error: BaseException | None = None) -> None:
        """Fill the slot (once: the reader or ``_fail`` pops it from the FIFO first)."""
        self.response, self.error = response, error
        self.done.set()
        if self.on_done is not None:
            self.on_done(self)


class Connection:
    """A pipelined connection to one broker.

    Task-safe: any number of tasks may call ``request()`` concurrently. The
    connection's reader task runs in the nursery given to ``connect()``; it
    ends when the connection closes.

    Attributes:
        host, port: the broker's address.
        api_versions: per API key, the version this connection uses (the
            highest both sides speak). APIs the broker lacks are absent.
        throttle: the broker's ``NodeThrottle`` (shared with the other
            connections to it, old and new, when the ``Cluster`` made it).
    """

    def __init__(self, stream: trio.abc.Stream, host: str, port: int, client_id: str, *,
                 throttle: NodeThrottle | None = None,
                 on_throttle_time: Callable[[int, float], None] | None = None):
        self.host = host
        self.port = port
        self.client_id = client_id
        self.api_versions: dict[int, int] = {}
        self.throttle = throttle if throttle is not None else NodeThrottle()
        self._on_throttle_time = on_throttle_time
        self._stream = stream
        self._send_lock = trio.Lock()
        self._pending: collections.deque[InFlightRequest] = collections.deque()
        self._correlation_ids = itertools.count(1)
        self._reader = framing.FrameReader(DEFAULT_MAX_RESPONSE_BYTES)
        self._closed_error: KafkaConnectionError | None = None

    def __repr__(self) -> str:
        return f"<Connection {self.host}:{self.port}>"

    @property
    def closed(self) -> bool:
        return self._closed_error is not None

    # -- requests ---------------------------------------------------------

    async def request(self, api_key: int, body: dict, *, api_version: int | None = None,
                      timeout_ms: float | None = None, expect_response: bool = True):
        """Send one request and return the decoded response body (a ``Struct``).

        Args:
            api_key: the API (0 Produce, 1 Fetch, 3 Metadata, ...).
            body: the request's fields as a dict (or ``Struct``); fields a
                version does not carry are left out by the codec.
            api_version: force a version; default: the negotiated one.
            timeout_ms: give up after this long (None: wait forever).
            expect_response: False only for Produce with ``acks=0``, which
                the broker never answers.

        Raises:
            KafkaError(UNSUPPORTED_VERSION): the broker does not speak this API.
            RequestTimedOut, KafkaConnectionError: network trouble.
        """
        await self.wait_until_unthrottled()
        with trio.move_on_after(math.inf if timeout_ms is None else timeout_ms / 1000) as scope:
            pending = await self.send(api_key, body, api_version=api_version,
                                      expect_response=expect_response)
            if pending is None:
                return None
            await pending.done.wait()
        if scope.cancelled_caught:
            raise RequestTimedOut(
                f"no response from {self.host}:{self.port} to "
                f"{messages.API_NAMES.get(api_key, api_key)} within {timeout_ms} ms")
        if pending.error is not None:
            raise pending.error
        return pending.response

    def version_for(self, api_key: int) -> int:
        """The version to use for ``api_key``; raises if there is none."""
        try:
            return self.api_versions[api_key]
        except KeyError:
            name = messages.API_NAMES.get(api_key, str(api_key))
            raise KafkaError(ErrorCode.UNSUPPORTED_VERSION,
                             f"broker {self.host}:{self.port} does not support {name}") from None

    async def send(self, api_key: int, body, *, api_version: int | None = None,
                   expect_response: bool = True, on_done=None) -> InFlightRequest | None:
        """Write one request and return at once: its slot, or None without a response.

        Requests leave in the order ``send()`` was called: a caller that
        does not yield before calling it keeps its place (the lock is FIFO).
        While the broker throttles this client, the request waits (holding
        its place) until the throttle time has passed.

        Args:
            api_key, body, api_version, expect_response: as for ``request()``.
            on_done: set as the slot's ``InFlightRequest.on_done``.

        Raises:
            KafkaError(UNSUPPORTED_VERSION): the broker does not speak this API.
            KafkaConnectionError: the connection is closed or broke while writing.
        """
        version = self.version_for(api_key) if api_version is None else api_version
        if self._closed_error is not None:
            raise self._closed_error
        if self._send_lock.locked():
            await self._send_lock.acquire()  # FIFO behind the writers already waiting
        else:
            self._send_lock.acquire_nowait()  # the usual case: no scheduling round trip
        try:
            if self.throttle.until_ms:
                await self.wait_until_unthrottled()
                if self._closed_error is not None:
                    raise self._closed_error
            correlation_id = next(self._correlation_ids)
            frame = framing.encode_request(api_key, version, correlation_id, self.client_id, body)
            pending = InFlightRequest(api_key, version, correlation_id, on_done)
            if expect_response:
                # Queue before sending: the response may arrive before send_all returns.
                self._pending.append(pending)
            try:
                await self._stream.send_all(frame)
            except BaseException as exc:
                # A half-written frame leaves the stream unusable (also on cancel).
                self._fail(KafkaConnectionError(f"send to {self.host}:{self.port} failed: {exc!r}"))
                if isinstance(exc, (trio.BrokenResourceError, trio.ClosedResourceError, OSError)):
                    raise self._closed_error from exc
                raise
        finally:
            self._send_lock.release()
        return pending if expect_response else None

    async def wait_until_unthrottled(self) -> None:
        """Sleep until the broker's throttle time (if any) has passed."""
        while (delay_ms := self.throttle.delay_ms(_now_ms())) > 0:
            await trio.sleep(delay_ms / 1000)

    # -- the reader task ----------------------------------------------------

    async def _read_responses(self) -> None:
        """Read frames forever and hand each to the oldest pending request."""
        try:
            while True:
                frame = await receive_frame(self._stream, self._reader, receive_bytes=RECEIVE_BYTES)
                if frame is None:
                    raise KafkaConnectionError(f"broker {self.host}:{self.port} closed the connection")
                self._dispatch(frame)
        except KafkaConnectionError as exc:
            self._fail(exc)
        except framing.FramingError as exc:
            self._fail(KafkaConnectionError(f"bad response from {self.host}:{self.port}: {exc}"))
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self._fail(KafkaConnectionError(f"connection to {self.host}:{self.port} broke: {exc!r}"))

    def _dispatch(self, frame: memoryview) -> None:
        if not self._pending:
            raise KafkaConnectionError(f"unexpected response from {self.host}:{self.port}")
        pending = self._pending.popleft()
        try:
            correlation_id, body = _decode_response(frame, pending.api_key, pending.api_version)
        except ValueError as exc:  # codec.DecodeError is a ValueError
            pending.resolve(error=KafkaConnectionError(f"undecodable response: {exc}"))
            return
        if correlation_id != pending.correlation_id:
            raise KafkaConnectionError(
                f"correlation id mismatch from {self.host}:{self.port}: "
                f"expected {pending.correlation_id}, got {correlation_id}")
        # Throttle first: whoever the response wakes must already see the deadline.
        now_ms = _now_ms()
        throttle_time_ms = self.throttle.on_response(pending.api_key, pending.api_version, body,
                                                     now_ms)
        if self._on_throttle_time is not None:
            self._on_throttle_time(throttle_time_ms, now_ms)
        pending.resolve(body)

    def _fail(self, error: KafkaConnectionError) -> None:
        """Mark the connection dead and wake every waiting request with ``error``."""
        if self._closed_error is None:
            self._closed_error = error
        while self._pending:
            self._pending.popleft().resolve(error=error)

    async def aclose(self) -> None:
        """Close the socket; waiting requests fail with KafkaConnectionError."""
        self._fail(KafkaConnectionError(f"connection to {self.host}:{self.port} closed"))
        await self._stream.aclose()

    # -- ApiVersions ------------------------------------------------------------

    async def negotiate_versions(self, timeout_ms: float) -> None:
        """Ask the broker which versions it speaks and pick ours (KIP-35)."""
        ours = messages.REQUESTS[API_VERSIONS_KEY].valid_versions.highest
        body = {"client_software_name": "minikafka-clients",
                "client_software_version": _client_version()}
        response = await self.request(API_VERSIONS_KEY, body, api_version=ours, timeout_ms=timeout_ms)
        if response.error_code == ErrorCode.UNSUPPORTED_VERSION:
            theirs = {k.api_key: k.max_version for k in response.api_keys}
            retry = min(ours, theirs.get(API_VERSIONS_KEY, 0))
            response = await self.request(API_VERSIONS_KEY, body, api_version=retry,
                                          timeout_ms=timeout_ms)
        if response.error_code != ErrorCode.NONE:
            raise KafkaError(ErrorCode(response.error_code), "ApiVersions failed")
        self.api_versions = pick_versions(response.api_keys)


def _now_ms() -> float:
    return trio.current_time() * 1000


def _decode_response(frame, api_key: int, api_version: int):
    """``framing.read_response``, plus ApiVersions' special case.

    A broker that does not speak our ApiVersions version answers in v0 (KIP-511),
    so a body that does not decode at our version is read again as v0.
    """
    try:
        return framing.read_response(frame, api_key, api_version)
    except ValueError:
        if api_key != API_VERSIONS_KEY or api_version == 0:
            raise
        return framing.read_response(frame, api_key, 0)


def pick_versions(broker_api_keys) -> dict[int, int]:
    """Per API, the highest version both we (our declarations) and the broker speak."""
    chosen = {}
    for entry in broker_api_keys:
        ours = messages.REQUESTS.get(entry.api_key)
        if ours is None:
            continue
        high = min(ours.valid_versions.highest, entry.max_version)
        if high >= max(ours.valid_versions.lowest, entry.min_version):
            chosen[entry.api_key] = high
    return chosen


def _client_version() -> str:
    from minikafka import __version__

    return __version__


async def connect(nursery: trio.Nursery, host: str, port: int, *, client_id: str = "minikafka",
                  timeout_ms: float = 10_000, setup_timeout_ms: float | None = None,
                  throttle: NodeThrottle | None = None,
                  on_throttle_time: Callable[[int, float], None] | None = None) -> Connection:
    """Open a connection, start its reader in ``nursery``, negotiate versions.

    Args:
        timeout_ms: how long ApiVersions may take (``request.timeout.ms``).
        setup_timeout_ms: how long opening the TCP connection may take
            (``socket.connection.setup.timeout.ms``); default ``timeout_ms``.
        throttle: the broker's ``NodeThrottle`` (kept by the caller across
            reconnects); default a fresh one.
        on_throttle_time: called with ``(throttle_time_ms, now_ms)`` for
            every response (the client's throttle-time sensor).

    Raises:
        KafkaConnectionError: the broker cannot be reached or did not answer.
    """
    setup_timeout_ms = timeout_ms if setup_timeout_ms is None else setup_timeout_ms
    with trio.move_on_after(setup_timeout_ms / 1000) as scope:
        try:
            stream = await trio.open_tcp_stream(host, port)
        except OSError as exc:
            raise KafkaConnectionError(f"cannot connect to {host}:{port} ({_reason(exc)})") from None
    if scope.cancelled_caught:
        raise RequestTimedOut(f"cannot connect to {host}:{port} "
                              f"(timed out after {setup_timeout_ms} ms)")
    connection = Connection(stream, host, port, client_id, throttle=throttle,
                            on_throttle_time=on_throttle_time)
    nursery.start_soon(connection._read_responses)
    try:
        await connection.negotiate_versions(timeout_ms)
    except BaseException:
        with trio.CancelScope(shield=True):
            await connection.aclose()
        raise
    return connection


def _reason(exc: OSError) -> str:
    # trio raises one OSError for all the addresses tried; the per-address
    # errors (ECONNREFUSED, ...) hang off __cause__, possibly as a group.
    cause = exc.__cause__
    while getattr(cause, "exceptions", None):
        cause = cause.exceptions[-1]
    if isinstance(cause, OSError) and cause.errno:
        return os.strerror(cause.errno)
    return exc.strerror or str(exc)

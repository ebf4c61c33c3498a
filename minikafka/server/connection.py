"""One client connection: read frames, run handlers, write responses in order.

A connection task loops: receive the next frame
(:func:`minikafka.rpc.stream.receive_frame` feeding the connection's
``protocol.framing.FrameReader``), decode its request header and body
(``Connection.process``), run the API's handler, and send the encoded
response with a single ``send_all`` (or ``send_parts`` for a zero-copy Fetch).

Ordering: Kafka answers the requests of one connection strictly in the order
they arrived, even when the client pipelines many (librdkafka sends up to
``max.in.flight`` produce requests back to back). Kafka gets this by *muting*
the channel while a request is being processed; here the same falls out of
processing one frame at a time in the connection's single task. While a
fetch long-polls, later requests on that connection wait, exactly as in Kafka.

Failures close only this connection, never the broker:

- a frame size below zero or above ``socket.request.max.bytes``
  (``framing.FramingError``);
- a header that cannot be decoded, or an API key the broker does not serve;
- an unsupported version, except ApiVersions: a client probing with a version
  newer than ours gets a v0-format answer with ``UNSUPPORTED_VERSION`` and our
  API list, so it can retry with a version we know (KIP-511);
- any exception escaping a handler (a bug): logged with its traceback, the
  request is not answered and the connection is closed.

Produce with ``acks=0`` has no response: the handler returns ``None``.

Quotas and throttling (KIP-13, KIP-124, KIP-219): when the broker has
client quotas (``services.quotas``), each request is charged to its client:

- the handler's running time (``task_time``: the connection task's busy
  time, as Kafka charges a request thread's time) goes into the *request*
  quota as a percentage of one thread, except for the APIs Kafka exempts
  (inter-broker and quorum RPCs, follower fetches, anything on a controller
  listener, and acks=0 produce);
- a handler that records bytes (Produce, Fetch) leaves its *bandwidth*
  throttle in ``ctx.throttle_time_ms``.

The client is then throttled for ``max(bandwidth, request)`` milliseconds
(and no less than a throttle already in the response, as a controller's
answer to a forwarded request). As Kafka since KIP-219, the response goes
out at once with that ``throttle_time_ms`` (in versions that have the field),
and then the connection is *muted*: the task stops reading its frames until
the throttle time has passed, so a client that ignores the hint is held back
anyway. The throttle time counts from the moment it is decided, not from the
end of the send (Kafka's ``ThrottledChannel``): a large response that is slow
to leave does not lengthen it.
Kafka mutes after every throttled response, whatever its version: for
versions whose clients do not throttle themselves (``shouldClientThrottle``
false: Produce v0-5, Fetch v0-7, ...) the mute alone delays their next
request, which is what the old delayed responses achieved. A Produce with
acks=0 sends nothing, and the connection is muted all the same. While no
quota is configured (the default) a request pays a few attribute reads and
one short call for all this; the handler is not timed.

Zero copy (Kafka's ``transferTo``, the "Efficiency" section of its design
doc): a Fetch response may carry ``FileRegion``s (file, position, length)
where its records go, and then encodes to a list of parts. ``send_parts``
sends the bytes parts with ``send_all`` and each region with
``os.sendfile``: the kernel copies the batches from the page cache straight
to the socket, and Python never sees them. ``MINIKAFKA_ZERO_COPY=0`` in the
environment turns this off (Fetch then reads bytes and sends them), so the
two can be compared.

Request metrics (``server.broker_metrics``): when the broker has them
(``broker.request_metrics``), each request's stages are timed with
``perf_counter_ns``: frame in hand, handler start, handler end, response
sent; the time its handler waited in a purgatory comes from the task's
``replication.waiters.RemoteTime``. The handlers record the topic metrics
in ``services.topic_stats``.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Protocol

import trio

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.controller_apis import handlers_for_listener
from minikafka.protocol import codec, framing, messages
from minikafka.protocol.metadata_topic import is_metadata_fetch
from minikafka.replication.waiters import track_remote_time
from minikafka.rpc.stream import receive_frame
from minikafka.server.broker_metrics import FETCH_CONSUMER, FETCH_FOLLOWER
from minikafka.server.task_time import task_times

if TYPE_CHECKING:
    from minikafka.config import BrokerConfig
    from minikafka.handlers.services import BrokerServices, Handler

log = logging.getLogger("minikafka.server")
_perf_ns = time.perf_counter_ns

FETCH_KEY = 1
# ApiVersions, Vote, BeginQuorumEpoch, EndQuorumEpoch, FetchSnapshot,
# BrokerRegistration, BrokerHeartbeat: answered while the broker catches up.
CATCH_UP_API_KEYS = frozenset({18, 52, 53, 54, 59, 62, 63})

API_VERSIONS_KEY = 18
_BYTES_LIKE = (bytes, bytearray, memoryview)
PRODUCE_KEY = 0
# The bandwidth quota whose throttle a handler leaves in ctx.throttle_time_ms
# (others, as the controller mutation quota, record their own throttle time).
BANDWIDTH_QUOTAS = {PRODUCE_KEY: "produce", FETCH_KEY: "fetch"}

# Kafka's cluster-action APIs this broker serves, and the quorum's
# FetchSnapshot: never charged to a client's request quota (Kafka's
# ``sendResponseExemptThrottle``). WriteTxnMarkers, Vote, BeginQuorumEpoch,
# EndQuorumEpoch, AlterPartition, FetchSnapshot, BrokerRegistration,
# BrokerHeartbeat, AllocateProducerIds.
REQUEST_QUOTA_EXEMPT_API_KEYS = frozenset({27, 52, 53, 54, 56, 59, 62, 63, 67})


def _first_throttle_versions() -> dict[int, int]:
    """``{api_key: first response version with a top-level throttle_time_ms}``."""
    first = {}
    for api_key, message in messages.RESPONSES.items():
        for field in message.fields:
            if field.name == "throttle_time_ms":
                first[api_key] = field.versions.lowest
    return first


FIRST_THROTTLE_VERSION = _first_throttle_versions()


def zero_copy_enabled() -> bool:
    """Whether Fetch may answer with file regions: on unless ``MINIKAFKA_ZERO_COPY=0``."""
    return os.environ.get("MINIKAFKA_ZERO_COPY", "1") != "0"


class ServedBroker(Protocol):
    """What a connection needs of the broker it serves (the ``Broker``).

    Its id (for the logs), config (frame size limit, controller listeners),
    handler table, the ``BrokerServices`` handed to each handler, and whether
    its metadata has caught up (client requests wait until it has).
    """

    node_id: int
    config: BrokerConfig
    handlers: dict[int, Handler]
    services: BrokerServices | None

    @property
    def caught_up(self) -> bool: ...

    async def wait_caught_up(self) -> None: ...


class CloseConnection(Exception):
    """Raised while processing a frame when the connection must be closed."""


class Connection:
    """The state of one client connection. Owned by its connection task.

    Attributes:
        peer: ``"host:port"`` of the client.
        listener_name: the name of the listener that accepted it (``PLAINTEXT``,
            ``CONTROLLER``), or None for a connection made some other way.
        client_software_name: from ApiVersions v3+ (KIP-511), else None.
        client_software_version: from ApiVersions v3+, else None.
    """

    def __init__(self, broker: ServedBroker, stream: trio.abc.Stream, peer: str,
                 listener_name: str | None = None):
        self.broker = broker
        self.stream = stream
        self.peer = peer
        self.listener_name = listener_name
        controller_listeners = broker.config["controller.listener.names"]
        self.is_controller_listener = listener_name is not None and listener_name in controller_listeners
        self.handlers = handlers_for_listener(broker.handlers, listener_name, controller_listeners)
        self.client_software_name: str | None = None
        self.client_software_version: str | None = None
        self._reader = framing.FrameReader(broker.config["socket.request.max.bytes"])
        # Read once per connection (the flag is meant for whole runs).
        self.zero_copy = zero_copy_enabled()
        # Set by process(): until when (Trio's clock, s) to read nothing after the
        # response (KIP-219), and the throttle time that mute is for (ms).
        self.muted_until: float | None = None
        self.throttle_ms = 0
        # The broker's request and topic metrics (server.broker_metrics), or None.
        self.request_metrics = getattr(broker, "request_metrics", None)
        # Set by process() for the request metrics: (api_key, version, Kafka's extra
        # Fetch name or None) and when its handler began.
        self._request_key: tuple[int, int, str | None] | None = None
        self._handler_began = 0
        self._remote = None  # the task's RemoteTime, once run() starts

    async def run(self) -> None:
        """Serve the connection until the peer leaves or it must be closed."""
        if self.request_metrics is not None:
            self._remote = track_remote_time()
        try:
            await self._serve_frames()
        except framing.FramingError as exc:
            log.warning("broker %s: closing %s: %s", self.broker.node_id, self.peer, exc)
        except (CloseConnection, KafkaError) as exc:
            # KafkaError escapes a handler only on purpose (Produce with acks=0
            # has no other way to report an error).
            log.warning("broker %s: closing %s: %s", self.broker.node_id, self.peer, exc)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the client went away; nothing to answer
        except Exception:
            log.exception("broker %s: closing %s after a handler error",
                          self.broker.node_id, self.peer)
        finally:
            await trio.aclose_forcefully(self.stream)

    async def _serve_frames(self) -> None:
        while True:
            # Pipelined requests are often in the buffer already: take them
            # without the cost of an await.
            frame = self._reader.next_frame()
            if frame is None:
                frame = await receive_frame(self.stream, self._reader)
                if frame is None:
                    return  # an orderly close by the client
            received = _perf_ns()
            response = await self.process(frame)
            handled = _perf_ns()
            if isinstance(response, list):
                await send_parts(self.stream, response)
            elif response is not None:
                await self.stream.send_all(response)
            if self.request_metrics is not None:
                self._record_request(received, handled)
            self.throttle_ms = 0
            if self.muted_until is not None:
                await self._mute()

    def _record_request(self, received: int, handled: int) -> None:
        """Record the request just answered in its ``RequestMetrics`` (see the module docstring)."""
        key, self._request_key = self._request_key, None
        remote = self._remote
        remote_ns, remote.ns = remote.ns, 0
        if key is None:  # answered without a handler (an ApiVersions probe)
            return
        api_key, version, fetch_name = key
        # (version, queue, handler, remote, send in ns, throttle in ms): RequestMetrics.record's arguments
        times = (version, self._handler_began - received, handled - self._handler_began, remote_ns,
                 _perf_ns() - handled, self.throttle_ms)
        self.request_metrics.of(api_key).record(*times)
        if fetch_name is not None:
            self.request_metrics.named(fetch_name).record(*times)

    async def _mute(self) -> None:
        """Read nothing until ``muted_until`` (Kafka's throttled, muted channel)."""
        muted_until, self.muted_until = self.muted_until, None
        log.debug("broker %s: muting %s for %.0f ms", self.broker.node_id, self.peer,
                  max(0.0, muted_until - trio.current_time()) * 1000)
        await trio.sleep_until(muted_until)

    async def process(self, frame: memoryview) -> bytes | list | None:
        """Handle one request frame; return the response frame, or None.

        The frame is ``bytes``, or a list of parts (``framing.encode_response``)
        when it holds file regions; those must go through ``send_parts``.

        Raises:
            CloseConnection: the frame cannot be answered.
        """
        try:
            header, body_offset = framing.read_request_header(frame)
        except framing.UnsupportedVersionError as exc:
            return self._unsupported_version(exc)
        except framing.UnknownApiError as exc:
            raise CloseConnection(f"unknown API: {exc}") from None
        except codec.DecodeError as exc:
            raise CloseConnection(f"undecodable request header: {exc}") from None
        api_key = header.request_api_key
        handler = self.handlers.get(api_key)
        if handler is None:
            raise CloseConnection(f"no handler for API key {api_key}")
        version = header.request_api_version
        try:
            request = messages.REQUESTS[api_key].decode(frame[body_offset:], version)
        except codec.DecodeError as exc:
            # Kafka closes the connection on an unparsable request body too.
            raise CloseConnection(
                f"undecodable {messages.API_NAMES[api_key]} v{version} request: {exc}"
            ) from None
        if not self.broker.caught_up and not self._served_while_catching_up(api_key, request):
            await self.broker.wait_caught_up()
        ctx = RequestContext(api_key, version, header.correlation_id,
                             header.client_id, self.peer, self, request_size=len(frame))
        services = self.broker.services
        quotas = services.quotas if services is not None else None
        request_throttle_ms = 0
        if self.request_metrics is not None:  # read only by _record_request
            self._request_key = (api_key, version, self._fetch_metrics_name(api_key, request))
            self._handler_began = _perf_ns()
        if quotas is not None and quotas.request.enabled:
            body, request_throttle_ms = await self._handle_timed(handler, services, request, ctx, quotas.request)
        else:
            body = await handler(services, request, ctx)
        if quotas is not None and not self.is_controller_listener:
            self._throttle(ctx, body, quotas, request_throttle_ms)
        if body is None:
            return None
        return framing.encode_response(api_key, version, header.correlation_id, body)

    @staticmethod
    def _fetch_metrics_name(api_key: int, request) -> str | None:
        """Kafka's second name for a Fetch in the request metrics (consumer or follower), else None."""
        if api_key != FETCH_KEY:
            return None
        return FETCH_FOLLOWER if is_follower_fetch(request) else FETCH_CONSUMER

    async def _handle_timed(self, handler: Handler, services: BrokerServices, request, ctx: RequestContext,
                            request_quota) -> tuple[dict | None, int]:
        """Run the handler and charge its running time to the client's request quota.

        Returns:
            The response body and the request throttle in ms (0 for the
            exempt requests, whose time Kafka records apart, unthrottled).
        """
        timer = task_times()
        timer.start()
        try:
            body = await handler(services, request, ctx)
        finally:
            nanos = timer.stop()
        now_ms = int(services.clock.monotonic_ms())
        if self._exempt(ctx.api_key, request):
            request_quota.record_exempt(nanos, now_ms)
            return body, 0
        throttle_ms = request_quota.record_request_time(ctx.quota_user, ctx.quota_client_id, nanos, now_ms)
        return body, throttle_ms

    def _exempt(self, api_key: int, request) -> bool:
        """The requests Kafka never throttles for their request time.

        Inter-broker and quorum RPCs, follower and quorum fetches, anything
        on a controller listener, and Produce with acks=0 (no response to
        carry a throttle time; its bandwidth is still charged).
        """
        return (self.is_controller_listener
                or api_key in REQUEST_QUOTA_EXEMPT_API_KEYS
                or (api_key == FETCH_KEY and (is_follower_fetch(request) or is_metadata_fetch(request)))
                or (api_key == PRODUCE_KEY and request.acks == 0))

    def _throttle(self, ctx: RequestContext, body: dict | None, quotas, request_throttle_ms: int) -> None:
        """Throttle the client by the larger of its bandwidth and request throttles.

        Puts the throttle in the response (if its version has the field),
        records it in the throttle-time metric of the quota that caused it
        (Kafka's ``throttle``), and mutes the connection once the response
        is sent, until the throttle time counted from now has passed. A
        response may already carry a throttle (the controller's answer to a
        forwarded request, KIP-599): the larger one is kept, as
        Kafka's ``sendForwardedResponse`` does. A controller listener never
        mutes: its connections carry many clients' forwarded requests.
        """
        bandwidth_ms = ctx.throttle_time_ms
        if not (bandwidth_ms or request_throttle_ms or (body is not None and body.get("throttle_time_ms"))):
            return  # the usual case, quota or not: nothing throttles this request
        throttle_ms = max(bandwidth_ms, request_throttle_ms)
        has_field = body is not None and ctx.api_version >= FIRST_THROTTLE_VERSION.get(ctx.api_key, 1 << 15)
        if has_field:
            throttle_ms = max(throttle_ms, body.get("throttle_time_ms") or 0)
        if throttle_ms <= 0:
            return
        if has_field:
            body["throttle_time_ms"] = throttle_ms
        self.muted_until = trio.current_time() + throttle_ms / 1000
        self.throttle_ms = throttle_ms
        if bandwidth_ms > request_throttle_ms:
            manager = getattr(quotas, BANDWIDTH_QUOTAS.get(ctx.api_key, ""), None)
            throttle_of_manager = bandwidth_ms
        else:
            manager, throttle_of_manager = quotas.request, request_throttle_ms
        if manager is not None and throttle_of_manager > 0:
            manager.record_throttle_time(ctx.quota_user, ctx.quota_client_id, throttle_of_manager,
                                         int(self.broker.services.clock.monotonic_ms()))

    def _served_while_catching_up(self, api_key: int, request) -> bool:
        """What a starting broker answers before its metadata is current.

        The controller listener's requests, the quorum's own RPCs (Raft and
        the metadata Fetch) and broker registration keep the cluster going
        and let this broker catch up; ApiVersions tells a client what we
        speak. Everything else waits (Kafka accepts client requests only
        once the broker has caught up).
        """
        return (self.is_controller_listener
                or api_key in CATCH_UP_API_KEYS
                or (api_key == FETCH_KEY and is_metadata_fetch(request)))

    def _unsupported_version(self, exc: framing.UnsupportedVersionError) -> bytes:
        """Answer an ApiVersions probe we cannot parse; close for anything else."""
        if exc.api_key != API_VERSIONS_KEY:
            raise CloseConnection(str(exc))
        from minikafka.handlers import api_versions  # the API list lives there

        body = {
            "error_code": ErrorCode.UNSUPPORTED_VERSION,
            "api_keys": api_versions.supported_api_keys(self.broker.services),
        }
        # A client that sent an unknown version reads the answer as v0.
        return framing.encode_response(API_VERSIONS_KEY, 0, exc.correlation_id, body)


def is_follower_fetch(request) -> bool:
    """Is a decoded Fetch request a follower replica's (``replica_id`` >= 0)?"""
    state = getattr(request, "replica_state", None)
    replica_id = state.replica_id if state is not None else getattr(request, "replica_id", -1)
    return replica_id >= 0


async def send_parts(stream: trio.abc.Stream, parts: list) -> None:
    """Send a frame made of bytes and file regions, in order; close the regions.

    The regions are closed whatever happens (sent, peer gone, cancelled).
    """
    try:
        for part in parts:
            if isinstance(part, _BYTES_LIKE):
                await stream.send_all(part)
            else:
                await send_region(stream, part)
    finally:
        for part in parts:
            if not isinstance(part, _BYTES_LIKE):
                part.close()


async def send_region(stream: trio.abc.Stream, region) -> None:
    """Send ``region.length`` bytes of ``region.fd`` from ``region.position`` with sendfile.

    The socket is non-blocking: ``os.sendfile`` sends what fits in the
    socket buffer and returns that count (a partial send), or raises
    ``BlockingIOError`` when the buffer is full; then we wait until the
    socket is writable. A stream without a socket (an in-memory test
    network) gets the bytes read and sent instead.
    """
    sock = getattr(stream, "socket", None)
    if sock is None:
        await stream.send_all(region.read())
        return
    position, remaining = region.position, region.length
    while remaining > 0:
        try:
            sent = os.sendfile(sock.fileno(), region.fd, position, remaining)
        except BlockingIOError:
            await trio.lowlevel.wait_writable(sock)
            continue
        except (BrokenPipeError, ConnectionResetError) as exc:
            # The peer left mid-response: the same as a failed send_all.
            raise trio.BrokenResourceError(f"the peer closed the connection: {exc}") from None
        if sent == 0:
            # The file shrank under us (truncated): the frame's size prefix
            # is already out, so the stream cannot be repaired.
            raise CloseConnection(f"{region!r}: file ended {remaining} bytes early")
        position += sent
        remaining -= sent
    await trio.lowlevel.checkpoint()  # a fast peer may never make us wait

"""The broker's Prometheus endpoint: ``GET /metrics`` over a tiny HTTP/1.1 server.

Kafka publishes its metrics over JMX, and operators usually put the
Prometheus JMX exporter (a Java agent) in front of them, whose rules turn an
MBean attribute such as ``kafka.server:type=Produce,user=alice,client-id=app``
``byte-rate`` into the Prometheus sample
``kafka_server_produce_byte_rate{user="alice",client_id="app"}``. minikafka
has no JVM, so it serves the exporter's *output* itself: the same names, the
same labels, in the text format of ``prometheus_client``.

Theory of operation:

- One :class:`MetricsRegistry` per broker wraps a ``prometheus_client``
  ``CollectorRegistry``. A *collector* is any object with a ``collect()``
  method yielding metric families (``prometheus_client``'s custom-collector
  protocol); it reads its source each time it is scraped, so nothing is
  copied or updated on the broker's hot paths. Parts of the broker register
  more collectors over time (:meth:`MetricsRegistry.register`): the
  :class:`ClientQuotaCollector` below, and the collector of the broker's
  Yammer-style metrics registry (``minikafka.metrics.prometheus.RegistryCollector``
  over ``broker.metrics``).
- :func:`serve_metrics` listens on ``metrics.http.listener`` (``host:port``,
  minikafka's own key; empty turns the endpoint off, port 0 takes any free
  port, which it reports through ``task_status``). Each connection gets one
  request and one response, then is closed (``Connection: close``): a scraper
  asks every few seconds, so keep-alive buys nothing here.
- The server runs in the broker's Trio run, so a scrape reads the quota
  managers from the same thread that updates them: no locks.

Only ``GET /metrics`` (query strings ignored) answers 200; any other path
is 404, any other method 405. A request head larger
than :data:`MAX_HEAD_BYTES` or slower than :data:`READ_TIMEOUT_S` is dropped.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable, Iterable, Protocol

import trio
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from minikafka.server.network import bound_port

log = logging.getLogger("minikafka.server.metrics_http")

MAX_HEAD_BYTES = 8192
READ_TIMEOUT_S = 10.0
METRICS_PATH = "/metrics"


# -- the registry --------------------------------------------------------------

class Collector(Protocol):
    """``prometheus_client``'s custom collector: yields metric families when scraped."""

    def collect(self) -> Iterable: ...


class MetricsRegistry:
    """The collectors one broker exposes; renders them in Prometheus' text format.

    Owned by the broker; used from its Trio thread only.
    """

    def __init__(self) -> None:
        # auto_describe=False: collect() runs at scrape time only, never at
        # registration (where the broker may not be fully built yet).
        self._registry = CollectorRegistry(auto_describe=False)

    def register(self, collector: Collector) -> None:
        """Add a collector; its metrics appear from the next scrape on."""
        self._registry.register(collector)

    def render(self) -> bytes:
        """Every collector's metrics in Prometheus' text exposition format."""
        return generate_latest(self._registry)


# -- the client quota collector --------------------------------------------------

# Kafka's QuotaType (the MBean's ``type=``) -> the quota manager (a field of
# the broker's quota services) and its per-client attributes: (the
# ClientMetric field, the MBean attribute, its description).
QUOTA_METRICS = {
    "Produce": ("produce", (
        ("rate", "byte-rate", "Produce bytes per second, per user/client-id"),
        ("throttle_time_ms", "throttle-time", "Average produce throttle time in ms, per user/client-id"))),
    "Fetch": ("fetch", (
        ("rate", "byte-rate", "Fetch bytes per second, per user/client-id"),
        ("throttle_time_ms", "throttle-time", "Average fetch throttle time in ms, per user/client-id"))),
    "Request": ("request", (
        ("rate", "request-time", "Request handler time in percent of one thread, per user/client-id"),
        ("throttle_time_ms", "throttle-time", "Average request throttle time in ms, per user/client-id"))),
    "ControllerMutation": ("controller_mutation", (
        ("rate", "mutation-rate", "Partitions created or deleted per second, per user/client-id"),
        ("throttle_time_ms", "throttle-time", "Average controller mutation throttle time in ms, "
                                              "per user/client-id"))),
}

LABELS = ("user", "client_id")


def exporter_name(domain: str, mbean_type: str, attribute: str) -> str:
    """The name the JMX exporter's common Kafka rules give an MBean attribute.

    ``("kafka.server", "Produce", "byte-rate")`` -> ``kafka_server_produce_byte_rate``:
    the domain and type joined, lower case (``lowercaseOutputName``), every
    character Prometheus does not allow turned into ``_``.
    """
    raw = f"{domain}_{mbean_type}_{attribute}".lower()
    return "".join(c if c.isalnum() or c == "_" else "_" for c in raw)


class ClientQuotaCollector:
    """Kafka's per-client quota metrics (``kafka.server:type=Produce|Fetch|Request|ControllerMutation``).

    Reads ``client_metrics(now_ms)`` of the broker's produce, fetch, request
    and controller mutation quota managers at each scrape. One sample per
    quota *sensor*: clients that share a user-level quota share a sensor, so
    Kafka reports them as one entity, with the tags the quota callback gave
    the sensor (``user`` and ``client_id`` labels, empty where the quota does
    not distinguish them).

    Args:
        quotas: the broker's quota services (``produce``, ``fetch``,
            ``request``, ``controller_mutation`` managers), or None when
            quotas are not built.
        now_ms: the clock the quota managers record with.
    """

    def __init__(self, quotas, now_ms: Callable[[], float]):
        self._quotas = quotas
        self._now_ms = now_ms

    def collect(self):
        if self._quotas is None:
            return
        now_ms = self._now_ms()
        for mbean_type, (manager, attributes) in QUOTA_METRICS.items():
            clients = getattr(self._quotas, manager).client_metrics(now_ms)
            for field, attribute, documentation in attributes:
                family = GaugeMetricFamily(exporter_name("kafka.server", mbean_type, attribute),
                                           documentation, labels=LABELS)
                for client in clients:
                    family.add_metric([client.user or "", client.client_id or ""],
                                      float(getattr(client, field)))
                yield family


# -- the HTTP server ------------------------------------------------------------

def parse_listener(value: str) -> tuple[str, int]:
    """``host:port`` -> ``(host, port)``; an empty host binds every interface.

    Raises:
        ValueError: not ``host:port`` with a numeric port.
    """
    host, colon, port = value.strip().rpartition(":")
    if not colon or not port.isdigit():
        raise ValueError(f"metrics.http.listener must be host:port, not {value!r}")
    return host.strip("[]"), int(port)


OpenListeners = Callable[[str | None, int], Awaitable[list]]


async def serve_metrics(listener: str, registry: MetricsRegistry, open_listeners: OpenListeners | None = None,
                        *, task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Serve ``registry`` on ``listener`` (``host:port``) until cancelled.

    ``task_status.started(port)`` reports the port actually bound.

    Args:
        listener: ``metrics.http.listener``.
        registry: what ``GET /metrics`` renders.
        open_listeners: the broker's network seam (default: real TCP).
    """
    host, port = parse_listener(listener)
    if open_listeners is None:
        listeners = await trio.open_tcp_listeners(port, host=host or None)
    else:
        listeners = await open_listeners(host, port)
    bound = bound_port(listeners[0])
    log.info("metrics endpoint on http://%s:%d%s", host or "0.0.0.0", bound, METRICS_PATH)
    async with trio.open_nursery() as nursery:
        task_status.started(bound)
        await trio.serve_listeners(lambda stream: _serve_one(stream, registry), listeners,
                                   handler_nursery=nursery)


async def _serve_one(stream: trio.abc.Stream, registry: MetricsRegistry) -> None:
    """Read one request head, answer it, close the connection."""
    async with stream:
        try:
            with trio.fail_after(READ_TIMEOUT_S):
                head = await _read_head(stream)
            if head is None:
                return
            status, headers, body = respond(head, registry)
            await stream.send_all(_format_response(status, headers, body))
        except (trio.TooSlowError, trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        except Exception:  # a scrape must never take the broker down
            log.exception("metrics endpoint: request failed")


async def _read_head(stream: trio.abc.Stream) -> bytes | None:
    """The request line and headers, or None if the client went away or sent too much."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEAD_BYTES:
            return None
        chunk = await stream.receive_some(4096)
        if not chunk:
            return None
        data += chunk
    return data.split(b"\r\n\r\n", 1)[0]


def respond(head: bytes, registry: MetricsRegistry) -> tuple[str, dict[str, str], bytes]:
    """``(status line text, headers, body)`` for one request head (sans-I/O)."""
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = request_line.split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return "400 Bad Request", {"Content-Type": "text/plain"}, b"bad request\n"
    method, target, _ = parts
    if target.split("?", 1)[0] != METRICS_PATH:
        return "404 Not Found", {"Content-Type": "text/plain"}, b"not found: try /metrics\n"
    if method != "GET":
        return "405 Method Not Allowed", {"Content-Type": "text/plain", "Allow": "GET"}, b""
    return "200 OK", {"Content-Type": CONTENT_TYPE_LATEST}, registry.render()


def _format_response(status: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items()),
             f"Content-Length: {len(body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body

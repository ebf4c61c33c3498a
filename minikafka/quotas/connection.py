"""Connection quotas: how many connections a broker takes, and how fast (Kafka's ConnectionQuotas).

Four limits, checked when a listener accepts a socket, in Kafka's order:

1. ``max.connection.creation.rate`` (broker-wide, connections per second,
   dynamic): every accepted connection is recorded in a ``Rate``; above the
   rate, the acceptor *waits* the throttle time (``(observed - limit) / limit *
   window``, at most one quota window) before it goes on. Nothing is refused:
   the connections just arrive more slowly.
2. ``max.connections`` (broker-wide, dynamic): while the broker holds that many
   connections, the acceptor *waits for a slot* (a connection closing, or a
   larger limit). Lowering it below the current count makes the server close
   connections (``max_connections_exceeded``).
3. per-IP ``connection_creation_rate`` quota (an ``ip`` quota entity, or the
   default IP's): above it the connection is *throttled*: not counted, its
   recording taken back (in the IP's and the broker's rate), and the socket
   closed after the throttle time, so the client does not reconnect at once.
4. ``max.connections.per.ip`` and ``max.connections.per.ip.overrides``
   (``host:count,...``, dynamic): an IP that already holds that many
   connections is *refused*: the socket is closed at once.

Sans-I/O protocol for the listener::

    decision = quotas.on_accept(ip, now_ms)
    while decision.action is AcceptAction.WAIT:
        sleep decision.delay_ms, then until quotas.slot_available()
        decision = quotas.admit(ip, now_ms)
    ACCEPT   -> serve it; call quotas.on_close(ip) when it closes
    REFUSE   -> close it now
    THROTTLE -> close it after decision.delay_ms

A connection on a *protected* listener (the inter-broker one, when the broker
has several) skips the broker-wide rate and ``max.connections``, as in Kafka.
Per-listener ``listener.name.X.max.connections`` limits are not modelled.

Host names in ``max.connections.per.ip.overrides`` are kept as written unless a
``host_resolver`` (for example ``socket.gethostbyname``) is given: Kafka
resolves them when the config is read, which is I/O this module does not do.

One ``ConnectionQuotas`` per broker, shared by its listeners; not task-safe.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import NamedTuple

from minikafka.quotas.entity import CONNECTION_CREATION_RATE, QuotaTable, canonical_ip
from minikafka.quotas.sensor import DEFAULT_NUM_SAMPLES, DEFAULT_WINDOW_MS, Rate, throttle_time_ms

#: Kafka's defaults for the connection limits: Integer.MAX_VALUE (no limit).
INT_MAX = 2**31 - 1
#: Per-IP rate sensors unused for an hour are dropped (as Kafka's IP sensors expire).
_IP_SENSOR_EXPIRATION_MS = 3600 * 1000


class AcceptAction(enum.Enum):
    """What the listener does with an accepted socket."""

    ACCEPT = "accept"
    WAIT = "wait"
    REFUSE = "refuse"
    THROTTLE = "throttle"


class AcceptDecision(NamedTuple):
    """The verdict on one accepted socket; ``delay_ms`` for WAIT (before re-checking) and THROTTLE."""

    action: AcceptAction
    delay_ms: int = 0
    reason: str = ""


ACCEPTED = AcceptDecision(AcceptAction.ACCEPT)


def parse_max_connections_per_ip_overrides(text: str) -> dict[str, int]:
    """Parse ``max.connections.per.ip.overrides`` (``hostName:100,127.0.0.1:200``).

    Raises:
        ValueError: an entry is not ``host:count`` with a non-negative count.
    """
    overrides: dict[str, int] = {}
    for element in text.split(","):
        element = element.strip()
        if not element:
            continue
        host, sep, count = element.rpartition(":")
        if not sep or not host or not count.strip().isdigit():
            raise ValueError(f"Invalid max.connections.per.ip.overrides entry {element!r}: expected host:count")
        overrides[host.strip()] = int(count)
    return overrides


class _IpSensor:
    __slots__ = ("rate", "last_record_ms")

    def __init__(self, num_samples: int, window_ms: int, now_ms: int):
        self.rate = Rate(num_samples, window_ms)
        self.last_record_ms = now_ms


class ConnectionQuotas:
    """Connection counts and creation rates of one broker.

    Args:
        table: the broker's quota table (IP ``connection_creation_rate`` quotas).
        max_connections: ``max.connections``.
        max_connections_per_ip: ``max.connections.per.ip``.
        max_connections_per_ip_overrides: ``max.connections.per.ip.overrides`` (text or dict).
        max_connection_creation_rate: ``max.connection.creation.rate`` (per second).
        num_samples: ``quota.window.num``.
        window_ms: ``quota.window.size.seconds`` * 1000; also the longest accept delay.
        host_resolver: turns an override's host name into an IP (None: keep the name).
    """

    def __init__(
        self,
        table: QuotaTable | None = None,
        *,
        max_connections: int = INT_MAX,
        max_connections_per_ip: int = INT_MAX,
        max_connections_per_ip_overrides: str | Mapping[str, int] = "",
        max_connection_creation_rate: float = INT_MAX,
        num_samples: int = DEFAULT_NUM_SAMPLES,
        window_ms: int = DEFAULT_WINDOW_MS,
        host_resolver: Callable[[str], str] | None = None,
    ):
        self.table = table if table is not None else QuotaTable()
        self.num_samples = num_samples
        self.window_ms = window_ms
        self.max_throttle_time_ms = window_ms
        self.host_resolver = host_resolver
        self.max_connections = max_connections
        self.max_connections_per_ip = max_connections_per_ip
        self.max_connections_per_ip_overrides: dict[str, int] = {}
        self.max_connection_creation_rate = float(max_connection_creation_rate)
        self._broker_rate = Rate(num_samples, window_ms)
        self._ip_sensors: dict[str, _IpSensor] = {}
        self._counts: dict[str, int] = {}
        self.total_count = 0
        self.update(max_connections_per_ip_overrides=max_connections_per_ip_overrides)

    # -- configuration ---------------------------------------------------------------------

    def update(
        self,
        *,
        max_connections: int | None = None,
        max_connections_per_ip: int | None = None,
        max_connections_per_ip_overrides: str | Mapping[str, int] | None = None,
        max_connection_creation_rate: float | None = None,
    ) -> None:
        """Apply changed dynamic configs (None: unchanged). Waiting acceptors should re-check."""
        if max_connections is not None:
            self.max_connections = max_connections
        if max_connections_per_ip is not None:
            self.max_connections_per_ip = max_connections_per_ip
        if max_connections_per_ip_overrides is not None:
            overrides = max_connections_per_ip_overrides
            if isinstance(overrides, str):
                overrides = parse_max_connections_per_ip_overrides(overrides)
            self.max_connections_per_ip_overrides = {self._address(host): count for host, count in overrides.items()}
        if max_connection_creation_rate is not None:
            self.max_connection_creation_rate = float(max_connection_creation_rate)

    def _address(self, host: str) -> str:
        if self.host_resolver is not None:
            host = self.host_resolver(host.strip())
        return canonical_ip(host)

    # -- the accept protocol ---------------------------------------------------------------

    def on_accept(self, ip: str, now_ms: int, protected: bool = False) -> AcceptDecision:
        """Decide on a socket just accepted from ``ip``: records it in the broker-wide rate first.

        Returns WAIT (throttled by the creation rate, or no free slot), else what ``admit`` says.
        """
        if not protected:
            delay_ms = self._record_broker_connection(now_ms)
            if delay_ms > 0:
                return AcceptDecision(AcceptAction.WAIT, delay_ms, "max.connection.creation.rate")
        return self.admit(ip, now_ms, protected)

    def admit(self, ip: str, now_ms: int, protected: bool = False) -> AcceptDecision:
        """The checks after the broker-wide rate: a free slot, the IP's rate, the IP's count.

        ACCEPT counts the connection (the caller owes an ``on_close(ip)``);
        the other verdicts leave the counts unchanged.
        """
        if not protected and not self.slot_available():
            return AcceptDecision(AcceptAction.WAIT, 0, "max.connections")
        ip = canonical_ip(ip)
        throttle_ms = self._record_ip_connection(ip, now_ms, protected)
        if throttle_ms > 0:
            return AcceptDecision(AcceptAction.THROTTLE, throttle_ms, CONNECTION_CREATION_RATE)
        count = self._counts.get(ip, 0)
        limit = self.max_connections_per_ip_overrides.get(ip, self.max_connections_per_ip)
        if count >= limit:
            return AcceptDecision(AcceptAction.REFUSE, 0, f"Too many connections from {ip} (maximum = {limit})")
        self._counts[ip] = count + 1
        self.total_count += 1
        return ACCEPTED

    def on_close(self, ip: str) -> None:
        """An accepted connection from ``ip`` closed: free its slot.

        Raises:
            ValueError: no connection from ``ip`` is counted (as Kafka's ``dec``).
        """
        ip = canonical_ip(ip)
        count = self._counts.get(ip)
        if count is None:
            raise ValueError(f"Attempted to decrease connection count for address with no connections, address: {ip}")
        if count == 1:
            del self._counts[ip]
        else:
            self._counts[ip] = count - 1
        self.total_count -= 1

    def slot_available(self) -> bool:
        """Whether ``max.connections`` allows one more connection."""
        return self.total_count < self.max_connections

    def max_connections_exceeded(self) -> bool:
        """Whether the broker holds more than ``max.connections`` (after the limit was lowered)."""
        return self.total_count > self.max_connections

    def connection_count(self, ip: str | None = None) -> int:
        """Connections counted from ``ip``, or in all if None."""
        if ip is None:
            return self.total_count
        return self._counts.get(canonical_ip(ip), 0)

    def connection_creation_rate(self, now_ms: int, ip: str | None = None) -> float:
        """The measured creation rate per second: broker-wide, or of one IP (0.0 if untracked)."""
        if ip is None:
            return self._broker_rate.measure(now_ms)
        sensor = self._ip_sensors.get(canonical_ip(ip))
        return 0.0 if sensor is None else sensor.rate.measure(now_ms)

    # -- internals -------------------------------------------------------------------------

    def _record_broker_connection(self, now_ms: int) -> int:
        return self._record_and_get_throttle_ms(self._broker_rate, self.max_connection_creation_rate, now_ms)

    def _record_ip_connection(self, ip: str, now_ms: int, protected: bool) -> int:
        limit = self.table.ip_limit(ip)
        if limit is None:
            return 0
        sensor = self._ip_sensor(ip, now_ms)
        throttle_ms = self._record_and_get_throttle_ms(sensor.rate, limit, now_ms)
        if throttle_ms > 0:
            # The connection is not taken: take it back from the IP's and the broker's rates.
            sensor.rate.record(-1.0, now_ms)
            if not protected:
                self._broker_rate.record(-1.0, now_ms)
        return throttle_ms

    def _record_and_get_throttle_ms(self, rate: Rate, limit: float, now_ms: int) -> int:
        rate.record(1.0, now_ms)
        observed, window_size_ms = rate.measure_with_window_ms(now_ms)
        if observed <= limit:
            return 0
        return min(throttle_time_ms(observed, limit, window_size_ms), self.max_throttle_time_ms)

    def _ip_sensor(self, ip: str, now_ms: int) -> _IpSensor:
        sensor = self._ip_sensors.get(ip)
        if sensor is None:
            self._expire_ip_sensors(now_ms)
            sensor = _IpSensor(self.num_samples, self.window_ms, now_ms)
            self._ip_sensors[ip] = sensor
        sensor.last_record_ms = now_ms
        return sensor

    def _expire_ip_sensors(self, now_ms: int) -> None:
        for ip, sensor in list(self._ip_sensors.items()):
            if now_ms - sensor.last_record_ms > _IP_SENSOR_EXPIRATION_MS:
                del self._ip_sensors[ip]

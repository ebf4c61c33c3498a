"""Client quotas: bandwidth (produce, fetch) and request-time percentage (Kafka's ClientQuotaManager).

One ``ClientQuotaManager`` per quota type measures what each client uses and
says how long to throttle it. It owns one *sensor* per set of metric tags
(``(user, client-id)``, see ``entity.py``: the clients sharing a quota share a
sensor): a ``Rate`` of what was recorded and an ``Avg`` of the throttle times
given. It does not throttle anybody itself: the server sends the response with
``throttle_time_ms`` and then stops reading the connection (KIP-219).

Theory of operation (Kafka 4.0):

* ``record_and_get_throttle_ms`` first records the value, then measures the
  rate over the window (``sensor.Rate``); above the limit, the throttle time is
  ``(observed - limit) / limit * window_size_ms`` (``sensor.throttle_time_ms``).
  REQUEST quotas cap it at one window (``quota.window.size.seconds``); byte
  rates are not capped.
* REQUEST quotas are in percent of one thread's time: a request that kept a
  thread busy for ``t`` nanoseconds records ``t * 100 / 1e9``; a quota of 200
  allows two threads' worth.
* A consumer fetch is capped *before* it is read at ``limit * (num_samples - 1)
  * window_s`` bytes (``max_value_in_window``); a throttled fetch's bytes are
  *unrecorded* because the broker answers it empty.
* Sensors unused for an hour are dropped (Kafka's inactive-sensor expiration).

Hot path: ``enabled`` is a plain attribute, False when no quota entity carries
this type's key; callers test it and skip everything. When it is True a
recording is a dict lookup (the client's cached binding to its sensor and
limit) and one pass over at most ``num_samples + 1`` samples. The bindings are
recomputed lazily after the quota table changes.

A manager belongs to one broker and is used from its Trio tasks only.
"""

from __future__ import annotations

import enum
import math
import sys
from typing import NamedTuple

from minikafka.quotas.entity import (
    CONSUMER_BYTE_RATE,
    CONTROLLER_MUTATION_RATE,
    PRODUCER_BYTE_RATE,
    REQUEST_PERCENTAGE,
    QuotaTable,
)
from minikafka.quotas.sensor import DEFAULT_NUM_SAMPLES, DEFAULT_WINDOW_MS, Avg, Rate, throttle_time_ms

#: Kafka drops a client's sensors after an hour without recordings.
INACTIVE_SENSOR_EXPIRATION_MS = 3600 * 1000
#: How often the expiration is checked (Kafka's metrics reaper runs every 30 s).
_EXPIRATION_CHECK_INTERVAL_MS = 30_000
#: Throttle-time averages use Kafka's default MetricConfig: 2 samples of 30 s.
_THROTTLE_TIME_SAMPLES = 2
_THROTTLE_TIME_WINDOW_MS = 30_000
#: Java's Double.MAX_VALUE: "no cap" from ``max_value_in_window`` (finite, so ``int()`` of it works).
DOUBLE_MAX_VALUE = sys.float_info.max
#: A request's thread time in nanoseconds -> percent of one thread for one second.
NANOS_TO_PERCENTAGE_PER_SECOND = 100.0 / 1e9


class QuotaType(enum.Enum):
    """The kinds of client quota, named as Kafka's QuotaType (its metric group) with their key."""

    PRODUCE = ("Produce", PRODUCER_BYTE_RATE)
    FETCH = ("Fetch", CONSUMER_BYTE_RATE)
    REQUEST = ("Request", REQUEST_PERCENTAGE)
    CONTROLLER_MUTATION = ("ControllerMutation", CONTROLLER_MUTATION_RATE)

    @property
    def group(self) -> str:
        """Kafka's metric group (``kafka.server:type=<group>``)."""
        return self.value[0]

    @property
    def key(self) -> str:
        """The quota key this type enforces (``producer_byte_rate``, ...)."""
        return self.value[1]


class ClientMetric(NamedTuple):
    """What one sensor measures now, for the metrics endpoint and ``cluster status``.

    ``user`` and ``client_id`` are the metric tags (one may be "" when the
    sensor is shared). ``rate`` is per second (bytes, or percent for REQUEST);
    ``throttle_time_ms`` is the average of the throttle times given in the last
    minute (0.0 when none); ``limit`` is None when the client has no quota.
    """

    user: str
    client_id: str
    rate: float
    throttle_time_ms: float
    limit: float | None


class ClientSensor:
    """The statistics of one set of metric tags (Kafka's ClientSensors)."""

    __slots__ = ("metric_tags", "rate", "throttle_time", "limit", "last_record_ms", "principal")

    def __init__(self, metric_tags: tuple[str, str], num_samples: int, window_ms: int, now_ms: int):
        self.metric_tags = metric_tags
        self.rate = Rate(num_samples, window_ms)
        self.throttle_time = Avg(_THROTTLE_TIME_SAMPLES, _THROTTLE_TIME_WINDOW_MS)
        self.limit: float | None = None
        self.last_record_ms = now_ms
        # One (user, client_id) that maps here, to re-read the limit after a change.
        self.principal: tuple[str, str] = ("", "")


class _Binding(NamedTuple):
    sensor: ClientSensor
    limit: float | None


class ClientQuotaManager:
    """Measures and throttles one quota type for every client of a broker.

    Args:
        quota_type: PRODUCE, FETCH or REQUEST (CONTROLLER_MUTATION has its own manager).
        table: the broker's quota table; the manager subscribes to its changes.
        num_samples: ``quota.window.num`` (default 11).
        window_ms: ``quota.window.size.seconds`` * 1000 (default 1000).
    """

    def __init__(
        self,
        quota_type: QuotaType,
        table: QuotaTable,
        num_samples: int = DEFAULT_NUM_SAMPLES,
        window_ms: int = DEFAULT_WINDOW_MS,
    ):
        self.quota_type = quota_type
        self.key = quota_type.key
        self.table = table
        self.num_samples = num_samples
        self.window_ms = window_ms
        self.max_throttle_time_ms = window_ms if quota_type is QuotaType.REQUEST else None
        self.enabled = False
        self._sensors: dict[tuple[str, str], ClientSensor] = {}
        self._bindings: dict[tuple[str, str], _Binding] = {}
        self._next_expiration_check_ms: int | None = None
        self.exempt = Rate(num_samples, window_ms)
        table.add_listener(self._on_table_change)
        self._on_table_change()

    # -- recording -------------------------------------------------------------------------

    def record_and_get_throttle_ms(self, user: str, client_id: str, value: float, now_ms: int) -> int:
        """Record ``value`` for this client and return how long to throttle it (0: not throttled).

        Does nothing and returns 0 when no quota of this type exists (``enabled`` False).
        """
        if not self.enabled:
            return 0
        sensor, limit = self._bindings.get((user, client_id)) or self._bind(user, client_id, now_ms)
        rate = sensor.rate
        rate.record(value, now_ms)
        sensor.last_record_ms = now_ms
        if limit is None:
            return 0
        observed, window_size_ms = rate.measure_with_window_ms(now_ms)
        if observed <= limit:
            return 0
        throttle_ms = throttle_time_ms(observed, limit, window_size_ms)
        if self.max_throttle_time_ms is not None and throttle_ms > self.max_throttle_time_ms:
            return self.max_throttle_time_ms
        return throttle_ms

    def record_request_time(self, user: str, client_id: str, nanos: int, now_ms: int) -> int:
        """REQUEST quota: record ``nanos`` of thread time as a percentage; return the throttle ms."""
        return self.record_and_get_throttle_ms(user, client_id, nanos * NANOS_TO_PERCENTAGE_PER_SECOND, now_ms)

    def record_exempt(self, nanos: int, now_ms: int) -> None:
        """REQUEST quota: record the thread time of an exempt request (inter-broker, controller)."""
        if self.enabled:
            self.exempt.record(nanos * NANOS_TO_PERCENTAGE_PER_SECOND, now_ms)

    def record_no_throttle(self, user: str, client_id: str, value: float, now_ms: int) -> None:
        """Record ``value`` without checking the quota (Kafka's recordNoThrottle)."""
        if not self.enabled:
            return
        sensor, _ = self._bindings.get((user, client_id)) or self._bind(user, client_id, now_ms)
        sensor.rate.record(value, now_ms)
        sensor.last_record_ms = now_ms

    def unrecord(self, user: str, client_id: str, value: float, now_ms: int) -> None:
        """Take back a recording (a throttled fetch answered empty): records ``-value``."""
        self.record_no_throttle(user, client_id, -value, now_ms)

    def record_throttle_time(self, user: str, client_id: str, throttle_ms: int, now_ms: int) -> None:
        """Note that this client was throttled ``throttle_ms`` (Kafka's ``throttle``; feeds the metric).

        Kafka records it in the manager whose throttle time won (the larger of
        the bandwidth and request throttles); zero is not recorded.
        """
        if throttle_ms <= 0 or not self.enabled:
            return
        sensor, _ = self._bindings.get((user, client_id)) or self._bind(user, client_id, now_ms)
        sensor.throttle_time.record(float(throttle_ms), now_ms)

    # -- queries ---------------------------------------------------------------------------

    def quota(self, user: str, client_id: str) -> float | None:
        """The limit that applies to this client (None: unlimited)."""
        return self.table.resolve(user, client_id, self.key).limit

    def max_value_in_window(self, user: str, client_id: str, now_ms: int) -> float:
        """The most this client may use in one window: ``limit * (num_samples - 1) * window_s``.

        Kafka's getMaxValueInQuotaWindow: a fetch is capped at this many bytes
        before it is read. ``DOUBLE_MAX_VALUE`` (as Kafka's Double.MaxValue)
        when there is no quota.
        """
        if not self.enabled:
            return DOUBLE_MAX_VALUE
        _, limit = self._bindings.get((user, client_id)) or self._bind(user, client_id, now_ms)
        if limit is None:
            return DOUBLE_MAX_VALUE
        return limit * (self.num_samples - 1) * self.window_ms / 1000.0

    def client_metrics(self, now_ms: int) -> list[ClientMetric]:
        """One ``ClientMetric`` per live sensor (after dropping the expired ones)."""
        self._expire_sensors(now_ms, force=True)
        metrics = []
        for (user, client_id), sensor in self._sensors.items():
            throttle = sensor.throttle_time.measure(now_ms)
            metrics.append(
                ClientMetric(
                    user=user,
                    client_id=client_id,
                    rate=sensor.rate.measure(now_ms),
                    throttle_time_ms=0.0 if math.isnan(throttle) else throttle,
                    limit=sensor.limit,
                )
            )
        return metrics

    def exempt_request_time(self, now_ms: int) -> float:
        """REQUEST quota: the rate of exempt thread time, in percent (Kafka's exempt-request-time)."""
        return self.exempt.measure(now_ms)

    # -- internals -------------------------------------------------------------------------

    def _bind(self, user: str, client_id: str, now_ms: int) -> _Binding:
        self._expire_sensors(now_ms)
        limit, tags = self.table.resolve(user, client_id, self.key)
        sensor = self._sensors.get(tags)
        if sensor is None:
            sensor = ClientSensor(tags, self.num_samples, self.window_ms, now_ms)
            self._sensors[tags] = sensor
        sensor.limit = limit
        sensor.principal = (user, client_id)
        binding = _Binding(sensor, limit)
        self._bindings[(user, client_id)] = binding
        return binding

    def _on_table_change(self) -> None:
        self.enabled = self.table.has_key(self.key)
        self._bindings.clear()
        for sensor in self._sensors.values():
            sensor.limit = self.table.resolve(*sensor.principal, self.key).limit

    def _expire_sensors(self, now_ms: int, force: bool = False) -> None:
        if not force and self._next_expiration_check_ms is not None and now_ms < self._next_expiration_check_ms:
            return
        self._next_expiration_check_ms = now_ms + _EXPIRATION_CHECK_INTERVAL_MS
        expired = [
            tags
            for tags, sensor in self._sensors.items()
            if now_ms - sensor.last_record_ms > INACTIVE_SENSOR_EXPIRATION_MS
        ]
        if expired:
            for tags in expired:
                del self._sensors[tags]
            self._bindings.clear()

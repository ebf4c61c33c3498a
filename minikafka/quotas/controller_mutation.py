"""Controller mutation quota (KIP-599): a token bucket of topic partitions created or deleted.

CreateTopics, CreatePartitions and DeleteTopics cost the controller work per
partition. The ``controller_mutation_rate`` quota limits each client (resolved
as any client quota, ``entity.py``) to that many partitions per second, with a
burst of ``rate * controller.quota.window.num * controller.quota.window.size.seconds``
partitions (``sensor.TokenBucket``).

Two behaviours, chosen by the request version:

* **strict** (CreateTopics v6+, CreatePartitions v3+, DeleteTopics v5+): before
  recording a topic's partitions, check the bucket; if it is already negative,
  refuse the topic with ``THROTTLING_QUOTA_EXCEEDED`` and the time the bucket
  needs to get back to zero. A topic that fits starts even if it drives the
  bucket negative (the check happens *before* recording), so a large topic is
  never refused for ever.
* **permissive** (older versions, which cannot report the error): record, and
  if the bucket went negative, only throttle the response.

The throttle time is ``-tokens / rate * 1000`` ms; ``throttle_time_ms`` reports
what remains of it at a later moment (Kafka subtracts the time elapsed since it
was computed, because a request may wait in a purgatory).

A ``ControllerMutationQuota`` lives for one request; the manager belongs to one
broker. Neither is task-safe.
"""

from __future__ import annotations

import math

from minikafka.errors import ErrorCode, KafkaError
from minikafka.quotas.client import INACTIVE_SENSOR_EXPIRATION_MS, ClientMetric, QuotaType
from minikafka.quotas.entity import CONTROLLER_MUTATION_RATE, QuotaTable
from minikafka.quotas.sensor import (
    DEFAULT_NUM_SAMPLES,
    DEFAULT_WINDOW_MS,
    Avg,
    Rate,
    TokenBucket,
)

_THROTTLE_TIME_SAMPLES = 2
_THROTTLE_TIME_WINDOW_MS = 30_000
#: Kafka's Errors.THROTTLING_QUOTA_EXCEEDED message.
THROTTLING_QUOTA_EXCEEDED_MESSAGE = "The throttling quota has been exceeded."


class ThrottlingQuotaExceededError(KafkaError):
    """A strict mutation quota refused an operation; ``throttle_time_ms`` says for how long."""

    def __init__(self, throttle_time_ms: int):
        super().__init__(ErrorCode.THROTTLING_QUOTA_EXCEEDED, THROTTLING_QUOTA_EXCEEDED_MESSAGE)
        self.throttle_time_ms = throttle_time_ms


class ControllerMutationQuota:
    """The quota of one request: no limit (the base class, for clients without a quota)."""

    def is_exceeded(self) -> bool:
        """Whether a strict quota has already refused an operation of this request."""
        return False

    def record(self, permits: float, now_ms: int | None = None) -> None:
        """Account for ``permits`` partitions created or deleted."""

    def throttle_time_ms(self, now_ms: int | None = None) -> int:
        """The throttle time left at ``now_ms`` (the time of the last recording if omitted)."""
        return 0


UNBOUNDED_CONTROLLER_MUTATION_QUOTA = ControllerMutationQuota()


class _ClientMutationSensor:
    """One client's bucket, mutation rate and throttle-time average."""

    __slots__ = ("metric_tags", "principal", "bucket", "rate", "throttle_time", "limit", "last_record_ms")

    def __init__(self, metric_tags, principal, limit: float, num_samples: int, window_ms: int, now_ms: int):
        self.metric_tags = metric_tags
        # One (user, client_id) that maps here, to re-read the limit after a change.
        self.principal = principal
        self.bucket = TokenBucket(limit, num_samples, window_ms)
        self.rate = Rate(num_samples, window_ms)
        self.throttle_time = Avg(_THROTTLE_TIME_SAMPLES, _THROTTLE_TIME_WINDOW_MS)
        self.limit = limit
        self.last_record_ms = now_ms

    def violation_throttle_ms(self, now_ms: int) -> int:
        """0 when the bucket is not negative, else the time to refill it to zero."""
        return self.bucket.throttle_time_ms(now_ms)

    def record(self, permits: float, now_ms: int) -> None:
        self.bucket.record(permits, now_ms)
        self.rate.record(permits, now_ms)
        self.last_record_ms = now_ms


class _BoundedControllerMutationQuota(ControllerMutationQuota):
    def __init__(self, sensor: _ClientMutationSensor, now_ms: int):
        self._sensor = sensor
        self._now_ms = now_ms
        self._last_throttle_time_ms = 0
        self._last_recorded_ms = now_ms

    def throttle_time_ms(self, now_ms: int | None = None) -> int:
        elapsed = 0 if now_ms is None else now_ms - self._last_recorded_ms
        return max(0, self._last_throttle_time_ms - elapsed)

    def _note_throttle(self, throttle_ms: int, now_ms: int) -> None:
        self._last_throttle_time_ms = throttle_ms
        self._last_recorded_ms = now_ms


class StrictControllerMutationQuota(_BoundedControllerMutationQuota):
    """Check first, then record; refuse when the bucket is already negative."""

    def is_exceeded(self) -> bool:
        return self._last_throttle_time_ms > 0

    def record(self, permits: float, now_ms: int | None = None) -> None:
        """Record ``permits`` unless the bucket is already negative.

        Raises:
            ThrottlingQuotaExceededError: the bucket was negative; nothing was recorded.
        """
        now_ms = self._now_ms if now_ms is None else now_ms
        throttle_ms = self._sensor.violation_throttle_ms(now_ms)
        if throttle_ms > 0:
            self._note_throttle(throttle_ms, now_ms)
            raise ThrottlingQuotaExceededError(throttle_ms)
        self._sensor.record(permits, now_ms)


class PermissiveControllerMutationQuota(_BoundedControllerMutationQuota):
    """Record, then note the throttle time; never refuse."""

    def record(self, permits: float, now_ms: int | None = None) -> None:
        now_ms = self._now_ms if now_ms is None else now_ms
        self._sensor.record(permits, now_ms)
        throttle_ms = self._sensor.violation_throttle_ms(now_ms)
        if throttle_ms > 0:
            self._note_throttle(throttle_ms, now_ms)


class ControllerMutationQuotaManager:
    """Per-client token buckets for ``controller_mutation_rate`` (Kafka's ControllerMutationQuotaManager).

    Args:
        table: the broker's quota table (subscribed to).
        num_samples: ``controller.quota.window.num`` (default 11).
        window_ms: ``controller.quota.window.size.seconds`` * 1000 (default 1000).
    """

    quota_type = QuotaType.CONTROLLER_MUTATION

    def __init__(self, table: QuotaTable, num_samples: int = DEFAULT_NUM_SAMPLES, window_ms: int = DEFAULT_WINDOW_MS):
        self.table = table
        self.key = CONTROLLER_MUTATION_RATE
        self.num_samples = num_samples
        self.window_ms = window_ms
        self.enabled = False
        self._sensors: dict[tuple[str, str], _ClientMutationSensor] = {}
        table.add_listener(self._on_table_change)
        self._on_table_change()

    def new_quota(self, user: str, client_id: str, strict: bool, now_ms: int) -> ControllerMutationQuota:
        """The quota object for one request (strict: the request version can report the error)."""
        sensor = self._sensor(user, client_id, now_ms)
        if sensor is None:
            return UNBOUNDED_CONTROLLER_MUTATION_QUOTA
        if strict:
            return StrictControllerMutationQuota(sensor, now_ms)
        return PermissiveControllerMutationQuota(sensor, now_ms)

    def record_and_get_throttle_ms(self, user: str, client_id: str, value: float, now_ms: int) -> int:
        """Check, then record ``value``; the throttle time if the bucket was already negative."""
        sensor = self._sensor(user, client_id, now_ms)
        if sensor is None:
            return 0
        throttle_ms = sensor.violation_throttle_ms(now_ms)
        if throttle_ms > 0:
            return throttle_ms
        sensor.record(value, now_ms)
        return 0

    def record_throttle_time(self, user: str, client_id: str, throttle_ms: int, now_ms: int) -> None:
        """Note a throttle given to this client (feeds the throttle-time metric)."""
        sensor = self._sensor(user, client_id, now_ms) if throttle_ms > 0 else None
        if sensor is not None:
            sensor.throttle_time.record(float(throttle_ms), now_ms)

    def client_metrics(self, now_ms: int) -> list[ClientMetric]:
        """One ``ClientMetric`` per client bucket (``rate``: partitions mutated per second)."""
        self._expire_sensors(now_ms)
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

    def tokens(self, user: str, client_id: str, now_ms: int) -> float | None:
        """Tokens left in this client's bucket (Kafka's ``tokens`` metric); None without a quota."""
        sensor = self._sensor(user, client_id, now_ms)
        return None if sensor is None else sensor.bucket.measure(now_ms)

    def _sensor(self, user: str, client_id: str, now_ms: int) -> _ClientMutationSensor | None:
        if not self.enabled:
            return None
        limit, tags = self.table.resolve(user, client_id, self.key)
        if limit is None:
            return None
        sensor = self._sensors.get(tags)
        if sensor is None:
            sensor = _ClientMutationSensor(tags, (user, client_id), limit, self.num_samples, self.window_ms, now_ms)
            self._sensors[tags] = sensor
        elif sensor.limit != limit:
            sensor.limit = limit
            sensor.bucket.set_quota(limit)
        return sensor

    def _on_table_change(self) -> None:
        self.enabled = self.table.has_key(self.key)
        for tags, sensor in list(self._sensors.items()):
            limit = self.table.resolve(*sensor.principal, self.key).limit
            if limit is None:
                del self._sensors[tags]
            elif limit != sensor.limit:
                sensor.limit = limit
                sensor.bucket.set_quota(limit)

    def _expire_sensors(self, now_ms: int) -> None:
        for tags, sensor in list(self._sensors.items()):
            if now_ms - sensor.last_record_ms > INACTIVE_SENSOR_EXPIRATION_MS:
                del self._sensors[tags]

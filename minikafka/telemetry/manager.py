"""The broker's side of KIP-714: Kafka's ``ClientMetricsManager``, sans-I/O.

A client's life with the broker::

    GetTelemetrySubscriptions(client_instance_id=0)
        -> a new client instance id (a random Uuid), its subscription id,
           requested_metrics, push_interval_ms, telemetry_max_bytes
    every push_interval_ms: PushTelemetry(id, subscription_id, metrics)
    on close: PushTelemetry(..., terminating=True)

The manager keeps one ``ClientInstance`` per client instance id: what the
broker knows of the client (the ``match`` selectors), its ``SubscriptionSet``,
the times of its last GetTelemetrySubscriptions and PushTelemetry, and the
latest points it pushed. Rules, as Kafka's:

- a GetTelemetrySubscriptions within ``push_interval_ms`` of the client's
  previous request is refused with THROTTLING_QUOTA_EXCEEDED, unless the
  previous push failed with UNKNOWN_SUBSCRIPTION_ID or
  UNSUPPORTED_COMPRESSION_TYPE (the client was told to ask again);
- a push is checked in this order: already terminating -> INVALID_REQUEST;
  another subscription id -> UNKNOWN_SUBSCRIPTION_ID (subscriptions changed:
  ask again); within ``push_interval_ms`` of the last push, and no
  GetTelemetrySubscriptions since -> THROTTLING_QUOTA_EXCEEDED (a terminating
  push is exempt); a codec not accepted -> UNSUPPORTED_COMPRESSION_TYPE;
  more than ``telemetry.max.bytes`` -> TELEMETRY_TOO_LARGE; a payload that
  does not decode -> INVALID_RECORD.

When subscriptions change (``update_subscriptions``) each instance's set is
recomputed at its next request, so its next push with the old id is refused
and it asks again. An instance not heard from for
``max(3 * push_interval_ms, 60 s)`` is forgotten, with its points.

Where minikafka differs: Kafka hands the metrics to a ``ClientTelemetryReceiver``
plugin; here the latest points per instance are kept for the Prometheus
endpoint, so the broker asks for *cumulative* counters (``delta_temporality``
false, where Kafka says true): a latest value is then meaningful on its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from minikafka.config import ResourceType, random_uuid, uuid_to_str
from minikafka.errors import ErrorCode
from minikafka.telemetry.otlp import ACCEPTED_COMPRESSION_TYPES, InvalidPayload, MetricPoint, decode_metrics
from minikafka.telemetry.subscriptions import (
    Subscription,
    SubscriptionSet,
    subscription_set,
    subscriptions_from_image,
)

ZERO_UUID = bytes(16)
CACHE_EXPIRY_MS = 60_000  # the least time an idle instance is remembered
_NONE_CODEC = 0


@dataclasses.dataclass
class ClientInstance:
    """What the broker remembers of one client instance."""

    client_instance_id: bytes
    client: dict[str, str]
    subscription: SubscriptionSet
    version: int
    last_get_ms: float = float("-inf")
    last_push_ms: float = float("-inf")
    last_seen_ms: float = 0.0
    last_error: ErrorCode = ErrorCode.NONE
    terminating: bool = False
    points: list[MetricPoint] = dataclasses.field(default_factory=list)

    def maybe_update_get_ms(self, now_ms: float) -> bool:
        """Accept a GetTelemetrySubscriptions a push interval after the last request."""
        if now_ms - max(self.last_get_ms, self.last_push_ms) >= self.subscription.interval_ms:
            self.last_get_ms = now_ms
            return True
        return False

    def maybe_update_push_ms(self, now_ms: float, terminating: bool) -> bool:
        """Accept a push after a GetTelemetrySubscriptions, or a push interval after the last push."""
        ok = self.last_get_ms > self.last_push_ms or now_ms - self.last_push_ms >= self.subscription.interval_ms
        if ok or terminating:
            self.last_push_ms = now_ms
        return ok


class ClientMetricsManager:
    """Client instances, their subscriptions and their latest pushed metrics.

    Args:
        telemetry_max_bytes: the broker's ``telemetry.max.bytes``.
        default_subscription: a subscription every client matches in addition
            to the configured ones (minikafka's ``telemetry.default.*``), or None.
        new_uuid: makes client instance ids (injectable for tests).
    """

    def __init__(self, telemetry_max_bytes: int, default_subscription: Subscription | None = None,
                 new_uuid: Callable[[], bytes] = random_uuid) -> None:
        self.telemetry_max_bytes = telemetry_max_bytes
        self._default = [default_subscription] if default_subscription else []
        self._subscriptions: list[Subscription] = list(self._default)
        self._version = 0
        self._new_uuid = new_uuid
        self._configured: dict = {}
        self.instances: dict[bytes, ClientInstance] = {}

    def refresh(self, configs: Mapping[tuple[int, str], Mapping[str, str]]) -> None:
        """Re-read the client-metrics resources of the metadata image's ``configs`` if they changed."""
        configured = {key: dict(values) for key, values in configs.items()
                      if key[0] == ResourceType.CLIENT_METRICS}
        if configured != self._configured:
            self._configured = configured
            self.update_subscriptions(subscriptions_from_image(configured, ResourceType.CLIENT_METRICS))

    def update_subscriptions(self, subscriptions: list[Subscription]) -> None:
        """The configured subscriptions changed (a new metadata image)."""
        wanted = self._default + list(subscriptions)
        if wanted != self._subscriptions:
            self._subscriptions = wanted
            self._version += 1

    # -- GetTelemetrySubscriptions ---------------------------------------------

    def get_subscriptions(self, client_instance_id: bytes, client: Mapping[str, str], now_ms: float) -> dict:
        """The GetTelemetrySubscriptions response for one client."""
        if client_instance_id == ZERO_UUID:
            client_instance_id = self._new_uuid()
        instance = self._instance(client_instance_id, client, now_ms)
        told_to_ask = instance.last_error in (ErrorCode.UNKNOWN_SUBSCRIPTION_ID, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE)
        if not instance.maybe_update_get_ms(now_ms) and not told_to_ask:
            return {"error_code": ErrorCode.THROTTLING_QUOTA_EXCEEDED, "client_instance_id": client_instance_id}
        instance.last_get_ms = now_ms  # also when the interval had not passed but the client was told to ask
        instance.last_error = ErrorCode.NONE
        subscription = instance.subscription
        return {
            "error_code": ErrorCode.NONE,
            "client_instance_id": client_instance_id,
            "subscription_id": subscription.subscription_id,
            "accepted_compression_types": list(ACCEPTED_COMPRESSION_TYPES),
            "push_interval_ms": subscription.interval_ms,
            "telemetry_max_bytes": self.telemetry_max_bytes,
            "delta_temporality": False,
            "requested_metrics": subscription.requested_metrics,
        }

    # -- PushTelemetry -----------------------------------------------------------

    def push(self, request, client: Mapping[str, str], now_ms: float) -> ErrorCode:
        """Check and store one PushTelemetry; returns its error code."""
        if request.client_instance_id in (ZERO_UUID, bytes(15) + b"\x01"):
            return ErrorCode.INVALID_REQUEST
        instance = self._instance(request.client_instance_id, client, now_ms)
        error = self._check_push(instance, request, now_ms)
        if error == ErrorCode.NONE and request.metrics:
            try:
                instance.points = decode_metrics(request.compression_type, request.metrics)
            except InvalidPayload:
                error = ErrorCode.INVALID_RECORD
        instance.last_error = error
        return error

    def _check_push(self, instance: ClientInstance, request, now_ms: float) -> ErrorCode:
        if instance.terminating:
            return ErrorCode.INVALID_REQUEST
        if request.subscription_id != instance.subscription.subscription_id:
            return ErrorCode.UNKNOWN_SUBSCRIPTION_ID
        if not instance.maybe_update_push_ms(now_ms, request.terminating) and not request.terminating:
            return ErrorCode.THROTTLING_QUOTA_EXCEEDED
        instance.terminating = bool(request.terminating)
        if request.compression_type != _NONE_CODEC and request.compression_type not in ACCEPTED_COMPRESSION_TYPES:
            return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
        if len(request.metrics or b"") > self.telemetry_max_bytes:
            return ErrorCode.TELEMETRY_TOO_LARGE
        return ErrorCode.NONE

    # -- the instances -------------------------------------------------------------

    def _instance(self, client_instance_id: bytes, client: Mapping[str, str], now_ms: float) -> ClientInstance:
        """The cached instance, its subscription set recomputed if subscriptions changed."""
        self.expire(now_ms)
        instance = self.instances.get(client_instance_id)
        if instance is None or instance.version != self._version:
            selectors = dict(client, client_instance_id=uuid_to_str(client_instance_id))
            subscription = subscription_set(self._subscriptions, selectors, client_instance_id)
            if instance is None:
                instance = ClientInstance(client_instance_id, selectors, subscription, self._version)
                self.instances[client_instance_id] = instance
            else:
                instance.subscription, instance.version = subscription, self._version
        instance.last_seen_ms = now_ms
        return instance

    def expire(self, now_ms: float) -> None:
        """Forget instances idle for ``max(3 * push_interval_ms, 60 s)``."""
        for key, instance in list(self.instances.items()):
            if now_ms - instance.last_seen_ms > max(3 * instance.subscription.interval_ms, CACHE_EXPIRY_MS):
                del self.instances[key]

    def latest_points(self, now_ms: float) -> list[tuple[ClientInstance, list[MetricPoint]]]:
        """Every live instance with the points of its latest accepted push."""
        self.expire(now_ms)
        return [(instance, instance.points) for instance in self.instances.values() if instance.points]

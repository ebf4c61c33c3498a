"""PushTelemetry (API 72, v0): a client's metrics, as OTLP MetricsData (KIP-714).

The broker checks the push (subscription id, push interval, codec, size;
see ``minikafka.telemetry.manager``), decodes it, and keeps the latest
values per client instance for the Prometheus endpoint.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode
from minikafka.handlers import RequestContext
from minikafka.handlers.get_telemetry_subscriptions import client_selectors
from minikafka.handlers.services import BrokerServices

API_KEY = 72


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    if services.telemetry is None:
        return {"throttle_time_ms": 0, "error_code": ErrorCode.UNSUPPORTED_VERSION}
    services.telemetry.refresh(services.metadata.image.configs)
    error = services.telemetry.push(request, client_selectors(ctx), services.clock.monotonic_ms())
    return {"throttle_time_ms": 0, "error_code": error}

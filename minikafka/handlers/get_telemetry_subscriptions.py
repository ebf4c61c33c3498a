"""GetTelemetrySubscriptions (API 71, v0): which metrics a client should push (KIP-714).

The client's first request carries a zero ``client_instance_id``; the broker
answers with a new one and the client's subscription: metric prefixes,
push interval, accepted compression types, ``telemetry.max.bytes``. The rules
(throttling, when the subscription changes) are in
``minikafka.telemetry.manager``.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 71


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    if services.telemetry is None:
        return {"throttle_time_ms": 0, "error_code": ErrorCode.UNSUPPORTED_VERSION}
    services.telemetry.refresh(services.metadata.image.configs)
    response = services.telemetry.get_subscriptions(request.client_instance_id, client_selectors(ctx),
                                                    services.clock.monotonic_ms())
    return {"throttle_time_ms": 0, **response}


def client_selectors(ctx: RequestContext) -> dict[str, str]:
    """What the broker knows of the client, by the ``match`` selector names."""
    host, _, port = ctx.peer.rpartition(":")
    connection = ctx.connection
    return {
        "client_id": ctx.client_id or "",
        "client_software_name": getattr(connection, "client_software_name", None) or "",
        "client_software_version": getattr(connection, "client_software_version", None) or "",
        "client_source_address": host,
        "client_source_port": port,
    }

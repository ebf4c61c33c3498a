"""ListClientMetricsResources (API 74, v0): the names of the client-metrics subscriptions.

Every CLIENT_METRICS config resource (KIP-714) in the committed metadata
image, so an admin can describe them one by one (``kafka-configs.sh
--describe --entity-type client-metrics`` without a name).
"""

from __future__ import annotations

from minikafka.config import ResourceType
from minikafka.errors import ErrorCode
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 74


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    names = sorted(name for resource_type, name in services.metadata.image.configs
                   if resource_type == ResourceType.CLIENT_METRICS)
    return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE,
            "client_metrics_resources": [{"name": name} for name in names]}

"""SyncGroup (key 14): the leader hands in the assignment; every member gets its own.

Followers' requests park until the leader's arrives; the leader's request
writes the new generation (GroupMetadataValue) to ``__consumer_offsets`` and
the runtime answers everyone only after that write.
"""

from __future__ import annotations

from minikafka.errors import KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 14


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    version = ctx.api_version
    try:
        response = await services.group_coordinator.execute(
            request.group_id, lambda coordinator, now_ms: coordinator.sync_group(
                request, now_ms, version=version))
    except KafkaError as exc:
        response = {"error_code": exc.code, "protocol_type": None, "protocol_name": None,
                    "assignment": b""}
    return {"throttle_time_ms": 0, **response}

"""LeaveGroup (key 13): members leave a group at once instead of timing out.

v0-v2 name one member; v3+ (KIP-345) a batch of members, each by member id
or by ``group_instance_id``, with an error code per member.
"""

from __future__ import annotations

from minikafka.errors import KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 13


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    version = ctx.api_version
    try:
        response = await services.group_coordinator.execute(
            request.group_id, lambda coordinator, now_ms: coordinator.leave_group(
                request, now_ms, version=version))
    except KafkaError as exc:
        response = {"error_code": exc.code, "members": []}
    return {"throttle_time_ms": 0, **response}

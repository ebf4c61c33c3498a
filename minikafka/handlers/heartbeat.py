"""Heartbeat (key 12): a member says it is alive; the answer says whether to rejoin.

REBALANCE_IN_PROGRESS tells the member to send JoinGroup; ILLEGAL_GENERATION
and UNKNOWN_MEMBER_ID that it was fenced and must rejoin from scratch.
"""

from __future__ import annotations

from minikafka.errors import KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 12


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    version = ctx.api_version
    try:
        response = await services.group_coordinator.execute(
            request.group_id, lambda coordinator, now_ms: coordinator.heartbeat(
                request, now_ms, version=version))
    except KafkaError as exc:
        response = {"error_code": exc.code}
    return {"throttle_time_ms": 0, **response}

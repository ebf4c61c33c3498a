"""ConsumerGroupHeartbeat (key 68, KIP-848): join, heartbeat, reconcile and leave in one call.

A member of a consumer-protocol group (``group.protocol=consumer`` in the
client) sends this every ``heartbeat_interval_ms``; the answer carries its
member epoch and, when it changed, the partitions it now owns. The
coordinator (``coordinator/consumer/coordinator.py``) decides everything,
including the server-side assignment; this handler only routes the request
to the group's ``__consumer_offsets`` shard, which writes the operation's
records before the response leaves (``GroupCoordinatorRuntime.execute_both``).

Unlike JoinGroup, nothing parks: a heartbeat is always answered at once.
Coordinator errors (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, ...) go
to the top-level error code with a null member id and epoch 0, as Kafka.
With "consumer" missing from ``group.coordinator.rebalance.protocols`` the
request is UNSUPPORTED_VERSION (Kafka would not even advertise the API; our
ApiVersions lists every API that has a handler).
"""

from __future__ import annotations

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.join_group import client_host
from minikafka.handlers.services import BrokerServices

API_KEY = 68


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    if "consumer" not in services.config["group.coordinator.rebalance.protocols"]:
        return _error(KafkaError(ErrorCode.UNSUPPORTED_VERSION,
                                 "The consumer group protocol is disabled on this broker."))

    def heartbeat(_classic, consumer_groups, now_ms):
        return consumer_groups.consumer_group_heartbeat(
            request, now_ms, version=ctx.api_version, client_id=ctx.client_id or "",
            client_host=client_host(ctx.peer))

    try:
        response = await services.group_coordinator.execute_both(request.group_id, heartbeat)
    except KafkaError as exc:
        return _error(exc)
    return {"throttle_time_ms": 0, **response}


def _error(exc: KafkaError) -> dict:
    return {"throttle_time_ms": 0, "error_code": exc.code, "error_message": exc.message,
            "member_id": None, "member_epoch": 0, "heartbeat_interval_ms": 0}

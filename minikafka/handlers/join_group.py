"""JoinGroup (key 11): join a classic group, or rejoin it for a rebalance.

The request usually *parks*: the coordinator answers every member at once
when the join phase ends (everyone rejoined, or the rebalance timeout). The
handler simply awaits the runtime, which returns once the response is
delivered; meanwhile this connection answers nothing else, as in Kafka
(whose network layer mutes a channel while a request is in flight).

A group id held by a consumer-protocol group (KIP-848) with members is
INCONSISTENT_GROUP_PROTOCOL: this broker does not mix classic members into
consumer groups (Kafka 4.0 can, under ``group.consumer.migration.policy``).
An *empty* consumer group is deleted to make room, in the same append.

``client_host`` is recorded as Kafka writes it (``InetAddress.toString()``:
``"/127.0.0.1"``), which is what DescribeGroups and kafka-consumer-groups show.
"""

from __future__ import annotations

from minikafka.coordinator.result import CoordinatorResult
from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 11


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    version = ctx.api_version

    def join(classic, consumer_groups, now_ms):
        code, records = consumer_groups.classic_join_check(request.group_id)
        if code is not None:
            return CoordinatorResult(response=error_response(code, request.member_id, version))
        result = classic.join_group(request, now_ms, version=version,
                                    client_id=ctx.client_id or "",
                                    client_host=client_host(ctx.peer))
        result.records[:0] = records  # the consumer group's tombstones go first
        return result

    try:
        response = await services.group_coordinator.execute_both(request.group_id, join)
    except KafkaError as exc:
        response = error_response(exc.code, request.member_id, version)
    return {"throttle_time_ms": 0, **response}


def client_host(peer: str) -> str:
    """``"127.0.0.1:5555"`` (or ``"[::1]:5555"``) -> ``"/127.0.0.1"``, Kafka's spelling."""
    host = peer.rsplit(":", 1)[0].strip("[]")
    return f"/{host}"


def error_response(code: ErrorCode, member_id: str, version: int) -> dict:
    # Before v7 the protocol name is not nullable: Kafka sends "" instead.
    return {"error_code": code, "generation_id": -1, "protocol_type": None,
            "protocol_name": None if version >= 7 else "", "leader": "",
            "skip_assignment": False, "member_id": member_id, "members": []}

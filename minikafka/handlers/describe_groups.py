"""DescribeGroups (key 15): state, protocol and members of groups.

Each group is answered by its own ``__consumer_offsets`` shard, with its
own error code (INVALID_GROUP_ID, NOT_COORDINATOR,
COORDINATOR_LOAD_IN_PROGRESS). A group nobody knows is "Dead" with no
members, as in Kafka.
"""

from __future__ import annotations

from minikafka.errors import KafkaError

API_KEY = 15


async def handle(broker, request, ctx) -> dict:
    return {"throttle_time_ms": 0,
            "groups": [_describe(broker, group_id, ctx.api_version) for group_id in request.groups]}


def _describe(broker, group_id: str, version: int) -> dict:
    try:
        return broker.group_coordinator.read(
            group_id, lambda coordinator: coordinator.describe_groups([group_id], version=version)
        )["groups"][0]
    except KafkaError as exc:
        return {"error_code": exc.code, "group_id": group_id, "group_state": "",
                "protocol_type": "", "protocol_data": "", "members": []}

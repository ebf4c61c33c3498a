"""DescribeGroups (key 15): state, protocol and members of groups.

Each group is answered by its own ``__consumer_offsets`` shard, with its
own error code (INVALID_GROUP_ID, NOT_COORDINATOR,
COORDINATOR_LOAD_IN_PROGRESS). A group nobody knows is "Dead" with no
members, as in Kafka. So is a consumer-protocol group (KIP-848): it is no
classic group (GROUP_ID_NOT_FOUND from v6, "not a classic group");
ConsumerGroupDescribe describes it.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 15


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    return {"throttle_time_ms": 0,
            "groups": [_describe(services, group_id, ctx.api_version) for group_id in request.groups]}


def _describe(services: BrokerServices, group_id: str, version: int) -> dict:
    def describe(classic, consumer_groups):
        if group_id in consumer_groups.groups:
            return {"error_code": ErrorCode.GROUP_ID_NOT_FOUND if version >= 6 else ErrorCode.NONE,
                    "error_message": f"Group {group_id} is not a classic group." if version >= 6 else None,
                    "group_id": group_id, "group_state": "Dead", "protocol_type": "",
                    "protocol_data": "", "members": []}
        return classic.describe_groups([group_id], version=version)["groups"][0]

    try:
        return services.group_coordinator.read_both(group_id, describe)
    except KafkaError as exc:
        return {"error_code": exc.code, "group_id": group_id, "group_state": "",
                "protocol_type": "", "protocol_data": "", "members": []}

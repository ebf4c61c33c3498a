"""ConsumerGroupDescribe (key 69, KIP-848): members, epochs and assignments of consumer groups.

The consumer protocol's DescribeGroups: for each group, its state, group and
assignment epochs, the assignor, and per member the subscription, the
current assignment and the target assignment, partitions named by topic id
and name. Each group is answered by its own shard; a group id the classic
coordinator uses is GROUP_ID_NOT_FOUND "not a consumer group", as Kafka
answers (admin clients then fall back to DescribeGroups).
"""

from __future__ import annotations

from minikafka.errors import KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 69


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    return {"throttle_time_ms": 0,
            "groups": [_describe(services, group_id, ctx.api_version) for group_id in request.group_ids]}


def _describe(services: BrokerServices, group_id: str, version: int) -> dict:
    def describe(classic, consumer_groups):
        return consumer_groups.consumer_group_describe(
            _OneGroup(group_id), version=version,
            classic_group_ids=_classic_group_ids(classic, group_id)).response["groups"][0]

    try:
        return services.group_coordinator.read_both(group_id, describe)
    except KafkaError as exc:
        return {"error_code": exc.code, "error_message": exc.message, "group_id": group_id,
                "group_state": "", "group_epoch": 0, "assignment_epoch": 0, "assignor_name": "",
                "members": [], "authorized_operations": -2147483648}


class _OneGroup:
    """A one-group ConsumerGroupDescribe request for the coordinator."""

    def __init__(self, group_id: str):
        self.group_ids = [group_id]


def _classic_group_ids(classic, group_id: str) -> frozenset:
    """``{group_id}`` if the classic coordinator has a group by that id that is more than offsets."""
    group = classic.groups.get(group_id)
    if group is None or (group.protocol_type is None and not group.members):
        return frozenset()
    return frozenset({group_id})

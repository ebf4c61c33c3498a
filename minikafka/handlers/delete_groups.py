"""DeleteGroups (key 42): delete EMPTY groups with all their committed offsets.

Each group is deleted by its own shard, which writes tombstones for its
offsets and its metadata to ``__consumer_offsets`` (compaction later removes
the group's records entirely). A group with members is NON_EMPTY_GROUP; one
that does not exist is GROUP_ID_NOT_FOUND. A consumer-protocol group
(KIP-848) is deleted the same way: its own records' tombstones, then its
offsets (kept by the classic coordinator), in one append.
"""

from __future__ import annotations

from minikafka.coordinator.result import CoordinatorResult
from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 42


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    results = [await _delete(services, group_id) for group_id in request.groups_names]
    return {"throttle_time_ms": 0, "results": results}


async def _delete(services: BrokerServices, group_id: str) -> dict:
    def delete(classic, consumer_groups, now_ms):
        if group_id not in consumer_groups.groups:
            return classic.delete_groups([group_id], now_ms)
        records = consumer_groups.delete_group(group_id)  # raises NON_EMPTY_GROUP
        if group_id in classic.groups:
            result = classic.delete_groups([group_id], now_ms)  # its offsets
        else:
            result = CoordinatorResult()
        result.records[:0] = records
        result.response = {"results": [{"group_id": group_id, "error_code": ErrorCode.NONE}]}
        return result

    try:
        response = await services.group_coordinator.execute_both(group_id, delete)
    except KafkaError as exc:
        return {"group_id": group_id, "error_code": exc.code}
    return response["results"][0]

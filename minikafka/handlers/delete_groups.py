"""DeleteGroups (key 42): delete EMPTY groups with all their committed offsets.

Each group is deleted by its own shard, which writes tombstones for its
offsets and its metadata to ``__consumer_offsets`` (compaction later removes
the group's records entirely). A group with members is NON_EMPTY_GROUP; one
that does not exist is GROUP_ID_NOT_FOUND.
"""

from __future__ import annotations

from minikafka.errors import KafkaError

API_KEY = 42


async def handle(broker, request, ctx) -> dict:
    results = [await _delete(broker, group_id) for group_id in request.groups_names]
    return {"throttle_time_ms": 0, "results": results}


async def _delete(broker, group_id: str) -> dict:
    try:
        response = await broker.group_coordinator.execute(
            group_id, lambda coordinator, now_ms: coordinator.delete_groups([group_id], now_ms))
    except KafkaError as exc:
        return {"group_id": group_id, "error_code": exc.code}
    return response["results"][0]

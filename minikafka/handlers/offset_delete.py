"""OffsetDelete (key 47, KIP-496): drop a group's committed offsets for some partitions.

Allowed for an EMPTY group, and for a live consumer group only for topics
none of its members subscribes to (GROUP_SUBSCRIBED_TO_TOPIC otherwise).
Each deleted offset is a tombstone in ``__consumer_offsets``. As for
OffsetCommit, partitions of unknown topics are UNKNOWN_TOPIC_OR_PARTITION.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers.offset_commit import every_partition, split_by_existence
from minikafka.protocol.codec import Struct

API_KEY = 47


async def handle(broker, request, ctx) -> dict:
    known, unknown = split_by_existence(broker, request.topics)
    filtered = Struct(**{**vars(request), "topics": known})
    try:
        response = await broker.group_coordinator.execute(
            request.group_id, lambda coordinator, now_ms: coordinator.delete_offsets(filtered, now_ms))
    except KafkaError as exc:
        return {"error_code": exc.code, "throttle_time_ms": 0, "topics": []}
    if response["error_code"] != ErrorCode.NONE:
        return {"throttle_time_ms": 0, **response}
    topics = response["topics"] + every_partition(unknown, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    return {"error_code": ErrorCode.NONE, "throttle_time_ms": 0, "topics": topics}

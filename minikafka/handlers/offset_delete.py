"""OffsetDelete (key 47, KIP-496): drop a group's committed offsets for some partitions.

Allowed for an EMPTY group, and for a live consumer group only for topics
none of its members subscribes to (GROUP_SUBSCRIBED_TO_TOPIC otherwise).
Each deleted offset is a tombstone in ``__consumer_offsets``. As for
OffsetCommit, partitions of unknown topics are UNKNOWN_TOPIC_OR_PARTITION.

For a consumer-protocol group (KIP-848) the subscribed topics are the
consumer coordinator's: while it has members, their partitions are
GROUP_SUBSCRIBED_TO_TOPIC; the other offsets are deleted from the classic
coordinator, which keeps every group's offsets.
"""

from __future__ import annotations

from minikafka.coordinator.result import CoordinatorResult
from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.offset_commit import every_partition, split_by_existence
from minikafka.handlers.services import BrokerServices
from minikafka.protocol.codec import Struct

API_KEY = 47


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    known, unknown = split_by_existence(services, request.topics)
    filtered = Struct(**{**vars(request), "topics": known})
    subscribed = []

    def delete(classic, consumer_groups, now_ms):
        group = consumer_groups.groups.get(request.group_id)
        if group is None:
            return classic.delete_offsets(filtered, now_ms)
        in_use = set(group.subscription_metadata) if group.members else set()
        subscribed.extend(t for t in known if t.name in in_use)
        rest = Struct(**{**vars(request), "topics": [t for t in known if t.name not in in_use]})
        if request.group_id not in classic.groups:  # no offsets at all: nothing to delete
            return CoordinatorResult(response={"error_code": ErrorCode.NONE,
                                               "topics": every_partition(rest.topics, ErrorCode.NONE)})
        return classic.delete_offsets(rest, now_ms)

    try:
        response = await services.group_coordinator.execute_both(request.group_id, delete)
    except KafkaError as exc:
        return {"error_code": exc.code, "throttle_time_ms": 0, "topics": []}
    if response["error_code"] != ErrorCode.NONE:
        return {"throttle_time_ms": 0, **response}
    topics = (response["topics"] + every_partition(subscribed, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC)
              + every_partition(unknown, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
    return {"error_code": ErrorCode.NONE, "throttle_time_ms": 0, "topics": topics}

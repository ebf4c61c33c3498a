"""OffsetFetch (key 9): a group's committed offsets.

v1-v7 ask about one group (``topics`` null from v2: every partition the
group has committed); v8+ batch several groups, each with its own error
code. A partition without a commit answers offset -1. Reading needs no
write, so the coordinator is only read (``GroupCoordinatorRuntime.read``).

Errors (INVALID_GROUP_ID, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS)
go to the top level from v2, to the group from v8; v1 has no top-level
error code, so Kafka repeats it on every requested partition.
From v9 a member of a consumer-protocol group (KIP-848) sends its member
id and epoch; the consumer coordinator checks them (UNKNOWN_MEMBER_ID,
STALE_MEMBER_EPOCH) before the offsets are read.
``require_stable`` (v7+, KIP-447): a partition with offsets of a transaction
that is not decided yet (TxnOffsetCommit, pending until its marker) answers
UNSTABLE_OFFSET_COMMIT, and the consumer asks again, so it never starts from
an offset an abort will undo. Kafka puts that error on the partition only;
the group's (or top-level) error stays NONE. Without ``require_stable`` the
last committed offset is answered.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 9


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    if ctx.api_version >= 8:
        groups = [_fetch(services, group.group_id, group.topics, request.require_stable,
                         getattr(group, "member_id", None), getattr(group, "member_epoch", -1))
                  for group in request.groups]
        return {"throttle_time_ms": 0, "groups": groups}
    entry = _fetch(services, request.group_id, request.topics, request.require_stable)
    if ctx.api_version < 2 and entry["error_code"] != ErrorCode.NONE:
        entry["topics"] = _every_partition(request.topics, entry["error_code"])
    return {"throttle_time_ms": 0, "topics": entry["topics"], "error_code": entry["error_code"]}


def _fetch(services: BrokerServices, group_id: str, topics, require_stable: bool,
           member_id: str | None = None, member_epoch: int = -1) -> dict:
    """One group's entry, v8+ shaped: ``{group_id, topics, error_code}``."""
    def fetch(classic, consumer_groups):
        if group_id in consumer_groups.groups:
            consumer_groups.validate_offset_fetch(group_id, member_id, member_epoch)
        return classic.fetch_offsets(group_id, topics, require_stable=require_stable)

    try:
        return services.group_coordinator.read_both(group_id, fetch)
    except KafkaError as exc:
        return {"group_id": group_id, "topics": [], "error_code": exc.code}


def _every_partition(topics, code: ErrorCode) -> list[dict]:
    return [{"name": topic.name,
             "partitions": [{"partition_index": index, "committed_offset": -1,
                             "committed_leader_epoch": -1, "metadata": "", "error_code": code}
                            for index in topic.partition_indexes]}
            for topic in topics or []]

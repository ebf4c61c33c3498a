"""In-process calls for the consumer-protocol tests (not a test module).

``call`` runs one request through the real codec and the broker's handler,
both ways, as ``tests/coordinator/classic/groups_calls.py`` does; the helpers build
ConsumerGroupHeartbeat (68) and ConsumerGroupDescribe (69) requests.
"""

from __future__ import annotations

import uuid

from minikafka.handlers import RequestContext
from minikafka.protocol import messages

OFFSET_COMMIT, OFFSET_FETCH, JOIN_GROUP, DESCRIBE_GROUPS, LIST_GROUPS = 8, 9, 11, 15, 16
DELETE_GROUPS, OFFSET_DELETE, API_VERSIONS, CREATE_TOPICS = 42, 47, 18, 19
CONSUMER_GROUP_HEARTBEAT, CONSUMER_GROUP_DESCRIBE = 68, 69


async def call(broker, api_key: int, version: int, **fields):
    """Run one request through the broker's handler; return the decoded response."""
    request_message, response_message = messages.REQUESTS[api_key], messages.RESPONSES[api_key]
    request = request_message.decode(request_message.encode(fields, version), version)
    ctx = RequestContext(api_key, version, 1, "cgp-test", "127.0.0.1:50000", None)
    body = await broker.handlers[api_key](broker.services, request, ctx)
    return response_message.decode(response_message.encode(body, version), version)


async def create_topic(broker, name: str, partitions: int) -> None:
    response = await call(broker, CREATE_TOPICS, 7, timeout_ms=5000, validate_only=False, topics=[
        {"name": name, "num_partitions": partitions, "replication_factor": 1,
         "assignments": [], "configs": []}])
    assert response.topics[0].error_code == 0, response


async def heartbeat(broker, group_id: str, member_id: str | None = None, member_epoch: int = 0,
                    topics=("t",), owned=None, **extra):
    """A ConsumerGroupHeartbeat v1; a join (epoch 0) by default, with a fresh member id."""
    fields = {"group_id": group_id, "member_id": member_id or uuid.uuid4().hex,
              "member_epoch": member_epoch, "rebalance_timeout_ms": 10000 if member_epoch == 0 else -1,
              "subscribed_topic_names": list(topics) if member_epoch == 0 else None,
              "topic_partitions": [] if member_epoch == 0 else owned, **extra}
    return await call(broker, CONSUMER_GROUP_HEARTBEAT, 1, **fields)


def owned_of(response) -> list[dict]:
    """A heartbeat response's assignment as the ``topic_partitions`` of the next heartbeat."""
    return [{"topic_id": tp.topic_id, "partitions": list(tp.partitions)}
            for tp in response.assignment.topic_partitions]


async def commit(broker, group_id: str, topic: str, offsets: dict, *, member_id: str = "",
                 member_epoch: int = -1, version: int = 9) -> dict:
    """OffsetCommit ``{partition: offset}``; returns ``{partition: error_code}``."""
    response = await call(broker, OFFSET_COMMIT, version, group_id=group_id,
                          generation_id_or_member_epoch=member_epoch, member_id=member_id,
                          topics=[{"name": topic, "partitions": [
                              {"partition_index": p, "committed_offset": o, "committed_metadata": ""}
                              for p, o in offsets.items()]}])
    return {p.partition_index: p.error_code for t in response.topics for p in t.partitions}


async def fetch(broker, group_id: str, topic: str, partitions, *, member_id=None, member_epoch=-1):
    """OffsetFetch v9; returns ``{partition: committed_offset}``, or the group's error code."""
    response = await call(broker, OFFSET_FETCH, 9, require_stable=False, groups=[
        {"group_id": group_id, "member_id": member_id, "member_epoch": member_epoch,
         "topics": [{"name": topic, "partition_indexes": list(partitions)}]}])
    group = response.groups[0]
    if group.error_code:
        return group.error_code
    return {p.partition_index: p.committed_offset for t in group.topics for p in t.partitions}


async def describe(broker, group_id: str):
    response = await call(broker, CONSUMER_GROUP_DESCRIBE, 0, group_ids=[group_id],
                          include_authorized_operations=False)
    return response.groups[0]

"""Call a broker's handlers in-process, through the real codec (not a test module).

``call`` encodes the request at ``version`` and decodes it, as the server
would, runs the handler, then encodes and decodes the response too: a
response dict that does not fit the declaration fails the test here.
"""

from __future__ import annotations

from minikafka.handlers import RequestContext
from minikafka.protocol import messages

FIND_COORDINATOR, JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP = 10, 11, 12, 13, 14
DESCRIBE_GROUPS, LIST_GROUPS, OFFSET_COMMIT, OFFSET_FETCH = 15, 16, 8, 9
DELETE_GROUPS, OFFSET_DELETE, METADATA = 42, 47, 3


async def call(broker, api_key: int, version: int, *, client_id: str = "test-client", **fields):
    """Run one request through the broker's handler; return the decoded response."""
    request_message, response_message = messages.REQUESTS[api_key], messages.RESPONSES[api_key]
    request = request_message.decode(request_message.encode(fields, version), version)
    ctx = RequestContext(api_key, version, 1, client_id, "127.0.0.1:50000", None)
    body = await broker.handlers[api_key](broker.services, request, ctx)
    return response_message.decode(response_message.encode(body, version), version)


def subscription(*topics: str) -> bytes:
    """A ConsumerProtocolSubscription v0 for ``topics`` (what a JoinGroup carries)."""
    out = b"\x00\x00" + len(topics).to_bytes(4, "big")
    for topic in topics:
        out += len(topic).to_bytes(2, "big") + topic.encode()
    return out + b"\xff\xff\xff\xff"


def join_fields(group_id: str, member_id: str = "", *, session_timeout_ms: int = 6000,
                rebalance_timeout_ms: int = 10000, instance_id: str | None = None,
                topics=("t",)) -> dict:
    return {"group_id": group_id, "session_timeout_ms": session_timeout_ms,
            "rebalance_timeout_ms": rebalance_timeout_ms, "member_id": member_id,
            "group_instance_id": instance_id, "protocol_type": "consumer",
            "protocols": [{"name": "range", "metadata": subscription(*topics)}]}


async def join_and_sync(broker, group_id: str, **join_options):
    """One member joins (KIP-394 round trip included) and syncs; returns the join response."""
    first = await call(broker, JOIN_GROUP, 9, **join_fields(group_id, **join_options))
    joined = await call(broker, JOIN_GROUP, 9, **join_fields(group_id, first.member_id, **join_options))
    assert joined.error_code == 0, joined
    synced = await call(broker, SYNC_GROUP, 5, group_id=group_id, generation_id=joined.generation_id,
                        member_id=joined.member_id, group_instance_id=join_options.get("instance_id"),
                        protocol_type="consumer", protocol_name="range",
                        assignments=[{"member_id": joined.member_id, "assignment": b"A"}])
    assert synced.error_code == 0 and synced.assignment == b"A", synced
    return joined


async def commit(broker, group_id: str, topic: str, offsets: dict, *, generation_id: int = -1,
                 member_id: str = "", version: int = 9):
    """OffsetCommit ``{partition: offset}``; returns ``{partition: error_code}``."""
    response = await call(broker, OFFSET_COMMIT, version, group_id=group_id,
                          generation_id_or_member_epoch=generation_id, member_id=member_id,
                          topics=[{"name": topic, "partitions": [
                              {"partition_index": p, "committed_offset": o, "committed_metadata": "m"}
                              for p, o in offsets.items()]}])
    return {p.partition_index: p.error_code for t in response.topics for p in t.partitions}


async def fetch(broker, group_id: str, topic: str, partitions, version: int = 8) -> dict:
    """OffsetFetch v8+; returns ``{partition: committed_offset}`` (or the group error code)."""
    response = await call(broker, OFFSET_FETCH, version, groups=[
        {"group_id": group_id, "topics": [{"name": topic, "partition_indexes": list(partitions)}]}])
    group = response.groups[0]
    if group.error_code:
        return group.error_code
    return {p.partition_index: p.committed_offset for t in group.topics for p in t.partitions}

"""OffsetCommit (key 8): store a group's committed offsets in ``__consumer_offsets``.

Each committed offset becomes one OffsetCommitValue record; the records of
one request are appended as one batch, and the response is sent only once
they are in the log. Who may commit (member, generation, simple commits with
``generation_id = -1``) is the coordinator's rule (``coordinator/classic/offsets.py``).

A member of a consumer-protocol group (KIP-848) commits with its member
epoch in ``generation_id_or_member_epoch``: the consumer coordinator checks
it (``validate_offset_commit``: UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH,
UNSUPPORTED_VERSION below v9), and the offsets are then stored like a
simple commit, in the classic coordinator that keeps every group's offsets.

As in Kafka's request handler, partitions of topics that do not exist are
answered UNKNOWN_TOPIC_OR_PARTITION before the coordinator sees the request.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices
from minikafka.protocol.codec import Struct

API_KEY = 8


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    version = ctx.api_version
    known, unknown = split_by_existence(services, request.topics)
    if known:
        filtered = Struct(**{**vars(request), "topics": known})

        def commit(classic, consumer_groups, now_ms):
            if request.group_id not in consumer_groups.groups:
                return classic.commit_offsets(filtered, now_ms, version=version)
            consumer_groups.validate_offset_commit(  # raises: every partition gets the error
                request.group_id, request.member_id, request.generation_id_or_member_epoch, version)
            simple = Struct(**{**vars(filtered), "generation_id_or_member_epoch": -1,
                               "member_id": "", "group_instance_id": None})
            return classic.commit_offsets(simple, now_ms, version=version)

        try:
            response = await services.group_coordinator.execute_both(request.group_id, commit)
            topics = response["topics"]
        except KafkaError as exc:
            topics = every_partition(known, exc.code)
    else:
        topics = []
    return {"throttle_time_ms": 0,
            "topics": topics + every_partition(unknown, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)}


def split_by_existence(services: BrokerServices, topics) -> tuple[list, list]:
    """``(topics with only existing partitions, the rest)`` of a request's topic list."""
    known, unknown = [], []
    for topic in topics:
        info = services.metadata.get(topic.name)
        present = [p for p in topic.partitions
                   if info is not None and 0 <= p.partition_index < info.num_partitions]
        missing = [p for p in topic.partitions if p not in present]
        if present:
            known.append(Struct(**{**vars(topic), "partitions": present}))
        if missing:
            unknown.append(Struct(**{**vars(topic), "partitions": missing}))
    return known, unknown


def every_partition(topics, code: ErrorCode) -> list[dict]:
    """The same error code for every partition of ``topics``."""
    return [{"name": topic.name,
             "partitions": [{"partition_index": p.partition_index, "error_code": code}
                            for p in topic.partitions]}
            for topic in topics]

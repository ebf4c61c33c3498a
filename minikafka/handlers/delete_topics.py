"""DeleteTopics (API 20, v1-6): delete topics and all their partitions' data.

Up to v5 a request lists topic names; v6 (KIP-516) lists ``{name, topic_id}``
pairs where exactly one is set, so a client can delete "the topic with this
id" and not a newer topic that reused the name. Each topic gets its own
result: ``UNKNOWN_TOPIC_OR_PARTITION`` for an unknown name,
``UNKNOWN_TOPIC_ID`` for an unknown id, ``INVALID_REQUEST`` for a topic
named twice or named both ways. With ``delete.topic.enable=false`` every
topic answers ``TOPIC_DELETION_DISABLED`` and nothing is deleted.

Deleting removes the topic from the registry first (persisted), then its
logs: a crash in between leaves orphan log directories, which the broker
ignores at start-up, never a topic without its data.

Each deleted topic costs its partition count in the controller mutation
quota (KIP-599, :mod:`minikafka.handlers.mutation_quota`), strict from v5:
a topic over the quota answers THROTTLING_QUOTA_EXCEEDED, and the response
carries the throttle time.
"""

from __future__ import annotations

import collections

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext, mutation_quota
from minikafka.handlers.services import BrokerServices

API_KEY = 20

STRICT_QUOTA_SINCE_VERSION = 5

ZERO_UUID = bytes(16)


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    targets = _targets(request, ctx.api_version)
    names = collections.Counter(name for name, topic_id in targets if name is not None)
    ids = collections.Counter(topic_id for name, topic_id in targets if topic_id != ZERO_UUID)
    quota = mutation_quota.new_quota(services, ctx, STRICT_QUOTA_SINCE_VERSION)
    responses = []
    for name, topic_id in targets:
        try:
            name, topic_id = _resolve(services, name, topic_id, names, ids)
            if not services.config["delete.topic.enable"]:
                raise KafkaError(ErrorCode.TOPIC_DELETION_DISABLED, "Topic deletion is disabled.")
            mutation_quota.record(services, quota, services.metadata.require(name).num_partitions)
            await services.topic_admin.delete_topic(name)
            responses.append(_result(name, topic_id, ErrorCode.NONE, None))
        except KafkaError as exc:
            responses.append(_result(name, topic_id, exc.code, exc.message))
    return {"throttle_time_ms": mutation_quota.throttle_time_ms(services, ctx, quota), "responses": responses}


def _targets(request, version: int) -> list[tuple[str | None, bytes]]:
    """``(name, topic_id)`` per requested topic, whatever the version."""
    if version >= 6:
        return [(topic.name, topic.topic_id) for topic in request.topics]
    return [(name, ZERO_UUID) for name in request.topic_names]


def _resolve(services: BrokerServices, name, topic_id, names, ids) -> tuple[str, bytes]:
    """Check one target and return its ``(name, topic_id)``; raises ``KafkaError``."""
    if name is not None and topic_id != ZERO_UUID:
        raise KafkaError(ErrorCode.INVALID_REQUEST, "You may not specify both topic name and topic id.")
    if name is None:
        if topic_id == ZERO_UUID:
            raise KafkaError(ErrorCode.INVALID_REQUEST, "Neither topic name nor id were specified.")
        if ids[topic_id] > 1:
            raise KafkaError(ErrorCode.INVALID_REQUEST, "Duplicate topic id.")
        info = services.metadata.get_by_id(topic_id)
        if info is None:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_ID, "This server does not host this topic ID.")
        return info.name, topic_id
    if names[name] > 1:
        raise KafkaError(ErrorCode.INVALID_REQUEST, "Duplicate topic name.")
    info = services.metadata.get(name)
    if info is None:
        raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                         "This server does not host this topic-partition.")
    return name, info.topic_id


def _result(name, topic_id, code, message) -> dict:
    # Before v6 the name is not nullable: an entry always has one there.
    return {"name": name, "topic_id": topic_id, "error_code": code, "error_message": message}

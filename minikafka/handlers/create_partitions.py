"""CreatePartitions (API 37, v0-3): raise topics' partition counts.

``count`` is the new total, which must be larger than the current one:
Kafka never removes partitions, because records are spread over them by key
hash and fewer partitions would lose data and move keys. (More partitions
also move keys; clients that rely on key order must plan for that.)

An explicit assignment, if given, lists the broker ids of each *new*
partition; on one broker every id must be this broker's. ``validate_only``
checks without changing anything. Each topic gets its own result.

The new partitions count in the controller mutation quota (KIP-599,
:mod:`minikafka.handlers.mutation_quota`), strict from v3: a topic over the
quota answers THROTTLING_QUOTA_EXCEEDED, and the response carries the
throttle time.
"""

from __future__ import annotations

import collections

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext, mutation_quota
from minikafka.handlers.services import BrokerServices

API_KEY = 37

STRICT_QUOTA_SINCE_VERSION = 3


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    counts = collections.Counter(topic.name for topic in request.topics)
    quota = mutation_quota.new_quota(services, ctx, STRICT_QUOTA_SINCE_VERSION)
    results, answered = [], set()
    for topic in request.topics:
        if topic.name in answered:
            continue
        answered.add(topic.name)
        try:
            if counts[topic.name] > 1:
                raise KafkaError(ErrorCode.INVALID_REQUEST, "Duplicate topic name.")
            await _create_partitions(services, topic, request.validate_only, quota)
            results.append({"name": topic.name, "error_code": ErrorCode.NONE, "error_message": None})
        except KafkaError as exc:
            results.append({"name": topic.name, "error_code": exc.code, "error_message": exc.message})
    return {"throttle_time_ms": mutation_quota.throttle_time_ms(services, ctx, quota), "results": results}


async def _create_partitions(services: BrokerServices, topic, validate_only: bool, quota) -> None:
    info = services.metadata.validate_new_partition_count(topic.name, topic.count)
    if topic.assignments is not None:
        _check_assignments(services, topic, topic.count - info.num_partitions, info.replication_factor)
    mutation_quota.record(services, quota, topic.count - info.num_partitions)
    if not validate_only:
        await services.topic_admin.add_partitions(topic.name, topic.count)


def _check_assignments(services: BrokerServices, topic, new_partitions: int, replication_factor: int) -> None:
    if len(topic.assignments) != new_partitions:
        raise KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                         f"Attempted to add {new_partitions} additional partition(s), but only "
                         f"{len(topic.assignments)} assignment(s) were specified.")
    for assignment in topic.assignments:
        ids = assignment.broker_ids
        if len(ids) != replication_factor or any(b != services.metadata.node_id for b in ids):
            raise KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                             f"The manual partition assignment {ids} is not valid on this cluster "
                             f"(brokers: [{services.metadata.node_id}], replication factor {replication_factor}).")

"""CreateTopics (API 19, v2-7): create topics, or only check them (``validate_only``).

Each topic in the request gets its own result; one bad topic does not stop
the others. A topic is given either a partition count and replication factor
(``-1`` for either means the broker's ``num.partitions`` /
``default.replication.factor``) or an explicit assignment (partition ->
broker ids), never both. Config overrides must be known topic keys with
valid values (``INVALID_CONFIG``).

From v5 (KIP-525) a successful result echoes the partition count, the
replication factor and every effective topic config with its source, so a
client learns what it got without a DescribeConfigs round trip; v7 (KIP-516)
adds the new topic id. A ``validate_only`` result looks the same except that
nothing is created and the id is all zeros.

Kafka names a duplicated topic in one request ``INVALID_REQUEST`` and
answers it once.

Each valid topic costs its partition count in the controller mutation quota
(KIP-599, :mod:`minikafka.handlers.mutation_quota`), strict from v6: a topic
over the quota answers THROTTLING_QUOTA_EXCEEDED, and the response carries
the throttle time. ``validate_only`` topics are counted too, as Kafka's
controller counts them.
"""

from __future__ import annotations

import collections

from minikafka.config import format_value, validate_topic_configs, TOPIC_KEYS
from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext, mutation_quota
from minikafka.handlers.services import BrokerServices

API_KEY = 19

STRICT_QUOTA_SINCE_VERSION = 6

ZERO_UUID = bytes(16)


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    counts = collections.Counter(topic.name for topic in request.topics)
    quota = mutation_quota.new_quota(services, ctx, STRICT_QUOTA_SINCE_VERSION)
    results, answered = [], set()
    for topic in request.topics:
        if topic.name in answered:
            continue
        answered.add(topic.name)
        if counts[topic.name] > 1:
            results.append(_error(topic.name, KafkaError(ErrorCode.INVALID_REQUEST, "Duplicate topic name.")))
            continue
        try:
            results.append(await _create_one(services, topic, request.validate_only, quota))
        except KafkaError as exc:
            results.append(_error(topic.name, exc))
    return {"throttle_time_ms": mutation_quota.throttle_time_ms(services, ctx, quota), "topics": results}


async def _create_one(services: BrokerServices, topic, validate_only: bool, quota) -> dict:
    num_partitions, replication_factor = _partitions_and_replicas(services, topic)
    configs = {config.name: config.value for config in topic.configs}
    num_partitions, replication_factor, configs = services.metadata.validate_new_topic(
        topic.name, num_partitions, configs, replication_factor)
    mutation_quota.record(services, quota, num_partitions)
    topic_id = ZERO_UUID
    if not validate_only:
        created = await services.topic_admin.create_topic(topic.name, num_partitions, configs, replication_factor,
                                                          assignments=_assignments(topic))
        topic_id = created.topic_id
    return {
        "name": topic.name,
        "topic_id": topic_id,
        "error_code": ErrorCode.NONE,
        "error_message": None,
        "num_partitions": num_partitions,
        "replication_factor": replication_factor,
        "configs": _described_configs(services, configs),
    }


def _partitions_and_replicas(services: BrokerServices, topic) -> tuple[int, int]:
    """``(num_partitions, replication_factor)`` from counts or a manual assignment."""
    if not topic.assignments:
        return topic.num_partitions, topic.replication_factor
    if topic.num_partitions != -1:
        raise KafkaError(ErrorCode.INVALID_REQUEST,
                         "A manual partition assignment was specified, but numPartitions was not set to -1.")
    if topic.replication_factor != -1:
        raise KafkaError(ErrorCode.INVALID_REQUEST,
                         "A manual partition assignment was specified, but replicationFactor was not set to -1.")
    indexes = sorted(a.partition_index for a in topic.assignments)
    if indexes != list(range(len(indexes))):
        raise KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                         "Partitions should be a consecutive 0-based integer sequence, but was "
                         f"{indexes}.")
    sizes = {len(a.broker_ids) for a in topic.assignments}
    if len(sizes) > 1:
        raise KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                         "All partitions in the manual partition assignment must have the same number "
                         "of replicas.")
    # Whether the brokers exist is the controller's check (it knows every registration).
    return len(indexes), sizes.pop()


def _assignments(topic) -> list[list[int]] | None:
    """The manual assignment as replica lists by partition index, or None."""
    if not topic.assignments:
        return None
    by_index = {a.partition_index: list(a.broker_ids) for a in topic.assignments}
    return [by_index[index] for index in range(len(by_index))]


def _described_configs(services: BrokerServices, configs: dict[str, str]) -> list[dict]:
    """Every topic config of the new topic with its value and source (v5+)."""
    overrides = validate_topic_configs(configs)
    described = []
    for key in TOPIC_KEYS:
        entry = services.config.topic_entry(key.name, overrides)
        described.append({
            "name": key.name,
            "value": None if key.sensitive else format_value(entry.value),
            "read_only": entry.read_only,
            "config_source": int(entry.source),
            "is_sensitive": key.sensitive,
        })
    return described


def _error(name: str, exc: KafkaError) -> dict:
    return {
        "name": name,
        "topic_id": ZERO_UUID,
        "error_code": exc.code,
        "error_message": exc.message,
        "num_partitions": -1,
        "replication_factor": -1,
        "configs": None,
    }

"""Simple admin operations: topics, partitions and configs (Kafka's AdminClient, small).

Each function sends one admin request and turns a per-topic ``error_code``
into ``KafkaError``, so a caller sees "topic 'x' already exists
(TOPIC_ALREADY_EXISTS)" rather than a number. The requests used:

==========================  =======  ========================================
operation                   API key  notes
==========================  =======  ========================================
create_topics               19       CreateTopics; -1 = the broker's default
delete_topics               20       DeleteTopics; by name
list/describe_topics        3        Metadata (any broker answers)
create_partitions           37       CreatePartitions; ``count`` is the new total
describe_configs            32       DescribeConfigs; resource type 2 = topic
alter_configs               44       IncrementalAlterConfigs (KIP-339): SET / DELETE
==========================  =======  ========================================

Admin requests go to the controller as Metadata names it (a KRaft broker would
forward them anyway, KIP-590).
"""

from __future__ import annotations

import dataclasses
import enum

from minikafka.errors import ErrorCode, KafkaError

from .cluster import Cluster, TopicMetadata

CREATE_TOPICS, DELETE_TOPICS, CREATE_PARTITIONS = 19, 20, 37
DESCRIBE_CONFIGS, INCREMENTAL_ALTER_CONFIGS = 32, 44
TOPIC_RESOURCE = 2  # ConfigResource.Type.TOPIC


class ConfigSource(enum.IntEnum):
    """Where a config value comes from (DescribeConfigs v1+ ``config_source``)."""

    UNKNOWN = 0
    DYNAMIC_TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5
    DYNAMIC_BROKER_LOGGER_CONFIG = 6
    CLIENT_METRICS_CONFIG = 7
    GROUP_CONFIG = 8


class AlterConfigOp(enum.IntEnum):
    """IncrementalAlterConfigs operations (KIP-339)."""

    SET = 0
    DELETE = 1
    APPEND = 2
    SUBTRACT = 3


@dataclasses.dataclass(frozen=True)
class NewTopic:
    """A topic to create. -1 means "the broker's default" (KIP-464)."""

    name: str
    num_partitions: int = -1
    replication_factor: int = -1
    configs: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ConfigEntry:
    """One config value of a resource, as DescribeConfigs reports it."""

    name: str
    value: str | None
    source: ConfigSource
    read_only: bool
    is_sensitive: bool

    @property
    def is_default(self) -> bool:
        return self.source == ConfigSource.DEFAULT_CONFIG


def check(error_code: int, what: str, error_message: str | None = None) -> None:
    """Raise ``KafkaError`` for a non-zero ``error_code``, naming ``what`` failed."""
    if error_code != ErrorCode.NONE:
        code = ErrorCode(error_code)
        raise KafkaError(code, f"{what}: {error_message}" if error_message else what)


_TOPIC_PROBLEMS = {
    ErrorCode.TOPIC_ALREADY_EXISTS: "already exists",
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION: "does not exist",
}


def check_topic(error_code: int, topic: str, error_message: str | None = None) -> None:
    """``check`` with the wording kafka-topics uses for the common topic errors."""
    if error_code == ErrorCode.NONE:
        return
    problem = _TOPIC_PROBLEMS.get(error_code)
    what = f"topic '{topic}' {problem}" if problem else f"topic '{topic}'"
    check(error_code, what, None if problem else error_message)


async def create_topics(cluster: Cluster, topics: list[NewTopic], *, timeout_ms: int = 30_000,
                        validate_only: bool = False) -> dict[str, bytes]:
    """Create topics; return ``{name: topic_id}`` (all-zero ids before CreateTopics v7)."""
    body = {
        "topics": [
            {"name": t.name, "num_partitions": t.num_partitions,
             "replication_factor": t.replication_factor, "assignments": [],
             "configs": [{"name": k, "value": v} for k, v in t.configs.items()]}
            for t in topics
        ],
        "timeout_ms": timeout_ms,
        "validate_only": validate_only,
    }
    response = await cluster.request(await cluster.controller_connection(), CREATE_TOPICS, body)
    for topic in response.topics:
        check_topic(topic.error_code, topic.name, topic.error_message)
    return {topic.name: bytes(topic.topic_id) for topic in response.topics}


async def delete_topics(cluster: Cluster, names: list[str], *, timeout_ms: int = 30_000) -> None:
    """Delete topics by name."""
    body = {
        "topic_names": list(names),  # DeleteTopics v0-5
        "topics": [{"name": name} for name in names],  # v6+
        "timeout_ms": timeout_ms,
    }
    response = await cluster.request(await cluster.controller_connection(), DELETE_TOPICS, body)
    for result in response.responses:
        check_topic(result.error_code, result.name, result.error_message)
    for name in names:
        cluster.topics.pop(name, None)


async def list_topics(cluster: Cluster, *, include_internal: bool = False) -> list[str]:
    """The names of all topics, sorted (internal ones like ``__consumer_offsets`` optional)."""
    topics = await cluster.refresh_metadata(None)
    return sorted(name for name, t in topics.items() if include_internal or not t.is_internal)


async def describe_topics(cluster: Cluster, names: list[str]) -> list[TopicMetadata]:
    """Fresh metadata for each named topic; raises if one does not exist."""
    await cluster.refresh_metadata(list(names))
    return [await cluster.topic(name) for name in names]


async def create_partitions(cluster: Cluster, topic: str, total_count: int, *,
                            timeout_ms: int = 30_000, validate_only: bool = False) -> None:
    """Grow ``topic`` to ``total_count`` partitions (Kafka never shrinks a topic)."""
    body = {
        "topics": [{"name": topic, "count": total_count, "assignments": None}],
        "timeout_ms": timeout_ms,
        "validate_only": validate_only,
    }
    response = await cluster.request(await cluster.controller_connection(), CREATE_PARTITIONS, body)
    for result in response.results:
        check_topic(result.error_code, result.name, result.error_message)
    cluster.topics.pop(topic, None)


async def describe_configs(cluster: Cluster, topic: str,
                           keys: list[str] | None = None) -> dict[str, ConfigEntry]:
    """The topic's effective configs, ``{name: ConfigEntry}`` (all keys if None)."""
    body = {
        "resources": [{"resource_type": TOPIC_RESOURCE, "resource_name": topic,
                       "configuration_keys": keys}],
        "include_synonyms": False,
        "include_documentation": False,
    }
    response = await cluster.request(None, DESCRIBE_CONFIGS, body)
    entries = {}
    for result in response.results:
        check_topic(result.error_code, result.resource_name, result.error_message)
        for config in result.configs:
            entries[config.name] = ConfigEntry(
                name=config.name,
                value=config.value,
                source=_config_source(config),
                read_only=bool(config.read_only),
                is_sensitive=bool(config.is_sensitive),
            )
    return entries


def _config_source(config) -> ConfigSource:
    source = getattr(config, "config_source", -1)
    if source in (None, -1):  # DescribeConfigs v0 has only is_default
        return ConfigSource.DEFAULT_CONFIG if config.is_default else ConfigSource.DYNAMIC_TOPIC_CONFIG
    try:
        return ConfigSource(source)
    except ValueError:
        return ConfigSource.UNKNOWN


async def alter_configs(cluster: Cluster, topic: str, *, set_configs: dict[str, str] | None = None,
                        delete_configs: list[str] = (), validate_only: bool = False) -> None:
    """Set and/or delete topic config overrides, leaving the others as they are."""
    operations = [{"name": k, "config_operation": AlterConfigOp.SET, "value": v}
                  for k, v in (set_configs or {}).items()]
    operations += [{"name": k, "config_operation": AlterConfigOp.DELETE, "value": None}
                   for k in delete_configs]
    body = {
        "resources": [{"resource_type": TOPIC_RESOURCE, "resource_name": topic,
                       "configs": operations}],
        "validate_only": validate_only,
    }
    response = await cluster.request(await cluster.controller_connection(),
                                     INCREMENTAL_ALTER_CONFIGS, body)
    for result in response.responses:
        check_topic(result.error_code, result.resource_name, result.error_message)

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
describe_configs            32       DescribeConfigs; resource type 2 topic,
                                     4 broker (to that broker; "" = any)
alter_configs               44       IncrementalAlterConfigs (KIP-339): SET /
                                     DELETE; a broker's to that broker
list_offsets                2        ListOffsets, to each partition's leader
delete_records              21       DeleteRecords, to each partition's leader
describe_cluster            60       DescribeCluster (KIP-700); Metadata if absent
elect_leaders               43       ElectLeaders (KIP-183, KIP-460)
alter_partition_reassign.   45       AlterPartitionReassignments (KIP-455)
list_partition_reassign.    46       ListPartitionReassignments (KIP-455)
groups, group offsets       ...      ``groups.py`` (via the coordinator)
==========================  =======  ========================================

Admin requests go to the controller as Metadata names it (a KRaft broker would
forward them anyway, KIP-590); requests about partitions go to their leaders.

``admin_client.Admin`` bundles these functions (and the group ones of
``groups.py``) into Kafka's ``Admin`` interface: one object, a config dict,
retries.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping

from minikafka.errors import ErrorCode, KafkaError

from .cluster import Cluster, TopicMetadata

LIST_OFFSETS, CREATE_TOPICS, DELETE_TOPICS, DELETE_RECORDS = 2, 19, 20, 21
CREATE_PARTITIONS, DESCRIBE_CONFIGS, ELECT_LEADERS, INCREMENTAL_ALTER_CONFIGS = 37, 32, 43, 44
ALTER_PARTITION_REASSIGNMENTS, LIST_PARTITION_REASSIGNMENTS, DESCRIBE_CLUSTER = 45, 46, 60
TOPIC_RESOURCE, BROKER_RESOURCE = 2, 4  # ConfigResource.Type.TOPIC, BROKER
# ListOffsets' special timestamps (OffsetSpec in Java's Admin).
EARLIEST, LATEST, MAX_TIMESTAMP = -2, -1, -3
READ_UNCOMMITTED, READ_COMMITTED = 0, 1
PREFERRED_ELECTION, UNCLEAN_ELECTION = 0, 1

TopicPartition = tuple[str, int]


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
    """One config value of a resource, as DescribeConfigs reports it.

    ``synonyms`` (asked for with ``include_synonyms``) is the chain the value
    came from, most specific first: ``(name, value, ConfigSource)`` tuples,
    e.g. a topic's ``retention.ms`` override, then the broker's
    ``log.retention.ms``, then its default.
    """

    name: str
    value: str | None
    source: ConfigSource
    read_only: bool
    is_sensitive: bool
    synonyms: tuple[tuple[str, str | None, ConfigSource], ...] = ()

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


async def _resource_connection(cluster: Cluster, resource_type: int, name: str):
    """Where a config request about a resource goes (Java's Admin does the same).

    One broker's configs: that broker (only it knows its static ones);
    anything else (a topic, the cluster-wide broker default ``""``): any broker.
    """
    if resource_type == BROKER_RESOURCE and name:
        return await cluster.connection_to(int(name))
    return await cluster.any_connection()


def _check_resource(result, resource_type: int) -> None:
    if resource_type == TOPIC_RESOURCE:
        check_topic(result.error_code, result.resource_name, result.error_message)
    else:
        name = result.resource_name
        what = f"broker {name}" if name else "the cluster-wide broker default"
        check(result.error_code, what, result.error_message)


async def describe_configs(cluster: Cluster, name: str, keys: list[str] | None = None, *,
                           resource_type: int = TOPIC_RESOURCE,
                           include_synonyms: bool = False) -> dict[str, ConfigEntry]:
    """A resource's effective configs, ``{name: ConfigEntry}`` (all keys if None).

    Args:
        name: the topic, or the broker id (``"1"``; ``""``: the cluster-wide default).
        resource_type: ``TOPIC_RESOURCE`` or ``BROKER_RESOURCE``.
        include_synonyms: fill ``ConfigEntry.synonyms``.
    """
    body = {
        "resources": [{"resource_type": resource_type, "resource_name": name,
                       "configuration_keys": keys}],
        "include_synonyms": include_synonyms,
        "include_documentation": False,
    }
    connection = await _resource_connection(cluster, resource_type, name)
    response = await cluster.request(connection, DESCRIBE_CONFIGS, body)
    entries = {}
    for result in response.results:
        _check_resource(result, resource_type)
        for config in result.configs:
            entries[config.name] = ConfigEntry(
                name=config.name,
                value=config.value,
                source=_config_source(config),
                read_only=bool(config.read_only),
                is_sensitive=bool(config.is_sensitive),
                synonyms=tuple((s.name, s.value, _source(s.source))
                               for s in getattr(config, "synonyms", None) or ()),
            )
    return entries


def _config_source(config) -> ConfigSource:
    source = getattr(config, "config_source", -1)
    if source in (None, -1):  # DescribeConfigs v0 has only is_default
        return ConfigSource.DEFAULT_CONFIG if config.is_default else ConfigSource.DYNAMIC_TOPIC_CONFIG
    return _source(source)


def _source(source: int) -> ConfigSource:
    try:
        return ConfigSource(source)
    except ValueError:
        return ConfigSource.UNKNOWN


async def alter_configs(cluster: Cluster, name: str, *, set_configs: dict[str, str] | None = None,
                        delete_configs: list[str] = (), validate_only: bool = False,
                        resource_type: int = TOPIC_RESOURCE) -> None:
    """Set and/or delete config overrides of a topic or broker, leaving the others as they are.

    Args:
        name: the topic, or the broker id (``"1"``; ``""``: the cluster-wide default).
        resource_type: ``TOPIC_RESOURCE`` or ``BROKER_RESOURCE``.
    """
    operations = [{"name": k, "config_operation": AlterConfigOp.SET, "value": v}
                  for k, v in (set_configs or {}).items()]
    operations += [{"name": k, "config_operation": AlterConfigOp.DELETE, "value": None}
                   for k in delete_configs]
    body = {
        "resources": [{"resource_type": resource_type, "resource_name": name,
                       "configs": operations}],
        "validate_only": validate_only,
    }
    if resource_type == TOPIC_RESOURCE:
        connection = await cluster.controller_connection()
    else:
        connection = await _resource_connection(cluster, resource_type, name)
    response = await cluster.request(connection, INCREMENTAL_ALTER_CONFIGS, body)
    for result in response.responses:
        _check_resource(result, resource_type)


# -- partitions: offsets, record deletion, leader election ------------------------

@dataclasses.dataclass(frozen=True)
class ListOffsetsResultInfo:
    """What ListOffsets found: an offset, its record's timestamp and leader epoch.

    ``offset`` is -1 when no record matches (a timestamp after the last record).
    """

    offset: int
    timestamp_ms: int
    leader_epoch: int


def _by_topic(partitions) -> dict[str, list[int]]:
    """``{topic: [partition]}``, sorted."""
    by_topic: dict[str, list[int]] = {}
    for topic, partition in sorted(partitions):
        by_topic.setdefault(topic, []).append(partition)
    return by_topic


async def _by_leader(cluster: Cluster, partitions) -> dict[int, dict[str, list[int]]]:
    """``{leader_id: {topic: [partition]}}``: one request per leader."""
    by_leader: dict[int, dict[str, list[int]]] = {}
    for topic, partition in sorted(partitions):
        leader_id = await cluster.leader_for(topic, partition)
        by_leader.setdefault(leader_id, {}).setdefault(topic, []).append(partition)
    return by_leader


async def _partition_request(cluster: Cluster, partitions, api_key: int, build_body,
                             response_topics):
    """Send one request per leader; return ``[(topic, partition_response)]``.

    Args:
        build_body: ``{topic: [partition]} -> request body`` for one leader.
        response_topics: ``response -> its list of topic responses``.
    """
    answers = []
    for leader_id, topics in (await _by_leader(cluster, partitions)).items():
        connection = await cluster.connection_to(leader_id)
        response = await cluster.request(connection, api_key, build_body(topics))
        for topic in response_topics(response):
            answers.extend((topic.name, p) for p in topic.partitions)
    return answers


async def list_offsets(cluster: Cluster, specs: Mapping[TopicPartition, int], *,
                       isolation_level: int = READ_UNCOMMITTED
                       ) -> dict[TopicPartition, ListOffsetsResultInfo]:
    """ListOffsets: ``{(topic, partition): timestamp}`` -> what each points at.

    Args:
        specs: per partition ``EARLIEST`` (-2), ``LATEST`` (-1),
            ``MAX_TIMESTAMP`` (-3, KIP-734) or a timestamp in ms.
        isolation_level: READ_COMMITTED makes LATEST the last stable offset.
    """
    def body(topics):
        return {"replica_id": -1, "isolation_level": isolation_level,
                "topics": [{"name": t, "partitions": [
                    {"partition_index": i, "current_leader_epoch": -1, "timestamp": specs[(t, i)]}
                    for i in indexes]} for t, indexes in topics.items()],
                "timeout_ms": int(cluster.request_timeout_ms)}

    answers = await _partition_request(cluster, specs, LIST_OFFSETS, body, lambda r: r.topics)
    result = {}
    for topic, p in answers:
        check(p.error_code, f"listing offsets of {topic}-{p.partition_index}")
        result[(topic, p.partition_index)] = ListOffsetsResultInfo(p.offset, p.timestamp,
                                                                   p.leader_epoch)
    return result


async def delete_records(cluster: Cluster, before_offsets: Mapping[TopicPartition, int], *,
                         timeout_ms: int = 30_000) -> dict[TopicPartition, int]:
    """Delete every record below an offset; return each new ``low_watermark``.

    The log start offset moves up at once (records below it are no longer
    readable); the segments are removed later. Offset -1 means the high
    watermark: delete everything.
    """
    def body(topics):
        return {"topics": [{"name": t, "partitions": [
            {"partition_index": i, "offset": before_offsets[(t, i)]} for i in indexes]}
            for t, indexes in topics.items()], "timeout_ms": timeout_ms}

    answers = await _partition_request(cluster, before_offsets, DELETE_RECORDS, body,
                                       lambda r: r.topics)
    low_watermarks = {}
    for topic, p in answers:
        check(p.error_code, f"deleting records of {topic}-{p.partition_index}")
        low_watermarks[(topic, p.partition_index)] = p.low_watermark
    return low_watermarks


async def elect_leaders(cluster: Cluster, partitions: list[TopicPartition] | None = None, *,
                        election_type: int = PREFERRED_ELECTION,
                        timeout_ms: int = 30_000) -> dict[TopicPartition, ErrorCode]:
    """Elect leaders again; return each partition's outcome (``ErrorCode.NONE``:
    a new leader; ``ELECTION_NOT_NEEDED``: the right one already leads).

    Args:
        partitions: which partitions (None: every partition of the cluster).
        election_type: PREFERRED_ELECTION (0) or UNCLEAN_ELECTION (1).

    Raises:
        KafkaError: the request as a whole failed (e.g. UNSUPPORTED_VERSION on
            a broker without ElectLeaders).
    """
    body = {"election_type": election_type, "timeout_ms": timeout_ms,
            "topic_partitions": None if partitions is None else
            [{"topic": t, "partitions": ps} for t, ps in _by_topic(partitions).items()]}
    response = await cluster.request(await cluster.controller_connection(), ELECT_LEADERS, body)
    check(response.error_code, "electing leaders")
    return {(r.topic, p.partition_id): ErrorCode(p.error_code)
            for r in response.replica_election_results for p in r.partition_result}


# -- partition reassignments (KIP-455) ----------------------------------------------

@dataclasses.dataclass(frozen=True)
class PartitionReassignment:
    """A move in progress: the union replica set, and which replicas come and go.

    The controller first adds ``adding_replicas`` (they fetch like any
    follower); once all of them are in the ISR it drops ``removing_replicas``.
    """

    replicas: tuple[int, ...]
    adding_replicas: tuple[int, ...]
    removing_replicas: tuple[int, ...]


async def alter_partition_reassignments(
        cluster: Cluster, reassignments: Mapping[TopicPartition, list[int] | None], *,
        timeout_ms: int = 30_000) -> dict[TopicPartition, ErrorCode]:
    """Start moving partitions to new replica lists (None cancels a move in progress).

    Returns:
        Each partition's outcome: ``ErrorCode.NONE`` (started, or cancelled),
        ``NO_REASSIGNMENT_IN_PROGRESS`` (nothing to cancel), ...

    Raises:
        KafkaError: the request as a whole failed (e.g. NOT_CONTROLLER).
    """
    body = {"timeout_ms": timeout_ms, "topics": [
        {"name": topic, "partitions": [
            {"partition_index": i, "replicas": None if reassignments[(topic, i)] is None
             else list(reassignments[(topic, i)])}
            for i in indexes]}
        for topic, indexes in _by_topic(reassignments).items()]}
    response = await cluster.request(await cluster.controller_connection(),
                                     ALTER_PARTITION_REASSIGNMENTS, body)
    check(response.error_code, "reassigning partitions", response.error_message)
    return {(t.name, p.partition_index): ErrorCode(p.error_code)
            for t in response.responses for p in t.partitions}


async def list_partition_reassignments(
        cluster: Cluster, partitions: list[TopicPartition] | None = None, *,
        timeout_ms: int = 30_000) -> dict[TopicPartition, PartitionReassignment]:
    """The reassignments in progress (of ``partitions``, or of the whole cluster)."""
    topics = None if partitions is None else [
        {"name": topic, "partition_indexes": indexes}
        for topic, indexes in _by_topic(partitions).items()]
    response = await cluster.request(await cluster.controller_connection(),
                                     LIST_PARTITION_REASSIGNMENTS,
                                     {"timeout_ms": timeout_ms, "topics": topics})
    check(response.error_code, "listing partition reassignments", response.error_message)
    return {(t.name, p.partition_index): PartitionReassignment(
                tuple(p.replicas), tuple(p.adding_replicas), tuple(p.removing_replicas))
            for t in response.topics for p in t.partitions}


# -- the cluster -------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Node:
    """One broker: its id, address and rack."""

    node_id: int
    host: str
    port: int
    rack: str | None = None


@dataclasses.dataclass(frozen=True)
class ClusterDescription:
    """What DescribeCluster says: the cluster id, the controller and the brokers."""

    cluster_id: str | None
    controller_id: int
    nodes: list[Node]


async def describe_cluster(cluster: Cluster) -> ClusterDescription:
    """The cluster id, controller and brokers (DescribeCluster; Metadata before KIP-700)."""
    connection = await cluster.any_connection()
    if DESCRIBE_CLUSTER not in connection.api_versions:
        response = await cluster.request(connection, 3, {  # Metadata, no topics
            "topics": [], "allow_auto_topic_creation": False,
            "include_topic_authorized_operations": False})
        nodes = [Node(b.node_id, b.host, b.port, b.rack) for b in response.brokers]
    else:
        response = await cluster.request(connection, DESCRIBE_CLUSTER, {
            "include_cluster_authorized_operations": False, "endpoint_type": 1})
        check(response.error_code, "describing the cluster", response.error_message)
        nodes = [Node(b.broker_id, b.host, b.port, b.rack) for b in response.brokers]
    return ClusterDescription(response.cluster_id, response.controller_id,
                              sorted(nodes, key=lambda n: n.node_id))

"""Broker and topic configuration: Kafka's keys, types, defaults and precedence.

A Kafka broker is configured by ``server.properties`` (a Java ``.properties``
file) plus ``--override key=value`` arguments. Every key is declared here as
data (``ConfigKey``: name, type, default, one-line documentation, whether it
can be changed at run time, and the valid values), with Kafka's names and
Kafka 4.0's defaults, so ``BrokerConfig`` can parse, type-check and describe it.

Topics have their own keys (``segment.bytes``, ``retention.ms``, ...). Each has
a broker-level *synonym* that supplies its default (``log.segment.bytes``), and
a few broker keys come in several units where the finest one set wins
(``log.retention.ms`` > ``log.retention.minutes`` > ``log.retention.hours``).
The value a topic sees is the first one found in these layers (the
``ConfigSource`` numbers DescribeConfigs reports)::

    TOPIC_CONFIG (1)                   the topic's own override
    DYNAMIC_BROKER_CONFIG (2)          IncrementalAlterConfigs on BROKER "<node.id>"
    DYNAMIC_DEFAULT_BROKER_CONFIG (3)  IncrementalAlterConfigs on BROKER ""
    STATIC_BROKER_CONFIG (4)           server.properties / --override
    DEFAULT_CONFIG (5)                 the default declared below

Unknown keys in server.properties are kept as strings (Kafka logs a warning and
carries on); a value of the wrong type or out of range raises ``ConfigError``
at start-up. Topic config mistakes raise ``KafkaError(INVALID_CONFIG)`` with
Kafka's message, because they arrive in client requests.

``BrokerConfig`` is owned by one ``Broker``; it is not shared between brokers
and is only touched from that broker's Trio tasks.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import enum
import os
import re
import uuid
from collections.abc import Mapping

from minikafka.errors import ErrorCode, KafkaError
from minikafka.fileutil import atomic_write

INT_MAX = 2**31 - 1
LONG_MAX = 2**63 - 1
_INT_RANGES = {"short": (-(2**15), 2**15 - 1), "int": (-(2**31), INT_MAX), "long": (-(2**63), LONG_MAX)}


class ConfigError(ValueError):
    """A broker configuration mistake found at start-up (bad type or value)."""


class ConfigSource(enum.IntEnum):
    """Where a value came from (DescribeConfigs ``config_source``, KIP-226)."""

    UNKNOWN = 0
    TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5
    DYNAMIC_CLIENT_METRICS_CONFIG = 7


class ConfigType(enum.IntEnum):
    """A key's type as DescribeConfigs v3+ reports it (KIP-569)."""

    UNKNOWN = 0
    BOOLEAN = 1
    STRING = 2
    INT = 3
    SHORT = 4
    LONG = 5
    DOUBLE = 6
    LIST = 7
    CLASS = 8
    PASSWORD = 9


class ResourceType(enum.IntEnum):
    """What a config belongs to (Kafka's ``ConfigResource.Type``)."""

    UNKNOWN = 0
    TOPIC = 2
    BROKER = 4
    BROKER_LOGGER = 8
    CLIENT_METRICS = 16
    GROUP = 32


# --- validators: each returns an error message, or None when the value is fine ---


@dataclasses.dataclass(frozen=True)
class Range:
    """Numbers in ``[min, max]``; either end may be open (None)."""

    min: float | None = None
    max: float | None = None

    def check(self, value):
        if value is None:
            return None
        if self.min is not None and value < self.min:
            return f"Value must be at least {self.min}"
        if self.max is not None and value > self.max:
            return f"Value must be no more than {self.max}"
        return None


@dataclasses.dataclass(frozen=True)
class OneOf:
    """A string (or every element of a list) from a fixed set."""

    values: tuple[str, ...]
    case_sensitive: bool = True

    def check(self, value):
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            candidates = self.values if self.case_sensitive else [v.lower() for v in self.values]
            if (item if self.case_sensitive else item.lower()) not in candidates:
                return f"String must be one of: {', '.join(self.values)}"
        return None


@dataclasses.dataclass(frozen=True)
class ConfigKey:
    """One configuration key, declared as data.

    Attributes:
        name: Kafka's key (``log.segment.bytes``).
        type: ``boolean``, ``string``, ``int``, ``short``, ``long``, ``double``,
            ``list``, ``class`` or ``password``.
        default: the typed default; None when Kafka has none.
        doc: a one-line description (DescribeConfigs ``documentation``).
        dynamic: True if IncrementalAlterConfigs may change it on a running
            broker (Kafka's "cluster-wide"/"per-broker" update modes).
        valid: a ``Range`` or ``OneOf``, or None.
        synonym: for a topic key, the broker key that supplies its default.
    """

    name: str
    type: str
    default: object
    doc: str
    dynamic: bool = False
    valid: Range | OneOf | None = None
    synonym: str | None = None

    @property
    def config_type(self) -> ConfigType:
        return ConfigType[self.type.upper()]

    @property
    def sensitive(self) -> bool:
        return self.type == "password"


def parse_value(key: ConfigKey, value):
    """Convert a string (or an already typed value) to ``key``'s type and validate it.

    Raises:
        ConfigError: with Kafka's wording, ``Invalid value X for configuration K: ...``.
    """
    typed = _convert(key, value)
    problem = key.valid.check(typed) if key.valid else None
    if problem:
        raise ConfigError(f"Invalid value {format_value(typed)} for configuration {key.name}: {problem}")
    return typed


def _convert(key: ConfigKey, value):
    if value is None:
        return None
    if not isinstance(value, str):
        return value  # a default, already typed
    text = value.strip()
    try:
        if key.type == "boolean":
            if text.lower() not in ("true", "false"):
                raise ValueError("Expected value to be either true or false")
            return text.lower() == "true"
        if key.type in _INT_RANGES:
            low, high = _INT_RANGES[key.type]
            number = int(text)
            if not low <= number <= high:
                raise ValueError(f"Not a number of type {key.type.upper()}")
            return number
        if key.type == "double":
            return float(text)
        if key.type == "list":
            return [item.strip() for item in text.split(",")] if text else []
        return text  # string, class, password: Kafka trims them too
    except ValueError as exc:
        reason = str(exc) if not str(exc).startswith("invalid literal") else f"Not a number of type {key.type.upper()}"
        raise ConfigError(f"Invalid value {text} for configuration {key.name}: {reason}") from None


def format_value(value) -> str | None:
    """A typed value as Kafka writes it in DescribeConfigs (``ConfigDef.convertToString``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


@dataclasses.dataclass(frozen=True)
class ThrottledReplicaList:
    """Kafka's ``ThrottledReplicaListValidator``: ``*`` or ``partition:broker,...``.

    Used by ``leader.replication.throttled.replicas`` and
    ``follower.replication.throttled.replicas``; an empty list is valid.
    """

    name: str

    def check(self, value):
        items = [str(item).strip() for item in value or []]
        if "".join(items) == "*" or all(re.fullmatch(r"([0-9]+:[0-9]+)?", item) for item in items):
            return None
        return (f"{self.name} must be the literal '*' or a list of replicas in the following format: "
                "[partitionId]:[brokerId],[partitionId]:[brokerId],...")


_DYN = True  # readability in the table below: this key can be changed at run time
_COMPRESSION_TYPES = OneOf(("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"), case_sensitive=False)

BROKER_KEYS = [
    ConfigKey("node.id", "int", 1, "The node ID associated with the roles this process is playing. "
              "Kafka has no default (it is required); minikafka defaults to 1 for a lone broker.", valid=Range(0)),
    ConfigKey("process.roles", "list", ["broker", "controller"], "The roles this process plays: 'broker', "
              "'controller', or both. Kafka requires it; a lone minikafka broker plays both.",
              valid=OneOf(("broker", "controller"))),
    ConfigKey("listeners", "list", ["PLAINTEXT://:9092"], "Comma-separated list of URIs we will listen on "
              "and the listener names."),
    ConfigKey("advertised.listeners", "list", None, "Listeners to publish to clients if different from "
              "'listeners'."),
    ConfigKey("log.dirs", "list", None, "The directories in which the log data is kept. If not set, "
              "log.dir is used."),
    ConfigKey("log.dir", "string", "/tmp/kafka-logs", "The directory in which the log data is kept "
              "(supplemental for log.dirs)."),
    ConfigKey("num.partitions", "int", 1, "The default number of log partitions per topic.", valid=Range(1)),
    ConfigKey("default.replication.factor", "int", 1, "The replication factor for automatically created "
              "topics, and for topics created with -1 as the replication factor."),
    ConfigKey("auto.create.topics.enable", "boolean", True, "Enable auto creation of topic on the server."),
    ConfigKey("delete.topic.enable", "boolean", True, "Enables delete topic. Delete topic through the admin "
              "tool will have no effect if this config is turned off."),
    ConfigKey("socket.request.max.bytes", "int", 104857600, "The maximum number of bytes in a socket request.",
              valid=Range(1)),
    ConfigKey("message.max.bytes", "int", 1048588, "The largest record batch size allowed by Kafka (after "
              "compression if compression is enabled).", _DYN, Range(0)),
    ConfigKey("log.segment.bytes", "int", 1073741824, "The maximum size of a single log file.", _DYN,
              Range(1024 * 1024)),
    ConfigKey("log.roll.ms", "long", None, "The maximum time before a new log segment is rolled out (in "
              "milliseconds). If not set, the value in log.roll.hours is used.", _DYN, Range(1)),
    ConfigKey("log.roll.hours", "int", 168, "The maximum time before a new log segment is rolled out (in "
              "hours), secondary to log.roll.ms.", _DYN, Range(1)),
    ConfigKey("log.roll.jitter.ms", "long", None, "The maximum jitter to subtract from logRollTimeMillis (in "
              "milliseconds). If not set, the value in log.roll.jitter.hours is used.", _DYN, Range(0)),
    ConfigKey("log.roll.jitter.hours", "int", 0, "The maximum jitter to subtract from logRollTimeMillis (in "
              "hours), secondary to log.roll.jitter.ms.", _DYN, Range(0)),
    ConfigKey("log.retention.ms", "long", None, "The number of milliseconds to keep a log file before deleting "
              "it. If not set, log.retention.minutes is used. If set to -1, no time limit is applied.", _DYN),
    ConfigKey("log.retention.minutes", "int", None, "The number of minutes to keep a log file before deleting "
              "it, secondary to log.retention.ms. If not set, log.retention.hours is used.", _DYN),
    ConfigKey("log.retention.hours", "int", 168, "The number of hours to keep a log file before deleting it, "
              "tertiary to log.retention.ms.", _DYN),
    ConfigKey("log.retention.bytes", "long", -1, "The maximum size of the log before deleting it.", _DYN),
    ConfigKey("log.retention.check.interval.ms", "long", 300000, "The frequency in milliseconds that the log "
              "cleaner checks whether any log is eligible for deletion.", valid=Range(1)),
    ConfigKey("log.index.interval.bytes", "int", 4096, "The interval with which we add an entry to the offset "
              "index.", _DYN, Range(0)),
    ConfigKey("log.index.size.max.bytes", "int", 10485760, "The maximum size in bytes of the offset index.",
              _DYN, Range(4)),
    ConfigKey("log.flush.interval.messages", "long", LONG_MAX, "The number of messages accumulated on a log "
              "partition before messages are flushed to disk.", _DYN, Range(1)),
    ConfigKey("log.flush.interval.ms", "long", None, "The maximum time in ms that a message in any topic is "
              "kept in memory before flushed to disk. If not set, log.flush.scheduler.interval.ms is used.", _DYN),
    ConfigKey("log.flush.scheduler.interval.ms", "long", LONG_MAX, "The frequency in ms that the log flusher "
              "checks whether any log needs to be flushed to disk."),
    ConfigKey("log.message.timestamp.type", "string", "CreateTime", "Whether the timestamp in the message is "
              "message create time or log append time.", _DYN, OneOf(("CreateTime", "LogAppendTime"))),
    ConfigKey("log.message.timestamp.before.max.ms", "long", LONG_MAX, "The maximum allowed time a message's "
              "timestamp may be earlier than the broker's timestamp.", _DYN, Range(0)),
    ConfigKey("log.message.timestamp.after.max.ms", "long", 3600000, "The maximum allowed time a message's "
              "timestamp may be later than the broker's timestamp.", _DYN, Range(0)),
    ConfigKey("log.cleanup.policy", "list", ["delete"], "The default cleanup policy for segments beyond the "
              "retention window: 'delete' and/or 'compact'.", _DYN, OneOf(("compact", "delete"))),
    ConfigKey("log.cleaner.delete.retention.ms", "long", 86400000, "The amount of time to retain tombstone "
              "markers for log compacted topics.", _DYN, Range(0)),
    ConfigKey("log.cleaner.min.compaction.lag.ms", "long", 0, "The minimum time a message will remain "
              "uncompacted in the log.", _DYN, Range(0)),
    ConfigKey("log.cleaner.max.compaction.lag.ms", "long", LONG_MAX, "The maximum time a message will remain "
              "ineligible for compaction in the log.", _DYN, Range(1)),
    ConfigKey("log.cleaner.min.cleanable.ratio", "double", 0.5, "The minimum ratio of dirty log to total log "
              "for a log to eligible for cleaning.", _DYN, Range(0, 1)),
    ConfigKey("log.preallocate", "boolean", False, "Should pre allocate file when create new segment?", _DYN),
    ConfigKey("log.segment.delete.delay.ms", "long", 60000, "The amount of time to wait before deleting a "
              "file from the filesystem.", _DYN, Range(0)),
    ConfigKey("compression.type", "string", "producer", "The final compression type for a given topic: "
              "'uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', or 'producer' (keep the producer's codec).",
              _DYN, _COMPRESSION_TYPES),
    ConfigKey("compression.gzip.level", "int", -1, "The compression level to use if compression.type is "
              "set to gzip.", _DYN, Range(-1, 9)),
    ConfigKey("compression.lz4.level", "int", 9, "The compression level to use if compression.type is set "
              "to lz4.", _DYN, Range(1, 17)),
    ConfigKey("compression.zstd.level", "int", 3, "The compression level to use if compression.type is set "
              "to zstd.", _DYN, Range(-131072, 22)),
    ConfigKey("min.insync.replicas", "int", 1, "The minimum number of replicas that must acknowledge a write "
              "with acks=all.", _DYN, Range(1)),
    ConfigKey("unclean.leader.election.enable", "boolean", False, "Whether to enable replicas not in the ISR "
              "set to be elected as leader as a last resort.", _DYN),
    ConfigKey("offsets.topic.num.partitions", "int", 50, "The number of partitions for the offset commit "
              "topic (should not change after deployment).", valid=Range(1)),
    ConfigKey("offsets.commit.timeout.ms", "int", 5000, "Offset commit will be delayed until all replicas "
              "for the offsets topic receive the commit or this timeout is reached.", valid=Range(1)),
    ConfigKey("offsets.topic.replication.factor", "short", 3, "The replication factor for the offsets topic.",
              valid=Range(1)),
    ConfigKey("offsets.topic.segment.bytes", "int", 104857600, "The offsets topic segment bytes.",
              valid=Range(1)),
    ConfigKey("offsets.retention.minutes", "int", 10080, "For subscribed consumers, committed offset of a "
              "specific partition will be expired after this period.", valid=Range(1)),
    ConfigKey("group.initial.rebalance.delay.ms", "int", 3000, "The amount of time the group coordinator "
              "will wait for more consumers to join a new group before performing the first rebalance."),
    ConfigKey("group.min.session.timeout.ms", "int", 6000, "The minimum allowed session timeout for "
              "registered consumers."),
    ConfigKey("group.max.session.timeout.ms", "int", 1800000, "The maximum allowed session timeout for "
              "registered consumers."),
    ConfigKey("group.max.size", "int", INT_MAX, "The maximum number of consumers that a single consumer "
              "group can accommodate.", valid=Range(1)),
    ConfigKey("offset.metadata.max.bytes", "int", 4096, "The maximum size for a metadata entry associated "
              "with an offset commit."),
    ConfigKey("offsets.retention.check.interval.ms", "long", 600000, "Frequency at which to check for stale "
              "offsets.", valid=Range(1)),
    ConfigKey("group.coordinator.rebalance.protocols", "list", ["classic", "consumer"], "The list of enabled "
              "rebalance protocols. 'classic' cannot be disabled.", valid=OneOf(("classic", "consumer"))),
    ConfigKey("group.consumer.session.timeout.ms", "int", 45000, "The timeout to detect client failures "
              "when using the consumer group protocol.", valid=Range(1)),
    ConfigKey("group.consumer.min.session.timeout.ms", "int", 45000, "The minimum allowed session timeout "
              "for registered consumers.", valid=Range(1)),
    ConfigKey("group.consumer.max.session.timeout.ms", "int", 60000, "The maximum allowed session timeout "
              "for registered consumers.", valid=Range(1)),
    ConfigKey("group.consumer.heartbeat.interval.ms", "int", 5000, "The heartbeat interval given to the "
              "members of a consumer group.", valid=Range(1)),
    ConfigKey("group.consumer.min.heartbeat.interval.ms", "int", 5000, "The minimum heartbeat interval "
              "for registered consumers.", valid=Range(1)),
    ConfigKey("group.consumer.max.heartbeat.interval.ms", "int", 15000, "The maximum heartbeat interval "
              "for registered consumers.", valid=Range(1)),
    ConfigKey("group.consumer.max.size", "int", INT_MAX, "The maximum number of consumers that a single "
              "consumer group can accommodate.", valid=Range(1)),
    ConfigKey("group.consumer.assignors", "list", ["uniform", "range"], "The server side assignors as a "
              "list of names; the first one is the default.", valid=OneOf(("uniform", "range"))),
    ConfigKey("transaction.state.log.num.partitions", "int", 50, "The number of partitions for the "
              "transaction topic.", valid=Range(1)),
    ConfigKey("transaction.max.timeout.ms", "int", 900000, "The maximum allowed timeout for transactions.",
              valid=Range(1)),
    ConfigKey("transactional.id.expiration.ms", "int", 604800000, "The time in ms that the transaction "
              "coordinator will wait without receiving any transaction status updates for the current "
              "transaction before expiring its transactional id.", valid=Range(1)),
    ConfigKey("transaction.abort.timed.out.transaction.cleanup.interval.ms", "int", 10000, "The interval at "
              "which to rollback transactions that have timed out.", valid=Range(1)),
    ConfigKey("transaction.state.log.replication.factor", "short", 3, "Replication factor for the "
              "transaction topic (set higher to ensure availability); capped by the registered brokers.",
              valid=Range(1)),
    ConfigKey("transaction.state.log.min.isr", "int", 2, "The minimum number of replicas that must "
              "acknowledge a write to the transaction topic (capped by its replication factor).",
              valid=Range(1)),
    ConfigKey("transaction.state.log.segment.bytes", "int", 104857600, "The transaction topic segment "
              "bytes should be kept relatively small in order to facilitate faster log compaction and "
              "cache loads.", valid=Range(1)),
    ConfigKey("transaction.remove.expired.transaction.cleanup.interval.ms", "int", 3600000, "The interval "
              "at which to remove transactions that have expired due to transactional.id.expiration.ms "
              "passing.", valid=Range(1)),
    ConfigKey("request.timeout.ms", "int", 30000, "The maximum time a broker waits for the in-sync "
              "replicas when it writes transaction markers (WriteTxnMarkers, acks=all).", valid=Range(0)),
    ConfigKey("transaction.partition.verification.enable", "boolean", True, "Enable verification that "
              "checks that the partition has been added to the transaction before writing transactional "
              "records to the partition.", _DYN),
    ConfigKey("producer.id.expiration.ms", "int", 86400000, "The time in ms that a topic partition leader "
              "will wait before expiring producer IDs.", _DYN, Range(1)),
    # --- KRaft and replication. Kafka 4.0's names and defaults; tests and
    # `minikafka cluster start --lab` use shorter timeouts and say so.
    ConfigKey("controller.quorum.voters", "list", [], "Map of id/endpoint information for the set of voters "
              "in a comma-separated list of {id}@{host}:{port} entries. Empty: this node is its own sole "
              "voter (a one-node cluster)."),
    ConfigKey("controller.quorum.bootstrap.servers", "list", [], "List of endpoints to use for bootstrapping "
              "the cluster metadata ({host}:{port}; minikafka's quorum is static, see parse_quorum_voters)."),
    ConfigKey("controller.listener.names", "list", ["CONTROLLER"], "A comma-separated list of the names of "
              "the listeners used by the controller."),
    ConfigKey("controller.quorum.election.timeout.ms", "int", 1000, "Maximum time in milliseconds to wait "
              "without being able to fetch from the leader before triggering a new election.", valid=Range(1)),
    ConfigKey("controller.quorum.fetch.timeout.ms", "int", 2000, "Maximum time without a successful fetch "
              "from the current leader before a follower becomes a candidate.", valid=Range(1)),
    ConfigKey("metadata.log.dir", "string", None, "The directory of the cluster metadata log "
              "(__cluster_metadata-0); the first log dir when not set."),
    ConfigKey("metadata.log.max.snapshot.interval.ms", "long", 3600000, "The maximum number of milliseconds "
              "to wait to generate a snapshot if there are committed records in the log.", valid=Range(0)),
    ConfigKey("metadata.log.max.record.bytes.between.snapshots", "long", 20971520, "The maximum number of "
              "bytes in the log between the latest snapshot and the high-watermark needed before "
              "generating a new snapshot.", valid=Range(1)),
    ConfigKey("broker.session.timeout.ms", "int", 9000, "The length of time in milliseconds that a broker "
              "lease lasts if no heartbeats are made.", valid=Range(1)),
    ConfigKey("broker.heartbeat.interval.ms", "int", 2000, "The length of time in milliseconds between "
              "broker heartbeats.", valid=Range(1)),
    ConfigKey("replica.lag.time.max.ms", "long", 30000, "If a follower hasn't sent any fetch requests or "
              "hasn't consumed up to the leader's log end offset for at least this time, the leader will "
              "remove the follower from the ISR.", valid=Range(1)),
    ConfigKey("replica.fetch.wait.max.ms", "int", 500, "The maximum wait time for each fetcher request "
              "issued by follower replicas.", valid=Range(0)),
    ConfigKey("replica.fetch.max.bytes", "int", 1048576, "The number of bytes of messages to attempt to "
              "fetch for each partition.", valid=Range(0)),
    ConfigKey("replica.fetch.min.bytes", "int", 1, "Minimum bytes expected for each fetch response.",
              valid=Range(1)),
    ConfigKey("replica.fetch.backoff.ms", "int", 1000, "The amount of time to sleep when fetch partition "
              "error occurs.", valid=Range(0)),
    ConfigKey("replica.fetch.response.max.bytes", "int", 10485760, "Maximum bytes expected for the entire "
              "fetch response of a follower.", valid=Range(0)),
    ConfigKey("replica.socket.timeout.ms", "int", 30000, "The socket timeout for network requests of "
              "follower replicas (at least replica.fetch.wait.max.ms).", valid=Range(1)),
    ConfigKey("max.incremental.fetch.session.cache.slots", "int", 1000, "The maximum number of "
              "incremental fetch sessions that we will maintain.", valid=Range(0)),
    ConfigKey("replica.high.watermark.checkpoint.interval.ms", "long", 5000, "The frequency with which the "
              "high watermark is saved out to disk.", valid=Range(1)),
    ConfigKey("inter.broker.listener.name", "string", None, "Name of the listener used for communication "
              "between brokers (replica fetches); unset: the first listener that is not a controller "
              "listener."),
    ConfigKey("auto.leader.rebalance.enable", "boolean", True, "Enables auto leader balancing: the "
              "controller moves leadership back to preferred leaders."),
    ConfigKey("leader.imbalance.check.interval.seconds", "long", 300, "The frequency with which the "
              "partition rebalance check is triggered by the controller.", valid=Range(1)),
    ConfigKey("leader.imbalance.per.broker.percentage", "int", 10, "The ratio of leader imbalance allowed "
              "per broker.", valid=Range(0)),
    # --- quotas: client quotas (KIP-13, KIP-124, KIP-219), controller mutations
    # (KIP-599), replication throttles (KIP-73), connection limits (KIP-402,
    # KIP-612). Client quota values themselves live in the metadata log.
    ConfigKey("quota.window.num", "int", 11, "The number of samples to retain in memory for client quotas.",
              valid=Range(1)),
    ConfigKey("quota.window.size.seconds", "int", 1, "The time span of each sample for client quotas.",
              valid=Range(1)),
    ConfigKey("replication.quota.window.num", "int", 11, "The number of samples to retain in memory for "
              "replication quotas.", valid=Range(1)),
    ConfigKey("replication.quota.window.size.seconds", "int", 1, "The time span of each sample for "
              "replication quotas.", valid=Range(1)),
    ConfigKey("controller.quota.window.num", "int", 11, "The number of samples to retain in memory for "
              "topic and partition mutation quotas.", valid=Range(1)),
    ConfigKey("controller.quota.window.size.seconds", "int", 1, "The time span of each sample for "
              "controller mutation quotas.", valid=Range(1)),
    ConfigKey("max.connections", "int", INT_MAX, "The maximum number of connections the broker allows at "
              "any time, on top of the per-ip limits; a new connection waits for a free slot.", _DYN, Range(0)),
    ConfigKey("max.connections.per.ip", "int", INT_MAX, "The maximum number of connections allowed from "
              "one ip address; a connection over the limit is closed. May be 0 when "
              "max.connections.per.ip.overrides is set.", _DYN, Range(0)),
    ConfigKey("max.connections.per.ip.overrides", "string", "", "A comma-separated list of per-ip or "
              "hostname overrides of max.connections.per.ip, e.g. 'hostName:100,127.0.0.1:200'.", _DYN),
    ConfigKey("max.connection.creation.rate", "int", INT_MAX, "The maximum rate of new connections per "
              "second the broker accepts; accepts beyond it are delayed.", _DYN, Range(0)),
    ConfigKey("leader.replication.throttled.rate", "long", LONG_MAX, "The upper bound (bytes/sec) on "
              "replication traffic this broker sends as a leader for the replicas listed in each topic's "
              "leader.replication.throttled.replicas.", _DYN, Range(0)),
    ConfigKey("follower.replication.throttled.rate", "long", LONG_MAX, "The upper bound (bytes/sec) on "
              "replication traffic this broker fetches as a follower for the replicas listed in each "
              "topic's follower.replication.throttled.replicas.", _DYN, Range(0)),
    ConfigKey("metrics.http.listener", "string", "", "minikafka's own: host:port of the Prometheus "
              "metrics endpoint (GET /metrics). Empty: no endpoint; port 0: any free port."),
    ConfigKey("telemetry.max.bytes", "int", 1048576, "The largest metrics payload (bytes) a client may "
              "send in one PushTelemetry request (KIP-714).", valid=Range(1)),
    ConfigKey("telemetry.default.metrics", "list", ["*"], "minikafka's own: the metric prefixes of the "
              "default client-metrics subscription every client gets while the broker serves "
              "metrics.http.listener ('*' all; empty: none, as Kafka)."),
    ConfigKey("telemetry.default.interval.ms", "int", 10000, "minikafka's own: the push interval of the "
              "default client-metrics subscription.", valid=Range(100, 3600000)),
    # --- broker-side schema validation (Confluent Server's names): the registry the partition
    # leaders ask whether a record's schema id is registered under its topic's subject.
    ConfigKey("confluent.schema.registry.url", "list", [], "Comma-separated list of URLs of the schema "
              "registry used to validate records of topics with confluent.key.schema.validation or "
              "confluent.value.schema.validation. Empty: such topics refuse every record."),
]

TOPIC_NAME_STRATEGY = "io.confluent.kafka.serializers.subject.TopicNameStrategy"
RECORD_NAME_STRATEGY = "io.confluent.kafka.serializers.subject.RecordNameStrategy"
TOPIC_RECORD_NAME_STRATEGY = "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy"
_SUBJECT_NAME_STRATEGIES = OneOf((TOPIC_NAME_STRATEGY, RECORD_NAME_STRATEGY, TOPIC_RECORD_NAME_STRATEGY))

TOPIC_KEYS = [
    ConfigKey("cleanup.policy", "list", None, "The retention policy on old log segments: 'delete' and/or "
              "'compact'.", valid=OneOf(("compact", "delete")), synonym="log.cleanup.policy"),
    ConfigKey("compression.type", "string", None, "The final compression type for this topic ('producer' "
              "keeps the producer's codec).", valid=_COMPRESSION_TYPES, synonym="compression.type"),
    ConfigKey("compression.gzip.level", "int", None, "The gzip level when compression.type is gzip.",
              valid=Range(-1, 9), synonym="compression.gzip.level"),
    ConfigKey("compression.lz4.level", "int", None, "The lz4 level when compression.type is lz4.",
              valid=Range(1, 17), synonym="compression.lz4.level"),
    ConfigKey("compression.zstd.level", "int", None, "The zstd level when compression.type is zstd.",
              valid=Range(-131072, 22), synonym="compression.zstd.level"),
    ConfigKey("delete.retention.ms", "long", None, "How long to retain delete tombstone markers for log "
              "compacted topics.", valid=Range(0), synonym="log.cleaner.delete.retention.ms"),
    ConfigKey("file.delete.delay.ms", "long", None, "The time to wait before deleting a file from the "
              "filesystem.", valid=Range(0), synonym="log.segment.delete.delay.ms"),
    ConfigKey("flush.messages", "long", None, "Force an fsync every this many messages.", valid=Range(1),
              synonym="log.flush.interval.messages"),
    ConfigKey("flush.ms", "long", None, "Force an fsync after this much time (ms).", valid=Range(0),
              synonym="log.flush.interval.ms"),
    ConfigKey("index.interval.bytes", "int", None, "How often (bytes) an entry is added to the offset index.",
              valid=Range(0), synonym="log.index.interval.bytes"),
    ConfigKey("follower.replication.throttled.replicas", "list", [], "The replicas whose log is throttled on "
              "the follower side ('partition:broker,...' or '*'), under follower.replication.throttled.rate.",
              valid=ThrottledReplicaList("follower.replication.throttled.replicas")),
    ConfigKey("leader.replication.throttled.replicas", "list", [], "The replicas whose log is throttled on "
              "the leader side ('partition:broker,...' or '*'), under leader.replication.throttled.rate.",
              valid=ThrottledReplicaList("leader.replication.throttled.replicas")),
    ConfigKey("max.compaction.lag.ms", "long", None, "The maximum time a message will remain ineligible for "
              "compaction.", valid=Range(1), synonym="log.cleaner.max.compaction.lag.ms"),
    ConfigKey("max.message.bytes", "int", None, "The largest record batch size allowed (after compression).",
              valid=Range(0), synonym="message.max.bytes"),
    ConfigKey("message.timestamp.after.max.ms", "long", None, "How far a record's timestamp may be ahead of "
              "the broker's clock.", valid=Range(0), synonym="log.message.timestamp.after.max.ms"),
    ConfigKey("message.timestamp.before.max.ms", "long", None, "How far a record's timestamp may be behind the "
              "broker's clock.", valid=Range(0), synonym="log.message.timestamp.before.max.ms"),
    ConfigKey("message.timestamp.type", "string", None, "CreateTime or LogAppendTime.",
              valid=OneOf(("CreateTime", "LogAppendTime")), synonym="log.message.timestamp.type"),
    ConfigKey("min.cleanable.dirty.ratio", "double", None, "How dirty a log must be before it is compacted.",
              valid=Range(0, 1), synonym="log.cleaner.min.cleanable.ratio"),
    ConfigKey("min.compaction.lag.ms", "long", None, "The minimum time a message will remain uncompacted.",
              valid=Range(0), synonym="log.cleaner.min.compaction.lag.ms"),
    ConfigKey("min.insync.replicas", "int", None, "Replicas that must acknowledge a write with acks=all.",
              valid=Range(1), synonym="min.insync.replicas"),
    ConfigKey("preallocate", "boolean", None, "Preallocate the file on disk when creating a new segment.",
              synonym="log.preallocate"),
    ConfigKey("retention.bytes", "long", None, "The maximum size a partition can grow to before old segments "
              "are discarded (-1: no limit).", synonym="log.retention.bytes"),
    ConfigKey("retention.ms", "long", None, "The maximum time a log is retained before old segments are "
              "discarded (-1: no limit).", valid=Range(-1), synonym="log.retention.ms"),
    ConfigKey("segment.bytes", "int", None, "The segment file size of the log.", valid=Range(1024 * 1024),
              synonym="log.segment.bytes"),
    ConfigKey("segment.index.bytes", "int", None, "The size of the index that maps offsets to file positions.",
              valid=Range(4), synonym="log.index.size.max.bytes"),
    ConfigKey("segment.jitter.ms", "long", None, "The maximum random jitter subtracted from segment.ms.",
              valid=Range(0), synonym="log.roll.jitter.ms"),
    ConfigKey("segment.ms", "long", None, "The time after which Kafka rolls a segment even if it is not full.",
              valid=Range(1), synonym="log.roll.ms"),
    ConfigKey("unclean.leader.election.enable", "boolean", None, "Elect an out-of-sync replica as leader as a "
              "last resort.", synonym="unclean.leader.election.enable"),
    ConfigKey("confluent.key.schema.validation", "boolean", False, "True: the partition leader refuses a "
              "batch unless every record's key carries the id of a schema registered under the key's subject."),
    ConfigKey("confluent.value.schema.validation", "boolean", False, "True: the partition leader refuses a "
              "batch unless every record's value carries the id of a schema registered under the value's "
              "subject."),
    ConfigKey("confluent.key.subject.name.strategy", "string", TOPIC_NAME_STRATEGY, "How the subject of a "
              "record's key is named (TopicNameStrategy: <topic>-key).", valid=_SUBJECT_NAME_STRATEGIES),
    ConfigKey("confluent.value.subject.name.strategy", "string", TOPIC_NAME_STRATEGY, "How the subject of a "
              "record's value is named (TopicNameStrategy: <topic>-value).", valid=_SUBJECT_NAME_STRATEGIES),
]

BROKER_KEYS_BY_NAME = {key.name: key for key in BROKER_KEYS}
TOPIC_KEYS_BY_NAME = {key.name: key for key in TOPIC_KEYS}

# Broker keys that express one setting in several units, finest first; the
# first one that is set wins (Kafka's KafkaConfig/DynamicBrokerConfig synonyms).
# The multiplier converts that key's unit to the first key's unit.
UNIT_SYNONYMS = {
    "log.retention.ms": [("log.retention.ms", 1), ("log.retention.minutes", 60_000), ("log.retention.hours", 3_600_000)],
    "log.roll.ms": [("log.roll.ms", 1), ("log.roll.hours", 3_600_000)],
    "log.roll.jitter.ms": [("log.roll.jitter.ms", 1), ("log.roll.jitter.hours", 3_600_000)],
    "log.flush.interval.ms": [("log.flush.interval.ms", 1), ("log.flush.scheduler.interval.ms", 1)],
}


def broker_synonyms(name: str) -> list[tuple[str, int]]:
    """The broker keys consulted, in order, for broker key ``name`` (itself first)."""
    for group in UNIT_SYNONYMS.values():
        names = [n for n, _ in group]
        if name in names:
            return group[names.index(name):]
    return [(name, 1)]


# --- Java .properties files ---

_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def parse_override(text: str) -> tuple[str, str]:
    """``key=value`` -> ``(key, value)``; a ``--override`` on a command line
    (argparse ``type=``)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key.strip(), value.strip()


def parse_properties(text: str) -> dict[str, str]:
    """Parse a Java ``.properties`` document (``java.util.Properties.load``).

    Rules: ``#`` or ``!`` starts a comment line; a key ends at the first
    unescaped ``=``, ``:`` or whitespace; a line ending in an odd number of
    backslashes continues on the next line (whose leading blanks are dropped);
    ``\\t \\n \\r \\f \\uXXXX`` are escapes and any other ``\\c`` means ``c``.
    A later duplicate key wins.
    """
    result = {}
    for line in _logical_lines(text):
        key, value = _split_key_value(line)
        result[_unescape(key)] = _unescape(value)
    return result


def _logical_lines(text: str):
    pending = None
    for raw in text.splitlines():
        line = raw.lstrip(" \t\f")
        if pending is None:
            if not line or line[0] in "#!":
                continue
        else:
            line = pending + line
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:  # an odd count means the last backslash escapes the newline
            pending = line[:-1]
            continue
        pending = None
        yield line
    if pending is not None:
        yield pending


def _split_key_value(line: str) -> tuple[str, str]:
    i, escaped = 0, False
    while i < len(line):
        c = line[i]
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c in "=: \t\f":
            break
        i += 1
    key, rest = line[:i], line[i:].lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    return key, rest


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2:i + 6]):
                out.append(chr(int(text[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


# --- the broker's configuration ---


def check_group_coordinator_config(config) -> None:
    """Kafka's cross-key checks of the group coordinator settings (GroupCoordinatorConfig).

    Raises:
        ConfigError: a session timeout or heartbeat interval outside its
            min/max keys, a heartbeat interval not below the session timeout,
            or 'classic' missing from the enabled rebalance protocols.
    """
    for name in ("session.timeout.ms", "heartbeat.interval.ms"):
        value = config.raw(f"group.consumer.{name}")
        low, high = config.raw(f"group.consumer.min.{name}"), config.raw(f"group.consumer.max.{name}")
        if value < low:
            raise ConfigError(f"group.consumer.{name} must be greater than or equal to "
                              f"group.consumer.min.{name}")
        if value > high:
            raise ConfigError(f"group.consumer.{name} must be less than or equal to "
                              f"group.consumer.max.{name}")
    if config.raw("group.consumer.heartbeat.interval.ms") >= config.raw("group.consumer.session.timeout.ms"):
        raise ConfigError("group.consumer.heartbeat.interval.ms must be less than "
                          "group.consumer.session.timeout.ms")
    if "classic" not in config.raw("group.coordinator.rebalance.protocols"):
        raise ConfigError("Disabling the 'classic' protocol is not supported.")


class BrokerConfig:
    """One broker's configuration: static values plus dynamic overrides.

    ``config[key]`` is the effective typed value: a dynamic per-broker value,
    else a dynamic cluster-wide default, else server.properties, else the
    declared default. For keys set in several units (``log.retention.ms``,
    ``log.roll.ms``, ``log.roll.jitter.ms``, ``log.flush.interval.ms``) it
    applies Kafka's precedence and answers in the finest unit;
    ``config["log.dirs"]`` falls back to ``[log.dir]`` as Kafka does.
    ``config.raw(key)`` gives one key's own value without these rules.

    Owned by one Broker; the TopicRegistry persists the dynamic layers.
    """

    def __init__(self, values: dict | None = None):
        """Build from ``{key: string or typed value}``; raises ``ConfigError``."""
        self.static: dict[str, object] = {}
        self.unknown: dict[str, str] = {}  # kept, as Kafka does (it only warns)
        self.dynamic_broker: dict[str, object] = {}
        self.dynamic_default: dict[str, object] = {}
        for name, value in (values or {}).items():
            key = BROKER_KEYS_BY_NAME.get(name)
            if key is None:
                self.unknown[name] = value
            else:
                self.static[name] = parse_value(key, value)
        check_group_coordinator_config(self)

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, overrides: dict | None = None) -> "BrokerConfig":
        """Read ``server.properties`` (if given) and apply ``--override`` values on top.

        Java reads .properties files as ISO-8859-1 (non-Latin text uses
        ``\\uXXXX`` escapes), and so do we.
        """
        values = {}
        if path is not None:
            try:
                with open(path, encoding="latin-1") as f:
                    values = parse_properties(f.read())
            except OSError as exc:
                raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
        values.update(overrides or {})
        return cls(values)

    def _layers(self):
        return (
            (self.dynamic_broker, ConfigSource.DYNAMIC_BROKER_CONFIG),
            (self.dynamic_default, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG),
            (self.static, ConfigSource.STATIC_BROKER_CONFIG),
        )

    def lookup(self, name: str) -> tuple[object, ConfigSource]:
        """One broker key's own typed value and where it came from."""
        for layer, source in self._layers():
            if layer.get(name) is not None:
                return layer[name], source
        if name in self.unknown:
            return self.unknown[name], ConfigSource.STATIC_BROKER_CONFIG
        key = BROKER_KEYS_BY_NAME.get(name)
        return (key.default if key else None), ConfigSource.DEFAULT_CONFIG

    def raw(self, name: str):
        return self.lookup(name)[0]

    def __getitem__(self, name: str):
        if name == "log.dirs":  # Kafka's KafkaConfig.logDirs: log.dirs, else log.dir
            return self.raw("log.dirs") or [self.raw("log.dir")]
        if name not in UNIT_SYNONYMS:
            if name not in BROKER_KEYS_BY_NAME and name not in self.unknown:
                raise KeyError(name)
            return self.raw(name)
        for unit_name, multiplier in UNIT_SYNONYMS[name]:
            value = self.raw(unit_name)
            if value is not None:
                # Kafka: any negative retention means "unlimited", written -1.
                return -1 if value < 0 else value * multiplier
        return None

    def get(self, name: str, default=None):
        try:
            value = self[name]
        except KeyError:
            return default
        return default if value is None else value

    @property
    def node_id(self) -> int:
        return self["node.id"]

    @property
    def log_dirs(self) -> list[str]:
        """``log.dirs`` if set, else ``[log.dir]`` (Kafka's rule)."""
        return self["log.dirs"]

    # -- dynamic broker configs (IncrementalAlterConfigs on BROKER resources) --

    def dynamic_layer(self, per_broker: bool) -> dict:
        """The dynamic layer for ``BROKER "<node.id>"`` (True) or ``BROKER ""`` (False)."""
        return self.dynamic_broker if per_broker else self.dynamic_default

    def broker_resource_scope(self, resource_name: str | None) -> bool:
        """Which dynamic layer a BROKER resource names: True for this broker's
        id, False for ``""`` (the cluster-wide default).

        Raises:
            KafkaError: INVALID_REQUEST for another broker's id or a non-number.
        """
        if not resource_name:
            return False
        try:
            broker_id = int(resource_name)
        except ValueError:
            raise KafkaError(ErrorCode.INVALID_REQUEST,
                             f"Broker id must be an integer, but it is: {resource_name}") from None
        if broker_id != self.node_id:
            raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unexpected broker id, expected {self.node_id} "
                             f"or empty string, but received {resource_name}")
        return True

    @staticmethod
    def validate_dynamic(updates: Mapping[str, str | None]) -> dict[str, object]:
        """Type-check dynamic broker updates; None means "delete".

        Raises:
            KafkaError: INVALID_CONFIG for unknown, read-only or bad values.
        """
        typed = {}
        for name, value in updates.items():
            key = BROKER_KEYS_BY_NAME.get(name)
            if key is None:
                raise KafkaError(ErrorCode.INVALID_CONFIG, f"Unknown broker config name: {name}")
            if not key.dynamic:
                raise KafkaError(ErrorCode.INVALID_CONFIG, f"Cannot update these configs dynamically: Set({name})")
            try:
                typed[name] = None if value is None else parse_value(key, value)
            except ConfigError as exc:
                raise KafkaError(ErrorCode.INVALID_CONFIG, str(exc)) from None
        return typed

    # -- topic configs --

    def topic_entry(self, name: str, overrides: dict) -> "ConfigEntry":
        """Describe topic key ``name``: its value, source and synonyms.

        ``overrides`` holds the topic's own typed values. The synonyms are
        listed as Kafka lists them: the topic override, then per layer
        (dynamic broker, dynamic default, static, default) each broker
        synonym that the layer sets.

        One simplification: Kafka's ``ConfigHelper`` drops the synonyms that
        precede the primary broker key in that list, so for ``retention.ms``
        with only ``log.retention.hours`` set Kafka reports no synonyms and
        source DEFAULT_CONFIG; minikafka shows where the value comes from.
        """
        key = TOPIC_KEYS_BY_NAME[name]
        synonyms = []
        if overrides.get(name) is not None:
            synonyms.append(Synonym(name, overrides[name], ConfigSource.TOPIC_CONFIG))
        if key.synonym is None:  # a topic-only key (no broker default): the override, else its own default
            if synonyms:
                return ConfigEntry(key, overrides[name], ConfigSource.TOPIC_CONFIG, synonyms, read_only=False)
            return ConfigEntry(key, key.default, ConfigSource.DEFAULT_CONFIG, synonyms, read_only=False)
        unit_names = broker_synonyms(key.synonym)
        for layer, source in (*self._layers(), (_DEFAULTS, ConfigSource.DEFAULT_CONFIG)):
            synonyms += [Synonym(n, layer[n], source) for n, _ in unit_names if layer.get(n) is not None]
        if overrides.get(name) is not None:
            value, source = overrides[name], ConfigSource.TOPIC_CONFIG
        else:
            value, source = self[key.synonym], self._winning_source(unit_names)
        return ConfigEntry(key, value, source, synonyms, read_only=False)

    def _winning_source(self, unit_names) -> ConfigSource:
        for unit_name, _ in unit_names:
            value, source = self.lookup(unit_name)
            if value is not None:
                return source
        return ConfigSource.DEFAULT_CONFIG

    def effective_topic_config(self, overrides: dict | None = None) -> dict:
        """Every topic key's typed value for a topic with these (typed) overrides."""
        overrides = overrides or {}
        return {key.name: (overrides[key.name] if overrides.get(key.name) is not None
                           else key.default if key.synonym is None else self[key.synonym])
                for key in TOPIC_KEYS}

    def broker_entry(self, name: str, per_broker: bool = True) -> "ConfigEntry":
        """Describe broker key ``name`` (Kafka's ``createBrokerConfigEntry``)."""
        key = BROKER_KEYS_BY_NAME.get(name) or ConfigKey(name, "string", None, "")
        layers = (*self._layers(), (_DEFAULTS, ConfigSource.DEFAULT_CONFIG))
        if not per_broker:  # BROKER "" shows only the cluster-wide dynamic defaults
            layers = ((self.dynamic_default, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG),)
        synonyms = []
        for layer, source in layers:
            synonyms += [Synonym(n, layer[n], source) for n, _ in broker_synonyms(name) if layer.get(n) is not None]
        value = self.raw(name) if per_broker else self.dynamic_default.get(name)
        source = synonyms[0].source if synonyms else ConfigSource.DEFAULT_CONFIG
        if name in self.unknown and per_broker:
            source = ConfigSource.STATIC_BROKER_CONFIG
        return ConfigEntry(key, value, source, synonyms, read_only=not key.dynamic)


_DEFAULTS = {key.name: key.default for key in BROKER_KEYS if key.default is not None}


@dataclasses.dataclass
class Synonym:
    """One place a value could come from (DescribeConfigs ``synonyms``)."""

    name: str
    value: object
    source: ConfigSource


@dataclasses.dataclass
class ConfigEntry:
    """One described config: typed value, source, synonyms (most important first)."""

    key: ConfigKey
    value: object
    source: ConfigSource
    synonyms: list[Synonym]
    read_only: bool

    @property
    def name(self) -> str:
        return self.key.name


def validate_topic_configs(configs: Mapping[str, str | None]) -> dict[str, object]:
    """Check topic overrides given as strings; return them typed.

    Raises:
        KafkaError: INVALID_CONFIG with Kafka's message for an unknown key, a
            null value, a value of the wrong type or out of range.
    """
    typed = {}
    for name, value in configs.items():
        key = TOPIC_KEYS_BY_NAME.get(name)
        if key is None:
            raise KafkaError(ErrorCode.INVALID_CONFIG, f"Unknown topic config name: {name}")
        if value is None:
            raise KafkaError(ErrorCode.INVALID_CONFIG, f"Null value not supported for topic configs: {name}")
        try:
            typed[name] = parse_value(key, value)
        except ConfigError as exc:
            raise KafkaError(ErrorCode.INVALID_CONFIG, str(exc)) from None
    return typed


# --- client-metrics resources (KIP-714): which metrics clients push, how often ---

CLIENT_METRICS_SELECTORS = ("client_instance_id", "client_id", "client_software_name",
                            "client_software_version", "client_source_address", "client_source_port")

CLIENT_METRICS_KEYS = [
    ConfigKey("metrics", "list", [], "The metric name prefixes clients push ('*' all metrics; empty: none)."),
    ConfigKey("interval.ms", "int", 300000, "How often the matching clients push their metrics.",
              valid=Range(100, 3600000)),
    ConfigKey("match", "list", [], "Which clients the subscription is for: 'selector=regex' pairs, all of "
              "which must match (selectors: " + ", ".join(CLIENT_METRICS_SELECTORS) + "); empty: every client."),
]
CLIENT_METRICS_KEYS_BY_NAME = {key.name: key for key in CLIENT_METRICS_KEYS}


def validate_client_metrics_configs(name: str, configs: Mapping[str, str | None]) -> dict[str, object]:
    """Check a client-metrics resource's configs given as strings; return them typed.

    Raises:
        KafkaError: INVALID_REQUEST for an empty resource name or an unknown key
            (as Kafka's ``ClientMetricsConfigs.validate``), INVALID_CONFIG for a
            bad interval or a ``match`` entry that is not ``selector=regex``.
    """
    if not name:
        raise KafkaError(ErrorCode.INVALID_REQUEST, "Subscription name can't be empty")
    unknown = sorted(set(configs) - set(CLIENT_METRICS_KEYS_BY_NAME))
    if unknown:
        raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unknown client metrics configuration: {unknown}")
    typed = {}
    for key_name, value in configs.items():
        if value is None:
            continue
        try:
            typed[key_name] = parse_value(CLIENT_METRICS_KEYS_BY_NAME[key_name], value)
        except ConfigError as exc:
            raise KafkaError(ErrorCode.INVALID_CONFIG, str(exc)) from None
    for pattern in typed.get("match", []):
        _check_match_entry(pattern)
    return typed


def _check_match_entry(entry: str) -> None:
    selector, equals, regex = entry.partition("=")
    if not equals or selector.strip() not in CLIENT_METRICS_SELECTORS:
        raise KafkaError(ErrorCode.INVALID_CONFIG, f"Illegal client matching pattern: {entry}")
    try:
        re.compile(regex.strip())
    except re.error:
        raise KafkaError(ErrorCode.INVALID_CONFIG, f"Illegal regex pattern for {selector.strip()}: {regex}") from None


# --- meta.properties: the identity of a log directory ---


def random_uuid() -> bytes:
    """16 random bytes usable as a Kafka Uuid (never all-zero, never the
    reserved metadata-topic id ...0001, and never one whose base64 form starts
    with '-', which command-line tools would take for an option)."""
    while True:
        raw = uuid.uuid4().bytes
        if raw not in (bytes(16), bytes(15) + b"\x01") and not uuid_to_str(raw).startswith("-"):
            return raw


def uuid_to_str(raw: bytes) -> str:
    """Kafka's Uuid text form: URL-safe base64 without padding (22 characters)."""
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


@dataclasses.dataclass
class MetaProperties:
    """The contents of ``<log dir>/meta.properties`` (KRaft, version 1)."""

    cluster_id: str
    node_id: int
    directory_id: str

    def to_text(self) -> str:
        return (f"#\n#Written by minikafka\nnode.id={self.node_id}\ndirectory.id={self.directory_id}\n"
                f"version=1\ncluster.id={self.cluster_id}\n")


def load_or_create_meta_properties(log_dirs: list[str], node_id: int, cluster_id: str | None = None) -> str:
    """Check (or, on first start, write) ``meta.properties`` in every log dir.

    Like Kafka, every directory records the same cluster.id and node.id and
    its own directory.id. Kafka's ``kafka-storage.sh format`` writes these
    files; minikafka formats a missing one itself, with ``cluster_id`` or a
    random one. Every voter of a multi-node quorum must share the cluster id
    (the quorum refuses INCONSISTENT_CLUSTER_ID), so whoever starts such a
    cluster formats the nodes first (``minikafka cluster start`` does).
    Returns the cluster id.

    Raises:
        ConfigError: a directory belongs to another node or another cluster.
    """
    found = {}
    for log_dir in log_dirs:
        path = os.path.join(log_dir, "meta.properties")
        if os.path.exists(path):
            with open(path, encoding="latin-1") as f:
                found[log_dir] = parse_properties(f.read())
    cluster_ids = {props.get("cluster.id") for props in found.values()}
    if len(cluster_ids) > 1:
        raise ConfigError(f"log dirs disagree on cluster.id: {sorted(map(str, cluster_ids))}")
    for log_dir, props in found.items():
        if props.get("node.id") != str(node_id):
            raise ConfigError(f"Stored node id {props.get('node.id')} doesn't match previous node id "
                              f"{node_id} in {os.path.join(log_dir, 'meta.properties')}")
    cluster_id = cluster_ids.pop() if cluster_ids else (cluster_id or uuid_to_str(random_uuid()))
    for log_dir in log_dirs:
        if log_dir not in found:
            os.makedirs(log_dir, exist_ok=True)
            meta = MetaProperties(cluster_id, node_id, uuid_to_str(random_uuid()))
            atomic_write(os.path.join(log_dir, "meta.properties"), meta.to_text().encode("latin-1"))
    return cluster_id

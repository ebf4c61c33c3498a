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

import base64
import dataclasses
import enum
import os
import re
import uuid

from minikafka.errors import ErrorCode, KafkaError

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


_DYN = True  # readability in the table below: this key can be changed at run time

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
              _DYN, OneOf(("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"), case_sensitive=False)),
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
    ConfigKey("transaction.state.log.num.partitions", "int", 50, "The number of partitions for the "
              "transaction topic.", valid=Range(1)),
    ConfigKey("transaction.max.timeout.ms", "int", 900000, "The maximum allowed timeout for transactions.",
              valid=Range(1)),
    ConfigKey("transactional.id.expiration.ms", "int", 604800000, "The time in ms that the transaction "
              "coordinator will wait without receiving any transaction status updates for the current "
              "transaction before expiring its transactional id.", valid=Range(1)),
    ConfigKey("transaction.abort.timed.out.transaction.cleanup.interval.ms", "int", 10000, "The interval at "
              "which to rollback transactions that have timed out.", valid=Range(1)),
    ConfigKey("producer.id.expiration.ms", "int", 86400000, "The time in ms that a topic partition leader "
              "will wait before expiring producer IDs.", _DYN, Range(1)),
]

TOPIC_KEYS = [
    ConfigKey("cleanup.policy", "list", None, "The retention policy on old log segments: 'delete' and/or "
              "'compact'.", valid=OneOf(("compact", "delete")), synonym="log.cleanup.policy"),
    ConfigKey("compression.type", "string", None, "The final compression type for this topic ('producer' "
              "keeps the producer's codec).", valid=BROKER_KEYS[0].valid, synonym="compression.type"),
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
]
# compression.type shares the broker key's enum (looked up by name, not position)
TOPIC_KEYS[1] = dataclasses.replace(TOPIC_KEYS[1], valid=next(k.valid for k in BROKER_KEYS if k.name == "compression.type"))

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

"""LogConfig: the per-topic settings a partition's log obeys.

Field names are Kafka's topic config keys in snake_case (``segment.bytes`` ->
``segment_bytes``), and the defaults are Kafka 4.0's broker defaults.
``Long.MAX_VALUE`` (``LONG_MAX``) means "never" (flush.messages, flush.ms,
message.timestamp.before.max.ms). A broker builds one ``LogConfig`` per topic
from its ``log.*`` settings overlaid with the topic's overrides.

Two keys are not about the log itself but live with it, as in Kafka's
``LogConfig``: ``leader.replication.throttled.replicas`` and
``follower.replication.throttled.replicas`` name the replicas whose
replication traffic counts against the broker's replication throttles
(``minikafka.replication.throttles``). Each is ``*`` (every replica) or a list
of ``partition:broker`` pairs; empty (the default) throttles nothing.
"""

from __future__ import annotations

import dataclasses

LONG_MAX = 2**63 - 1

# Kafka topic config key -> LogConfig field.
TOPIC_CONFIG_KEYS = {
    "segment.bytes": "segment_bytes",
    "segment.ms": "segment_ms",
    "segment.index.bytes": "segment_index_bytes",
    "index.interval.bytes": "index_interval_bytes",
    "retention.ms": "retention_ms",
    "retention.bytes": "retention_bytes",
    "flush.messages": "flush_messages",
    "flush.ms": "flush_ms",
    "max.message.bytes": "max_message_bytes",
    "message.timestamp.type": "message_timestamp_type",
    "message.timestamp.before.max.ms": "message_timestamp_before_max_ms",
    "message.timestamp.after.max.ms": "message_timestamp_after_max_ms",
    "cleanup.policy": "cleanup_policy",
    "file.delete.delay.ms": "file_delete_delay_ms",
    "delete.retention.ms": "delete_retention_ms",
    "min.compaction.lag.ms": "min_compaction_lag_ms",
    "max.compaction.lag.ms": "max_compaction_lag_ms",
    "min.cleanable.dirty.ratio": "min_cleanable_dirty_ratio",
    "leader.replication.throttled.replicas": "leader_replication_throttled_replicas",
    "follower.replication.throttled.replicas": "follower_replication_throttled_replicas",
}


@dataclasses.dataclass
class LogConfig:
    """The effective log settings of one topic (Kafka's names and defaults)."""

    segment_bytes: int = 1073741824
    segment_ms: int = 604800000
    segment_index_bytes: int = 10485760
    index_interval_bytes: int = 4096
    retention_ms: int = 604800000  # -1: keep forever
    retention_bytes: int = -1  # -1: no size limit
    flush_messages: int = LONG_MAX
    flush_ms: int = LONG_MAX
    max_message_bytes: int = 1048588
    message_timestamp_type: str = "CreateTime"  # or "LogAppendTime"
    message_timestamp_before_max_ms: int = LONG_MAX
    message_timestamp_after_max_ms: int = 3600000
    cleanup_policy: str = "delete"
    file_delete_delay_ms: int = 60000
    # Log compaction (``minikafka.storage.cleaner``); used when cleanup.policy has "compact".
    delete_retention_ms: int = 86400000
    min_compaction_lag_ms: int = 0
    max_compaction_lag_ms: int = LONG_MAX
    min_cleanable_dirty_ratio: float = 0.5
    # Replication throttles: "*" or "partition:broker" entries; empty: none.
    leader_replication_throttled_replicas: list[str] = dataclasses.field(default_factory=list)
    follower_replication_throttled_replicas: list[str] = dataclasses.field(default_factory=list)

    @classmethod
    def from_topic_config(cls, config: dict) -> "LogConfig":
        """Build from Kafka topic config keys (typed values); unknown keys are ignored."""
        fields = {TOPIC_CONFIG_KEYS[key]: value for key, value in config.items()
                  if key in TOPIC_CONFIG_KEYS and value is not None}
        return cls(**fields)

    @property
    def compact(self) -> bool:
        """True when cleanup.policy includes "compact" (a string or a list of policies)."""
        policy = self.cleanup_policy
        policies = policy.split(",") if isinstance(policy, str) else list(policy or ())
        return "compact" in (p.strip() for p in policies)

    @property
    def roll_ms(self) -> int:
        """Kafka's ``maxSegmentMs``: a compacted log also rolls by max.compaction.lag.ms,
        since the cleaner never touches the active segment."""
        if self.compact and self.max_compaction_lag_ms > 0:
            return min(self.segment_ms, self.max_compaction_lag_ms)
        return self.segment_ms

    @property
    def log_append_time(self) -> bool:
        """True when the broker stamps batches (message.timestamp.type=LogAppendTime)."""
        return self.message_timestamp_type == "LogAppendTime"

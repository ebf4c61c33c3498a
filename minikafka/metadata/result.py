"""What a controller operation returns, the controller's settings, and request access.

The controller is sans-I/O (docs/decisions.md; Kafka's ``QuorumController`` is the
model): an operation takes a request and ``now_ms`` and returns a
``ControllerResult``:

- ``records``: metadata records to append to ``__cluster_metadata``. They are
  *already applied* to the active controller's own image (as Kafka's active
  controller does), so the next operation sees them; brokers and standby
  controllers apply them when they are committed.
- ``response``: the response as a plain dict with the Kafka response
  declaration's field names (``{"error_code": 0, ...}``), or None for
  internal work (``tick``).

Runtime contract: send ``response`` only once ``records`` are *committed*
(a client must never learn of a topic that a controller failover could
lose). If the records cannot be committed (leadership lost), throw the
controller away and build a new one from the committed image.

Requests are read with :func:`get_field`, so an operation accepts a decoded
request (``codec.Struct``) or a plain dict with the same snake_case names.
"""

from __future__ import annotations

import dataclasses

from minikafka.metadata.records import MetadataRecord


@dataclasses.dataclass
class ControllerResult:
    """The outcome of one controller operation (see the module docstring)."""

    records: list[MetadataRecord] = dataclasses.field(default_factory=list)
    response: dict | None = None


@dataclasses.dataclass
class ControllerConfig:
    """The broker settings the controller uses (Kafka's names and defaults)."""

    broker_session_timeout_ms: int = 9000
    broker_heartbeat_interval_ms: int = 2000
    num_partitions: int = 1
    default_replication_factor: int = 1
    unclean_leader_election_enable: bool = False
    delete_topic_enable: bool = True
    auto_leader_rebalance_enable: bool = True
    leader_imbalance_check_interval_ms: int = 300 * 1000  # leader.imbalance.check.interval.seconds
    leader_imbalance_per_broker_percentage: int = 10

    @classmethod
    def from_broker_config(cls, config) -> ControllerConfig:
        """Read the settings from a ``BrokerConfig``; keys it lacks keep Kafka's defaults.

        Keys BrokerConfig does not declare (``broker.session.timeout.ms``) come
        back as the strings from server.properties, hence the conversions.
        """
        values = {}
        for key, (attribute, convert) in _CONFIG_KEYS.items():
            value = config.get(key)
            if value is not None:
                values[attribute] = convert(value)
        seconds = config.get("leader.imbalance.check.interval.seconds")
        if seconds is not None:
            values["leader_imbalance_check_interval_ms"] = int(seconds) * 1000
        return cls(**values)


def parse_bool(value) -> bool:
    """A typed bool, or Kafka's ``"true"``/``"false"`` (any case)."""
    return value if isinstance(value, bool) else str(value).strip().lower() == "true"


_CONFIG_KEYS = {
    "broker.session.timeout.ms": ("broker_session_timeout_ms", int),
    "broker.heartbeat.interval.ms": ("broker_heartbeat_interval_ms", int),
    "num.partitions": ("num_partitions", int),
    "default.replication.factor": ("default_replication_factor", int),
    "unclean.leader.election.enable": ("unclean_leader_election_enable", parse_bool),
    "delete.topic.enable": ("delete_topic_enable", parse_bool),
    "auto.leader.rebalance.enable": ("auto_leader_rebalance_enable", parse_bool),
    "leader.imbalance.per.broker.percentage": ("leader_imbalance_per_broker_percentage", int),
}
"""Kafka key -> (ControllerConfig attribute, conversion)."""


def get_field(obj, name: str, default=None):
    """``obj.name`` for a decoded ``Struct``, ``obj[name]`` for a dict."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)

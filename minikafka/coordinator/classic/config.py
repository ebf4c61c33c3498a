"""The classic group coordinator's broker settings (Kafka's names and defaults).

``GroupConfig.from_broker_config`` reads them from a ``BrokerConfig``; a key
the config lacks keeps Kafka's default. The runtime builds one for every
``GroupCoordinator`` it starts; tests build one directly with faster values.
The consumer protocol's settings are ``ConsumerGroupConfig``
(``coordinator/consumer/coordinator.py``).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class GroupConfig:
    """The broker settings the group coordinator uses (Kafka's names and defaults)."""

    group_min_session_timeout_ms: int = 6000
    group_max_session_timeout_ms: int = 1800000
    group_initial_rebalance_delay_ms: int = 3000
    group_max_size: int = 2**31 - 1
    offsets_retention_ms: int = 10080 * 60 * 1000  # offsets.retention.minutes
    offsets_retention_check_interval_ms: int = 600000
    offset_metadata_max_bytes: int = 4096
    # Kafka's fixed limit on how long a new member's JoinGroup may stay
    # parked (the member cannot heartbeat yet; see coordinator.py).
    new_member_join_timeout_ms: int = 300000

    _KEYS = {
        "group.min.session.timeout.ms": "group_min_session_timeout_ms",
        "group.max.session.timeout.ms": "group_max_session_timeout_ms",
        "group.initial.rebalance.delay.ms": "group_initial_rebalance_delay_ms",
        "group.max.size": "group_max_size",
        "offsets.retention.check.interval.ms": "offsets_retention_check_interval_ms",
        "offset.metadata.max.bytes": "offset_metadata_max_bytes",
    }

    @classmethod
    def from_broker_config(cls, config) -> "GroupConfig":
        """Read the settings from a ``BrokerConfig`` (keys it lacks keep Kafka's defaults)."""
        values = {}
        for key, attribute in cls._KEYS.items():
            value = _lookup(config, key)
            if value is not None:
                values[attribute] = int(value)
        minutes = _lookup(config, "offsets.retention.minutes")
        if minutes is not None:
            values["offsets_retention_ms"] = int(minutes) * 60 * 1000
        return cls(**values)


def _lookup(config, key: str):
    try:
        return config[key]
    except (KeyError, LookupError):
        return None

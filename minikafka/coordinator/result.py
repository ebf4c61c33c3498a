"""What a group coordinator operation returns, and the coordinator's settings.

The coordinator is sans-I/O (Kafka's coordinator runtime is the model): an
operation takes a request and ``now_ms`` and returns a ``CoordinatorResult``:

- ``records``: ``(key, value)`` pairs to append to the group's
  ``__consumer_offsets`` partition, in Kafka's byte format. They are *already
  applied* to the coordinator's memory; the runtime only appends them (and a
  new coordinator rebuilds the same state by ``replay()``-ing them).
- ``response``: the response for this request as a plain dict with the
  response declaration's field names, or None if the request is *parked*
  (a JoinGroup waiting for the rebalance, a SyncGroup waiting for the
  leader). A parked request has a ``ticket``.
- ``deliveries``: ``(ticket, response)`` for parked requests (earlier ones)
  that this operation completed.

Runtime contract: append ``records`` (and wait for them to be written)
*before* sending ``response`` or any delivery. A client must never learn of
a generation or commit that a crash could lose. If an append fails, the
coordinator's memory is ahead of the log: drop the coordinator and reload
it from the log (Kafka does the same when it loses the partition).
"""

from __future__ import annotations

import dataclasses

from minikafka.coordinator.records import Record


@dataclasses.dataclass
class CoordinatorResult:
    """The outcome of one coordinator operation (see the module docstring)."""

    records: list[Record] = dataclasses.field(default_factory=list)
    response: dict | None = None
    ticket: int | None = None  # set when the request was parked
    deliveries: list[tuple[int, dict]] = dataclasses.field(default_factory=list)


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
    # parked (the member cannot heartbeat yet; see classic/coordinator.py).
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

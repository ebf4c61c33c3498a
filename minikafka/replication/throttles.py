"""Replication throttles: which replicas are throttled, and how fast they may go.

Kafka throttles replication (KIP-73) to move data between brokers without
starving clients, typically during a reassignment. Two quotas, one per side
of a fetch, are ``ReplicationQuotaManager``s of ``minikafka.quotas``:

- the *leader* quota limits the bytes this broker sends to followers of the
  partitions listed in the topic config ``leader.replication.throttled.replicas``,
  at ``leader.replication.throttled.rate`` bytes/s (a dynamic broker config);
- the *follower* quota limits the bytes this broker fetches for the
  partitions listed in ``follower.replication.throttled.replicas``, at
  ``follower.replication.throttled.rate``.

A throttled-replicas value is ``*`` (every replica of the topic) or
``partition:broker,...``. A broker keeps only the entries that name itself
(Kafka's ``parseThrottledPartitions``): ``0:101,1:102`` throttles partition 0
on broker 101 and partition 1 on broker 102. Both rates default to
``Long.MAX_VALUE`` (no limit), so listing replicas alone changes nothing.

This module owns no decision about a fetch (``handlers/fetch.py`` decides on
the leader side, ``replication/fetcher.py`` on the follower side); it keeps the
two managers in step with the committed metadata image and the broker's
dynamic configs, like Kafka's ``TopicConfigHandler.processConfigChanges`` and
``BrokerConfigHandler``. ``apply`` runs after every published image: it looks
at every topic's overrides, and only tells a manager about a topic whose
value changed (or that went away).

Sans-I/O; owned by one broker and called from its Trio loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from minikafka.config import LONG_MAX
from minikafka.metadata.image import TOPIC_RESOURCE
from minikafka.quotas.replication import parse_throttled_replicas

LEADER_REPLICAS = "leader.replication.throttled.replicas"
FOLLOWER_REPLICAS = "follower.replication.throttled.replicas"
LEADER_RATE = "leader.replication.throttled.rate"
FOLLOWER_RATE = "follower.replication.throttled.rate"


class ReplicationQuotas(Protocol):
    """The broker's quotas as seen from here (``BrokerQuotas``)."""

    leader_replication: object
    follower_replication: object

    def update_replication_rates(self, leader: float, follower: float) -> None: ...


class ReplicationThrottles:
    """Keeps the leader and follower replication quotas in step with configs.

    Args:
        node_id: this broker's ``node.id`` (the broker part of ``partition:broker``).
        quotas: the broker's quotas (its ``leader_replication`` and
            ``follower_replication`` managers, and their rates).
    """

    def __init__(self, node_id: int, quotas: ReplicationQuotas):
        self.node_id = node_id
        self.quotas = quotas
        self._values: dict[str, tuple[str, str]] = {}  # topic -> (leader value, follower value) applied
        self._rates: tuple[float, float] | None = None

    def apply(self, topic_configs: Mapping[tuple[int, str], Mapping[str, str]], config) -> None:
        """Take the image's config overrides and the broker's current rates.

        Args:
            topic_configs: the image's ``configs``,
                ``{(resource_type, resource_name): {key: value}}``; only
                topic resources are read.
            config: the broker's ``BrokerConfig`` (its dynamic layers hold the rates).
        """
        self.update_rates(config.get(LEADER_RATE, LONG_MAX), config.get(FOLLOWER_RATE, LONG_MAX))
        values = {}
        for (resource_type, name), overrides in topic_configs.items():
            if resource_type != TOPIC_RESOURCE:
                continue
            value = (overrides.get(LEADER_REPLICAS, "").strip(), overrides.get(FOLLOWER_REPLICAS, "").strip())
            if value != ("", ""):
                values[name] = value
        for name in [n for n in self._values if n not in values]:
            self._set(name, ("", ""))
        for name, value in values.items():
            if self._values.get(name) != value:
                self._set(name, value)

    def update_rates(self, leader_rate: float, follower_rate: float) -> None:
        """Give the quotas new rates (bytes/s), if they changed."""
        rates = (leader_rate, follower_rate)
        if rates != self._rates:
            self._rates = rates
            self.quotas.update_replication_rates(leader_rate, follower_rate)

    def _set(self, topic: str, value: tuple[str, str]) -> None:
        """Mark (or clear) one topic's throttled partitions on both managers."""
        for text, manager in zip(value, (self.quotas.leader_replication, self.quotas.follower_replication)):
            partitions = parse_throttled_replicas(text, self.node_id) if text else None
            if partitions:  # ALL, or this broker's partitions
                manager.mark_throttled(topic, partitions)
            else:
                manager.remove_throttle(topic)
        if value == ("", ""):
            self._values.pop(topic, None)
        else:
            self._values[topic] = value

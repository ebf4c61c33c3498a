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
two managers' throttled-partition sets in step with the topic configs of the
committed metadata image, like Kafka's ``TopicConfigHandler.processConfigChanges``.
``apply`` runs after every published image: it looks at every topic's
overrides, and only tells a manager about a topic whose value changed (or
that went away: a deleted topic, a deleted config). The rates are dynamic
broker configs, which the broker hands to ``BrokerQuotas.update_dynamic_config``
with its other quota limits.

Sans-I/O; owned by one broker and called from its Trio loop.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from minikafka.metadata.image import TOPIC_RESOURCE
from minikafka.quotas.replication import (
    FOLLOWER_REPLICATION_THROTTLED_REPLICAS as FOLLOWER_REPLICAS,
    LEADER_REPLICATION_THROTTLED_REPLICAS as LEADER_REPLICAS,
    ReplicationQuotaManager,
    parse_throttled_replicas,
)

log = logging.getLogger("minikafka.replication.throttles")


class ReplicationThrottles:
    """Keeps the leader and follower replication quotas' throttled partitions in step with topic configs.

    Args:
        node_id: this broker's ``node.id`` (the broker part of ``partition:broker``).
        leader: the leader replication quota.
        follower: the follower replication quota.
    """

    def __init__(self, node_id: int, leader: ReplicationQuotaManager, follower: ReplicationQuotaManager):
        self.node_id = node_id
        self.managers = ((LEADER_REPLICAS, leader), (FOLLOWER_REPLICAS, follower))
        self._values: dict[str, tuple[str, str]] = {}  # topic -> (leader value, follower value) applied

    def apply(self, configs: Mapping[tuple[int, str], Mapping[str, str]]) -> None:
        """Take the throttled replicas of every topic in the image's config overrides.

        Args:
            configs: the image's ``configs``,
                ``{(resource_type, resource_name): {key: value}}``; only
                topic resources are read.
        """
        values = {}
        for (resource_type, name), overrides in configs.items():
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

    def _set(self, topic: str, value: tuple[str, str]) -> None:
        """Mark (or clear) one topic's throttled partitions on both managers."""
        for text, (name, manager) in zip(value, self.managers):
            partitions = self._parse(topic, name, text)
            if partitions:  # ALL, or this broker's partitions of the topic
                manager.mark_throttled(topic, partitions)
            else:
                manager.remove_throttle(topic)
        if value == ("", ""):
            self._values.pop(topic, None)
        else:
            self._values[topic] = value

    def _parse(self, topic: str, name: str, text: str):
        """This broker's throttled partitions in one config value (``ALL``, or a set; empty: none)."""
        try:
            return parse_throttled_replicas(text, self.node_id, name)
        except ValueError as exc:  # validated when written; a bad value must not stop the broker
            log.warning("broker %s: ignoring %s of topic %r: %s", self.node_id, name, topic, exc)
            return set()

"""Replication throttles: a byte-rate cap on moving throttled replicas (Kafka's ReplicationQuotaManager).

An operator moving partitions between brokers (reassignment) or re-copying a
lagging follower can cap the bandwidth it takes, in two halves:

* ``leader.replication.throttled.rate`` (broker, dynamic): bytes per second a
  leader sends to followers of *throttled* replicas;
* ``follower.replication.throttled.rate``: bytes per second a follower fetches
  for its throttled replicas;
* which replicas are throttled is a topic config,
  ``leader.replication.throttled.replicas`` /
  ``follower.replication.throttled.replicas``: ``*`` (all) or a list
  ``partition:broker,...`` (``parse_throttled_replicas``).

One manager per direction. The leader asks ``is_quota_exceeded`` before it
adds a throttled partition's records to a follower's fetch response and
``record``s the bytes it sent for throttled partitions; the follower does the
same before it puts a throttled partition in its fetch request. Replicas that
are not throttled are never held back (and not recorded), so in-sync
replication is not slowed by a reassignment.

The rate is measured with ``sensor.SimpleRate`` (window: what elapsed, at least
one sample) over ``replication.quota.window.num`` samples of
``replication.quota.window.size.seconds``. The default rate, ``Long.MAX_VALUE``,
means unthrottled.

A manager belongs to one broker and is used from its Trio tasks only.
"""

from __future__ import annotations

import re

from minikafka.quotas.sensor import DEFAULT_NUM_SAMPLES, DEFAULT_WINDOW_MS, SimpleRate

#: Kafka's default replication throttled rate: no throttle.
UNLIMITED_RATE = 2**63 - 1

LEADER_REPLICATION_THROTTLED_RATE = "leader.replication.throttled.rate"
FOLLOWER_REPLICATION_THROTTLED_RATE = "follower.replication.throttled.rate"
LEADER_REPLICATION_THROTTLED_REPLICAS = "leader.replication.throttled.replicas"
FOLLOWER_REPLICATION_THROTTLED_REPLICAS = "follower.replication.throttled.replicas"

_REPLICA = re.compile(r"([0-9]+:[0-9]+)?")


class _AllReplicas:
    """Every partition of a topic is throttled (a topic config of ``*``)."""

    __slots__ = ()

    def __contains__(self, partition: object) -> bool:
        return True

    def __repr__(self) -> str:
        return "ALL"


#: ``parse_throttled_replicas`` result meaning "all partitions".
ALL = _AllReplicas()


def validate_throttled_replicas(name: str, value: str) -> None:
    """Check a ``*.replication.throttled.replicas`` value (Kafka's ThrottledReplicaListValidator).

    Raises:
        ValueError: with Kafka's message, when the value is neither ``*`` nor a
            ``partition:broker`` list.
    """
    proposed = [element.strip() for element in value.split(",")]
    if all(_REPLICA.fullmatch(element) for element in proposed) or "".join(proposed) == "*":
        return
    raise ValueError(
        f"{name} must be the literal '*' or a list of replicas in the following format: "
        "[partitionId]:[brokerId],[partitionId]:[brokerId],..."
    )


def parse_throttled_replicas(value: str, broker_id: int, name: str = LEADER_REPLICATION_THROTTLED_REPLICAS):
    """The partitions of a topic this broker throttles (Kafka's parseThrottledPartitions).

    Args:
        value: the topic config value: "", ``*``, or ``partition:broker,...``.
        broker_id: this broker; entries for other brokers are ignored.
        name: the config name, for the error message.

    Returns:
        ``ALL`` for ``*``, else the set of partition ids listed for ``broker_id``.

    Raises:
        ValueError: the value is malformed.
    """
    value = value.strip()
    validate_throttled_replicas(name, value)
    if value == "":
        return set()
    if value == "*":
        return ALL
    partitions = set()
    for element in value.split(","):
        element = element.strip()
        if not element:
            continue
        partition, broker = element.split(":")
        if int(broker) == broker_id:
            partitions.add(int(partition))
    return partitions


class ReplicationQuotaManager:
    """One direction's replication throttle: its rate, its byte-rate sensor, its throttled replicas.

    Args:
        rate: the throttled rate in bytes per second (``UNLIMITED_RATE``: none).
        num_samples: ``replication.quota.window.num`` (default 11).
        window_ms: ``replication.quota.window.size.seconds`` * 1000 (default 1000).
        name: Kafka's quota type name, ``LeaderReplication`` or ``FollowerReplication``.
    """

    def __init__(
        self,
        rate: float = UNLIMITED_RATE,
        num_samples: int = DEFAULT_NUM_SAMPLES,
        window_ms: int = DEFAULT_WINDOW_MS,
        name: str = "LeaderReplication",
    ):
        self.name = name
        self.rate = rate
        self._sensor = SimpleRate(num_samples, window_ms)
        self._throttled: dict[str, object] = {}

    def update_rate(self, rate: float) -> None:
        """Change the throttled rate (a dynamic broker config changed); the measured history stays."""
        self.rate = rate

    @property
    def upper_bound(self) -> float:
        """The throttled rate in bytes per second."""
        return self.rate

    def is_quota_exceeded(self, now_ms: int) -> bool:
        """Whether the bytes recorded lately are above the rate (then hold throttled replicas back)."""
        if self.rate >= UNLIMITED_RATE:
            return False
        return self._sensor.measure(now_ms) > self.rate

    def record(self, num_bytes: int, now_ms: int) -> None:
        """Count ``num_bytes`` moved for throttled replicas."""
        self._sensor.record(float(num_bytes), now_ms)

    def byte_rate(self, now_ms: int) -> float:
        """The measured rate of throttled-replica bytes per second (Kafka's byte-rate metric)."""
        return self._sensor.measure(now_ms)

    def mark_throttled(self, topic: str, partitions=ALL) -> None:
        """Throttle ``partitions`` (a set of ids, or ``ALL``) of ``topic``, replacing the earlier set."""
        self._throttled[topic] = ALL if partitions is ALL else frozenset(partitions)

    def remove_throttle(self, topic: str) -> None:
        """No partition of ``topic`` is throttled any more."""
        self._throttled.pop(topic, None)

    def is_throttled(self, topic: str, partition: int) -> bool:
        """Whether this replica of ``topic``/``partition`` is throttled."""
        partitions = self._throttled.get(topic)
        return partitions is not None and partition in partitions

    def throttled_topics(self) -> dict[str, object]:
        """``{topic: ALL or frozenset of partitions}`` currently throttled."""
        return dict(self._throttled)

"""The group coordinator's metrics: group counts by state and protocol, offsets, offset commits.

Kafka 4.0's ``GroupCoordinatorMetrics`` registers two families, both here:

- Yammer gauges ``kafka.coordinator.group:type=GroupMetadataManager,name=``
  ``NumGroups``, ``NumOffsets`` and ``NumGroupsPreparingRebalance`` /
  ``NumGroupsCompletingRebalance`` / ``NumGroupsStable`` / ``NumGroupsDead``
  / ``NumGroupsEmpty`` (classic groups by state);
- Kafka metrics ``kafka.server:type=group-coordinator-metrics``:
  ``group-count{protocol=classic|consumer}``,
  ``consumer-group-count{state=Empty|Assigning|Reconciling|Stable|Dead}``,
  ``offset-commit-rate`` / ``offset-commit-count`` (offsets committed, one
  per partition of an OffsetCommit or TxnOffsetCommit, as Kafka's
  ``OffsetCommits`` sensor counts them).

Every gauge counts the groups of the ``__consumer_offsets`` partitions this
broker coordinates (its ACTIVE shards) when read, so the sum over all
brokers counts each group once. A consumer-protocol group keeps its
committed offsets in a *simple* classic group of the same id (see
``coordinator.runtime``); such a holder is not counted as a classic group.

The rate is Kafka's windowed ``Rate`` (two samples of 30 s); the count a
plain total (both are gauges, as Kafka metrics are read). Sans-I/O: ``now_ms`` comes from the caller.
"""

from __future__ import annotations

from typing import Callable, Iterable

from minikafka.coordinator.classic.coordinator import GroupCoordinator
from minikafka.coordinator.classic.group import GroupState
from minikafka.coordinator.consumer.coordinator import ConsumerGroupCoordinator
from minikafka.coordinator.consumer.group import ConsumerGroupState
from minikafka.metrics.names import MetricName
from minikafka.metrics.registry import Registry
from minikafka.quotas.sensor import Rate

METRICS_SAMPLES, METRICS_WINDOW_MS = 2, 30_000  # Kafka's metrics.num.samples, metrics.sample.window.ms

Shards = Callable[[], Iterable[tuple[GroupCoordinator, ConsumerGroupCoordinator]]]

_CLASSIC_STATE_NAMES = {
    GroupState.PREPARING_REBALANCE: "NumGroupsPreparingRebalance",
    GroupState.COMPLETING_REBALANCE: "NumGroupsCompletingRebalance",
    GroupState.STABLE: "NumGroupsStable",
    GroupState.DEAD: "NumGroupsDead",
    GroupState.EMPTY: "NumGroupsEmpty",
}


def group_metadata_manager_metric(name: str) -> MetricName:
    return MetricName("kafka.coordinator.group", "GroupMetadataManager", name)


def group_coordinator_metric(name: str, tags=()) -> MetricName:
    return MetricName("kafka.server", "group-coordinator-metrics", name, tags, kafka_metric=True)


def classic_groups(shards: Shards):
    """The classic groups of every shard (not the offset holders of consumer-protocol groups)."""
    for classic, consumer in shards():
        for group_id, group in list(classic.groups.items()):
            if group_id not in consumer.groups:
                yield group


def consumer_groups(shards: Shards):
    for _, consumer in shards():
        yield from list(consumer.groups.values())


def num_offsets(shards: Shards) -> int:
    return sum(len(group.offsets) for classic, _ in shards() for group in list(classic.groups.values()))


class GroupCoordinatorMetrics:
    """Registers the gauges; ``record_offset_commits`` is called where offsets are written.

    Args:
        registry: the broker's metrics registry.
        shards: returns ``(classic, consumer)`` coordinators of the ACTIVE shards.
        now_ms: a clock in milliseconds for the windowed rate.
    """

    def __init__(self, registry: Registry, shards: Shards, now_ms: Callable[[], int]):
        self._now_ms = now_ms
        self._commit_rate = Rate(METRICS_SAMPLES, METRICS_WINDOW_MS)
        self._commit_count = 0
        registry.gauge(group_coordinator_metric("offset-commit-count"), lambda: self._commit_count)
        registry.gauge(group_coordinator_metric("offset-commit-rate"),
                       lambda: self._commit_rate.measure(self._now_ms()))
        registry.gauge(group_metadata_manager_metric("NumGroups"),
                       lambda: sum(1 for _ in classic_groups(shards)))
        registry.gauge(group_metadata_manager_metric("NumOffsets"), lambda: num_offsets(shards))
        for state, name in _CLASSIC_STATE_NAMES.items():
            registry.gauge(group_metadata_manager_metric(name),
                           lambda state=state: sum(g.state is state for g in classic_groups(shards)))
        registry.gauge(group_coordinator_metric("group-count", (("protocol", "classic"),)),
                       lambda: sum(1 for _ in classic_groups(shards)))
        registry.gauge(group_coordinator_metric("group-count", (("protocol", "consumer"),)),
                       lambda: sum(1 for _ in consumer_groups(shards)))
        for state in ConsumerGroupState:
            registry.gauge(group_coordinator_metric("consumer-group-count", (("state", state.value),)),
                           lambda state=state: sum(g.state is state for g in consumer_groups(shards)))

    def record_offset_commits(self, count: int) -> None:
        """``count`` offsets were committed (written to ``__consumer_offsets``)."""
        if count:
            self._commit_count += count
            self._commit_rate.record(count, self._now_ms())

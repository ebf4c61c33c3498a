"""Consumer lag per group and partition, on the group's coordinator (kafka_exporter's metrics).

A consumer group's *lag* on a partition is how far its committed offset is
behind the partition's end: ``lag = end offset - committed offset``, where
the end offset is what a read_uncommitted consumer can reach, the leader's
high watermark (ListOffsets ``latest``). Kafka's broker has no such metric;
operators run kafka_exporter, whose names this module uses so dashboards
and alert rules written for it work unchanged:

- ``kafka_consumergroup_current_offset{consumergroup,topic,partition}``:
  the committed offset;
- ``kafka_consumergroup_lag{consumergroup,topic,partition}``: the lag;
- ``kafka_consumergroup_lag_sum{consumergroup,topic}``: the lag over a
  topic's partitions;
- ``kafka_topic_partition_current_offset{topic,partition}``: the end offset
  of the partitions some group here committed to.

Only the coordinator of a group reports it (the broker leading the group's
``__consumer_offsets`` partition), so a scrape of every broker sees each
group once. Committed offsets are read from the coordinator's memory at
scrape time. End offsets: a partition this broker leads answers from its
own high watermark at once; for the others a background task
(``run``) asks their leaders with ListOffsets every
``LAG_REFRESH_INTERVAL_S``, and the scrape uses the last answer. A partition
whose end is not known yet has no row. The lag is never negative: a cached
end offset older than a fresh commit counts as 0.

The row computation is synchronous; only ``run`` does I/O.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Callable, Iterable, Mapping

import trio

from minikafka.coordinator.classic.coordinator import GroupCoordinator
from minikafka.errors import ErrorCode

log = logging.getLogger("minikafka.coordinator.lag")

LAG_REFRESH_INTERVAL_S = 1.0
LIST_OFFSETS_API_KEY, LIST_OFFSETS_VERSION = 2, 4
LATEST_TIMESTAMP = -1  # ListOffsets: the end of the log (the high watermark for read_uncommitted)


@dataclasses.dataclass(frozen=True)
class LagRow:
    """One group's position on one partition."""

    group_id: str
    topic: str
    partition: int
    committed: int
    end: int

    @property
    def lag(self) -> int:
        return max(0, self.end - self.committed)


class ConsumerLag:
    """The lag of the groups this broker coordinates.

    Args:
        node_id: this broker.
        coordinators: returns the classic coordinators of the ACTIVE
            ``__consumer_offsets`` shards (they hold every group's offsets).
        partitions: the broker's hosted partitions, ``{(topic, index): Partition}``.
        leader_of: ``leader_of(topic, index)``, the partition's leader from
            the metadata image (or None).
        call: ``await call(broker_id, api_key, version, body)``, a request to
            another broker (a ``BrokerClient.call``); None: local partitions only.
    """

    def __init__(self, *, node_id: int, coordinators: Callable[[], Iterable[GroupCoordinator]],
                 partitions: Mapping, leader_of: Callable[[str, int], int | None], call=None):
        self.node_id = node_id
        self._coordinators = coordinators
        self._partitions = partitions
        self._leader_of = leader_of
        self._call = call
        self._remote_end_offsets: dict[tuple[str, int], int] = {}

    def committed_offsets(self) -> dict[tuple[str, str, int], int]:
        """``{(group, topic, partition): committed offset}`` of the groups coordinated here."""
        committed = {}
        for coordinator in self._coordinators():
            for group_id, group in list(coordinator.groups.items()):
                for (topic, partition), offset in list(group.offsets.items()):
                    committed[(group_id, topic, partition)] = offset.committed_offset
        return committed

    def end_offset(self, topic: str, partition: int) -> int | None:
        """The partition's high watermark: our own if we lead it, else the last one its leader gave."""
        local = self._partitions.get((topic, partition))
        if local is not None and local.is_leader:
            return local.high_watermark
        return self._remote_end_offsets.get((topic, partition))

    def rows(self) -> list[LagRow]:
        """Every (group, partition) with a committed offset and a known end, sorted."""
        rows = []
        for (group_id, topic, partition), committed in sorted(self.committed_offsets().items()):
            end = self.end_offset(topic, partition)
            if end is not None:
                rows.append(LagRow(group_id, topic, partition, committed, end))
        return rows

    def samples(self) -> list[tuple[str, dict[str, str], float]]:
        """The rows as kafka_exporter's ``(name, labels, value)`` samples (see the module docstring)."""
        samples = []
        lag_sums: dict[tuple[str, str], int] = {}
        ends: dict[tuple[str, int], int] = {}
        for row in self.rows():
            labels = {"consumergroup": row.group_id, "topic": row.topic, "partition": str(row.partition)}
            samples.append(("kafka_consumergroup_current_offset", labels, row.committed))
            samples.append(("kafka_consumergroup_lag", labels, row.lag))
            lag_sums[(row.group_id, row.topic)] = lag_sums.get((row.group_id, row.topic), 0) + row.lag
            ends[(row.topic, row.partition)] = row.end
        for (group_id, topic), total in sorted(lag_sums.items()):
            samples.append(("kafka_consumergroup_lag_sum", {"consumergroup": group_id, "topic": topic}, total))
        for (topic, partition), end in sorted(ends.items()):
            samples.append(("kafka_topic_partition_current_offset",
                            {"topic": topic, "partition": str(partition)}, end))
        return samples

    # -- the remote end offsets (I/O) ---------------------------------------------------

    def _remote_partitions_by_leader(self) -> dict[int, set[tuple[str, int]]]:
        by_leader: dict[int, set[tuple[str, int]]] = {}
        for _, topic, partition in self.committed_offsets():
            local = self._partitions.get((topic, partition))
            leader = self._leader_of(topic, partition)
            if (local is None or not local.is_leader) and leader is not None and leader >= 0:
                by_leader.setdefault(leader, set()).add((topic, partition))
        return by_leader

    async def run(self) -> None:
        """Refresh the end offsets of partitions led elsewhere, every ``LAG_REFRESH_INTERVAL_S``."""
        if self._call is None:
            return
        while True:
            by_leader = self._remote_partitions_by_leader()
            self._remote_end_offsets = {key: end for key, end in self._remote_end_offsets.items()
                                        if any(key in keys for keys in by_leader.values())}
            for leader, keys in by_leader.items():
                await self._refresh(leader, keys)
            await trio.sleep(LAG_REFRESH_INTERVAL_S)

    async def _refresh(self, leader: int, keys: set[tuple[str, int]]) -> None:
        topics: dict[str, list[int]] = {}
        for topic, partition in sorted(keys):
            topics.setdefault(topic, []).append(partition)
        body = {"replica_id": -1, "isolation_level": 0, "topics": [
            {"name": topic, "partitions": [{"partition_index": p, "current_leader_epoch": -1,
                                            "timestamp": LATEST_TIMESTAMP} for p in partitions]}
            for topic, partitions in topics.items()]}
        try:
            response = await self._call(leader, LIST_OFFSETS_API_KEY, LIST_OFFSETS_VERSION, body)
        except Exception as exc:  # an unreachable leader: keep the last answers
            log.debug("broker %s: ListOffsets to %s for consumer lag failed: %s", self.node_id, leader, exc)
            return
        for topic in _get(response, "topics", []):
            for answer in _get(topic, "partitions", []):
                if _get(answer, "error_code", 0) == ErrorCode.NONE:
                    key = (_get(topic, "name"), _get(answer, "partition_index"))
                    self._remote_end_offsets[key] = _get(answer, "offset")


def _get(obj, name: str, default=None):
    """A field of a decoded response (a ``Struct`` or a dict)."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)

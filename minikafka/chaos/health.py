"""A cluster's health as its brokers report it in Metadata.

Kafka's tools judge a partition by its Metadata entry, and so does this module:

- **offline**: ``leader_id == -1``; nobody can produce to or fetch from it
  (``kafka-topics.sh --describe --unavailable-partitions``);
- **under-replicated**: ``len(isr) < len(replicas)``; a replica has fallen
  behind or is down, and ``acks=all`` waits for fewer copies
  (``--under-replicated-partitions``).

``probe`` asks every broker at once, on its real (internal) PLAINTEXT port so
that a ``cut-client`` fault does not hide the truth, each with a short
timeout because a paused broker accepts connections but never answers. The
topic view comes from the lowest-numbered broker that answered: in a KRaft
cluster every broker serves the same metadata image, so any one will do.
"""

from __future__ import annotations

import dataclasses

import trio

BROKER_TIMEOUT_MS = 1500


@dataclasses.dataclass
class ClusterHealth:
    """What the brokers said; ``answered`` maps node id -> True/False."""

    answered: dict[int, bool]
    controller_id: int = -1
    topics: dict = dataclasses.field(default_factory=dict)  # name -> TopicMetadata

    @property
    def brokers_up(self) -> list[int]:
        return sorted(n for n, ok in self.answered.items() if ok)

    def offline_partitions(self) -> list[tuple[str, int]]:
        return [(t.name, p.partition) for t in self._sorted_topics()
                for p in _sorted(t.partitions) if p.leader_id < 0]

    def under_replicated_partitions(self) -> list[tuple[str, int]]:
        return [(t.name, p.partition) for t in self._sorted_topics()
                for p in _sorted(t.partitions) if p.leader_id >= 0 and len(p.isr) < len(p.replicas)]

    def summary_line(self) -> str:
        """``3/3 brokers up, controller 1, 0 under-replicated, 0 offline partitions``."""
        controller = str(self.controller_id) if self.controller_id >= 0 else "none"
        return (f"{len(self.brokers_up)}/{len(self.answered)} brokers up, controller {controller}, "
                f"{len(self.under_replicated_partitions())} under-replicated, "
                f"{len(self.offline_partitions())} offline partitions")

    def topic_lines(self) -> list[str]:
        """One line per partition, like ``kafka-topics.sh --describe``."""
        lines = []
        for topic in self._sorted_topics():
            for p in _sorted(topic.partitions):
                state = ("OFFLINE" if p.leader_id < 0 else
                         "UNDER-REPLICATED" if len(p.isr) < len(p.replicas) else "ok")
                lines.append(f"  {topic.name}-{p.partition}: leader {p.leader_id} "
                             f"replicas {_ids(p.replicas)} isr {_ids(p.isr)} {state}")
        return lines

    def _sorted_topics(self):
        return [self.topics[name] for name in sorted(self.topics)]


def _sorted(partitions: dict):
    return [partitions[i] for i in sorted(partitions)]


def _ids(ids) -> str:
    return ",".join(str(i) for i in ids) or "-"


async def probe(addresses: dict[int, tuple[str, int]], *,
                timeout_ms: float = BROKER_TIMEOUT_MS) -> ClusterHealth:
    """Ask each broker ``{node_id: (host, port)}`` for Metadata, concurrently."""
    answers: dict[int, object] = {}

    async def ask(node_id: int, host: str, port: int) -> None:
        answers[node_id] = await _metadata(host, port, timeout_ms)

    async with trio.open_nursery() as nursery:
        for node_id, (host, port) in addresses.items():
            nursery.start_soon(ask, node_id, host, port)
    health = ClusterHealth({n: answers.get(n) is not None for n in sorted(addresses)})
    for node_id in health.brokers_up[:1]:
        health.controller_id, health.topics = answers[node_id]
    return health


async def _metadata(host: str, port: int, timeout_ms: float):
    """``(controller_id, topics)`` from one broker, or None if it did not answer in time."""
    from minikafka_clients import KafkaConnectionError, open_cluster

    with trio.move_on_after(timeout_ms / 1000 * 2):  # connect + one request
        try:
            async with open_cluster(f"{host}:{port}", client_id="minikafka-cluster-status",
                                    request_timeout_ms=timeout_ms) as cluster:
                topics = await cluster.refresh_metadata(None)
                return cluster.controller_id, topics
        except* (KafkaConnectionError, OSError):  # raised inside open_cluster's nursery: grouped
            pass
    return None

"""The controller's metrics (Kafka's ``kafka.controller:type=KafkaController``), read from the image.

Kafka splits them in two: ``QuorumControllerMetrics`` (ActiveControllerCount:
1 on the active controller, 0 on every other node, so the sum over a healthy
cluster is exactly 1) and ``ControllerMetadataMetrics``, which every
controller node computes from its committed metadata image:

- ``GlobalTopicCount``, ``GlobalPartitionCount``;
- ``OfflinePartitionsCount``: partitions without a leader (``leader == -1``):
  neither readable nor writable;
- ``PreferredReplicaImbalanceCount``: partitions whose leader is not their
  preferred (first) replica (an offline partition counts too, as in Kafka);
- ``FencedBrokerCount`` and ``ActiveBrokerCount``: registered brokers,
  fenced or not.

Every minikafka node is a combined broker and controller, so every node
reports the image counts (as every Kafka controller does): aggregate them
with ``max``, not ``sum``, across nodes. ``LastAppliedRecordOffset`` and
``LastCommittedRecordOffset`` come from the runtime (the applied image and
the Raft high watermark).

Nothing is recorded on the way: every gauge reads the image at scrape time
(a scan of the partitions, fine for a lab cluster). Sans-I/O.
"""

from __future__ import annotations

from typing import Callable

from minikafka.metadata.image import MetadataImage
from minikafka.metadata.records import NO_LEADER
from minikafka.metrics import MetricName, Registry


def kafka_controller_metric(name: str) -> MetricName:
    """``kafka.controller:type=KafkaController,name=<name>``."""
    return MetricName("kafka.controller", "KafkaController", name)


def offline_partitions_count(image: MetadataImage) -> int:
    """Partitions with no leader."""
    return sum(1 for _, _, p in image.all_partitions() if p.leader == NO_LEADER)


def preferred_replica_imbalance_count(image: MetadataImage) -> int:
    """Partitions not led by their preferred (first) replica."""
    return sum(1 for _, _, p in image.all_partitions() if not p.replicas or p.leader != p.preferred_leader)


def global_partition_count(image: MetadataImage) -> int:
    return sum(len(topic.partitions) for topic in image.topics.values())


def fenced_broker_count(image: MetadataImage) -> int:
    return sum(1 for broker in image.brokers.values() if broker.fenced)


def active_broker_count(image: MetadataImage) -> int:
    """Unfenced registered brokers (Kafka's ActiveBrokerCount: not fenced)."""
    return sum(1 for broker in image.brokers.values() if not broker.fenced)


def register_controller_metrics(registry: Registry, image: Callable[[], MetadataImage],
                                is_active: Callable[[], bool], last_applied_offset: Callable[[], int],
                                last_committed_offset: Callable[[], int]) -> None:
    """Register the KafkaController gauges.

    Args:
        registry: the broker's metrics registry.
        image: returns the node's committed metadata image (it is replaced
            on a snapshot load, so it is looked up at every read).
        is_active: True while this node is the active controller.
        last_applied_offset: the last metadata offset replayed into the image.
        last_committed_offset: the last committed metadata offset (Raft's
            high watermark - 1).
    """
    by_image = {
        "GlobalTopicCount": lambda i: len(i.topics),
        "GlobalPartitionCount": global_partition_count,
        "OfflinePartitionsCount": offline_partitions_count,
        "PreferredReplicaImbalanceCount": preferred_replica_imbalance_count,
        "FencedBrokerCount": fenced_broker_count,
        "ActiveBrokerCount": active_broker_count,
    }
    for name, count in by_image.items():
        registry.gauge(kafka_controller_metric(name), lambda count=count: count(image()))
    registry.gauge(kafka_controller_metric("ActiveControllerCount"), lambda: 1 if is_active() else 0)
    registry.gauge(kafka_controller_metric("LastAppliedRecordOffset"), last_applied_offset)
    registry.gauge(kafka_controller_metric("LastCommittedRecordOffset"), last_committed_offset)

"""Cluster metadata (KRaft): records, the metadata image, and the controller logic.

- ``records``: the metadata record types (Kafka's names) and their encoding;
- ``image``: ``MetadataImage``, rebuilt by replaying committed records;
- ``controller``: ``QuorumController``, the active controller's operations,
  each returning ``ControllerResult(records, response)``; its helpers are
  ``partition_change`` (who leads, ISR, epochs), ``placement``,
  ``heartbeats``, ``topic_control``, ``partition_control``,
  ``config_control`` and ``quota_control`` (client quotas: AlterClientQuotas
  validation and the DescribeClientQuotas filter);
- ``topics``: ``TopicRegistry``, the broker's read view of the image (its
  metadata cache: what handlers and the group coordinator read);
- ``forwarding``: which controller operations a broker forwards, and how.

All of the above is sans-I/O. The Trio parts are ``runtime`` (the metadata
runtime: it appends the controller's records to the Raft log of
``minikafka.quorum`` and replays committed ones into each node's image) and
``broker_lifecycle`` (registration and heartbeats to the active controller,
and the channel that forwards controller operations to it).
"""

from minikafka.metadata.controller import QuorumController
from minikafka.metadata.image import BrokerRegistration, MetadataImage, PartitionRegistration, TopicImage
from minikafka.metadata.records import decode_record, encode_record
from minikafka.metadata.result import ControllerConfig, ControllerResult

__all__ = [
    "BrokerRegistration", "ControllerConfig", "ControllerResult", "MetadataImage", "PartitionRegistration",
    "QuorumController", "TopicImage", "decode_record", "encode_record",
]

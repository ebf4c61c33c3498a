"""minikafka's bundled Kafka clients (Trio-native, with a synchronous face).

Layers, bottom up:

- ``connection``: one pipelined TCP connection, ApiVersions negotiation;
- ``cluster``: bootstrap, Metadata cache, one connection per broker;
- ``admin``, ``produce``, ``fetch``: one operation each, async, taking a Cluster;
- ``sync.SyncClient``: the same operations as blocking calls, for scripts;
- ``partitioner``: Kafka's murmur2 default partitioner.

The async operations stay in their modules (``produce.produce``,
``fetch.consume``): re-exporting them here would hide the modules of the same
name.
"""

from .admin import ConfigEntry, NewTopic
from .admin_client import Admin, SyncAdmin
from .cluster import Cluster, open_cluster
from .connection import Connection, KafkaConnectionError, RequestTimedOut, connect
from .fetch import ConsumerRecord, Start
from .produce import ProducerRecord, RecordMetadata
from .sync import SyncClient

__all__ = [
    "Admin", "SyncAdmin",
    "Cluster", "ConfigEntry", "Connection", "ConsumerRecord", "KafkaConnectionError",
    "NewTopic", "ProducerRecord", "RecordMetadata", "RequestTimedOut", "Start", "SyncClient",
    "connect", "open_cluster",
]

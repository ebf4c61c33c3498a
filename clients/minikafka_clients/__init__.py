"""minikafka's bundled Kafka clients (Trio-native, with a synchronous face).

The three clients, each an ``async with`` object configured with Kafka's keys,
and their blocking twins for scripts (a Trio thread behind them, ``sync.py``):

- ``Producer`` / ``SyncProducer``: partition, batch, send, transactions (``producer.py``,
  ``transaction_manager.py``, ``transactional.py``);
- ``Consumer`` / ``SyncConsumer``: assign or subscribe, poll, commit (``consumer.py``);
- ``Admin`` / ``SyncAdmin``: topics, configs, groups, offsets, client quotas
  (``admin_client.py``, ``client_quotas.py``).

Layers below them, bottom up:

- ``connection``: one pipelined TCP connection, ApiVersions negotiation;
- ``cluster``: bootstrap, Metadata cache, one connection per broker, retries;
- ``throttle``, ``metrics``: quota throttling (KIP-219) and the throttle-time metrics;
- ``admin``, ``groups``, ``client_quotas``: one admin operation per function, taking a Cluster;
- ``accumulator``, ``sender``, ``idempotence``, ``partitioner``: the producer;
- ``consumer_fetcher``, ``classic_membership``, ``consumer_protocol``,
  ``assignors``: the consumer;
- ``client_config``: which config keys are used, ignored or refused.
"""

from .accumulator import RecordMetadata
from .admin import BROKER_RESOURCE, TOPIC_RESOURCE, ConfigEntry, ConfigSource, NewTopic
from .admin_client import Admin, SyncAdmin
from .client_quotas import (ClientQuotaAlteration, ClientQuotaEntity, ClientQuotaFilter,
                            ClientQuotaFilterComponent)
from .cluster import Cluster, open_cluster
from .connection import Connection, KafkaConnectionError, RequestTimedOut, connect
from .consumer import Consumer
from .consumer_fetcher import ConsumerRecord
from .groups import ConsumerGroupMetadata, OffsetAndMetadata
from .producer import Producer
from .sync_consumer import SyncConsumer
from .sync_producer import SyncProducer
from .transaction_manager import IllegalStateError, TransactionAbortedError, TransactionState

__all__ = [
    "BROKER_RESOURCE", "TOPIC_RESOURCE", "Admin", "ClientQuotaAlteration", "ClientQuotaEntity",
    "ClientQuotaFilter", "ClientQuotaFilterComponent", "Cluster", "ConfigEntry", "ConfigSource",
    "Connection", "Consumer", "ConsumerGroupMetadata", "ConsumerRecord", "IllegalStateError",
    "KafkaConnectionError", "NewTopic", "OffsetAndMetadata", "Producer", "RecordMetadata",
    "RequestTimedOut", "SyncAdmin", "SyncConsumer", "SyncProducer", "TransactionAbortedError",
    "TransactionState", "connect", "open_cluster",
]

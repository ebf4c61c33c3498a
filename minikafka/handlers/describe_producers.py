"""DescribeProducers (key 61): the producers a partition replica keeps state for (KIP-664).

Every replica of a partition tracks, per producer id, what idempotence and
transactions need (``storage.producer_state``): the epoch, the last sequence
number and timestamp, the coordinator epoch of its last marker, and the
first offset of its ongoing transaction (-1 if none). An operator looking
for a *hanging* transaction (one that holds the last stable offset back
because no marker will ever close it) lists them, usually from the leader
(``minikafka transactions describe-producers``; Kafka's
``kafka-transactions.sh``), then aborts the one that is stuck.

Per partition, as Kafka answers: UNKNOWN_TOPIC_OR_PARTITION when the topic or
partition does not exist; NOT_LEADER_OR_FOLLOWER when it exists but this
broker holds no replica of it; otherwise the replica's producers, from a
leader or a follower alike. ``producer_epoch`` is an int32 in this message
(an int16 everywhere else), as Kafka declares it.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 61


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    return {
        "throttle_time_ms": 0,
        "topics": [
            {"name": topic.name,
             "partitions": [_describe_one(services, topic.name, index) for index in topic.partition_indexes]}
            for topic in request.topics
        ],
    }


def _describe_one(services: BrokerServices, topic: str, index: int) -> dict:
    info = services.metadata.get(topic)
    if info is None or not 0 <= index < info.num_partitions:
        return _error(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    try:
        partition = services.partitions.partition(topic, index)
    except KafkaError:  # a partition of the cluster that has no replica here
        return _error(index, ErrorCode.NOT_LEADER_OR_FOLLOWER,
                      f"broker {services.metadata.node_id} holds no replica of {topic}-{index}")
    return {"partition_index": index, "error_code": ErrorCode.NONE, "error_message": None,
            "active_producers": [_producer_state(p) for p in partition.active_producers()]}


def _producer_state(producer) -> dict:
    """One ``ProducerState`` entry from the replica's view of a producer."""
    return {
        "producer_id": producer.producer_id,
        "producer_epoch": producer.producer_epoch,
        "last_sequence": producer.last_sequence,
        "last_timestamp": producer.last_timestamp,
        "coordinator_epoch": producer.coordinator_epoch,
        "current_txn_start_offset": producer.current_txn_start_offset,
    }


def _error(index: int, code: ErrorCode, message: str | None = None) -> dict:
    return {"partition_index": index, "error_code": code, "error_message": message,
            "active_producers": []}

"""ListOffsets (key 2): find an offset by time, or the log's first or last.

``timestamp`` in each partition is either a time in milliseconds or one of
Kafka's special values:

=====  ======================  ===========================================
  -1   LATEST                  the high watermark (the last stable offset
                               for READ_COMMITTED; see below): where a new
                               consumer with ``auto.offset.reset=latest``
                               starts
  -2   EARLIEST                the log start offset
  -3   MAX_TIMESTAMP           the record with the largest timestamp (KIP-734)
  -4   EARLIEST_LOCAL          earliest offset on local disk (KIP-405); no
                               tiered storage here, so the same as EARLIEST
  -5   LATEST_TIERED           no tiered storage: offset -1 (as Kafka)
=====  ======================  ===========================================

A follower replica (``replica_id`` >= 0) asking for LATEST gets the log end
offset instead. A ``current_leader_epoch`` other than the partition's is
FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH (KIP-320), as for Fetch.

A time ``t >= 0`` gives the first offset whose record timestamp is ``>= t``
(through the time index), or offset -1 if every record is older.

No answer goes past what the asker may fetch (Kafka's ``lastFetchableOffset``):
the high watermark for a READ_UNCOMMITTED consumer, the last stable offset for
a READ_COMMITTED one (``isolation_level`` 1, KIP-98: below it every
transaction is decided), the log end offset for a follower. LATEST is that
offset; a time or MAX_TIMESTAMP whose record lies at or beyond it gets offset
-1. Kafka 4.0 serves v1+, so the v0-only ``old_style_offsets`` array is never
filled.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices
from minikafka.replication.fetch_rules import validate_leader_epoch

API_KEY = 2

LATEST = -1
EARLIEST = -2
MAX_TIMESTAMP = -3
EARLIEST_LOCAL = -4
LATEST_TIERED = -5
READ_COMMITTED = 1
NO_TIMESTAMP = -1


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    return {
        "throttle_time_ms": 0,
        "topics": [
            {"name": topic.name,
             "partitions": [_list_one(services, request, topic.name, p) for p in topic.partitions]}
            for topic in request.topics
        ],
    }


def _list_one(services: BrokerServices, request, topic: str, requested) -> dict:
    try:
        partition = services.partitions.leader_partition(topic, requested.partition_index)
        validate_leader_epoch(partition.leader_epoch, requested.current_leader_epoch)
        timestamp, offset = _find(partition, requested.timestamp,
                                  _last_fetchable_offset(partition, request))
    except KafkaError as exc:
        return {"partition_index": requested.partition_index, "error_code": exc.code,
                "timestamp": NO_TIMESTAMP, "offset": -1, "leader_epoch": -1}
    return {"partition_index": requested.partition_index, "error_code": ErrorCode.NONE,
            "timestamp": timestamp, "offset": offset, "leader_epoch": partition.leader_epoch}


def _last_fetchable_offset(partition, request) -> int:
    """Where the asker's fetches stop: no answer goes at or beyond it."""
    if request.replica_id >= 0:
        # A follower (after OFFSET_OUT_OF_RANGE) wants the leader's log end, not the high watermark.
        return partition.log_end_offset
    if request.isolation_level == READ_COMMITTED:
        return partition.last_stable_offset
    return partition.high_watermark


def _find(partition, timestamp: int, last_fetchable: int) -> tuple[int, int]:
    """(timestamp, offset) answering one partition's query."""
    if timestamp in (EARLIEST, EARLIEST_LOCAL):
        return NO_TIMESTAMP, partition.log_start_offset
    if timestamp == LATEST:
        return NO_TIMESTAMP, last_fetchable
    if timestamp == MAX_TIMESTAMP:
        found = partition.log.max_timestamp_and_offset()
        if found is None or found[1] < 0 or found[1] >= last_fetchable:
            return NO_TIMESTAMP, -1
        return found
    if timestamp < 0:  # LATEST_TIERED and anything newer: no tiered storage
        return NO_TIMESTAMP, -1
    found = partition.log.offset_for_timestamp(timestamp)
    if found is None or found[0] >= last_fetchable:
        return NO_TIMESTAMP, -1
    offset, record_timestamp = found
    return record_timestamp, offset

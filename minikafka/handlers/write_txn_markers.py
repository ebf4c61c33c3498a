"""WriteTxnMarkers (key 27): write a transaction's COMMIT or ABORT marker to partitions.

The transaction coordinator sends it, after EndTxn, to the leader of every
partition in the transaction (its marker channel; an admin's abort of a
hanging transaction sends it too). Each marker names a producer id and
epoch, the outcome (``transaction_result``: true = COMMIT) and the
coordinator's epoch, and the partitions to write it to. This broker:

- for an ordinary partition, appends a control batch holding one control
  record (``Partition.append_txn_marker``) and, as Kafka appends markers
  with acks=all, answers once the in-sync replicas have it (or after
  ``request.timeout.ms``: REQUEST_TIMED_OUT; the coordinator retries). The
  marker ends the producer's transaction in the partition: its records
  become readable by READ_COMMITTED consumers (committed) or are listed as
  aborted, and the last stable offset moves on once the marker is below the
  high watermark;
- for a ``__consumer_offsets`` partition, hands the marker to the group
  coordinator (``GroupCoordinatorService.complete_transaction``), which
  writes it and makes the transaction's pending offsets visible (commit) or
  drops them (abort). Its "not ready" errors (COORDINATOR_NOT_AVAILABLE,
  COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR) become
  NOT_LEADER_OR_FOLLOWER, which the transaction coordinator retries after a
  metadata refresh, as Kafka does.

Per partition errors, as Kafka: UNKNOWN_TOPIC_OR_PARTITION (no replica
here, ``__consumer_offsets`` included), NOT_LEADER_OR_FOLLOWER, INVALID_PRODUCER_EPOCH (the marker's epoch is
older than the producer's), TRANSACTION_COORDINATOR_FENCED (the marker comes
from a coordinator older than the last one that wrote here),
NOT_ENOUGH_REPLICAS(_AFTER_APPEND), REQUEST_TIMED_OUT.

The response has one entry per producer id (Kafka answers with a map keyed by
producer id, so two markers of one producer share an entry).
"""

from __future__ import annotations

import logging

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 27
GROUP_METADATA_TOPIC = "__consumer_offsets"
# What the group coordinator answers while it cannot take the marker yet, which
# the transaction coordinator does not expect: it retries NOT_LEADER_OR_FOLLOWER.
_GROUP_COORDINATOR_NOT_READY = frozenset({
    ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    ErrorCode.NOT_COORDINATOR,
})

log = logging.getLogger("minikafka.handlers.write_txn_markers")


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    timeout_ms = services.config["request.timeout.ms"]  # how long a marker waits for the ISR
    deadline_ms = services.clock.monotonic_ms() + timeout_ms
    errors: dict[int, dict[tuple[str, int], ErrorCode]] = {}  # producer id -> partition -> error
    waiting = []  # (producer id, (topic, index), partition, required offset): acks=all
    for marker in request.markers:
        results = errors.setdefault(marker.producer_id, {})
        for topic in marker.topics:
            for index in topic.partition_indexes:
                key = (topic.name, index)
                if topic.name == GROUP_METADATA_TOPIC:
                    results[key] = await _complete_offsets_transaction(services, marker, index)
                    continue
                results[key], partition, required_offset = _append_marker(services, marker, key)
                if partition is not None:
                    waiting.append((results, key, partition, required_offset))
    for results, key, partition, required_offset in waiting:
        results[key] = await services.partitions.wait_for_isr(partition, required_offset, deadline_ms)
    return {"markers": [_marker_result(producer_id, results) for producer_id, results in errors.items()]}


def _append_marker(services: BrokerServices, marker, key: tuple[str, int]) -> tuple[ErrorCode, object, int]:
    """Append the marker to one ordinary partition this broker leads.

    Returns:
        ``(error, partition, required_offset)``; on success the partition and
        the offset the in-sync replicas must reach, else None and -1.
    """
    topic, index = key
    try:
        partition = services.partitions.leader_partition(topic, index)
        result = partition.append_txn_marker(
            producer_id=marker.producer_id, producer_epoch=marker.producer_epoch,
            coordinator_epoch=marker.coordinator_epoch, commit=marker.transaction_result,
            now_ms=services.clock.now_ms())
    except KafkaError as exc:
        _log_refused(marker, key, exc.code, exc.message)
        return exc.code, None, -1
    return ErrorCode.NONE, partition, result.last_offset + 1


async def _complete_offsets_transaction(services: BrokerServices, marker, index: int) -> ErrorCode:
    """Hand the marker for ``__consumer_offsets``-``index`` to the group coordinator."""
    try:
        services.partitions.partition(GROUP_METADATA_TOPIC, index)  # hosted here at all?
        error = await services.group_coordinator.complete_transaction(
            index, marker.producer_id, marker.producer_epoch, marker.coordinator_epoch,
            marker.transaction_result)
    except KafkaError as exc:
        error = exc.code
    error = ErrorCode(error)
    if error in _GROUP_COORDINATOR_NOT_READY:
        error = ErrorCode.NOT_LEADER_OR_FOLLOWER
    if error != ErrorCode.NONE:
        _log_refused(marker, (GROUP_METADATA_TOPIC, index), error, None)
    return error


def _marker_result(producer_id: int, results: dict[tuple[str, int], ErrorCode]) -> dict:
    """One ``WritableTxnMarkerResult``: the producer's errors grouped by topic."""
    topics: dict[str, list[dict]] = {}
    for (topic, index), error in results.items():
        topics.setdefault(topic, []).append({"partition_index": index, "error_code": error})
    return {"producer_id": producer_id,
            "topics": [{"name": name, "partitions": partitions} for name, partitions in topics.items()]}


def _log_refused(marker, key: tuple[str, int], error: ErrorCode, message: str | None) -> None:
    outcome = "COMMIT" if marker.transaction_result else "ABORT"
    log.info("%s marker of producer %d (epoch %d) to %s-%d refused: %s %s", outcome, marker.producer_id,
             marker.producer_epoch, key[0], key[1], ErrorCode(error).name, message or "")

"""Produce (key 0): append the producer's record batches to partitions.

For each partition in the request: ``Partition.append_records`` validates the
batches (sizes, CRC, timestamps, idempotence sequence numbers) and appends
them; the response carries the offset given to the first record
(``base_offset``), ``log_append_time_ms`` (-1 unless the topic uses
LogAppendTime) and the ``log_start_offset``. An error concerns only its
partition: the other partitions of the request are still appended, as in
Kafka.

``acks``:
    0: no response at all. Kafka then has no way to report an error except
    closing the connection, which makes the producer refresh its metadata;
    we do the same (by letting the ``KafkaError`` escape to the server).
    1: answered once the leader has appended.
    -1 (all): refused up front with NOT_ENOUGH_REPLICAS while the ISR is
    smaller than ``min.insync.replicas``; otherwise appended, then answered
    once the high watermark has passed the records, i.e. every ISR member
    has them (Kafka's ``DelayedProduce``). If that takes longer than the
    request's ``timeout_ms``: REQUEST_TIMED_OUT (the records stay in the
    log and may still be committed: the producer retries, and idempotence
    turns the retry into a duplicate answered with the original offsets).
    If the ISR fell below the minimum meanwhile:
    NOT_ENOUGH_REPLICAS_AFTER_APPEND; if leadership moved away:
    NOT_LEADER_OR_FOLLOWER. With a single replica the leader alone is the
    ISR, so -1 waits no longer than 1.
    Anything else: ``INVALID_REQUIRED_ACKS`` for every partition.

Transactions are not implemented yet. A produce request with a
``transactional_id`` writes to partitions no transaction coordinator has
added to a transaction; Kafka 4.0's answer for that (KIP-890 verification) is
``INVALID_TXN_STATE``, and that is what every partition gets here.

Errors with details (v8+, KIP-467): ``error_message`` holds the reason and
``record_errors`` the index of the offending record when known.
"""

from __future__ import annotations

import logging

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices
from minikafka_core.batch import InvalidBatchError

API_KEY = 0
ACKS_ALL = -1
VALID_ACKS = (ACKS_ALL, 0, 1)
FIRST_VERSION_WITH_ZSTD = 7  # KIP-110

log = logging.getLogger("minikafka.handlers.produce")


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict | None:
    now_ms = services.clock.now_ms()
    responses = []
    failed = []
    waiting = []  # acks=all: (partition, required_offset, result) until the ISR has them
    for topic in request.topic_data:
        partitions = []
        for data in topic.partition_data:
            result, partition, required_offset = _produce_one(services, request, ctx, topic.name, data, now_ms)
            if result["error_code"] != ErrorCode.NONE:
                failed.append((topic.name, data.index, result))
            elif request.acks == ACKS_ALL:
                waiting.append((partition, required_offset, result))
            partitions.append(result)
        responses.append({"name": topic.name, "partition_responses": partitions})
    await _wait_for_isr(services, waiting, request.timeout_ms)
    if request.acks == 0:
        if failed:
            topic, index, result = failed[0]
            raise KafkaError(ErrorCode(result["error_code"]),
                             f"acks=0 produce to {topic}-{index} failed; closing the connection")
        return None
    return {"responses": responses, "throttle_time_ms": 0}


def _produce_one(services: BrokerServices, request, ctx, topic: str, data, now_ms: int) -> tuple[dict, object, int]:
    """Append one partition's records.

    Returns:
        ``(PartitionProduceResponse, partition, required_offset)``; the last
        two say what an acks=all answer waits for (None, -1 on error).
    """
    if request.acks not in VALID_ACKS:
        return _error(data.index, ErrorCode.INVALID_REQUIRED_ACKS), None, -1
    if request.transactional_id is not None:
        return _error(data.index, ErrorCode.INVALID_TXN_STATE,
                      "transactions are not supported by this broker yet"), None, -1
    if data.records is None or len(data.records) == 0:
        return _error(data.index, ErrorCode.INVALID_RECORD, "no record batch"), None, -1
    try:
        partition = services.partitions.leader_partition(topic, data.index)
        result = partition.append_records(
            data.records, now_ms, single_batch=True, required_acks=request.acks,
            allow_zstd=ctx.api_version >= FIRST_VERSION_WITH_ZSTD)
    except KafkaError as exc:
        return _error(data.index, exc.code, exc.message), None, -1
    except InvalidBatchError as exc:
        return _error(data.index, exc.code, getattr(exc, "reason", str(exc)),
                      getattr(exc, "record_index", None)), None, -1
    response = {
        "index": data.index,
        "error_code": ErrorCode.NONE,
        "base_offset": result.base_offset,
        "log_append_time_ms": result.log_append_time_ms,
        "log_start_offset": result.log_start_offset,
        "record_errors": [],
        "error_message": None,
    }
    return response, partition, result.last_offset + 1


async def _wait_for_isr(services: BrokerServices, waiting: list, timeout_ms: int) -> None:
    """Hold acks=all answers until the ISR has the records, or the request times out.

    Partitions are waited for one after the other against one deadline,
    which takes as long as waiting for all at once.
    """
    deadline_ms = services.clock.monotonic_ms() + max(0, timeout_ms)
    for partition, required_offset, result in waiting:
        error = await services.partitions.wait_for_isr(partition, required_offset, deadline_ms)
        if error != ErrorCode.NONE:
            log.info("acks=all produce to %s-%d up to %d: %s", partition.topic, partition.index,
                     required_offset, ErrorCode(error).name)
            result["error_code"] = error
            result["error_message"] = f"the in-sync replicas did not confirm offset {required_offset - 1}"


def _error(index: int, code: ErrorCode, message: str | None = None,
           record_index: int | None = None) -> dict:
    if code not in (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.NOT_LEADER_OR_FOLLOWER):
        log.info("produce to partition %d failed: %s %s", index, ErrorCode(code).name, message or "")
    record_errors = []
    if record_index is not None:
        record_errors.append({"batch_index": record_index, "batch_index_error_message": message})
    return {
        "index": index,
        "error_code": code,
        "base_offset": -1,
        "log_append_time_ms": -1,
        "log_start_offset": -1,
        "record_errors": record_errors,
        "error_message": message,
    }

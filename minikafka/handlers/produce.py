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

Transactions (KIP-98, with KIP-890 part 1 verification):
    A transactional batch (the transactional bit of its attributes set)
    must come with the request's ``transactional_id``; without one, every
    partition gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as Kafka answers
    (it checks the id's WRITE permission first). All transactional batches
    of a request must share one producer id and epoch, else every partition
    gets INVALID_PRODUCER_ID_MAPPING.

    Before appending, the leader makes sure the producer really added the
    partition to its transaction (``transaction.partition.verification.enable``,
    true by default). A hanging transaction would otherwise be possible: a
    batch that arrives late, after its transaction ended, would open a new
    one that no coordinator knows about, and hold the last stable offset
    back for ever. For each partition whose producer has no ongoing
    transaction here, ``Partition.maybe_start_verification`` hands out a
    *verification guard*; one ``TransactionVerifier.verify`` call per request
    asks the coordinator (AddPartitionsToTxn v4+ ``verify_only``) about all
    those partitions; a partition that passed is appended with its guard,
    which the log accepts only if nothing (a marker, a newer epoch) cleared
    it meanwhile. A partition where the producer's transaction is already
    ongoing needs no question. A broker without a verifier (handler tests)
    skips the question, as Kafka without its ``AddPartitionsToTxnManager``.

    The coordinator's answers become errors the producer knows how to handle
    (Kafka's ``ReplicaManager`` and ``AddPartitionsToTxnManager``):

    ==============================================  ===============================
    coordinator says                                producer gets
    ==============================================  ===============================
    INVALID_TXN_STATE (partition not added)         INVALID_TXN_STATE
    PRODUCER_FENCED                                 INVALID_PRODUCER_EPOCH
    TRANSACTION_ABORTABLE                           itself from Produce v11, else
                                                    INVALID_TXN_STATE
    CONCURRENT_TRANSACTIONS, NETWORK_EXCEPTION,     NOT_ENOUGH_REPLICAS (retriable,
    COORDINATOR_LOAD_IN_PROGRESS,                   and it does not make the
    COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR      producer refresh its metadata)
    anything else                                   itself
    ==============================================  ===============================

Produce quota (``producer_byte_rate``, KIP-13): once answered, the request's
size is charged to the client (``record_produce_quota``); the throttle goes
to ``ctx.throttle_time_ms`` and the server puts it in the response and
mutes the connection (acks=0 included, which has no response).

Metrics: each partition is recorded in ``services.topic_stats``
(``BrokerTopicMetrics``: requests, bytes and records in, failures) when the
broker has them; one call per partition, on meters made once per topic.

Errors with details (v8+, KIP-467): ``error_message`` holds the reason and
``record_errors`` the index of the offending record when known.

Schema validation (Confluent Server's ``confluent.value.schema.validation``
and ``confluent.key.schema.validation``): when a topic of the request has it
on, ``schema_validation.refuse_invalid`` checks those partitions' records
against the schema registry before the per-partition loop, as the KIP-890
verification above (the lookups may wait; the appends must not). A batch
that fails is refused whole with INVALID_RECORD and its ``record_errors``,
and never reaches the log. While no topic validates, it costs one test of
``services.validated_topics`` per request.
"""

from __future__ import annotations

import dataclasses
import logging

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext, schema_validation
from minikafka.handlers.services import BrokerServices
from minikafka_core.batch import read_batch_header
from minikafka_core.records import HEADER_SIZE, InvalidBatchError

API_KEY = 0
ACKS_ALL = -1
VALID_ACKS = (ACKS_ALL, 0, 1)
FIRST_VERSION_WITH_ZSTD = 7  # KIP-110
# Produce v11+ clients handle TRANSACTION_ABORTABLE (KIP-890); older ones get INVALID_TXN_STATE.
FIRST_VERSION_WITH_TRANSACTION_ABORTABLE = 11
VERIFICATION_ENABLE = "transaction.partition.verification.enable"

# Coordinator errors that only mean "not verified yet": the producer retries on NOT_ENOUGH_REPLICAS.
_RETRIABLE_VERIFICATION_ERRORS = frozenset({
    ErrorCode.CONCURRENT_TRANSACTIONS, ErrorCode.NETWORK_EXCEPTION,
    ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_COORDINATOR,
})

log = logging.getLogger("minikafka.handlers.produce")


@dataclasses.dataclass
class _TransactionalWrite:
    """The transactional producer of a request and the partitions it writes batches to."""

    producer_id: int
    producer_epoch: int
    partitions: list[tuple[str, int]]


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict | None:
    write, request_error = _transactional_write(request)
    if request_error is not None:
        record_produce_quota(services, ctx)
        return _answer_every_partition(request, request_error)
    refused, guards = await _verify(services, request, ctx, write)
    if services.validated_topics:  # broker-side schema validation; nothing to do while no topic asks for it
        await schema_validation.refuse_invalid(services, request, refused)
    now_ms = services.clock.now_ms()  # after the verification, which may have waited
    responses = []
    failed = []
    waiting = []  # acks=all: (partition, required_offset, result) until the ISR has them
    stats = services.topic_stats
    for topic in request.topic_data:
        partitions = []
        for data in topic.partition_data:
            key = (topic.name, data.index)
            if key in refused:
                result, partition, required_offset = _error(data.index, *refused[key]), None, -1
            else:
                result, partition, required_offset = _produce_one(
                    services, request, ctx, topic.name, data, now_ms, guards.get(key))
            if stats is not None:
                _record_partition(stats, topic.name, data, result, required_offset)
            if result["error_code"] != ErrorCode.NONE:
                failed.append((topic.name, data.index, result))
            elif request.acks == ACKS_ALL:
                waiting.append((partition, required_offset, result))
            partitions.append(result)
        responses.append({"name": topic.name, "partition_responses": partitions})
    await _wait_for_isr(services, waiting, request.timeout_ms)
    record_produce_quota(services, ctx)
    if request.acks == 0:
        if failed:
            topic, index, result = failed[0]
            raise KafkaError(ErrorCode(result["error_code"]),
                             f"acks=0 produce to {topic}-{index} failed; closing the connection")
        return None
    return {"responses": responses, "throttle_time_ms": 0}


def _record_partition(stats, topic: str, data, result: dict, end_offset: int) -> None:
    """Record one partition's append (or failure) in the ``BrokerTopicMetrics``."""
    if result["error_code"] == ErrorCode.NONE:
        stats.produced(topic, len(data.records), end_offset - result["base_offset"])
    else:
        stats.produce_failed(topic, result["error_code"])


def record_produce_quota(services: BrokerServices, ctx: RequestContext) -> None:
    """Charge the request's size to the client's produce quota (``producer_byte_rate``).

    As Kafka, once the request is done (appended, and for acks=all
    replicated): the whole request's size is recorded, whatever was
    appended, and the throttle that brings the client back under its quota
    goes to ``ctx.throttle_time_ms`` for the server to apply (KIP-219).
    Nothing happens while no produce quota is configured anywhere.
    """
    quotas = services.quotas
    if quotas is None or not quotas.produce.enabled:
        return
    throttle_ms = quotas.produce.record_and_get_throttle_ms(
        ctx.quota_user, ctx.quota_client_id, ctx.request_size, int(services.clock.monotonic_ms()))
    ctx.throttle_time_ms = max(ctx.throttle_time_ms, throttle_ms)


def _produce_one(services: BrokerServices, request, ctx, topic: str, data, now_ms: int,
                 verification_guard=None) -> tuple[dict, object, int]:
    """Append one partition's records.

    Returns:
        ``(PartitionProduceResponse, partition, required_offset)``; the last
        two say what an acks=all answer waits for (None, -1 on error).
    """
    if request.acks not in VALID_ACKS:
        return _error(data.index, ErrorCode.INVALID_REQUIRED_ACKS), None, -1
    if data.records is None or len(data.records) == 0:
        return _error(data.index, ErrorCode.INVALID_RECORD, "no record batch"), None, -1
    try:
        partition = services.partitions.leader_partition(topic, data.index)
        result = partition.append_records(
            data.records, now_ms, single_batch=True, required_acks=request.acks,
            allow_zstd=ctx.api_version >= FIRST_VERSION_WITH_ZSTD, verification_guard=verification_guard)
    except KafkaError as exc:
        return _error(data.index, exc.code, exc.message), None, -1
    except InvalidBatchError as exc:  # the core's error: a bare Kafka error code and a reason
        return _error(data.index, ErrorCode(exc.code), exc.reason), None, -1
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


# -- transactions ------------------------------------------------------------------------


def _transactional_write(request) -> tuple[_TransactionalWrite | None, tuple | None]:
    """Find the request's transactional batches (Kafka's ``hasTransactionalRecords``).

    Returns:
        ``(write, None)``: ``write`` is None when no batch is transactional;
        ``(None, (code, message))``: the error every partition gets.
    """
    write = None
    for topic in request.topic_data:
        for data in topic.partition_data:
            producer = _transactional_producer_of(data.records)
            if producer is None:
                continue
            if request.transactional_id is None:
                return None, (ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                              "transactional records need a transactional id")
            if write is None:
                write = _TransactionalWrite(*producer, partitions=[])
            elif (write.producer_id, write.producer_epoch) != producer:
                return None, (ErrorCode.INVALID_PRODUCER_ID_MAPPING,
                              "transactional records contained more than one producer id and epoch")
            write.partitions.append((topic.name, data.index))
    return write, None


def _transactional_producer_of(records) -> tuple[int, int] | None:
    """``(producer_id, producer_epoch)`` from the header of a transactional batch, else None.

    Produce v3+ carries one batch per partition, so its header is the
    first ``HEADER_SIZE`` bytes; anything malformed is left to the append.
    """
    if records is None or len(records) < HEADER_SIZE:
        return None
    header = read_batch_header(records, 0)
    return (header.producer_id, header.producer_epoch) if header.is_transactional else None


async def _verify(services: BrokerServices, request, ctx, write: _TransactionalWrite | None
                  ) -> tuple[dict, dict]:
    """Verify, with the coordinator, the partitions that start a transaction here (KIP-890).

    Returns:
        ``(refused, guards)``: ``{(topic, index): (code, message)}`` for the
        partitions that must not be appended; ``{(topic, index): guard}`` for
        the ones to append with a verification guard.
    """
    if (write is None or request.acks not in VALID_ACKS or services.transaction_verifier is None
            or not services.config.get(VERIFICATION_ENABLE, True)):
        return {}, {}
    refused, guards = {}, {}
    for topic, index in write.partitions:
        try:
            partition = services.partitions.leader_partition(topic, index)
            guard = partition.maybe_start_verification(write.producer_id, write.producer_epoch,
                                                       services.clock.now_ms())
        except KafkaError as exc:
            refused[(topic, index)] = (exc.code, exc.message)
            continue
        if guard is not None:  # None: the producer's transaction is already ongoing here
            guards[(topic, index)] = guard
    if guards:
        answers = await services.transaction_verifier.verify(
            request.transactional_id, write.producer_id, write.producer_epoch, list(guards))
        for key in guards:
            code = ErrorCode(answers.get(key, ErrorCode.NONE))
            if code != ErrorCode.NONE:
                refused[key] = verification_error(code, ctx.api_version)
    return refused, guards


def verification_error(code: ErrorCode, api_version: int) -> tuple[ErrorCode, str | None]:
    """The produce error (and message) for a coordinator's answer to a verification.

    See the table in the module docstring.
    """
    if code == ErrorCode.PRODUCER_FENCED:
        return ErrorCode.INVALID_PRODUCER_EPOCH, None
    if code == ErrorCode.TRANSACTION_ABORTABLE and api_version < FIRST_VERSION_WITH_TRANSACTION_ABORTABLE:
        code = ErrorCode.INVALID_TXN_STATE
    if code == ErrorCode.INVALID_TXN_STATE:
        return code, "Partition was not added to the transaction"
    if code in _RETRIABLE_VERIFICATION_ERRORS:
        return (ErrorCode.NOT_ENOUGH_REPLICAS, "Unable to verify the partition has been added to "
                f"the transaction. Underlying error: {code.name}")
    return code, None


def _answer_every_partition(request, error: tuple) -> dict | None:
    """Kafka's answer to a request refused as a whole: its error in every partition."""
    code, message = error
    if request.acks == 0:
        raise KafkaError(code, f"{message}; closing the connection")
    return {"throttle_time_ms": 0, "responses": [
        {"name": topic.name,
         "partition_responses": [_error(data.index, code, message) for data in topic.partition_data]}
        for topic in request.topic_data]}


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


def _error(index: int, code: ErrorCode, message: str | None = None, record_errors: list | None = None) -> dict:
    """A failed partition's answer; ``record_errors`` (KIP-467) names the culprit records of its batch."""
    if code not in (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.NOT_LEADER_OR_FOLLOWER):
        log.info("produce to partition %d failed: %s %s", index, ErrorCode(code).name, message or "")
    return {
        "index": index,
        "error_code": code,
        "base_offset": -1,
        "log_append_time_ms": -1,
        "log_start_offset": -1,
        "record_errors": record_errors or [],
        "error_message": message,
    }

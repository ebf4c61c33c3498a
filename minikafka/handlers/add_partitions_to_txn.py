"""AddPartitionsToTxn (key 24): put partitions into a producer's transaction.

Two callers, two shapes of the same request:

- **A producer (v0-v3)**, before its first batch to a partition in a
  transaction: one transactional id, its producer id and epoch, and the
  partitions (``v3_and_below_*`` fields). The coordinator records them (an
  Ongoing record in ``__transaction_state``) and answers once that record
  is replicated: from then on a commit or abort puts a marker in each.
  Answer: ``results_by_topic_v3_and_below``, one error per partition.
- **A partition leader (v4+)**, batched: several transactions, each with a
  ``verify_only`` flag. ``verify_only`` is KIP-890's question (is this
  partition already in the producer's ongoing transaction?), asked before a
  leader appends the first transactional batch of a producer there; it
  writes nothing. Answer: a top-level ``error_code`` and
  ``results_by_transaction``.

As in Kafka, a request that names a partition the cluster does not have
changes nothing: those partitions get UNKNOWN_TOPIC_OR_PARTITION and the
others OPERATION_NOT_ATTEMPTED. Errors of the coordinator itself
(NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, ...) go to every partition.
Clients older than v2 do not know PRODUCER_FENCED and get
INVALID_PRODUCER_EPOCH instead.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode, KafkaError, as_understood_by
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 24
FIRST_VERSION_WITH_FENCED = 2

TopicPartition = tuple[str, int]


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    if ctx.api_version < 4:
        errors = await _add(services, request.v3_and_below_transactional_id,
                            request.v3_and_below_producer_id, request.v3_and_below_producer_epoch,
                            _partitions(request.v3_and_below_topics), verify_only=False)
        errors = {tp: as_understood_by(code, ctx.api_version, FIRST_VERSION_WITH_FENCED)
                  for tp, code in errors.items()}
        return {"throttle_time_ms": 0, "results_by_topic_v3_and_below": _topic_results(errors)}
    results = []
    for transaction in request.transactions:
        errors = await _add(services, transaction.transactional_id, transaction.producer_id,
                            transaction.producer_epoch, _partitions(transaction.topics),
                            verify_only=transaction.verify_only)
        results.append({"transactional_id": transaction.transactional_id,
                        "topic_results": _topic_results(errors)})
    return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "results_by_transaction": results}


async def _add(services: BrokerServices, transactional_id: str, producer_id: int, producer_epoch: int,
               partitions: list[TopicPartition], *, verify_only: bool) -> dict[TopicPartition, ErrorCode]:
    """One transaction's partitions: added (or only checked), one error each."""
    unknown = [tp for tp in partitions if not _exists(services, tp)]
    if unknown:
        return {tp: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION if tp in unknown else ErrorCode.OPERATION_NOT_ATTEMPTED
                for tp in partitions}
    transactions = services.transactions
    if verify_only:
        errors = transactions.verify_partitions(transactional_id, producer_id, producer_epoch, partitions)
        return {tp: errors[tp] for tp in partitions}
    try:
        errors = await transactions.execute(transactional_id, lambda coordinator, now_ms: coordinator.add_partitions(
            transactional_id, producer_id, producer_epoch, partitions, now_ms))
    except KafkaError as exc:
        return dict.fromkeys(partitions, exc.code)
    return {tp: errors[tp] for tp in partitions}  # in request order


def _exists(services: BrokerServices, partition: TopicPartition) -> bool:
    topic = services.metadata.get(partition[0])
    return topic is not None and 0 <= partition[1] < topic.num_partitions


def _partitions(topics) -> list[TopicPartition]:
    """The request's topics as ``(topic, index)`` pairs, in request order, without repeats."""
    return list(dict.fromkeys((topic.name, index) for topic in topics for index in topic.partitions))


def _topic_results(errors: dict[TopicPartition, ErrorCode]) -> list[dict]:
    by_topic: dict[str, list[dict]] = {}
    for (topic, index), code in errors.items():
        by_topic.setdefault(topic, []).append({"partition_index": index, "partition_error_code": code})
    return [{"name": name, "results_by_partition": results} for name, results in by_topic.items()]


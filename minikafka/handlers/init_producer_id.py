"""InitProducerId (key 22): give a producer its id and epoch.

An idempotent producer (``enable.idempotence``, the default in current
clients) asks once for a ``producer_id`` and ``producer_epoch``, then numbers
its batches per partition so that the broker can drop retried duplicates
(``storage/producer_state.py``).

Without a ``transactional_id`` Kafka 4.0 answers every request with a fresh
producer id and epoch 0, even when the request (v3+) names the producer's
current id and epoch: the client bumps its own epoch after an error
(KIP-360). We do the same (``ProducerIdManager.init_producer_id``). The id
comes from a block the active controller allocated to this broker, so it is
unique in the cluster; while no block is available the answer is
COORDINATOR_LOAD_IN_PROGRESS, which clients retry (as Kafka does).

With a ``transactional_id`` the request goes to the transactional id's
coordinator (``services.transactions``): the id keeps its producer id across
sessions and each InitProducerId bumps the epoch, fencing older instances of
the producer; an ongoing transaction of the previous instance is aborted
first (the answer is then CONCURRENT_TRANSACTIONS, and the client retries).
Kafka's request checks come first: an empty transactional id, or a
``producer_id`` without ``producer_epoch`` (or the reverse), is
INVALID_REQUEST. Clients older than v4 do not know PRODUCER_FENCED and get
INVALID_PRODUCER_EPOCH instead, as Kafka answers them.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode, KafkaError, as_understood_by
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 22
FIRST_VERSION_WITH_FENCED = 4

NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    if (request.producer_id == NO_PRODUCER_ID) != (request.producer_epoch == NO_PRODUCER_EPOCH):
        return _error(ErrorCode.INVALID_REQUEST)
    if request.transactional_id is not None:
        return await _init_transactional(services, request, ctx)
    try:
        producer = await services.producer_ids.init_producer_id(request.producer_id, request.producer_epoch)
    except KafkaError as exc:
        return _error(exc.code)
    return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE,
            "producer_id": producer.producer_id, "producer_epoch": producer.producer_epoch}


async def _init_transactional(services: BrokerServices, request, ctx: RequestContext) -> dict:
    if not request.transactional_id:
        return _error(ErrorCode.INVALID_REQUEST)
    try:
        response = await services.transactions.init_producer_id(
            request.transactional_id, request.transaction_timeout_ms,
            request.producer_id, request.producer_epoch)
    except KafkaError as exc:
        return _error(as_understood_by(exc.code, ctx.api_version, FIRST_VERSION_WITH_FENCED))
    code = as_understood_by(ErrorCode(response["error_code"]), ctx.api_version, FIRST_VERSION_WITH_FENCED)
    if code != ErrorCode.NONE:
        return _error(code)
    return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE,
            "producer_id": response["producer_id"], "producer_epoch": response["producer_epoch"]}


def _error(code: ErrorCode) -> dict:
    return {"throttle_time_ms": 0, "error_code": code, "producer_id": -1, "producer_epoch": -1}

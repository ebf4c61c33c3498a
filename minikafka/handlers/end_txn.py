"""EndTxn (key 26): commit or abort the producer's ongoing transaction.

The coordinator writes PrepareCommit (or PrepareAbort) to
``__transaction_state`` and answers once that record is replicated: the
decision is then durable. The COMMIT (or ABORT) markers go to the
transaction's partitions afterwards, in the background
(``coordinator/transaction/markers.py``); when all are written the
coordinator records CompleteCommit (or CompleteAbort). Until then a new
transaction of the same producer is answered CONCURRENT_TRANSACTIONS, which
clients retry. This is transaction version 1: the epoch is not bumped at
each commit; the v5 ``producer_id``/``producer_epoch`` fields carry the
producer's unchanged id and epoch (-1 with an error).

A retried EndTxn whose transaction already completed the same way is
answered NONE. Clients older than v2 do not know PRODUCER_FENCED and get
INVALID_PRODUCER_EPOCH instead.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode, KafkaError, as_understood_by
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 26
FIRST_VERSION_WITH_FENCED = 2


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    try:
        response = await services.transactions.execute(
            request.transactional_id, lambda coordinator, now_ms: coordinator.end_txn(
                request.transactional_id, request.producer_id, request.producer_epoch,
                request.committed, now_ms))
    except KafkaError as exc:
        response = {"error_code": exc.code, "producer_id": -1, "producer_epoch": -1}
    code = as_understood_by(ErrorCode(response["error_code"]), ctx.api_version, FIRST_VERSION_WITH_FENCED)
    return {"throttle_time_ms": 0, "error_code": code, "producer_id": response["producer_id"],
            "producer_epoch": response["producer_epoch"]}

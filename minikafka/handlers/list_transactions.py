"""ListTransactions (key 66): the transactional ids this broker coordinates.

An admin client sends it to every broker and merges the answers. Filters
(all optional): states (Kafka's names, ``Ongoing``, ...), producer ids, and
(v1+) ``duration_filter``: only transactions running longer than that many
milliseconds. State names the coordinator does not know are listed back in
``unknown_state_filters``. While one of this broker's ``__transaction_state``
partitions is loading the answer is COORDINATOR_LOAD_IN_PROGRESS, as Kafka's.
"""

from __future__ import annotations

from minikafka.coordinator.transaction.state import TransactionState
from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 66

NO_DURATION_FILTER = -1


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    known = {state.kafka_name for state in TransactionState}
    unknown = [name for name in request.state_filters if name not in known]
    duration_filter_ms = request.duration_filter if ctx.api_version >= 1 else NO_DURATION_FILTER
    try:
        states = services.transactions.list_transactions(
            [name for name in request.state_filters if name in known],
            list(request.producer_id_filters), duration_filter_ms)
    except KafkaError as exc:
        return {"throttle_time_ms": 0, "error_code": exc.code, "unknown_state_filters": unknown,
                "transaction_states": []}
    if unknown and not [name for name in request.state_filters if name in known]:
        states = []  # only unknown states asked for: nothing can match
    return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "unknown_state_filters": unknown,
            "transaction_states": states}

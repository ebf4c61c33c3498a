"""ListTransactions (key 66): the transactional ids this broker coordinates.

An admin client sends it to every broker and merges the answers. Filters
(all optional): states (Kafka's names, ``Ongoing``, ...), producer ids, and
(v1+) ``duration_filter``: only transactions running longer than that many
milliseconds. State names the coordinator does not know are listed back in
``unknown_state_filters``. While one of this broker's ``__transaction_state``
partitions is loading the answer is COORDINATOR_LOAD_IN_PROGRESS, as Kafka's.
"""

from __future__ import annotations

from minikafka.coordinator.transaction.coordinator import unknown_state_filters
from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 66

NO_DURATION_FILTER = -1


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    unknown = unknown_state_filters(request.state_filters)
    duration_filter_ms = request.duration_filter if ctx.api_version >= 1 else NO_DURATION_FILTER
    try:
        states = services.transactions.list_transactions(
            list(request.state_filters), list(request.producer_id_filters), duration_filter_ms)
    except KafkaError as exc:
        return {"throttle_time_ms": 0, "error_code": exc.code, "unknown_state_filters": unknown,
                "transaction_states": []}
    return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "unknown_state_filters": unknown,
            "transaction_states": states}

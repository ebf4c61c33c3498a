"""DescribeTransactions (key 65): the state of transactional ids this broker coordinates.

An admin client (``kafka-transactions.sh describe``) sends it to each id's
coordinator. Per id: its state (Kafka's names: ``Empty``, ``Ongoing``,
``PrepareCommit``, ...), timeout, start time, producer id and epoch, and the
partitions of its transaction. An id this broker does not coordinate gets
NOT_COORDINATOR, one whose partition is loading
COORDINATOR_LOAD_IN_PROGRESS, an unknown id TRANSACTIONAL_ID_NOT_FOUND.
"""

from __future__ import annotations

from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 65


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    states = [services.transactions.describe(transactional_id)
              for transactional_id in request.transactional_ids]
    return {"throttle_time_ms": 0, "transaction_states": states}

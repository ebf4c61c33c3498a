"""AddOffsetsToTxn (key 25): the transaction will commit a consumer group's offsets.

A consume-transform-produce application commits the offsets it consumed in
the same transaction as the records it produced
(``send_offsets_to_transaction``). First it tells the transaction
coordinator the group's ``__consumer_offsets`` partition (the one
``group_id`` hashes to) so that the commit or abort puts a marker there too;
then it sends TxnOffsetCommit to the group coordinator, which holds the
offsets as pending until that marker arrives.

For the coordinator this is AddPartitionsToTxn of one partition,
``("__consumer_offsets", partition_for(group_id))``. Clients older than v2
do not know PRODUCER_FENCED and get INVALID_PRODUCER_EPOCH instead.
"""

from __future__ import annotations

from minikafka.errors import KafkaError, as_understood_by
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 25
FIRST_VERSION_WITH_FENCED = 2


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    group_partition = services.group_coordinator.partition_for(request.group_id)
    try:
        code = await services.transactions.execute(
            request.transactional_id, lambda coordinator, now_ms: coordinator.add_offsets(
                request.transactional_id, request.producer_id, request.producer_epoch, group_partition, now_ms))
    except KafkaError as exc:
        code = exc.code
    return {"throttle_time_ms": 0, "error_code": as_understood_by(code, ctx.api_version, FIRST_VERSION_WITH_FENCED)}

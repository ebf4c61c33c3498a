"""InitProducerId (key 22): give an idempotent producer its id and epoch.

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

With a ``transactional_id`` the request belongs to a transaction coordinator,
which this broker does not have yet: ``COORDINATOR_NOT_AVAILABLE``, the error
a Kafka broker gives while its coordinator is not ready.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 22


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    if request.transactional_id is not None:
        return {"throttle_time_ms": 0, "error_code": ErrorCode.COORDINATOR_NOT_AVAILABLE,
                "producer_id": -1, "producer_epoch": -1}
    try:
        producer = await services.producer_ids.init_producer_id(request.producer_id, request.producer_epoch)
    except KafkaError as exc:
        return {"throttle_time_ms": 0, "error_code": exc.code, "producer_id": -1, "producer_epoch": -1}
    return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE,
            "producer_id": producer.producer_id, "producer_epoch": producer.producer_epoch}

"""AllocateProducerIds (key 67): a broker asks the controller for a block of producer ids (KIP-730).

Sent by another broker's ``ProducerIdManager`` through its
``ControllerChannel``. The active controller checks the broker's epoch
(STALE_BROKER_EPOCH, BROKER_ID_NOT_REGISTERED), commits a
``ProducerIdsRecord`` that moves the cluster's next free id past the block,
and only then answers ``producer_id_start`` / ``producer_id_len``; any
other node answers NOT_CONTROLLER. Kafka serves this API on the controller
listener only; minikafka, like BrokerRegistration, on every listener.
"""

from __future__ import annotations

from minikafka.handlers import RequestContext, controller_apis
from minikafka.handlers.services import BrokerServices

API_KEY = 67


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    return await controller_apis.submit(services, API_KEY, request)

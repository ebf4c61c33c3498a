"""BrokerRegistration (key 62): a broker registers with the active controller (KIP-631).

Sent by another node's :class:`~minikafka.metadata.broker_lifecycle.BrokerLifecycleManager`
(through its ``ControllerChannel``) to the node it believes leads the quorum.
This node runs the ``QuorumController.register_broker`` operation and answers
once the ``RegisterBrokerRecord`` is committed; a node that is not the active
controller answers ``NOT_CONTROLLER`` and the sender looks again. Kafka serves
this API on the controller listener only; minikafka on every listener.
"""

from __future__ import annotations

from minikafka.handlers import RequestContext, controller_apis
from minikafka.handlers.services import BrokerServices

API_KEY = 62


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    return await controller_apis.submit(services, API_KEY, request)

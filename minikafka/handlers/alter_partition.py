"""AlterPartition (key 56): a partition leader asks the controller to change its ISR.

Sent by a leader's replication code through its ``ControllerChannel``, to
the node it believes is the active controller. This node runs the
``alter_partition`` controller operation when it is the active controller
(the checks are in ``metadata/partition_control.py``: FENCED_LEADER_EPOCH,
INVALID_UPDATE_VERSION, INELIGIBLE_REPLICA, ...) and answers NOT_CONTROLLER
otherwise, so the sender looks for the leader again. Kafka serves this API
on the controller listener only; minikafka, like BrokerRegistration, on
every listener.
"""

from __future__ import annotations

from minikafka.handlers import RequestContext, controller_apis
from minikafka.handlers.services import BrokerServices

API_KEY = 56


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    return await controller_apis.submit(services, API_KEY, request)

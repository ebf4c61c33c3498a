"""ListPartitionReassignments (key 46): the partitions being moved (KIP-455).

Answered from the active controller's view (it writes no records but runs
there, as in Kafka, so the answer includes the latest reassignment even
before this broker has applied it). Each ongoing move lists ``replicas``
(target plus the replicas being removed), ``adding_replicas`` and
``removing_replicas``; finished or never-moved partitions are left out.
This handler forwards the request (``controller_apis.forward``).
"""

from __future__ import annotations

from minikafka.handlers import RequestContext, controller_apis
from minikafka.handlers.services import BrokerServices

API_KEY = 46


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    return await controller_apis.forward(services, "list_partition_reassignments", request, request.timeout_ms)

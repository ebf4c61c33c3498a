"""AlterPartitionReassignments (key 45): move partitions to other replicas (KIP-455).

Each partition names its target replica list (or null to cancel an ongoing
move). The active controller validates it (INVALID_REPLICA_ASSIGNMENT for
unknown or repeated brokers, NO_REASSIGNMENT_IN_PROGRESS for a cancel with
nothing to cancel, UNKNOWN_TOPIC_OR_PARTITION) and starts the move; the
answer comes once the move has *started*, not finished: the new replicas
still have to catch up and join the ISR (ListPartitionReassignments shows
the progress). This handler forwards the request (``controller_apis.forward``).
"""

from __future__ import annotations

from minikafka.handlers import RequestContext, controller_apis
from minikafka.handlers.services import BrokerServices

API_KEY = 45


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    return await controller_apis.forward(services, "alter_partition_reassignments", request, request.timeout_ms)

"""BeginQuorumEpoch (key 53): a newly elected leader announces its epoch (KIP-595).

A KRaft quorum RPC on ``__cluster_metadata-0``. The handler does no work of its own:
:func:`minikafka.quorum.runtime.handle_raft_request` steps the request into
this node's Raft core and returns the core's answer. Kafka serves the
quorum RPCs on the controller listener only; minikafka answers them on every
listener (a combined-mode node has one handler table).
"""

from __future__ import annotations

from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices
from minikafka.quorum.runtime import handle_raft_request

API_KEY = 53


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    return await handle_raft_request(services.quorum, API_KEY, request)

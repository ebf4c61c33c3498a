"""FindCoordinator (key 10): which broker coordinates a group (or a transaction).

A group lives in one partition of ``__consumer_offsets``, picked by Kafka's
hash of the group id (``coordinator.group_partition.partition_for``); the coordinator is
that partition's leader, so in a cluster the coordinator moves with
leadership. v0-v3 ask about one key; v4+ batch several (``coordinator_keys``)
and answer one entry per key.

Key types: 0 is a group, 1 a transactional id. Transactions have no
coordinator yet, so they are answered COORDINATOR_NOT_AVAILABLE (which a
client retries); any other key type is INVALID_REQUEST.

The first group lookup creates ``__consumer_offsets``. Kafka asks its
controller to create it and answers COORDINATOR_NOT_AVAILABLE meanwhile (the
client retries); here creation is immediate, so the first answer is already
the coordinator.
"""

from __future__ import annotations

from minikafka.coordinator.runtime import OFFSETS_TOPIC
from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 10

GROUP_KEY_TYPE = 0
TRANSACTION_KEY_TYPE = 1
NO_NODE = {"node_id": -1, "host": "", "port": -1}


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    if ctx.api_version >= 4:
        coordinators = [await _find(services, key, request.key_type) for key in request.coordinator_keys]
        return {"throttle_time_ms": 0, "coordinators": coordinators}
    found = await _find(services, request.key, request.key_type)
    del found["key"]
    return {"throttle_time_ms": 0, **found}


async def _find(services: BrokerServices, key: str, key_type: int) -> dict:
    """One coordinator entry: ``key``, the node, ``error_code`` and ``error_message``."""
    if key_type == TRANSACTION_KEY_TYPE:
        return _error(key, ErrorCode.COORDINATOR_NOT_AVAILABLE,
                      "this broker has no transaction coordinator yet")
    if key_type != GROUP_KEY_TYPE:
        return _error(key, ErrorCode.INVALID_REQUEST, f"unknown coordinator key type {key_type}")
    runtime = services.group_coordinator
    try:
        await runtime.ensure_offsets_topic()
    except KafkaError as exc:
        return _error(key, exc.code, exc.message)
    if runtime.is_coordinator_for(key):
        host, port = services.metadata.advertised_endpoint()
        return {"key": key, "node_id": services.metadata.node_id, "host": host, "port": port,
                "error_code": ErrorCode.NONE, "error_message": None}
    # In a cluster: the leader of the group's partition, wherever it is.
    leader = services.metadata.partition_leader_endpoint(OFFSETS_TOPIC, runtime.partition_for(key))
    if leader is None:
        return _error(key, ErrorCode.COORDINATOR_NOT_AVAILABLE, "no leader for the group's partition")
    node_id, host, port = leader
    return {"key": key, "node_id": node_id, "host": host, "port": port,
            "error_code": ErrorCode.NONE, "error_message": None}


def _error(key: str, code: ErrorCode, message: str | None) -> dict:
    return {"key": key, **NO_NODE, "error_code": code, "error_message": message}

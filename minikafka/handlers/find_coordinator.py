"""FindCoordinator (key 10): which broker coordinates a group (or a transaction).

A group lives in one partition of ``__consumer_offsets``, picked by Kafka's
hash of the group id (``coordinator.group_partition.partition_for``); the coordinator is
that partition's leader, so in a cluster the coordinator moves with
leadership. v0-v3 ask about one key; v4+ batch several (``coordinator_keys``)
and answer one entry per key.

Key types: 0 is a group, 1 a transactional id; any other key type is
INVALID_REQUEST. A transactional id lives in one partition of
``__transaction_state``, picked by the same hash
(``TransactionCoordinatorRuntime.partition_for``), and its coordinator is
that partition's leader. An empty transactional id is INVALID_REQUEST, as
in Kafka.

The first lookup of each kind creates its topic (``__consumer_offsets``,
``__transaction_state``). Kafka asks its controller to create it and answers
COORDINATOR_NOT_AVAILABLE meanwhile (the client retries); here creation
returns once the topic exists, so the first answer is already the
coordinator.
"""

from __future__ import annotations

from minikafka.coordinator.runtime import OFFSETS_TOPIC
from minikafka.coordinator.transaction.runtime import TRANSACTION_STATE_TOPIC
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
        return await _find_transaction_coordinator(services, key)
    if key_type != GROUP_KEY_TYPE:
        return _error(key, ErrorCode.INVALID_REQUEST, f"unknown coordinator key type {key_type}")
    runtime = services.group_coordinator
    try:
        await runtime.ensure_offsets_topic()
    except KafkaError as exc:
        return _error(key, exc.code, exc.message)
    if runtime.is_coordinator_for(key):
        return _this_broker(services, key)
    return _leader_of(services, key, OFFSETS_TOPIC, runtime.partition_for(key))


async def _find_transaction_coordinator(services: BrokerServices, key: str) -> dict:
    """The leader of the transactional id's ``__transaction_state`` partition."""
    if not key:
        return _error(key, ErrorCode.INVALID_REQUEST, "the transactional id is empty")
    runtime = services.transactions
    try:
        await runtime.ensure_transaction_topic()
    except KafkaError as exc:
        return _error(key, exc.code, exc.message)
    if runtime.is_coordinator_for(key):
        return _this_broker(services, key)
    return _leader_of(services, key, TRANSACTION_STATE_TOPIC, runtime.partition_for(key))


def _this_broker(services: BrokerServices, key: str) -> dict:
    host, port = services.metadata.advertised_endpoint()
    return {"key": key, "node_id": services.metadata.node_id, "host": host, "port": port,
            "error_code": ErrorCode.NONE, "error_message": None}


def _leader_of(services: BrokerServices, key: str, topic: str, index: int) -> dict:
    """In a cluster: the leader of the key's partition, wherever it is."""
    leader = services.metadata.partition_leader_endpoint(topic, index)
    if leader is None:
        return _error(key, ErrorCode.COORDINATOR_NOT_AVAILABLE, f"no leader for {topic}-{index}")
    node_id, host, port = leader
    return {"key": key, "node_id": node_id, "host": host, "port": port,
            "error_code": ErrorCode.NONE, "error_message": None}


def _error(key: str, code: ErrorCode, message: str | None) -> dict:
    return {"key": key, **NO_NODE, "error_code": code, "error_message": message}

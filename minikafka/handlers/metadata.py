"""Metadata (key 3): brokers, controller and the partitions of topics.

Clients ask for metadata to learn which broker leads each partition. Every
answer comes from this broker's committed metadata image (KRaft), so every
broker of a cluster answers the same way once it has applied the same log:

- ``brokers``: the registered, unfenced brokers, each with its first
  registered listener (Kafka lists only the brokers clients may use);
- ``controller_id``: the active controller (the quorum leader; Kafka 4.0
  sends a random broker here, since clients reach the controller through
  the brokers; the leader teaches more);
- per partition: ``leader_id`` and ``leader_epoch``, ``replica_nodes``,
  ``isr_nodes``, and ``offline_replicas`` (replicas whose broker is fenced or
  gone). A partition without a leader answers LEADER_NOT_AVAILABLE.

Which topics:
    ``topics`` null (v1+), or an empty array in v0, means every topic; an
    empty array in v1+ means none (the client only wants the brokers). From
    v10 a topic may be named by ``topic_id`` instead of ``name``
    (``UNKNOWN_TOPIC_ID`` if it does not exist).

Auto-creation:
    A requested topic that does not exist is created with ``num.partitions``
    when ``auto.create.topics.enable`` is true and the request allows it
    (``allow_auto_topic_creation``, v4+; earlier versions always allow). An
    invalid name answers ``INVALID_TOPIC_EXCEPTION``; without auto-creation
    the answer is ``UNKNOWN_TOPIC_OR_PARTITION``.

    Difference from Kafka: Kafka asks its controller to create the topic and
    answers ``LEADER_NOT_AVAILABLE`` with no partitions; the client retries
    and sees the topic a moment later. Creation here is immediate, so the
    topic is answered at once with ``NONE`` and its partitions.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 3

INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})
NO_TOPIC_ID = b"\x00" * 16
UNKNOWN_AUTHORIZED_OPERATIONS = -2147483648


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    leader = services.metadata.active_controller_id
    return {
        "throttle_time_ms": 0,
        "brokers": live_brokers(services.metadata.image),
        "cluster_id": services.metadata.cluster_id,
        "controller_id": -1 if leader is None else leader,
        "topics": [await _describe(services, topic, request, ctx) for topic in _requested(services, request, ctx)],
    }


def _requested(services: BrokerServices, request, ctx) -> list[tuple[str | None, bytes]]:
    """The (name, topic_id) pairs asked for; all topics when the list is null."""
    if request.topics is None or (ctx.api_version == 0 and not request.topics):
        return [(name, services.metadata.require(name).topic_id) for name in sorted(services.metadata.names())]
    return [(topic.name, topic.topic_id or NO_TOPIC_ID) for topic in request.topics]


async def _describe(services: BrokerServices, requested: tuple[str | None, bytes], request, ctx) -> dict:
    name, topic_id = requested
    if name is None:  # v10+: by topic id
        name = services.metadata.topic_name_by_id(topic_id)
        if name is None:
            return _topic_error(ErrorCode.UNKNOWN_TOPIC_ID, None, topic_id)
    info = services.metadata.get(name)
    if info is None:
        if not _may_auto_create(services, request, ctx):
            return _topic_error(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name)
        try:
            info = await services.topic_admin.auto_create_topic(name)
        except KafkaError as exc:
            if exc.code == ErrorCode.TOPIC_ALREADY_EXISTS:
                info = services.metadata.require(name)  # created meanwhile by another request
            else:
                return _topic_error(exc.code, name)
    image = services.metadata.image
    topic = image.topics[info.topic_id]
    return {
        "error_code": ErrorCode.NONE,
        "name": info.name,
        "topic_id": info.topic_id,
        "is_internal": info.name in INTERNAL_TOPICS,
        "partitions": [_partition(image, index, p) for index, p in sorted(topic.partitions.items())],
        "topic_authorized_operations": UNKNOWN_AUTHORIZED_OPERATIONS,
    }


def live_brokers(image) -> list[dict]:
    """The unfenced brokers and their first listener."""
    brokers = []
    for broker_id, registration in sorted(image.brokers.items()):
        if registration.fenced or not registration.end_points:
            continue
        endpoint = registration.end_points[0]
        brokers.append({"node_id": broker_id, "host": endpoint.host, "port": endpoint.port,
                        "rack": registration.rack})
    return brokers


def _partition(image, index: int, p) -> dict:
    has_leader = p.leader >= 0
    return {"error_code": ErrorCode.NONE if has_leader else ErrorCode.LEADER_NOT_AVAILABLE,
            "partition_index": index, "leader_id": p.leader, "leader_epoch": p.leader_epoch,
            "replica_nodes": list(p.replicas), "isr_nodes": list(p.isr),
            "offline_replicas": [b for b in p.replicas if b not in image.brokers or image.brokers[b].fenced]}


def _may_auto_create(services: BrokerServices, request, ctx) -> bool:
    allowed = request.allow_auto_topic_creation if ctx.api_version >= 4 else True
    return allowed and services.config["auto.create.topics.enable"]


def _topic_error(code: ErrorCode, name: str | None, topic_id: bytes = NO_TOPIC_ID) -> dict:
    return {"error_code": code, "name": name, "topic_id": topic_id, "partitions": []}

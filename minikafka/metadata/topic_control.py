"""Topic administration on the controller: CreateTopics, DeleteTopics, CreatePartitions.

The topic half of Kafka's ``ReplicationControlManager``. Each function takes
the :class:`~minikafka.metadata.controller.QuorumController` and a request
(decoded ``Struct`` or dict, Kafka's field names) and returns a
``ControllerResult`` whose response uses the response declaration's names.

A new topic is written as Kafka writes it::

    TopicRecord(name, topic_id)
    ConfigRecord(TOPIC, name, key, value)        one per override
    PartitionRecord(p, topic_id, replicas, isr, leader, epochs 0)   one per partition

The ISR of a new partition is its active replicas (all of them when the
controller placed them) and the leader is the first of those, so leaders
follow the placer's spread. Each topic succeeds or fails on its own: an error
for one topic writes nothing for it and does not stop the others.
"""

from __future__ import annotations

from collections import Counter

from minikafka.config import validate_topic_configs
from minikafka.errors import ErrorCode, KafkaError
from minikafka.metadata import records as r
from minikafka.metadata.image import TOPIC_RESOURCE
from minikafka.metadata.placement import check_replication_factor
from minikafka.metadata.result import ControllerResult, get_field
from minikafka.metadata.topics import validate_topic_name


def create_topics(ctl, request) -> ControllerResult:
    """CreateTopics: one result per topic (``topics`` in the response)."""
    validate_only = bool(get_field(request, "validate_only", False))
    topics = list(get_field(request, "topics", ()) or ())
    counts = Counter(get_field(t, "name") for t in topics)
    out: list = []
    results = []
    for topic in topics:
        name = get_field(topic, "name")
        result = {"name": name, "topic_id": bytes(16), "error_code": ErrorCode.NONE, "error_message": None,
                  "num_partitions": -1, "replication_factor": -1, "configs": []}
        try:
            if counts[name] > 1:
                raise KafkaError(ErrorCode.INVALID_REQUEST, "Duplicate topic name.")
            result.update(_create_topic(ctl, out, topic, validate_only))
        except KafkaError as exc:
            result.update(error_code=exc.code, error_message=exc.message)
        results.append(result)
    return ControllerResult(out, {"throttle_time_ms": 0, "topics": results})


def _create_topic(ctl, out: list, topic, validate_only: bool) -> dict:
    name = get_field(topic, "name")
    validate_topic_name(name)
    if ctl.image.topic(name) is not None:
        raise KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
    canonical = name.replace(".", "_")  # '.' and '_' collide in metric names
    for other in ctl.image.topic_ids:
        if other.replace(".", "_") == canonical:
            raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, f"Topic '{name}' collides with existing topic: {other}")
    configs = {get_field(c, "name"): get_field(c, "value") for c in get_field(topic, "configs", ()) or ()}
    validate_topic_configs(configs)
    assignments = list(get_field(topic, "assignments", ()) or ())
    if assignments:
        replica_lists = _manual_assignment(ctl, topic, assignments)
    else:
        replica_lists = _automatic_assignment(ctl, topic)
    topic_id = bytes(16)
    if not validate_only:
        topic_id = ctl.new_topic_id()
        ctl.emit(out, r.TopicRecord(name, topic_id))
        for key, value in sorted(configs.items()):
            ctl.emit(out, r.ConfigRecord(TOPIC_RESOURCE, name, key, value))
        _add_partitions(ctl, out, topic_id, 0, replica_lists)
    return {"topic_id": topic_id, "num_partitions": len(replica_lists),
            "replication_factor": len(replica_lists[0])}


def _automatic_assignment(ctl, topic) -> list[list[int]]:
    num_partitions = get_field(topic, "num_partitions", -1)
    replication_factor = get_field(topic, "replication_factor", -1)
    if num_partitions == -1:
        num_partitions = ctl.config.num_partitions
    if replication_factor == -1:
        replication_factor = ctl.config.default_replication_factor
    if num_partitions <= 0:
        raise KafkaError(ErrorCode.INVALID_PARTITIONS, "Number of partitions was set to an invalid non-positive value.")
    return ctl.placer.place(ctl.image.active_broker_ids(), num_partitions, replication_factor)


def _manual_assignment(ctl, topic, assignments) -> list[list[int]]:
    if get_field(topic, "num_partitions", -1) != -1 or get_field(topic, "replication_factor", -1) != -1:
        raise KafkaError(ErrorCode.INVALID_REQUEST, "Both numPartitions or replicationFactor and replicasAssignments "
                                                    "were set. Both cannot be used at the same time.")
    by_index = {get_field(a, "partition_index"): list(get_field(a, "broker_ids")) for a in assignments}
    if sorted(by_index) != list(range(len(by_index))):
        raise KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                         "Partitions should be a consecutive 0-based integer sequence")
    replica_lists = [by_index[p] for p in range(len(by_index))]
    for replicas in replica_lists:
        validate_replicas(ctl, replicas)
    if len({len(replicas) for replicas in replica_lists}) > 1:
        raise KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                         "All partitions in the manual partition assignment must have the same number of replicas.")
    return replica_lists


def validate_replicas(ctl, replicas: list[int]) -> None:
    """A manual replica list: non-empty, distinct, registered brokers, one active."""
    if not replicas:
        raise KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes an empty "
                                                               "replica list.")
    if len(set(replicas)) != len(replicas):
        raise KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                         f"The manual partition assignment includes a duplicate replica: {replicas}")
    for broker_id in replicas:
        if broker_id not in ctl.image.brokers:
            raise KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, f"The manual partition assignment includes "
                                                                   f"broker {broker_id}, but no such broker is registered.")
    if not any(ctl.image.is_active(b) for b in replicas):
        raise KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, f"All brokers specified in the manual partition "
                                                               f"assignment {replicas} are fenced or in controlled shutdown.")


def _add_partitions(ctl, out: list, topic_id: bytes, first_index: int, replica_lists) -> None:
    for offset, replicas in enumerate(replica_lists):
        isr = tuple(b for b in replicas if ctl.image.is_active(b))
        ctl.emit(out, r.PartitionRecord(first_index + offset, topic_id, tuple(replicas), isr, leader=isr[0]))


def delete_topics(ctl, request) -> ControllerResult:
    """DeleteTopics by name (``topic_names``, v0-5) or by name or id (``topics``, v6+)."""
    wanted = [(name, None) for name in get_field(request, "topic_names", ()) or ()]
    wanted += [(get_field(t, "name"), get_field(t, "topic_id")) for t in get_field(request, "topics", ()) or ()]
    out: list = []
    responses = []
    for name, topic_id in wanted:
        response = {"name": name, "topic_id": topic_id or bytes(16), "error_code": ErrorCode.NONE,
                    "error_message": None}
        try:
            topic = _topic_to_delete(ctl, name, topic_id)
            response.update(name=topic.name, topic_id=topic.topic_id)
            ctl.emit(out, r.RemoveTopicRecord(topic.topic_id))
        except KafkaError as exc:
            response.update(error_code=exc.code, error_message=exc.message)
        responses.append(response)
    return ControllerResult(out, {"throttle_time_ms": 0, "responses": responses})


def _topic_to_delete(ctl, name, topic_id):
    if not ctl.config.delete_topic_enable:
        raise KafkaError(ErrorCode.TOPIC_DELETION_DISABLED, "Topic deletion is disabled.")
    if topic_id and any(topic_id):
        topic = ctl.image.topics.get(bytes(topic_id))
        if topic is None:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_ID, "This server does not host this topic ID.")
        return topic
    topic = ctl.image.topic(name)
    if topic is None:
        raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition.")
    return topic


def create_partitions(ctl, request) -> ControllerResult:
    """CreatePartitions: grow topics to ``count`` partitions (``results`` in the response)."""
    validate_only = bool(get_field(request, "validate_only", False))
    out: list = []
    results = []
    for topic in get_field(request, "topics", ()) or ():
        result = {"name": get_field(topic, "name"), "error_code": ErrorCode.NONE, "error_message": None}
        try:
            _create_partitions(ctl, out, topic, validate_only)
        except KafkaError as exc:
            result.update(error_code=exc.code, error_message=exc.message)
        results.append(result)
    return ControllerResult(out, {"throttle_time_ms": 0, "results": results})


def _create_partitions(ctl, out: list, request_topic, validate_only: bool) -> None:
    name, count = get_field(request_topic, "name"), get_field(request_topic, "count")
    topic = ctl.image.topic(name)
    if topic is None:
        raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The topic '{name}' does not exist.")
    current = len(topic.partitions)
    if count < current:
        raise KafkaError(ErrorCode.INVALID_PARTITIONS, f"The topic {name} currently has {current} partition(s); "
                                                       f"{count} would not be an increase.")
    if count == current:
        raise KafkaError(ErrorCode.INVALID_PARTITIONS, f"Topic already has {current} partition(s).")
    assignments = get_field(request_topic, "assignments")
    if assignments:
        replica_lists = [list(get_field(a, "broker_ids")) for a in assignments]
        if len(replica_lists) != count - current:
            raise KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                             f"Attempted to add {count - current} additional partition(s), but only "
                             f"{len(replica_lists)} assignment(s) were specified.")
        for replicas in replica_lists:
            validate_replicas(ctl, replicas)
    else:
        replication_factor = len(topic.partitions[0].target_replicas)
        check_replication_factor(replication_factor, len(ctl.image.active_broker_ids()))
        replica_lists = ctl.placer.place(ctl.image.active_broker_ids(), count - current, replication_factor)
    if not validate_only:
        _add_partitions(ctl, out, topic.topic_id, current, replica_lists)

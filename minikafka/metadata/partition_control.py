"""Partition leadership on the controller: AlterPartition, elections, reassignments.

The partition half of Kafka's ``ReplicationControlManager``; the decisions
themselves are in :class:`~minikafka.metadata.partition_change.PartitionChangeBuilder`.

**AlterPartition** is how a leader changes its ISR (shrink after
``replica.lag.time.max.ms``, expand when a follower catches up). The request
carries the leader's ``leader_epoch`` and ``partition_epoch``; the controller
refuses it unless both match its image, because a leader that missed a
change (a newer leader was elected, or another ISR update was applied) must
not overwrite it:

- wrong leader epoch -> FENCED_LEADER_EPOCH (a new leader was elected);
- not from the leader -> INVALID_REQUEST;
- wrong partition epoch -> INVALID_UPDATE_VERSION (re-read metadata, retry);
- new ISR not within the replicas, or without the leader -> INVALID_REQUEST;
- a new ISR member fenced, shutting down or of a stale broker epoch ->
  INELIGIBLE_REPLICA (KIP-903).

**ElectLeaders** type 0 (preferred) moves leadership to the first replica if
it is in the ISR and active (ELECTION_NOT_NEEDED if it leads already,
PREFERRED_LEADER_NOT_AVAILABLE if it cannot); type 1 (unclean) elects any
active replica for a leaderless partition. **Auto leader rebalance** runs the
preferred election for brokers whose share of "preferred but not leading"
partitions exceeds ``leader.imbalance.per.broker.percentage``.

**Reassignment** (KIP-455) goes in two steps, as in Kafka: the new replicas
are *added* (``replicas`` = target + removing, ``adding_replicas`` set); when
they have all joined the ISR (through the leader's AlterPartition), the
builder *removes* the old ones. Cancelling reverts to the original replicas.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode, KafkaError
from minikafka.metadata import records as r
from minikafka.metadata.partition_change import Election
from minikafka.metadata.result import ControllerResult, get_field
from minikafka.metadata.topic_control import validate_replicas


# --- AlterPartition --------------------------------------------------------------------------


def alter_partition(ctl, request) -> ControllerResult:
    """AlterPartition from a partition leader (responses per topic and partition)."""
    broker_id = get_field(request, "broker_id")
    try:
        ctl.check_broker_epoch(broker_id, get_field(request, "broker_epoch"))
    except KafkaError as exc:
        return ControllerResult([], {"throttle_time_ms": 0, "error_code": exc.code, "topics": []})
    out: list = []
    topics = []
    for request_topic in get_field(request, "topics", ()) or ():
        topic_id, name = get_field(request_topic, "topic_id"), get_field(request_topic, "topic_name")
        topic = ctl.image.topics.get(bytes(topic_id)) if topic_id and any(topic_id) else ctl.image.topic(name)
        partitions = [_alter_one(ctl, out, broker_id, topic, p, missing_topic=ErrorCode.UNKNOWN_TOPIC_ID
                                 if topic_id and any(topic_id) else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
                      for p in get_field(request_topic, "partitions", ()) or ()]
        topics.append({"topic_name": topic.name if topic else name,
                       "topic_id": topic.topic_id if topic else bytes(topic_id or bytes(16)),
                       "partitions": partitions})
    return ControllerResult(out, {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "topics": topics})


def _alter_one(ctl, out: list, broker_id: int, topic, request_partition, missing_topic) -> dict:
    index = get_field(request_partition, "partition_index")
    try:
        if topic is None:
            raise KafkaError(missing_topic)
        partition = topic.partitions.get(index)
        if partition is None:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        new_isr = _validate_alter_partition(ctl, broker_id, partition, request_partition)
        ctl.change_partition(out, topic, index, lambda b: b.set_target_isr(new_isr))
    except KafkaError as exc:
        return {"partition_index": index, "error_code": exc.code}
    p = topic.partitions[index]
    return {"partition_index": index, "error_code": ErrorCode.NONE, "leader_id": p.leader,
            "leader_epoch": p.leader_epoch, "isr": list(p.isr), "leader_recovery_state": 0,
            "partition_epoch": p.partition_epoch}


def _validate_alter_partition(ctl, broker_id: int, partition, request_partition) -> tuple[int, ...]:
    """The requested ISR, or a KafkaError with Kafka's code (module docstring)."""
    if get_field(request_partition, "leader_epoch") != partition.leader_epoch:
        raise KafkaError(ErrorCode.FENCED_LEADER_EPOCH)
    if broker_id != partition.leader:
        raise KafkaError(ErrorCode.INVALID_REQUEST, f"Broker {broker_id} is not the leader.")
    if get_field(request_partition, "partition_epoch") != partition.partition_epoch:
        raise KafkaError(ErrorCode.INVALID_UPDATE_VERSION)
    with_epochs = get_field(request_partition, "new_isr_with_epochs") or ()
    if with_epochs:  # v3+: each member's broker epoch must be current
        new_isr = tuple(get_field(s, "broker_id") for s in with_epochs)
        for state in with_epochs:
            registration = ctl.image.brokers.get(get_field(state, "broker_id"))
            if registration is None or get_field(state, "broker_epoch", -1) not in (-1, registration.broker_epoch):
                raise KafkaError(ErrorCode.INELIGIBLE_REPLICA)
    else:
        new_isr = tuple(get_field(request_partition, "new_isr") or ())
    if broker_id not in new_isr or any(b not in partition.replicas for b in new_isr) or len(set(new_isr)) != len(new_isr):
        raise KafkaError(ErrorCode.INVALID_REQUEST, f"Invalid ISR {list(new_isr)}.")
    if any(not ctl.image.is_active(b) for b in new_isr if b not in partition.isr):
        raise KafkaError(ErrorCode.INELIGIBLE_REPLICA)
    return new_isr


# --- elections ----------------------------------------------------------------------------------


PREFERRED, UNCLEAN = 0, 1  # ElectLeaders election_type


def elect_leaders(ctl, request) -> ControllerResult:
    """ElectLeaders; ``topic_partitions`` None means every partition."""
    election_type = get_field(request, "election_type", PREFERRED)
    wanted = get_field(request, "topic_partitions")
    every = wanted is None
    if every:
        wanted = [{"topic": t.name, "partitions": sorted(t.partitions)} for t in ctl.image.topics.values()]
    out: list = []
    results = []
    for request_topic in wanted:
        name = get_field(request_topic, "topic")
        partition_results = []
        for index in get_field(request_topic, "partitions", ()) or ():
            code, message = _elect_one(ctl, out, election_type, name, index)
            if not (every and code == ErrorCode.ELECTION_NOT_NEEDED):  # Kafka lists only real work then
                partition_results.append({"partition_id": index, "error_code": code, "error_message": message})
        results.append({"topic": name, "partition_result": partition_results})
    return ControllerResult(out, {"throttle_time_ms": 0, "error_code": ErrorCode.NONE,
                                  "replica_election_results": results})


def _elect_one(ctl, out: list, election_type: int, name: str, index: int):
    topic = ctl.image.topic(name)
    if topic is None or index not in topic.partitions:
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The partition {name}-{index} does not exist."
    partition = topic.partitions[index]
    if election_type == PREFERRED:
        if partition.leader == partition.preferred_leader:
            return ErrorCode.ELECTION_NOT_NEEDED, "Leader election not needed for topic partition."
        ctl.change_partition(out, topic, index, lambda b: b.set_election(Election.PREFERRED))
        if topic.partitions[index].leader != partition.preferred_leader:
            return (ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
                    f"Failed to elect leader for partition {name}-{index} under strategy PreferredLeaderElectionStrategy")
        return ErrorCode.NONE, None
    if partition.leader != r.NO_LEADER:
        return ErrorCode.ELECTION_NOT_NEEDED, "Leader election not needed for topic partition."
    ctl.change_partition(out, topic, index, lambda b: b.set_election(Election.UNCLEAN))
    if topic.partitions[index].leader == r.NO_LEADER:
        return (ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,
                f"Failed to elect leader for partition {name}-{index} under strategy UncleanLeaderElectionStrategy")
    return ErrorCode.NONE, None


def elect_offline_partitions(ctl, out: list) -> None:
    """Give leaderless partitions a leader where the rules now allow one.

    Normally unfencing does this; this sweep also catches a topic whose
    ``unclean.leader.election.enable`` was just turned on (Kafka runs the
    same periodic task).
    """
    for topic, index, partition in list(ctl.image.all_partitions()):
        if partition.leader == r.NO_LEADER:
            ctl.change_partition(out, topic, index, lambda b: b.set_election(Election.ONLINE))


def balance_partition_leaders(ctl, out: list) -> None:
    """Auto leader rebalance: preferred elections for imbalanced brokers."""
    preferred_of: dict[int, list] = {}
    for topic, index, partition in ctl.image.all_partitions():
        preferred_of.setdefault(partition.preferred_leader, []).append((topic, index, partition))
    for broker_id, partitions in sorted(preferred_of.items()):
        not_led = [(t, i) for t, i, p in partitions if p.leader != broker_id]
        if 100 * len(not_led) <= ctl.config.leader_imbalance_per_broker_percentage * len(partitions):
            continue
        for topic, index in not_led:
            ctl.change_partition(out, topic, index, lambda b: b.set_election(Election.PREFERRED))


# --- reassignments --------------------------------------------------------------------------------


def alter_partition_reassignments(ctl, request) -> ControllerResult:
    """AlterPartitionReassignments; ``replicas`` None cancels a partition's reassignment."""
    out: list = []
    responses = []
    for request_topic in get_field(request, "topics", ()) or ():
        name = get_field(request_topic, "name")
        partitions = []
        for request_partition in get_field(request_topic, "partitions", ()) or ():
            index = get_field(request_partition, "partition_index")
            response = {"partition_index": index, "error_code": ErrorCode.NONE, "error_message": None}
            try:
                _reassign_one(ctl, out, name, index, get_field(request_partition, "replicas"))
            except KafkaError as exc:
                response.update(error_code=exc.code, error_message=exc.message)
            partitions.append(response)
        responses.append({"name": name, "partitions": partitions})
    return ControllerResult(out, {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "error_message": None,
                                  "responses": responses})


def _reassign_one(ctl, out: list, name: str, index: int, target) -> None:
    topic = ctl.image.topic(name)
    if topic is None or index not in topic.partitions:
        raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Unable to find partition {name}-{index}.")
    partition = topic.partitions[index]
    builder = ctl.builder(topic, index)
    original = tuple(b for b in partition.replicas if b not in partition.adding_replicas)
    if target is None:  # cancel: back to the original replicas
        if not partition.is_reassigning:
            raise KafkaError(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, f"No ongoing reassignment for {name}-{index}.")
        isr = tuple(b for b in partition.isr if b in original)
        if not isr:  # only new replicas were in sync: Kafka reverts uncleanly
            isr, builder.unclean_allowed = original, True
        builder.set_target_assignment(original).set_target_isr(isr)
    else:
        target = tuple(target)
        validate_replicas(ctl, list(target))
        removing = tuple(b for b in original if b not in target)
        adding = tuple(b for b in target if b not in original)
        builder.set_target_assignment(target + removing, adding, removing)
        builder.set_target_isr(tuple(b for b in partition.isr if b in target + removing))
    record = builder.build()
    if record is not None:
        ctl.emit(out, record)


def list_partition_reassignments(ctl, request) -> ControllerResult:
    """ListPartitionReassignments; ``topics`` None lists every ongoing one."""
    wanted = get_field(request, "topics")
    if wanted is None:
        wanted = [{"name": t.name, "partition_indexes": sorted(t.partitions)} for t in ctl.image.topics.values()]
    topics = []
    for request_topic in wanted:
        name = get_field(request_topic, "name")
        topic = ctl.image.topic(name)
        ongoing = [] if topic is None else [
            {"partition_index": i, "replicas": list(p.replicas), "adding_replicas": list(p.adding_replicas),
             "removing_replicas": list(p.removing_replicas)}
            for i in get_field(request_topic, "partition_indexes", ()) or ()
            if (p := topic.partitions.get(i)) is not None and p.is_reassigning]
        if ongoing:
            topics.append({"name": name, "partitions": ongoing})
    return ControllerResult([], {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "error_message": None,
                                 "topics": topics})

"""Consumer group admin: find, list, describe and delete groups; read and set offsets.

These are the calls ``kafka-consumer-groups.sh`` makes through Kafka's
AdminClient. Every group has one **coordinator**: the leader of the
``__consumer_offsets`` partition its id hashes to. FindCoordinator names it,
and every request about the group goes there. A broker that stopped
coordinating the group (leadership moved) answers ``NOT_COORDINATOR``; one
still replaying the offsets topic answers ``COORDINATOR_LOAD_IN_PROGRESS``;
either way the client asks FindCoordinator again and retries.

==================  =======  ==============================================
operation           API key  notes
==================  =======  ==============================================
find_coordinator    10       key_type 0 = group; one key per request in v4+
list_groups         16       asked of *every* broker: each lists only the
                             groups it coordinates; v4+ filters by state
describe_groups     15       state, protocol, members and their assignments;
                    69       ConsumerGroupDescribe when DescribeGroups says
                             Dead: a KIP-848 (``group.protocol=consumer``)
                             group is no classic group
fetch_offsets       9        OffsetFetch; v8+ nests topics under groups
commit_offsets      8        OffsetCommit; generation -1 and member "" for a
                             group with no members (what ``--reset-offsets``
                             does: the coordinator refuses while it has any)
delete_groups       42       only an EMPTY group can go (NON_EMPTY_GROUP)
log_end_offsets     2        ListOffsets LATEST, via ``admin.list_offsets``
==================  =======  ==============================================

A classic *consumer* group's member assignment is opaque to the broker: it is
the ``ConsumerProtocolAssignment`` bytes the group leader computed,
``int16 version | [topic, [partition]] | user_data``, declared at the end of
this module and decoded by ``decode_assignment``.
"""

from __future__ import annotations

import dataclasses
import struct

import trio

from minikafka.errors import ErrorCode, KafkaError
from minikafka.protocol.schema import Field, Message

from . import admin
from .admin import check
from .cluster import Cluster

OFFSET_COMMIT, OFFSET_FETCH, FIND_COORDINATOR = 8, 9, 10
DESCRIBE_GROUPS, LIST_GROUPS, DELETE_GROUPS = 15, 16, 42
CONSUMER_GROUP_DESCRIBE = 69  # KIP-848 groups are no classic groups: DescribeGroups does not know them
GROUP_KEY_TYPE, TRANSACTION_KEY_TYPE = 0, 1  # FindCoordinator's key_type
NO_OFFSET = -1  # OffsetFetch's "no committed offset"

# Errors meaning "ask FindCoordinator again, then retry".
_RETRIABLE = frozenset({ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE,
                        ErrorCode.COORDINATOR_LOAD_IN_PROGRESS})
_RETRIES = 10
_RETRY_BACKOFF_S = 0.1

TopicPartition = tuple[str, int]


@dataclasses.dataclass(frozen=True)
class Coordinator:
    """The broker that coordinates a group."""

    node_id: int
    host: str
    port: int


@dataclasses.dataclass(frozen=True)
class ListedGroup:
    """One group as ListGroups names it (``state`` is None before ListGroups v4)."""

    group_id: str
    protocol_type: str
    state: str | None


@dataclasses.dataclass(frozen=True)
class MemberDescription:
    """One member of a group, as DescribeGroups reports it.

    ``assignment`` is decoded for ``consumer`` groups and empty otherwise.
    """

    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    assignment: dict[str, list[int]]


@dataclasses.dataclass(frozen=True)
class GroupDescription:
    """A group's state (Kafka's names: ``Stable``, ``Empty``, ``Dead``, ...) and members."""

    group_id: str
    state: str
    protocol_type: str
    protocol: str  # the chosen assignor for consumer groups ("range", ...)
    members: list[MemberDescription]
    coordinator: Coordinator

    @property
    def exists(self) -> bool:
        return self.state != "Dead"

    @property
    def is_active(self) -> bool:
        """Whether the group has members (reset-offsets and delete need it not to)."""
        return self.state not in ("Empty", "Dead")


@dataclasses.dataclass(frozen=True)
class OffsetAndMetadata:
    """A committed offset: the next record the group will read."""

    offset: int
    leader_epoch: int = -1
    metadata: str = ""


@dataclasses.dataclass(frozen=True)
class ConsumerGroupMetadata:
    """A consumer's place in its group, for ``send_offsets_to_transaction`` (KIP-447).

    The group coordinator accepts the transaction's offsets only from the
    current generation's member: a zombie (a member the group has moved on
    from) gets ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID,
    and its transaction must abort. Java's ``ConsumerGroupMetadata``.
    """

    group_id: str
    generation_id: int = -1
    member_id: str = ""
    group_instance_id: str | None = None


# -- coordinator lookup ---------------------------------------------------------

async def find_coordinator(cluster: Cluster, key: str, key_type: int = GROUP_KEY_TYPE
                           ) -> Coordinator:
    """Which broker coordinates ``key``: a group id (key type 0, the default)
    or a transactional id (key type 1, ``TRANSACTION_KEY_TYPE``).

    Raises:
        KafkaError: e.g. COORDINATOR_NOT_AVAILABLE while ``__consumer_offsets``
            (or ``__transaction_state``) is being created.
    """
    body = {"key": key, "key_type": key_type, "coordinator_keys": [key]}
    response = await cluster.request(None, FIND_COORDINATOR, body)
    # v4+ answers per key in ``coordinators``; v0-3 at the top level.
    answer = response.coordinators[0] if response.coordinators else response
    kind = "group" if key_type == GROUP_KEY_TYPE else "transactional id"
    check(answer.error_code, f"coordinator of {kind} '{key}'", answer.error_message)
    return Coordinator(answer.node_id, answer.host, answer.port)


async def coordinator_request(cluster: Cluster, key: str, api_key: int, body: dict,
                              error_of, key_type: int = GROUP_KEY_TYPE
                              ) -> tuple[Coordinator, object]:
    """Send ``body`` to the coordinator of ``key``, retrying while it moves or loads.

    Args:
        key: a group id, or a transactional id with ``TRANSACTION_KEY_TYPE``.
        error_of: ``response -> error code`` (where each API keeps it).
        key_type: FindCoordinator's key type (group by default).

    Returns:
        ``(coordinator, response)``; the caller checks the other errors.
    """
    code = ErrorCode.COORDINATOR_NOT_AVAILABLE
    for attempt in range(_RETRIES):
        if attempt:
            await trio.sleep(_RETRY_BACKOFF_S * attempt)
        try:
            coordinator = await find_coordinator(cluster, key, key_type)
        except KafkaError as exc:
            if exc.code not in _RETRIABLE:
                raise
            code = exc.code
            continue
        connection = await cluster.connection_to_address(coordinator.host, coordinator.port)
        response = await cluster.request(connection, api_key, body)
        code = error_of(response)
        if code not in _RETRIABLE:
            return coordinator, response
    kind = "group" if key_type == GROUP_KEY_TYPE else "transactional id"
    raise KafkaError(ErrorCode(code), f"no coordinator of {kind} '{key}' answered "
                                      f"after {_RETRIES} attempts")


# -- listing and describing -----------------------------------------------------

async def list_groups(cluster: Cluster, states: list[str] | None = None) -> list[ListedGroup]:
    """Every group in the cluster, sorted by id; ``states`` filters (e.g. ``["Stable"]``).

    Each broker lists only the groups it coordinates, so every broker is asked.
    The filter is applied here too: a broker older than ListGroups v4 ignores it.
    """
    await cluster.refresh_metadata([])
    body = {"states_filter": list(states or []), "types_filter": []}
    found: dict[str, ListedGroup] = {}
    for node_id in sorted(cluster.brokers):
        response = await cluster.request(await cluster.connection_to(node_id), LIST_GROUPS, body)
        check(response.error_code, f"listing the groups of broker {node_id}")
        for group in response.groups:
            state = group.group_state or None  # absent (empty) before v4
            found[group.group_id] = ListedGroup(group.group_id, group.protocol_type, state)
    wanted = {s.lower() for s in states or []}
    return sorted((g for g in found.values()
                   if not wanted or g.state is None or g.state.lower() in wanted),
                  key=lambda g: g.group_id)


async def describe_group(cluster: Cluster, group_id: str) -> GroupDescription:
    """State, assignor and members of one group (state ``Dead``: no such group)."""
    body = {"groups": [group_id], "include_authorized_operations": False}
    coordinator, response = await coordinator_request(
        cluster, group_id, DESCRIBE_GROUPS, body, lambda r: r.groups[0].error_code)
    group = response.groups[0]
    if group.error_code == ErrorCode.GROUP_ID_NOT_FOUND or group.group_state == "Dead":
        described = await _describe_consumer_group(cluster, group_id)
        return described or GroupDescription(group_id, "Dead", "", "", [], coordinator)
    check(group.error_code, f"describing group '{group_id}'")
    is_consumer = group.protocol_type == "consumer"
    members = [
        MemberDescription(
            member_id=m.member_id,
            group_instance_id=m.group_instance_id,
            client_id=m.client_id,
            client_host=m.client_host,
            assignment=decode_assignment(m.member_assignment) if is_consumer else {},
        )
        for m in group.members
    ]
    return GroupDescription(group.group_id, group.group_state, group.protocol_type,
                            group.protocol_data, members, coordinator)


async def _describe_consumer_group(cluster: Cluster, group_id: str) -> GroupDescription | None:
    """A KIP-848 consumer-protocol group by ConsumerGroupDescribe, or None if there is none."""
    body = {"group_ids": [group_id], "include_authorized_operations": False}
    try:
        coordinator, response = await coordinator_request(
            cluster, group_id, CONSUMER_GROUP_DESCRIBE, body, lambda r: r.groups[0].error_code)
    except KafkaError as exc:
        if exc.code == ErrorCode.UNSUPPORTED_VERSION:
            return None  # a broker without the consumer protocol
        raise
    group = response.groups[0]
    if group.error_code == ErrorCode.GROUP_ID_NOT_FOUND:
        return None
    check(group.error_code, f"describing group '{group_id}'", group.error_message)
    members = [
        MemberDescription(
            member_id=m.member_id, group_instance_id=m.instance_id, client_id=m.client_id,
            client_host=m.client_host,
            assignment={tp.topic_name: sorted(tp.partitions) for tp in m.assignment.topic_partitions},
        )
        for m in group.members
    ]
    return GroupDescription(group.group_id, group.group_state, "consumer", group.assignor_name,
                            members, coordinator)


async def describe_groups(cluster: Cluster, group_ids: list[str]) -> dict[str, GroupDescription]:
    """``describe_group`` for each id (each group may have its own coordinator)."""
    return {group_id: await describe_group(cluster, group_id) for group_id in group_ids}


async def delete_groups(cluster: Cluster, group_ids: list[str]) -> None:
    """Delete groups and their committed offsets; each must be EMPTY.

    Raises:
        KafkaError: the first group that could not be deleted
            (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, ...).
    """
    for group_id in group_ids:
        _, response = await coordinator_request(
            cluster, group_id, DELETE_GROUPS, {"groups_names": [group_id]},
            lambda r: r.results[0].error_code)
        code = response.results[0].error_code
        if code == ErrorCode.NON_EMPTY_GROUP:
            raise KafkaError(ErrorCode.NON_EMPTY_GROUP,
                             f"group '{group_id}' could not be deleted: it has active members")
        if code == ErrorCode.GROUP_ID_NOT_FOUND:
            raise KafkaError(ErrorCode.GROUP_ID_NOT_FOUND, f"group '{group_id}' does not exist")
        check(code, f"deleting group '{group_id}'")


# -- offsets ----------------------------------------------------------------------

async def fetch_offsets(cluster: Cluster, group_id: str,
                        partitions: list[TopicPartition] | None = None, *,
                        require_stable: bool = False,
                        ) -> dict[TopicPartition, OffsetAndMetadata]:
    """The group's committed offsets (all of them if ``partitions`` is None).

    Partitions without a committed offset are left out.

    Args:
        require_stable: refuse a partition whose offsets a transaction has
            committed but not yet completed: UNSTABLE_OFFSET_COMMIT (KIP-447;
            Kafka's consumer always asks so, and tries again).
    """
    topics = None if partitions is None else [
        {"name": topic, "partition_indexes": sorted(p for t, p in partitions if t == topic)}
        for topic in sorted({t for t, _ in partitions})]
    body = {
        "group_id": group_id, "topics": topics,  # v0-7
        "groups": [{"group_id": group_id, "topics": topics}],  # v8+ (KIP-709)
        "require_stable": require_stable,
    }
    _, response = await coordinator_request(cluster, group_id, OFFSET_FETCH, body,
                                             _offset_fetch_error)
    check(_offset_fetch_error(response), f"fetching the offsets of group '{group_id}'")
    group_topics = response.groups[0].topics if response.groups else response.topics
    offsets = {}
    for topic in group_topics:
        for p in topic.partitions:
            check(p.error_code, f"committed offset of {topic.name}-{p.partition_index}")
            if p.committed_offset != NO_OFFSET:
                offsets[(topic.name, p.partition_index)] = OffsetAndMetadata(
                    p.committed_offset, p.committed_leader_epoch, p.metadata or "")
    return offsets


def _offset_fetch_error(response) -> int:
    if response.groups:  # v8+: per group
        return response.groups[0].error_code
    return response.error_code


async def commit_offsets(cluster: Cluster, group_id: str, offsets: dict[TopicPartition, int], *,
                         generation_id: int = -1, member_id: str = "",
                         group_instance_id: str | None = None) -> None:
    """Commit ``{(topic, partition): offset}`` for the group.

    The defaults (generation -1, no member) are an *admin* commit: the
    coordinator accepts it only while the group has no members (else
    UNKNOWN_MEMBER_ID), and creates the group if it did not exist.

    Raises:
        KafkaError: the first partition whose commit failed.
    """
    by_topic: dict[str, list[dict]] = {}
    for (topic, partition), offset in sorted(offsets.items()):
        by_topic.setdefault(topic, []).append(
            {"partition_index": partition, "committed_offset": offset,
             "committed_leader_epoch": -1, "committed_metadata": ""})
    body = {
        "group_id": group_id, "generation_id_or_member_epoch": generation_id,
        "member_id": member_id, "group_instance_id": group_instance_id,
        "topics": [{"name": t, "partitions": ps} for t, ps in by_topic.items()],
    }
    _, response = await coordinator_request(cluster, group_id, OFFSET_COMMIT, body,
                                             _first_commit_error)
    for topic in response.topics:
        for p in topic.partitions:
            if p.error_code == ErrorCode.UNKNOWN_MEMBER_ID and not member_id:
                raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID,
                                 f"group '{group_id}' has active members: offsets not committed")
            check(p.error_code, f"committing offset of {topic.name}-{p.partition_index} "
                                f"for group '{group_id}'")


def _first_commit_error(response) -> int:
    codes = [p.error_code for t in response.topics for p in t.partitions]
    return next((c for c in codes if c != ErrorCode.NONE), ErrorCode.NONE)


async def list_offsets(cluster: Cluster, partitions: list[TopicPartition],
                       timestamp: int, *, read_committed: bool = False) -> dict[TopicPartition, int]:
    """ListOffsets with one timestamp for all: ``{(topic, partition): offset}`` (-1: none).

    Args:
        timestamp: ``admin.EARLIEST`` (-2), ``admin.LATEST`` (-1: the
            log-end offset as consumers see it), or ms since the epoch.
        read_committed: a read_committed consumer's LATEST is the last stable offset.
    """
    isolation_level = admin.READ_COMMITTED if read_committed else admin.READ_UNCOMMITTED
    found = await admin.list_offsets(cluster, {tp: timestamp for tp in partitions},
                                     isolation_level=isolation_level)
    return {tp: info.offset for tp, info in found.items()}


async def log_end_offsets(cluster: Cluster, partitions: list[TopicPartition]
                          ) -> dict[TopicPartition, int]:
    """The offset the next produced record will get, per partition (for lag)."""
    return await list_offsets(cluster, partitions, admin.LATEST)


# -- the consumer protocol's assignment bytes ----------------------------------------

CONSUMER_PROTOCOL_ASSIGNMENT = Message(
    name="ConsumerProtocolAssignment",
    api_key=None,
    kind="data",
    # Versions only append fields, so newer ones are read as the newest we know.
    valid_versions="0-3",
    flexible_versions="none",
    about="The partitions the group leader assigned to one consumer (SyncGroup bytes).",
    fields=[
        Field("assigned_partitions", "[]TopicPartition", "0+",
              about="The assigned partitions, by topic.", fields=[
            Field("topic", "string", "0+", about="The topic name."),
            Field("partitions", "[]int32", "0+", about="The partition indexes."),
        ]),
        Field("user_data", "bytes", "0+", nullable="0+", default=None, about="Assignor data."),
    ],
)


def decode_assignment(raw: bytes | None) -> dict[str, list[int]]:
    """``{topic: [partition, ...]}`` from ConsumerProtocolAssignment bytes.

    Empty bytes (a member between rebalances) or bytes another protocol wrote
    give ``{}``: a describe tool must not fail on them.
    """
    if not raw or len(raw) < 2:
        return {}
    (version,) = struct.unpack_from(">h", raw)
    if version < 0:
        return {}
    try:
        decoded = CONSUMER_PROTOCOL_ASSIGNMENT.decode(memoryview(bytes(raw))[2:], min(version, 3))
    except ValueError:  # codec.DecodeError
        return {}
    assignment: dict[str, list[int]] = {}
    for entry in decoded.assigned_partitions:
        assignment.setdefault(entry.topic, []).extend(entry.partitions)
    return {topic: sorted(ps) for topic, ps in assignment.items()}


def encode_assignment(assignment: dict[str, list[int]], version: int = 0) -> bytes:
    """ConsumerProtocolAssignment bytes (for tests and tools)."""
    body = {"assigned_partitions": [{"topic": t, "partitions": ps}
                                    for t, ps in assignment.items()], "user_data": None}
    return struct.pack(">h", version) + CONSUMER_PROTOCOL_ASSIGNMENT.encode(body, version)


__all__ = [
    "Coordinator", "GroupDescription", "ListedGroup", "MemberDescription", "OffsetAndMetadata",
    "commit_offsets", "decode_assignment", "delete_groups", "describe_group", "describe_groups",
    "encode_assignment", "fetch_offsets", "find_coordinator", "list_groups", "list_offsets",
    "log_end_offsets",
]

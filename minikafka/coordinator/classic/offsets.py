"""Committed offsets: OffsetCommit, OffsetFetch, OffsetDelete, retention, replay.

A group's committed offset for a partition is the last OffsetCommitValue
record under its key ``(group, topic, partition)`` in ``__consumer_offsets``;
a tombstone deletes it. Live commits go through the same ``_replay_offset``
that start-up uses, so memory and log cannot disagree.

Who may commit (Kafka's ``ClassicGroup.validateOffsetCommit``):

- ``generation_id = -1`` and no member: a *simple* commit (admin tools,
  consumers with manual assignment). Only allowed while the group is EMPTY;
  it creates the group if there is none.
- otherwise the member must be in the group (UNKNOWN_MEMBER_ID,
  FENCED_INSTANCE_ID) and in the current generation (ILLEGAL_GENERATION).
  While the group is PREPARING_REBALANCE such a commit is accepted: it is
  how an eager consumer saves its progress before giving its partitions up.
  In COMPLETING_REBALANCE it gets REBALANCE_IN_PROGRESS (the member already
  has the new generation but not yet its assignment).

Retention (KIP-211, ``offsets.retention.minutes``): an EMPTY group's offsets
expire that long after the group became empty; a simple group's (no protocol
type) that long after each commit; a STABLE consumer group's only for topics
no member subscribes to. An offset committed with an explicit expire time
(OffsetCommit v2-v4) expires then. An EMPTY group whose last offset expired
is deleted (group tombstone).

``OffsetOperations`` is a mixin of ``GroupCoordinator``: it uses its
``groups``, ``config`` and current result.
"""

from __future__ import annotations

from minikafka.coordinator.classic.group import Group, GroupState, OffsetAndMetadata
from minikafka.coordinator.records import (
    group_metadata_tombstone,
    offset_commit_record,
    offset_commit_tombstone,
)
from minikafka.coordinator.result import CoordinatorResult
from minikafka.errors import ErrorCode, KafkaError


class OffsetOperations:
    """OffsetCommit, OffsetFetch and OffsetDelete on ``self.groups`` (mixin)."""

    # -- OffsetCommit -----------------------------------------------------------

    def commit_offsets(self, request, now_ms: int, *, version: int) -> CoordinatorResult:
        """OffsetCommit: store each partition's offset, after checking who commits.

        Returns the response ``{"topics": [{"name", "partitions": [{"partition_index",
        "error_code"}]}]}``.
        """
        self._begin()
        try:
            group = self._group_for_commit(request, version)
        except KafkaError as error:
            code = error.code  # the same answer for every partition
            return self._finish(_commit_response(request, lambda _p: code))
        expire_ms = -1
        if getattr(request, "retention_time_ms", -1) not in (None, -1):
            expire_ms = now_ms + request.retention_time_ms

        def commit(topic: str, partition) -> ErrorCode:
            metadata = partition.committed_metadata or ""
            if len(metadata.encode()) > self.config.offset_metadata_max_bytes:
                return ErrorCode.OFFSET_METADATA_TOO_LARGE
            record = offset_commit_record(
                group.group_id, topic, partition.partition_index, partition.committed_offset,
                partition.committed_leader_epoch, metadata, now_ms, expire_ms)
            self._append_offset_record(record)
            return ErrorCode.NONE

        return self._finish(_commit_response(request, None, commit))

    def _group_for_commit(self, request, version: int) -> Group:
        generation_id = request.generation_id_or_member_epoch
        group = self.groups.get(request.group_id)
        if group is None:
            if generation_id >= 0:
                code = ErrorCode.GROUP_ID_NOT_FOUND if version >= 9 else ErrorCode.ILLEGAL_GENERATION
                raise KafkaError(code)
            # A simple group: it has offsets, never members. Its state
            # timestamp is unknown, as for one loaded from offsets alone.
            group = self.groups[request.group_id] = Group(request.group_id, None)
        _validate_offset_commit(group, request.member_id, request.group_instance_id, generation_id)
        return group

    def _append_offset_record(self, record) -> None:
        self._result.records.append(record)
        self.replay(*record)

    # -- OffsetFetch --------------------------------------------------------------

    def fetch_offsets(self, group_id: str, topics: list | None, *, require_stable: bool = False) -> dict:
        """OffsetFetch for one group; ``topics`` None means every committed partition.

        ``topics`` is a list of ``(name, [partition_index, ...])`` (or structs
        with ``name`` and ``partition_indexes``). Returns the group's entry in
        the v8+ shape: ``{"group_id", "topics": [{"name", "partitions":
        [{"partition_index", "committed_offset", "committed_leader_epoch",
        "metadata", "error_code"}]}], "error_code"}``; for v0-v7 a handler puts
        ``topics`` and ``error_code`` at the top level. A partition without a
        commit has offset -1. ``require_stable`` (KIP-447) would wait for
        pending transactional commits; there are none yet, so it changes
        nothing.
        """
        group = self.groups.get(group_id)
        offsets = group.offsets if group is not None and not group.is_in(GroupState.DEAD) else {}
        if topics is None:
            wanted: dict[str, list[int]] = {}
            for topic, partition in sorted(offsets):
                wanted.setdefault(topic, []).append(partition)
        else:
            wanted = dict(_as_pairs(topics))
        return {
            "group_id": group_id,
            "error_code": ErrorCode.NONE,
            "topics": [
                {"name": topic, "partitions": [_fetched(offsets.get((topic, p)), p) for p in partitions]}
                for topic, partitions in wanted.items()
            ],
        }

    # -- OffsetDelete ---------------------------------------------------------------

    def delete_offsets(self, request, now_ms: int) -> CoordinatorResult:
        """OffsetDelete: drop committed offsets of topics the group no longer consumes.

        Returns ``{"error_code", "topics": [{"name", "partitions":
        [{"partition_index", "error_code"}]}]}``.
        """
        self._begin()
        group = self.groups.get(request.group_id)
        try:
            _validate_offset_delete(group)
        except KafkaError as error:
            return self._finish({"error_code": error.code, "topics": []})

        def delete(topic: str, partition) -> ErrorCode:
            if group.is_subscribed_to(topic):
                return ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC
            if (topic, partition.partition_index) in group.offsets:
                self._append_offset_record(
                    offset_commit_tombstone(group.group_id, topic, partition.partition_index))
            return ErrorCode.NONE

        response = _commit_response(request, None, delete)
        return self._finish({"error_code": ErrorCode.NONE, "topics": response["topics"]})

    # -- retention ------------------------------------------------------------------

    def _expire_offsets(self, now_ms: int) -> None:
        """offsets.retention.minutes: tombstone expired offsets, then emptied groups."""
        for group in list(self.groups.values()):
            base_of = _expiration_base(group)
            if base_of is None:
                continue
            for (topic, partition), offset in list(group.offsets.items()):
                if _is_expired(offset, base_of(topic, offset), now_ms, self.config.offsets_retention_ms):
                    self._append_offset_record(offset_commit_tombstone(group.group_id, topic, partition))
            if group.is_in(GroupState.EMPTY) and not group.offsets and not group.pending_members:
                self._result.records.append(group_metadata_tombstone(group.group_id))
                self.replay(*self._result.records[-1])

    # -- replay -------------------------------------------------------------------

    def _replay_offset(self, group_id: str, topic: str, partition: int, value) -> None:
        """Apply one OffsetCommit record (value None: a tombstone)."""
        group = self.groups.get(group_id)
        if value is None:
            if group is not None:
                group.offsets.pop((topic, partition), None)
            return
        if group is None:
            group = self.groups[group_id] = Group(group_id, None)
        group.offsets[(topic, partition)] = OffsetAndMetadata(
            committed_offset=value.offset, leader_epoch=value.leader_epoch,
            metadata=value.metadata, commit_timestamp_ms=value.commit_timestamp,
            expire_timestamp_ms=value.expire_timestamp)


def _validate_offset_commit(group: Group, member_id: str, instance_id: str | None,
                            generation_id: int) -> None:
    """Kafka's ClassicGroup.validateOffsetCommit (non-transactional)."""
    if group.is_in(GroupState.DEAD):
        raise KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE)
    if generation_id < 0 and group.is_in(GroupState.EMPTY):
        return  # a simple commit: the group is not managing partitions
    if generation_id >= 0 or member_id or instance_id is not None:
        if instance_id is not None and group.static_members.get(instance_id, member_id) != member_id:
            raise KafkaError(ErrorCode.FENCED_INSTANCE_ID)
        if member_id not in group.members:
            raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID)
        if generation_id != group.generation_id:
            raise KafkaError(ErrorCode.ILLEGAL_GENERATION)
    else:
        raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID)  # anonymous commit into a live group
    if group.is_in(GroupState.COMPLETING_REBALANCE):
        raise KafkaError(ErrorCode.REBALANCE_IN_PROGRESS)


def _validate_offset_delete(group: Group | None) -> None:
    """A live group may only lose offsets if it is a consumer group (it has subscriptions)."""
    if group is None or group.is_in(GroupState.DEAD):
        raise KafkaError(ErrorCode.GROUP_ID_NOT_FOUND)
    live = group.is_in(GroupState.PREPARING_REBALANCE, GroupState.COMPLETING_REBALANCE, GroupState.STABLE)
    if live and group.protocol_type != "consumer":
        raise KafkaError(ErrorCode.NON_EMPTY_GROUP)


def _expiration_base(group: Group):
    """Kafka's offsetExpirationCondition: ``(topic, offset) -> the time its
    retention counts from``, None to keep it; or None if nothing may expire."""
    if group.protocol_type is None:
        return lambda topic, offset: offset.commit_timestamp_ms  # a simple group
    if group.is_in(GroupState.EMPTY):
        since_ms = group.state_timestamp_ms  # when the group became empty, if known
        return lambda topic, offset: offset.commit_timestamp_ms if since_ms is None else since_ms
    if group.is_in(GroupState.STABLE) and group.protocol_type == "consumer":
        subscribed = group.subscribed_topics()
        if subscribed is not None:
            # Offsets of subscribed topics never expire while the group consumes.
            return lambda topic, offset: None if topic in subscribed else offset.commit_timestamp_ms
    return None


def _is_expired(offset: OffsetAndMetadata, base_ms: int | None, now_ms: int, retention_ms: int) -> bool:
    if base_ms is None:
        return False  # a topic the group still consumes
    if offset.expire_timestamp_ms >= 0:
        return now_ms >= offset.expire_timestamp_ms
    return now_ms - base_ms >= retention_ms


def _commit_response(request, code_for_all, per_partition=None) -> dict:
    """OffsetCommit/OffsetDelete response: one error code per requested partition."""
    topics = []
    for topic in request.topics:
        partitions = []
        for partition in topic.partitions:
            code = code_for_all(partition) if code_for_all else per_partition(topic.name, partition)
            partitions.append({"partition_index": partition.partition_index, "error_code": code})
        topics.append({"name": topic.name, "partitions": partitions})
    return {"topics": topics}


def _as_pairs(topics):
    for topic in topics:
        if isinstance(topic, tuple):
            yield topic[0], list(topic[1])
        else:
            yield topic.name, list(topic.partition_indexes)


def _fetched(offset: OffsetAndMetadata | None, partition: int) -> dict:
    if offset is None:
        return {"partition_index": partition, "committed_offset": -1, "committed_leader_epoch": -1,
                "metadata": "", "error_code": ErrorCode.NONE}
    return {"partition_index": partition, "committed_offset": offset.committed_offset,
            "committed_leader_epoch": offset.leader_epoch, "metadata": offset.metadata,
            "error_code": ErrorCode.NONE}

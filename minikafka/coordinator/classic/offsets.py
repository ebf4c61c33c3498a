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

Transactional commits (KIP-98, KIP-447: TxnOffsetCommit). A producer's
``send_offsets_to_transaction`` writes OffsetCommitValue records in a
*transactional* batch (the producer's id and epoch) to the group's
partition. Until the transaction's marker (a COMMIT or ABORT control batch)
follows in the same partition, those offsets are *pending*: kept per
producer id in ``pending_txn_offsets`` (and ``open_txns_by_group`` says
which producers have pending offsets in a group), invisible to OffsetFetch.
``replay_end_transaction_marker`` then moves them into the group's
committed offsets (COMMIT) or drops them (ABORT). A transactional offset
replaces a committed one only if its record came later in the log (Kafka
compares record offsets; ``record_order`` counts replayed offset records,
which orders them the same way), so a plain commit written while the
transaction was open is not overwritten by the older transactional one.
Loading replays transactional batches and markers through the same two
methods, so a coordinator rebuilt from the log has the same pending offsets.

What pending offsets change elsewhere (as Kafka's OffsetMetadataManager):

- OffsetFetch with ``require_stable`` (v7+) answers UNSTABLE_OFFSET_COMMIT
  for a partition with pending offsets: the client retries until the
  transaction is decided. Without it, the last committed offset is answered.
- An offset tombstone (OffsetDelete, DeleteGroups) also discards the pending
  offsets of that partition; both write a tombstone for a partition that has
  only pending offsets.
- Retention never expires an offset with pending offsets on its partition,
  and never deletes a group with an open transaction.

Who may commit transactionally (``ClassicGroup.validateOffsetCommit`` with
``isTransactional``): as OffsetCommit, except that a request without member
and generation (TxnOffsetCommit v0-v2) is accepted in any state, and the
group's state is not checked (no REBALANCE_IN_PROGRESS): the transaction
coordinator, not the group, decides whether these offsets count.

``OffsetOperations`` is a mixin of ``GroupCoordinator``: it uses its
``groups``, ``config``, the pending-offset maps and current result.
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

NO_PRODUCER_ID = -1
"""The producer id of a batch written outside any transaction."""


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
        missing = ErrorCode.GROUP_ID_NOT_FOUND if version >= 9 else ErrorCode.ILLEGAL_GENERATION
        group = self._group_or_simple(request.group_id, generation_id, missing)
        _validate_offset_commit(group, request.member_id, request.group_instance_id, generation_id)
        return group

    def _group_or_simple(self, group_id: str, generation_id: int, missing: ErrorCode) -> Group:
        """The group, or a new simple group for a commit without a generation.

        Raises:
            KafkaError: ``missing``, for an unknown group and a generation >= 0.
        """
        group = self.groups.get(group_id)
        if group is None:
            if generation_id >= 0:
                raise KafkaError(missing)
            # A simple group: it has offsets, never members. Its state
            # timestamp is unknown, as for one loaded from offsets alone.
            group = self.groups[group_id] = Group(group_id, None)
        return group

    def _append_offset_record(self, record, producer_id: int = NO_PRODUCER_ID) -> None:
        self._result.records.append(record)
        self.replay(*record, producer_id=producer_id)

    # -- TxnOffsetCommit ------------------------------------------------------------

    def commit_transactional_offsets(self, request, now_ms: int, *, version: int) -> CoordinatorResult:
        """TxnOffsetCommit: write offsets that count only if the producer's transaction commits.

        The records are pending (``pending_txn_offsets``) from now on; the
        runtime appends them in a transactional batch with the request's
        ``producer_id`` and ``producer_epoch``.

        Returns the response ``{"topics": [{"name", "partitions":
        [{"partition_index", "error_code"}]}]}``: one error for every
        partition if the member check fails (ILLEGAL_GENERATION,
        UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, COORDINATOR_NOT_AVAILABLE),
        else OFFSET_METADATA_TOO_LARGE or NONE per partition.
        """
        self._begin()
        # v0-v2 carry no member: their defaults (-1, "", null) make a simple commit.
        generation_id = getattr(request, "generation_id", -1)
        try:
            group = self._group_or_simple(request.group_id, generation_id, ErrorCode.ILLEGAL_GENERATION)
            _validate_offset_commit(group, getattr(request, "member_id", ""),
                                    getattr(request, "group_instance_id", None),
                                    generation_id, transactional=True)
        except KafkaError as error:
            code = error.code
            return self._finish(_commit_response(request, lambda _p: code))

        def commit(topic: str, partition) -> ErrorCode:
            metadata = partition.committed_metadata or ""
            if len(metadata.encode()) > self.config.offset_metadata_max_bytes:
                return ErrorCode.OFFSET_METADATA_TOO_LARGE
            leader_epoch = getattr(partition, "committed_leader_epoch", -1)  # v2+
            record = offset_commit_record(
                group.group_id, topic, partition.partition_index, partition.committed_offset,
                -1 if leader_epoch is None else leader_epoch, metadata, now_ms)
            self._append_offset_record(record, request.producer_id)
            return ErrorCode.NONE

        return self._finish(_commit_response(request, None, commit))

    def has_pending_txn_offsets(self, group_id: str, topic: str, partition: int) -> bool:
        """True if an open transaction has an offset of ``(topic, partition)`` for the group."""
        for producer_id in self.open_txns_by_group.get(group_id, ()):
            if (topic, partition) in self.pending_txn_offsets.get(producer_id, {}).get(group_id, {}):
                return True
        return False

    def replay_end_transaction_marker(self, producer_id: int, commit: bool) -> None:
        """Apply a COMMIT or ABORT marker of ``producer_id`` (live, or read back at load).

        COMMIT moves the producer's pending offsets into the committed ones,
        except where a committed offset was written after them; ABORT drops
        them. A marker for a producer without pending offsets changes nothing.
        """
        pending = self.pending_txn_offsets.pop(producer_id, None)
        for group_id in [g for g, producers in self.open_txns_by_group.items() if producer_id in producers]:
            producers = self.open_txns_by_group[group_id]
            producers.discard(producer_id)
            if not producers:
                del self.open_txns_by_group[group_id]
        if pending is None or not commit:
            return
        for group_id, offsets in pending.items():
            group = self.groups.get(group_id)
            if group is None:
                group = self.groups[group_id] = Group(group_id, None)
            for key, offset in offsets.items():
                current = group.offsets.get(key)
                if current is None or offset.record_order > current.record_order:
                    group.offsets[key] = offset

    # -- OffsetFetch --------------------------------------------------------------

    def fetch_offsets(self, group_id: str, topics: list | None, *, require_stable: bool = False) -> dict:
        """OffsetFetch for one group; ``topics`` None means every committed partition.

        ``topics`` is a list of ``(name, [partition_index, ...])`` (or structs
        with ``name`` and ``partition_indexes``). Returns the group's entry in
        the v8+ shape: ``{"group_id", "topics": [{"name", "partitions":
        [{"partition_index", "committed_offset", "committed_leader_epoch",
        "metadata", "error_code"}]}], "error_code"}``; for v0-v7 a handler puts
        ``topics`` and ``error_code`` at the top level. A partition without a
        commit has offset -1. With ``require_stable`` (KIP-447) a partition
        with pending transactional offsets answers UNSTABLE_OFFSET_COMMIT
        (offset -1) instead, and the client asks again; the group's error
        stays NONE, as in Kafka.
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
                {"name": topic, "partitions": [
                    _unstable(p) if require_stable and self.has_pending_txn_offsets(group_id, topic, p)
                    else _fetched(offsets.get((topic, p)), p)
                    for p in partitions]}
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
            index = partition.partition_index
            if (topic, index) in group.offsets or self.has_pending_txn_offsets(group.group_id, topic, index):
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
                if self.has_pending_txn_offsets(group.group_id, topic, partition):
                    continue  # the transaction decides first
                if _is_expired(offset, base_of(topic, offset), now_ms, self.config.offsets_retention_ms):
                    self._append_offset_record(offset_commit_tombstone(group.group_id, topic, partition))
            if (group.is_in(GroupState.EMPTY) and not group.offsets and not group.pending_members
                    and group.group_id not in self.open_txns_by_group):
                self._result.records.append(group_metadata_tombstone(group.group_id))
                self.replay(*self._result.records[-1])

    # -- replay -------------------------------------------------------------------

    def _replay_offset(self, group_id: str, topic: str, partition: int, value,
                       producer_id: int = NO_PRODUCER_ID) -> None:
        """Apply one OffsetCommit record (value None: a tombstone).

        ``producer_id`` is the batch's if it is transactional: the offset is
        then pending until that producer's marker. A tombstone deletes the
        committed offset and the pending ones of the same partition.
        """
        group = self.groups.get(group_id)
        key = (topic, partition)
        if value is None:
            if group is not None:
                group.offsets.pop(key, None)
            for pending_producer in self.open_txns_by_group.get(group_id, ()):
                self.pending_txn_offsets.get(pending_producer, {}).get(group_id, {}).pop(key, None)
            return
        if group is None:
            group = self.groups[group_id] = Group(group_id, None)
        offset = OffsetAndMetadata(
            committed_offset=value.offset, leader_epoch=value.leader_epoch,
            metadata=value.metadata, commit_timestamp_ms=value.commit_timestamp,
            expire_timestamp_ms=value.expire_timestamp, record_order=self._replayed_offsets)
        self._replayed_offsets += 1
        if producer_id == NO_PRODUCER_ID:
            group.offsets[key] = offset
            return
        self.pending_txn_offsets.setdefault(producer_id, {}).setdefault(group_id, {})[key] = offset
        self.open_txns_by_group.setdefault(group_id, set()).add(producer_id)


def _validate_offset_commit(group: Group, member_id: str, instance_id: str | None,
                            generation_id: int, *, transactional: bool = False) -> None:
    """Kafka's ClassicGroup.validateOffsetCommit; ``transactional`` for TxnOffsetCommit."""
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
    elif not transactional:
        raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID)  # anonymous commit into a live group
    if not transactional and group.is_in(GroupState.COMPLETING_REBALANCE):
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


def _unstable(partition: int) -> dict:
    return {"partition_index": partition, "committed_offset": -1, "committed_leader_epoch": -1,
            "metadata": "", "error_code": ErrorCode.UNSTABLE_OFFSET_COMMIT}


def _fetched(offset: OffsetAndMetadata | None, partition: int) -> dict:
    if offset is None:
        return {"partition_index": partition, "committed_offset": -1, "committed_leader_epoch": -1,
                "metadata": "", "error_code": ErrorCode.NONE}
    return {"partition_index": partition, "committed_offset": offset.committed_offset,
            "committed_leader_epoch": offset.leader_epoch, "metadata": offset.metadata,
            "error_code": ErrorCode.NONE}

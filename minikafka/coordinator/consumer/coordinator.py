"""The KIP-848 consumer group protocol: ConsumerGroupHeartbeat, ConsumerGroupDescribe, timers.

``ConsumerGroupCoordinator`` is sans-I/O, shaped like the classic
``GroupCoordinator`` and like Kafka 4.0's ``GroupMetadataManager``: an
operation takes a decoded request and ``now_ms`` and returns a
``CoordinatorResult`` (records to append, then the response). The records are
already applied: every record goes through ``replay()``, the same code that
rebuilds the groups when a coordinator loads ``__consumer_offsets``, so live
state and recovered state cannot drift apart.

One heartbeat, step by step (``_heartbeat``):

1. Validate the request; find or create the group (``member_epoch == 0``
   joins); find the member (or create it, or take over a static member's
   place); check the member epoch: a stale or future epoch is
   FENCED_MEMBER_EPOCH, except the previous epoch with a subset of the
   assigned partitions (the response with the new epoch was lost).
2. Persist a changed subscription (record 5). A new subscription, or a
   change in the subscribed topics' partition counts (record 4), bumps the
   group epoch (record 3).
3. If the group epoch is ahead of the target assignment, run the group's
   server-side assignor (``assignors.py``) and persist what changed
   (records 7, then 6).
4. Reconcile this member one step towards its target
   (``member.reconcile``, record 8): revoke first, and hand
   out a partition only once its previous owner has released it.
5. Answer with the member id, epoch, heartbeat interval and, when it changed
   or the request was a full one, the assignment.

Leaving: epoch -1 removes the member and bumps the group epoch; -2 (static
members) keeps its place and partitions until its session times out, so a
restarted instance with the same ``instance_id`` takes them back without a
rebalance. A second live member with the same instance id gets
UNRELEASED_INSTANCE_ID.

Timers are data: a session deadline per member (``group.consumer.session.
timeout.ms``, renewed by each heartbeat) and a rebalance deadline while a
member is revoking (its ``rebalance_timeout_ms``). Either one expiring
removes the member, like a leave. ``poll_timers``/``next_deadline_ms`` as in
the classic coordinator; ``on_loaded`` arms them after a replay.

Topic regexes (``subscribed_topic_regex``): Kafka evaluates them with Google
RE2/J; we use Python's ``re`` (full match, like RE2J's ``matches()``), so a
pattern using a feature only one engine has behaves differently. Kafka's
internal topics are never matched.

Describe, list, delete and the offset-commit checks are in
``admin.py`` (a mixin). Not task-safe: the runtime calls it
from one task at a time.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import uuid
from typing import Protocol

from minikafka.coordinator.consumer import records as cgr
from minikafka.coordinator.consumer.assignors import ASSIGNORS, DEFAULT_ASSIGNOR, MemberSubscription
from minikafka.coordinator.consumer.member import (
    LEAVE_GROUP_MEMBER_EPOCH,
    LEAVE_GROUP_STATIC_MEMBER_EPOCH,
    ConsumerGroupMember,
    MemberState,
    from_topic_partitions,
    reconcile,
)
from minikafka.coordinator.consumer.requests import (
    INVALID_REGULAR_EXPRESSION,
    check_member_epoch,
    regex_of,
    updated_subscription,
    validate_request,
)
from minikafka.coordinator.consumer.group import ConsumerGroup, ConsumerGroupState
from minikafka.coordinator.consumer.admin import ConsumerGroupAdmin
from minikafka.coordinator.records import Record, decode_record
from minikafka.coordinator.result import CoordinatorResult
from minikafka.errors import ErrorCode, KafkaError

INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})


class TopicMetadataProvider(Protocol):
    """Where topic ids and partition counts come from (``TopicRegistry`` fits as is)."""

    def get(self, name: str): ...       # -> object with topic_id, num_partitions; or None
    def get_by_id(self, topic_id: bytes): ...  # -> object with name; or None
    def names(self) -> list[str]: ...


class ClassicGroupUse(enum.Enum):
    """What a group id is to the classic coordinator."""

    NONE = "none"      # no classic group has this id
    EMPTY = "empty"    # an empty classic group: Kafka replaces it by the consumer group
    IN_USE = "in_use"  # a classic group with members: the id is taken


class ClassicGroups(Protocol):
    """The hook into the classic coordinator (the runtime wires it)."""

    def classic_group_use(self, group_id: str) -> ClassicGroupUse: ...
    def release_classic_group(self, group_id: str) -> list[Record]: ...


@dataclasses.dataclass
class ConsumerGroupConfig:
    """The consumer protocol's broker settings (Kafka's names and defaults)."""

    session_timeout_ms: int = 45000      # group.consumer.session.timeout.ms
    heartbeat_interval_ms: int = 5000    # group.consumer.heartbeat.interval.ms
    max_size: int = 2**31 - 1            # group.consumer.max.size
    assignors: tuple[str, ...] = ("uniform", "range")  # group.consumer.assignors

    _KEYS = {"group.consumer.session.timeout.ms": "session_timeout_ms",
             "group.consumer.heartbeat.interval.ms": "heartbeat_interval_ms",
             "group.consumer.max.size": "max_size"}

    @classmethod
    def from_broker_config(cls, config) -> "ConsumerGroupConfig":
        """Read the settings from a ``BrokerConfig`` (missing keys keep Kafka's defaults)."""
        values = {}
        for key, attribute in cls._KEYS.items():
            try:
                value = config[key]
            except (KeyError, LookupError):
                value = None
            if value is not None:
                values[attribute] = int(value)
        try:
            assignors = config["group.consumer.assignors"]
        except (KeyError, LookupError):
            assignors = None
        if assignors:
            values["assignors"] = tuple(assignors)
        return cls(**values)


class ConsumerGroupCoordinator(ConsumerGroupAdmin):
    """All consumer-protocol groups of one ``__consumer_offsets`` partition.

    Args:
        topics: the topic metadata (``TopicMetadataProvider``).
        config: the settings (``ConsumerGroupConfig.from_broker_config``).
        classic_groups: the classic coordinator's hook, or None if there is none.
        new_member_id: makes member ids for v0 joins; tests pass a deterministic one.
    """

    def __init__(self, topics: TopicMetadataProvider, config: ConsumerGroupConfig | None = None,
                 classic_groups: ClassicGroups | None = None, new_member_id=None):
        self.topics = topics
        self.config = config or ConsumerGroupConfig()
        self.classic_groups = classic_groups
        self.groups: dict[str, ConsumerGroup] = {}
        self._new_member_id = new_member_id or (lambda: str(uuid.uuid4()))
        self._session_deadlines: dict[tuple[str, str], int] = {}
        self._rebalance_deadlines: dict[tuple[str, str], tuple[int, int]] = {}  # -> (deadline, epoch)
        self._records: list[Record] = []

    # -- records and replay ---------------------------------------------------------

    def replay(self, key: bytes, value: bytes | None) -> None:
        """Apply one ``__consumer_offsets`` record; other record types are ignored."""
        record_type, key_struct, value_struct = decode_record(key, value)
        if record_type not in cgr.CONSUMER_GROUP_RECORD_TYPES:
            return
        group = self.groups.get(key_struct.group_id)
        if group is None:
            if value_struct is None:
                return
            group = self.groups[key_struct.group_id] = ConsumerGroup(key_struct.group_id)
        group.apply(record_type, key_struct, value_struct)
        if record_type == cgr.GROUP_METADATA and value_struct is None:
            del self.groups[key_struct.group_id]  # the epoch tombstone is a group's last record

    def on_loaded(self, now_ms: int) -> None:
        """After a replay: give every member a fresh session, and revoking ones a rebalance timeout."""
        for group in self.groups.values():
            for member in group.members.values():
                self._session_deadlines[(group.group_id, member.member_id)] = now_ms + self.config.session_timeout_ms
                self._update_rebalance_timer(group.group_id, member, now_ms)

    def _append(self, record: Record) -> None:
        self._records.append(record)
        self.replay(*record)

    # -- ConsumerGroupHeartbeat ------------------------------------------------------

    def consumer_group_heartbeat(self, request, now_ms: int, *, version: int = 1,
                                 client_id: str = "", client_host: str = "") -> CoordinatorResult:
        """ConsumerGroupHeartbeat: join, heartbeat, reconcile or leave (see the module docstring)."""
        self._records = []
        created = request.group_id not in self.groups
        try:
            validate_request(request, version, self.config.assignors)
            if request.member_epoch in (LEAVE_GROUP_MEMBER_EPOCH, LEAVE_GROUP_STATIC_MEMBER_EPOCH):
                response = self._leave(request)
            else:
                response = self._heartbeat(request, now_ms, version, client_id, client_host)
        except KafkaError as error:
            if created and not self._records:
                self.groups.pop(request.group_id, None)  # a failed first join leaves nothing
            # As Kafka: only the error; member id null, epoch 0.
            response = {"error_code": error.code, "error_message": error.message,
                        "member_id": None, "member_epoch": 0}
        response.setdefault("heartbeat_interval_ms", 0)
        return CoordinatorResult(records=self._records, response=response)

    def _heartbeat(self, request, now_ms, version, client_id, client_host) -> dict:
        group = self._group_for_heartbeat(request.group_id, create=request.member_epoch == 0)
        member_id = request.member_id or self._new_member_id()
        if len(group.members) >= self.config.max_size and member_id not in group.members:
            raise KafkaError(ErrorCode.GROUP_MAX_SIZE_REACHED,
                             f"The consumer group has reached its maximum capacity of "
                             f"{self.config.max_size} members.")
        owned = None if request.topic_partitions is None else from_topic_partitions(request.topic_partitions)
        member, is_new, replaced = self._find_member(group, request, member_id, owned)
        updated = updated_subscription(member, request, client_id, client_host)
        bump = group.group_epoch == 0
        if is_new or not updated.subscription_equals(member):
            self._append(cgr.member_metadata_record(group.group_id, updated))
            bump |= (updated.subscribed_topic_names != member.subscribed_topic_names
                     or updated.subscribed_topic_regex != member.subscribed_topic_regex)
        self._maybe_bump_group_epoch(group, bump)
        if group.group_epoch > group.assignment_epoch or replaced:
            self._update_target_assignment(group)
        before = group.members[member_id]
        after = self._reconcile(group, before, owned, now_ms)
        self._session_deadlines[(group.group_id, member_id)] = now_ms + self.config.session_timeout_ms
        return self._heartbeat_response(request, member, after)

    def _heartbeat_response(self, request, member_before, member_after) -> dict:
        response = {"error_code": ErrorCode.NONE, "member_id": member_after.member_id,
                    "member_epoch": member_after.member_epoch,
                    "heartbeat_interval_ms": self.config.heartbeat_interval_ms}
        # A full request (a join, or a client resending everything after an
        # error) always gets the assignment; otherwise only when it changed.
        full = request.member_epoch == 0 or (
            request.rebalance_timeout_ms != -1 and request.topic_partitions is not None
            and (request.subscribed_topic_names is not None or regex_of(request) is not None))
        if full or member_after.assigned_partitions != member_before.assigned_partitions:
            response["assignment"] = {"topic_partitions": [
                {"topic_id": t, "partitions": sorted(p)}
                for t, p in sorted(member_after.assigned_partitions.items())]}
        return response

    def _group_for_heartbeat(self, group_id: str, create: bool) -> ConsumerGroup:
        group = self.groups.get(group_id)
        if group is not None:
            return group
        if not create:
            # Kafka 4.0 answers UNKNOWN_MEMBER_ID here so that the client rejoins.
            raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, f"Consumer group {group_id} not found.")
        use = self.classic_groups.classic_group_use(group_id) if self.classic_groups else ClassicGroupUse.NONE
        if use == ClassicGroupUse.IN_USE:
            raise KafkaError(ErrorCode.GROUP_ID_NOT_FOUND, f"Group {group_id} is not a consumer group.")
        if use == ClassicGroupUse.EMPTY:
            self._records.extend(self.classic_groups.release_classic_group(group_id))
        # Not persisted until the first record; a failed join removes it again.
        group = self.groups[group_id] = ConsumerGroup(group_id)
        return group

    def _find_member(self, group, request, member_id, owned):
        """``(member, is_new, replaced_static_member)`` for this heartbeat, or raise."""
        epoch = request.member_epoch
        if request.instance_id is not None:
            return self._find_static_member(group, request.instance_id, member_id, epoch, owned)
        member = group.members.get(member_id)
        if member is None:
            if epoch != 0:
                raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID,
                                 f"Member {member_id} is not a member of group {group.group_id}.")
            return ConsumerGroupMember(member_id), True, False
        if epoch != 0:
            check_member_epoch(member, epoch, owned)
        return member, False, False

    def _find_static_member(self, group, instance_id, member_id, epoch, owned):
        existing = group.static_member(instance_id)
        if epoch == 0:
            if existing is None:
                member = group.members.get(member_id)
                return (member, False, False) if member else (ConsumerGroupMember(member_id), True, False)
            if existing.member_epoch != LEAVE_GROUP_STATIC_MEMBER_EPOCH:
                raise KafkaError(ErrorCode.UNRELEASED_INSTANCE_ID,
                                 f"Static member {existing.member_id} with instance id {instance_id} "
                                 f"cannot be replaced because it is still in use.")
            # The instance is back (maybe under a new member id): it takes over
            # the old member's target and partitions, at epoch 0.
            new = dataclasses.replace(existing, member_id=member_id, member_epoch=0, previous_member_epoch=0)
            self._replace_member(group, existing, new)
            return new, False, True
        if existing is None:
            raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, f"Instance id {instance_id} is unknown.")
        if existing.member_id != member_id:
            raise KafkaError(ErrorCode.FENCED_INSTANCE_ID,
                             f"Static member {member_id} with instance id {instance_id} was fenced "
                             f"by member {existing.member_id}.")
        check_member_epoch(existing, epoch, owned)
        return existing, False, False

    def _replace_member(self, group: ConsumerGroup, old: ConsumerGroupMember, new: ConsumerGroupMember) -> None:
        target = group.target_of(old.member_id)
        self._remove_member_records(group, old.member_id)
        self._cancel_timers(group.group_id, old.member_id)
        self._append(cgr.member_metadata_record(group.group_id, new))
        self._append(cgr.target_assignment_record(group.group_id, new.member_id, target))
        self._append(cgr.current_assignment_record(group.group_id, new))

    # -- group epoch, target assignment, reconciliation ------------------------------

    def _maybe_bump_group_epoch(self, group: ConsumerGroup, bump: bool) -> None:
        """Persist changed subscription metadata; bump the epoch if anything changed."""
        metadata = self._subscription_metadata(group)
        if metadata != group.subscription_metadata:
            self._append(cgr.partition_metadata_record(group.group_id, metadata))
            bump = True
        if bump:
            self._append(cgr.group_epoch_record(group.group_id, group.group_epoch + 1))

    def _subscription_metadata(self, group: ConsumerGroup, without: str | None = None) -> dict:
        """``{name: (topic id, partitions)}`` of the existing topics the members subscribe to."""
        names: set[str] = set()
        for member in group.members.values():
            if member.member_id != without:
                names |= self._subscribed_names(member)
        metadata = {}
        for name in names:
            info = self.topics.get(name)
            if info is not None:
                metadata[name] = (bytes(info.topic_id), info.num_partitions)
        return metadata

    def _subscribed_names(self, member: ConsumerGroupMember) -> set[str]:
        names = set(member.subscribed_topic_names)
        if member.subscribed_topic_regex is not None:
            pattern = re.compile(member.subscribed_topic_regex)
            names |= {n for n in self.topics.names() if n not in INTERNAL_TOPICS and pattern.fullmatch(n)}
        return names

    def _update_target_assignment(self, group: ConsumerGroup) -> None:
        """Run the group's assignor; persist changed member targets, then the epoch."""
        counts = {topic_id: n for topic_id, n in group.subscription_metadata.values()}
        ids = {name: topic_id for name, (topic_id, _) in group.subscription_metadata.items()}
        specs = {}
        for member_id, member in group.members.items():
            topic_ids = frozenset(ids[n] for n in self._subscribed_names(member) if n in ids)
            specs[member_id] = MemberSubscription(topic_ids, group.target_of(member_id))
        assignor = ASSIGNORS[group.preferred_assignor(self.config.assignors[0] if self.config.assignors
                                                      else DEFAULT_ASSIGNOR)]
        new_targets = assignor(specs, counts)
        for member_id in sorted(new_targets):
            if new_targets[member_id] != group.target_of(member_id):
                self._append(cgr.target_assignment_record(group.group_id, member_id, new_targets[member_id]))
        self._append(cgr.target_assignment_epoch_record(group.group_id, group.group_epoch))

    def _reconcile(self, group: ConsumerGroup, member: ConsumerGroupMember, owned, now_ms: int):
        if member.is_reconciled_to(group.assignment_epoch):
            return member
        updated = reconcile(member, group.assignment_epoch, group.target_of(member.member_id),
                            group.owner_of, owned)
        if updated != member:
            self._append(cgr.current_assignment_record(group.group_id, updated))
            self._update_rebalance_timer(group.group_id, updated, now_ms)
        return updated

    # -- leaving and timeouts -------------------------------------------------------------

    def _leave(self, request) -> dict:
        group = self.groups.get(request.group_id)
        if group is None:
            raise KafkaError(ErrorCode.GROUP_ID_NOT_FOUND, f"Group {request.group_id} not found.")
        if request.instance_id is None:
            member = group.members.get(request.member_id)
            if member is None:
                raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID,
                                 f"Member {request.member_id} is not a member of group {group.group_id}.")
        else:
            member = group.static_member(request.instance_id)
            if member is None:
                raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, f"Instance id {request.instance_id} is unknown.")
            if member.member_id != request.member_id:
                raise KafkaError(ErrorCode.FENCED_INSTANCE_ID,
                                 f"Static member {request.member_id} with instance id "
                                 f"{request.instance_id} was fenced by member {member.member_id}.")
        if request.member_epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH:
            # Keeps its partitions; its session timer (not renewed) bounds the wait.
            leaving = dataclasses.replace(member, member_epoch=LEAVE_GROUP_STATIC_MEMBER_EPOCH,
                                          partitions_pending_revocation={})
            self._append(cgr.current_assignment_record(group.group_id, leaving))
            self._rebalance_deadlines.pop((group.group_id, member.member_id), None)
        else:
            self._fence_member(group, member)
        return {"error_code": ErrorCode.NONE, "member_id": member.member_id,
                "member_epoch": request.member_epoch}

    def _fence_member(self, group: ConsumerGroup, member: ConsumerGroupMember) -> None:
        """Remove a member (left, or timed out) and bump the group epoch."""
        metadata = self._subscription_metadata(group, without=member.member_id)
        self._remove_member_records(group, member.member_id)
        self._cancel_timers(group.group_id, member.member_id)
        if metadata != group.subscription_metadata:
            self._append(cgr.partition_metadata_record(group.group_id, metadata))
        self._append(cgr.group_epoch_record(group.group_id, group.group_epoch + 1))

    def _remove_member_records(self, group: ConsumerGroup, member_id: str) -> None:
        # Kafka's order: current assignment, target, then the member itself.
        self._append(cgr.tombstone(cgr.CURRENT_MEMBER_ASSIGNMENT, group.group_id, member_id))
        self._append(cgr.tombstone(cgr.TARGET_ASSIGNMENT_MEMBER, group.group_id, member_id))
        self._append(cgr.tombstone(cgr.MEMBER_METADATA, group.group_id, member_id))

    def _update_rebalance_timer(self, group_id: str, member: ConsumerGroupMember, now_ms: int) -> None:
        key = (group_id, member.member_id)
        if member.state == MemberState.UNREVOKED_PARTITIONS:
            timeout_ms = member.rebalance_timeout_ms if member.rebalance_timeout_ms > 0 else 0
            self._rebalance_deadlines[key] = (now_ms + timeout_ms, member.member_epoch)
        else:
            self._rebalance_deadlines.pop(key, None)

    def _cancel_timers(self, group_id: str, member_id: str) -> None:
        self._session_deadlines.pop((group_id, member_id), None)
        self._rebalance_deadlines.pop((group_id, member_id), None)

    def poll_timers(self, now_ms: int) -> CoordinatorResult:
        """Fire expired sessions and rebalance timeouts: each removes its member."""
        self._records = []
        expired = [key for key, deadline in self._session_deadlines.items() if deadline <= now_ms]
        for key, (deadline, epoch) in list(self._rebalance_deadlines.items()):
            member = self._member(*key)
            if deadline <= now_ms and member is not None and member.member_epoch == epoch \
                    and member.state == MemberState.UNREVOKED_PARTITIONS:
                expired.append(key)
        for group_id, member_id in expired:
            member = self._member(group_id, member_id)
            if member is None:
                self._cancel_timers(group_id, member_id)
            else:
                self._fence_member(self.groups[group_id], member)
        return CoordinatorResult(records=self._records)

    def next_deadline_ms(self) -> int | None:
        """The earliest time at which ``poll_timers`` has something to do, or None."""
        deadlines = list(self._session_deadlines.values())
        deadlines += [deadline for deadline, _ in self._rebalance_deadlines.values()]
        return min(deadlines, default=None)

    def _member(self, group_id: str, member_id: str) -> ConsumerGroupMember | None:
        group = self.groups.get(group_id)
        return None if group is None else group.members.get(member_id)


__all__ = ["ClassicGroupUse", "ClassicGroups", "ConsumerGroupConfig", "ConsumerGroupCoordinator",
           "ConsumerGroupState", "TopicMetadataProvider", "INVALID_REGULAR_EXPRESSION"]

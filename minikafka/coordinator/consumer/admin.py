"""Consumer groups seen from outside: describe, list, delete, offset checks, classic hooks.

``ConsumerGroupAdmin`` is a mixin of ``ConsumerGroupCoordinator``
(``coordinator.py``); it reads ``self.groups`` and ``self.topics`` and
writes through ``self._append`` like the heartbeat does.

- ``consumer_group_describe``: ConsumerGroupDescribe (69). Partitions are
  named by topic id *and* name; a topic deleted since is left out.
- ``list_groups``: rows for ListGroups, merged by the runtime with the
  classic coordinator's (``protocol_type`` "consumer", ``group_type``
  "consumer").
- ``delete_group``: DeleteGroups for an empty consumer group: tombstones in
  Kafka's order (every member's current assignment, target assignment, the
  target epoch, members, subscription metadata, and the group epoch last).
- ``validate_offset_commit`` / ``validate_offset_fetch``: what OffsetCommit
  and OffsetFetch must check for a consumer group (the member epoch replaces
  the classic generation id; a wrong one is STALE_MEMBER_EPOCH).
- ``classic_join_check``: what a classic JoinGroup on this id gets.
"""

from __future__ import annotations

from minikafka.coordinator.consumer import records as cgr
from minikafka.coordinator.consumer.group import ConsumerGroup, ConsumerGroupState
from minikafka.coordinator.records import Record
from minikafka.coordinator.result import CoordinatorResult
from minikafka.errors import ErrorCode, KafkaError

PROTOCOL_TYPE = "consumer"
_UNKNOWN_OPERATIONS = -2147483648  # "authorized operations not requested"


class ConsumerGroupAdmin:
    """Describe/list/delete and offset validation for consumer groups (a mixin)."""

    groups: dict[str, ConsumerGroup]

    # -- ConsumerGroupDescribe ------------------------------------------------------

    def consumer_group_describe(self, request, now_ms: int | None = None, *, version: int = 0,
                                classic_group_ids=frozenset()) -> CoordinatorResult:
        """ConsumerGroupDescribe: read-only; the result has the response and no records.

        Args:
            classic_group_ids: ids the classic coordinator knows (they are
                answered "not a consumer group", as Kafka).
        """
        groups = [self._describe_group(group_id, classic_group_ids) for group_id in request.group_ids]
        return CoordinatorResult(response={"throttle_time_ms": 0, "groups": groups})

    def _describe_group(self, group_id: str, classic_group_ids) -> dict:
        group = self.groups.get(group_id)
        if not group_id:
            return _describe_error(group_id, ErrorCode.INVALID_GROUP_ID, "Group id can't be empty.")
        if group is None:
            message = (f"Group {group_id} is not a consumer group." if group_id in classic_group_ids
                       else f"Group {group_id} not found.")
            return _describe_error(group_id, ErrorCode.GROUP_ID_NOT_FOUND, message)
        return {
            "error_code": ErrorCode.NONE, "error_message": None, "group_id": group_id,
            "group_state": group.state.value, "group_epoch": group.group_epoch,
            "assignment_epoch": group.assignment_epoch,
            "assignor_name": group.preferred_assignor(self.config.assignors[0]),
            "members": [self._describe_member(group, m) for m in sorted(group.members)],
            "authorized_operations": _UNKNOWN_OPERATIONS,
        }

    def _describe_member(self, group: ConsumerGroup, member_id: str) -> dict:
        member = group.members[member_id]
        return {
            "member_id": member.member_id, "instance_id": member.instance_id, "rack_id": member.rack_id,
            "member_epoch": member.member_epoch, "client_id": member.client_id,
            "client_host": member.client_host,
            "subscribed_topic_names": list(member.subscribed_topic_names),
            "subscribed_topic_regex": member.subscribed_topic_regex,
            "assignment": {"topic_partitions": self._named(member.assigned_partitions)},
            "target_assignment": {"topic_partitions": self._named(group.target_of(member_id))},
        }

    def _named(self, assignment) -> list[dict]:
        result = []
        for topic_id in sorted(assignment):
            info = self.topics.get_by_id(topic_id)
            if info is not None:  # deleted topics are left out, as Kafka
                result.append({"topic_id": topic_id, "topic_name": info.name,
                               "partitions": sorted(assignment[topic_id])})
        return result

    # -- ListGroups / DeleteGroups ----------------------------------------------------------

    def list_groups(self, states_filter=()) -> list[dict]:
        """ListGroups rows for consumer groups; ``states_filter`` as in ListGroups v4+ (case-insensitive)."""
        wanted = {s.lower() for s in states_filter}
        return [{"group_id": g.group_id, "protocol_type": PROTOCOL_TYPE, "group_state": g.state.value,
                 "group_type": "consumer"}
                for g in self.groups.values() if not wanted or g.state.value.lower() in wanted]

    def delete_group(self, group_id: str) -> list[Record]:
        """DeleteGroups for one consumer group; returns the (already applied) tombstones.

        Raises:
            KafkaError: GROUP_ID_NOT_FOUND, or NON_EMPTY_GROUP if it has members.
        """
        group = self.groups.get(group_id)
        if group is None:
            raise KafkaError(ErrorCode.GROUP_ID_NOT_FOUND, f"Group {group_id} not found.")
        if group.state != ConsumerGroupState.EMPTY:
            raise KafkaError(ErrorCode.NON_EMPTY_GROUP, f"Group {group_id} is not empty.")
        self._records = []
        # An empty group has no member records left, only (maybe) stale targets.
        for member_id in sorted(group.target_assignment):
            self._append(cgr.tombstone(cgr.TARGET_ASSIGNMENT_MEMBER, group_id, member_id))
        self._append(cgr.tombstone(cgr.TARGET_ASSIGNMENT_METADATA, group_id))
        self._append(cgr.tombstone(cgr.PARTITION_METADATA, group_id))
        self._append(cgr.tombstone(cgr.GROUP_METADATA, group_id))
        return self._records

    def classic_join_check(self, group_id: str) -> tuple[ErrorCode | None, list[Record]]:
        """What a classic JoinGroup for ``group_id`` meets here.

        Returns:
            ``(None, [])``: no consumer group, go ahead; ``(None, records)``:
            an empty consumer group was deleted to make room (append the
            records first, as Kafka does); ``(INCONSISTENT_GROUP_PROTOCOL, [])``:
            a consumer group with members owns the id (this broker does not
            mix classic members into consumer groups).
        """
        group = self.groups.get(group_id)
        if group is None:
            return None, []
        if group.state == ConsumerGroupState.EMPTY:
            return None, self.delete_group(group_id)
        return ErrorCode.INCONSISTENT_GROUP_PROTOCOL, []

    # -- offsets -------------------------------------------------------------------------

    def validate_offset_commit(self, group_id: str, member_id: str, member_epoch: int,
                               api_version: int) -> None:
        """Kafka's ``ConsumerGroup.validateOffsetCommit`` (non-transactional).

        Raises:
            KafkaError: UNKNOWN_MEMBER_ID, UNSUPPORTED_VERSION (a member of a
                consumer group must commit with OffsetCommit v9+),
                STALE_MEMBER_EPOCH.
        """
        group = self.groups[group_id]
        if member_epoch < 0 and not group.members:
            return  # the admin client, or a consumer without group management
        member = group.members.get(member_id)
        if member is None:
            raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, f"Member {member_id} is not a member of group {group_id}.")
        if api_version < 9:
            raise KafkaError(ErrorCode.UNSUPPORTED_VERSION,
                             "OffsetCommit version 9 or above must be used by members using the "
                             "modern group protocol")
        if member_epoch != member.member_epoch:
            raise KafkaError(ErrorCode.STALE_MEMBER_EPOCH,
                             f"The member epoch {member_epoch} is stale; the current one is {member.member_epoch}.")

    def validate_offset_fetch(self, group_id: str, member_id: str | None, member_epoch: int) -> None:
        """Kafka's ``ConsumerGroup.validateOffsetFetch`` (OffsetFetch v9+ carries member id and epoch)."""
        if member_id is None and member_epoch < 0:
            return
        member = self.groups[group_id].members.get(member_id)
        if member is None:
            raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, f"Member {member_id} is not a member of group {group_id}.")
        if member_epoch != member.member_epoch:
            raise KafkaError(ErrorCode.STALE_MEMBER_EPOCH,
                             f"The member epoch {member_epoch} is stale; the current one is {member.member_epoch}.")


def _describe_error(group_id: str, code: ErrorCode, message: str) -> dict:
    return {"error_code": code, "error_message": message, "group_id": group_id, "group_state": "",
            "group_epoch": 0, "assignment_epoch": 0, "assignor_name": "", "members": [],
            "authorized_operations": _UNKNOWN_OPERATIONS}

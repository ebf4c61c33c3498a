"""Group administration: ListGroups, DescribeGroups, DeleteGroups, and replay.

These are the operations of ``kafka-consumer-groups --list / --describe /
--delete``. Listing and describing only read; deleting writes tombstones for
every committed offset and for the group's metadata, after which compaction
forgets the group entirely. Only an EMPTY group can be deleted
(NON_EMPTY_GROUP): its members would otherwise keep committing.

``replay(key, value)`` applies one ``__consumer_offsets`` record. A new
coordinator replays its partition from the start to rebuild every group;
the live path applies offset records and tombstones through the same code
(live group metadata changes are made directly, as Kafka does for classic
groups, and written as records only to be replayed on load). Deleting a
group also tombstones partitions that have only pending transactional
offsets, which discards them (Kafka's ``deleteAllOffsets``). Group
metadata records describe a *settled* group (after a SyncGroup, or when it
went empty), so a replayed group is STABLE or EMPTY: a rebalance that was
in flight is simply redone by the members, as in Kafka.

``AdminOperations`` is a mixin of ``GroupCoordinator``.
"""

from __future__ import annotations

from minikafka.coordinator.classic.group import Group, GroupState
from minikafka.coordinator.records import (
    GROUP_METADATA_KEY_TYPE,
    decode_record,
    group_metadata_tombstone,
    offset_commit_tombstone,
)
from minikafka.coordinator.result import CoordinatorResult
from minikafka.errors import ErrorCode

GROUP_TYPE_CLASSIC = "classic"
"""ListGroups v5+ ``group_type`` of every group here (KIP-848 groups are "consumer")."""


class AdminOperations:
    """ListGroups, DescribeGroups, DeleteGroups and replay on ``self.groups`` (mixin)."""

    def list_groups(self, states_filter=(), types_filter=()) -> dict:
        """ListGroups: every live group, optionally filtered by state and type.

        Filters compare case-insensitively, as Kafka does ("stable" matches
        "Stable"). Returns ``{"error_code", "groups": [{"group_id",
        "protocol_type", "group_state", "group_type"}]}``.
        """
        states = {s.lower() for s in states_filter}
        types = {t.lower() for t in types_filter}
        listed = []
        for group in self.groups.values():
            if group.is_in(GroupState.DEAD):
                continue
            if states and group.state.value.lower() not in states:
                continue
            if types and GROUP_TYPE_CLASSIC not in types:
                continue
            listed.append({"group_id": group.group_id, "protocol_type": group.protocol_type or "",
                           "group_state": group.state.value, "group_type": GROUP_TYPE_CLASSIC})
        return {"error_code": ErrorCode.NONE, "groups": listed}

    def describe_groups(self, group_ids, *, version: int = 5) -> dict:
        """DescribeGroups: state, protocol and members of each group.

        Members' metadata and assignment are only shown in STABLE (in the
        middle of a rebalance they are not meaningful). An unknown group is
        reported as "Dead" with no error before v6 and GROUP_ID_NOT_FOUND
        from v6, as Kafka 4.0 does.
        """
        return {"groups": [self._describe(group_id, version) for group_id in group_ids]}

    def _describe(self, group_id: str, version: int) -> dict:
        group = self.groups.get(group_id)
        if group is None or group.is_in(GroupState.DEAD):
            code = ErrorCode.GROUP_ID_NOT_FOUND if version >= 6 else ErrorCode.NONE
            return {"error_code": code, "group_id": group_id, "group_state": GroupState.DEAD.value,
                    "protocol_type": "", "protocol_data": "", "members": []}
        stable = group.is_in(GroupState.STABLE)
        return {
            "error_code": ErrorCode.NONE,
            "group_id": group_id,
            "group_state": group.state.value,
            "protocol_type": group.protocol_type or "",
            "protocol_data": (group.protocol_name or "") if stable else "",
            "members": [
                {"member_id": m.member_id, "group_instance_id": m.group_instance_id,
                 "client_id": m.client_id, "client_host": m.client_host,
                 "member_metadata": m.metadata_for(group.protocol_name) if stable else b"",
                 "member_assignment": m.assignment if stable else b""}
                for m in group.members.values()
            ],
        }

    def delete_groups(self, group_ids, now_ms: int) -> CoordinatorResult:
        """DeleteGroups: remove EMPTY groups with all their offsets.

        Returns ``{"results": [{"group_id", "error_code"}]}``.
        """
        self._begin()
        results = []
        for group_id in group_ids:
            group = self.groups.get(group_id)
            if group is None or group.is_in(GroupState.DEAD):
                code = ErrorCode.GROUP_ID_NOT_FOUND
            elif not group.is_in(GroupState.EMPTY):
                code = ErrorCode.NON_EMPTY_GROUP
            else:
                code = ErrorCode.NONE
                self._delete_group(group)
            results.append({"group_id": group_id, "error_code": code})
        return self._finish({"results": results})

    def _delete_group(self, group: Group) -> None:
        """Tombstones for the committed offsets, the pending transactional ones, the group."""
        keys = set(group.offsets)
        for producer_id in self.open_txns_by_group.get(group.group_id, ()):
            keys |= set(self.pending_txn_offsets.get(producer_id, {}).get(group.group_id, {}))
        records = [offset_commit_tombstone(group.group_id, topic, partition)
                   for topic, partition in sorted(keys)]
        records.append(group_metadata_tombstone(group.group_id))
        for record in records:
            self._result.records.append(record)
            self.replay(*record)

    # -- replay -------------------------------------------------------------------

    def replay(self, key: bytes, value: bytes | None, producer_id: int = -1) -> None:
        """Apply one ``__consumer_offsets`` record to the coordinator's memory.

        ``producer_id`` is the batch's producer id if the batch is
        transactional (-1 otherwise): its offsets wait for the producer's
        marker (``replay_end_transaction_marker``). Records of the KIP-848
        consumer protocol (types 3-8) are decoded but ignored here: the
        consumer coordinator replays them.
        """
        record_type, key_struct, value_struct = decode_record(key, value)
        if record_type in (0, 1):
            self._replay_offset(key_struct.group, key_struct.topic, key_struct.partition, value_struct,
                                producer_id)
        elif record_type == GROUP_METADATA_KEY_TYPE:
            self._replay_group(key_struct.group, value_struct)

    def _replay_group(self, group_id: str, value) -> None:
        group = self.groups.get(group_id)
        if value is None:
            if group is not None:
                group.transition_to(GroupState.DEAD, None)
                del self.groups[group_id]
                if group.offsets:
                    # Offsets outlive the group's metadata (as in Kafka): a
                    # consumer group that took over the id keeps them here.
                    self.groups[group_id] = Group(group_id, None)
                    self.groups[group_id].offsets = group.offsets
            return
        if group is None:
            group = self.groups[group_id] = Group(group_id, None)
        group.load_record_value(value)  # the latest record wins

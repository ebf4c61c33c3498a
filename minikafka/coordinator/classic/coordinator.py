"""The classic group protocol: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, timers.

``GroupCoordinator`` is a sans-I/O state machine in the style of Kafka's
``GroupMetadataManager`` (classic groups). Every operation takes a decoded
request and ``now_ms`` and returns a ``CoordinatorResult`` (``coordinator/result.py``):
records to append, this request's response (or a *ticket* if the request is
parked) and responses for parked requests it completed. Nothing here reads a
clock, sleeps or touches a socket.

A rebalance, step by step:

1. A JoinGroup v4+ without a member id is answered at once with
   MEMBER_ID_REQUIRED and a fresh member id (KIP-394): the client rejoins
   with it, so a client that times out and retries is not counted twice.
2. The join that changes membership moves the group to PREPARING_REBALANCE
   and parks. The join phase ends when every member has rejoined, or at the
   rebalance timeout (the longest of the members'), which removes dynamic
   members that did not rejoin. A new group first waits
   ``group.initial.rebalance.delay.ms`` (extended while members keep
   arriving, up to the rebalance timeout) so a starting fleet lands in one
   generation.
3. Completing the join bumps the generation, selects the protocol and answers
   every parked JoinGroup: the leader's response lists all members and their
   metadata. The group is COMPLETING_REBALANCE.
4. The leader's SyncGroup carries everyone's assignment: it is written to
   ``__consumer_offsets`` and every parked SyncGroup is answered. STABLE.
   Members that never sync within the rebalance timeout are removed.
5. Members heartbeat within ``session.timeout.ms``; a silent member is
   removed and the group rebalances. A heartbeat during a rebalance gets
   REBALANCE_IN_PROGRESS, telling the member to rejoin.

Static members (KIP-345, ``group.instance.id``) rejoin under a new member id
and take their predecessor's place and assignment; in a STABLE group this
needs no rebalance. The old member id is fenced (FENCED_INSTANCE_ID).

Timers are data: each member has a ``heartbeat_deadline_ms``, each group a
``join_deadline_ms`` and ``sync_deadline_ms``, pending KIP-394 members an
expiry. ``poll_timers(now_ms)`` fires those that are due; ``next_deadline_ms()``
tells the runtime when to call it next.

Offsets, listing and deletion live in ``offsets.py`` and ``admin.py``;
``GroupCoordinator`` exposes them as methods. Not task-safe: the runtime
calls it from one task at a time.
"""

from __future__ import annotations

import dataclasses
import uuid

from minikafka.coordinator.classic import admin, offsets
from minikafka.coordinator.classic.config import GroupConfig
from minikafka.coordinator.classic.group import Group, GroupState, Member, OffsetAndMetadata
from minikafka.coordinator.records import group_metadata_record
from minikafka.coordinator.result import CoordinatorResult
from minikafka.errors import ErrorCode, KafkaError

PREPARING = GroupState.PREPARING_REBALANCE
COMPLETING = GroupState.COMPLETING_REBALANCE
STABLE = GroupState.STABLE
EMPTY = GroupState.EMPTY
DEAD = GroupState.DEAD


@dataclasses.dataclass
class _Parked:
    """A parked request: what it is and at which version it must be answered."""

    api: str  # "join" or "sync"
    version: int


class GroupCoordinator(offsets.OffsetOperations, admin.AdminOperations):
    """All classic groups of one ``__consumer_offsets`` partition (or of all, for one broker).

    Args:
        config: the group settings (``GroupConfig.from_broker_config``).
        new_uuid: makes the random part of new member ids; tests pass a
            deterministic one.

    Owned by the runtime that drives it; not task-safe.
    """

    def __init__(self, config: GroupConfig | None = None, new_uuid=None):
        self.config = config or GroupConfig()
        self.groups: dict[str, Group] = {}
        self._new_uuid = new_uuid or (lambda: str(uuid.uuid4()))
        self._parked: dict[int, _Parked] = {}
        self._next_ticket = 1
        self._next_offsets_expiry_ms: int | None = None
        self._result = CoordinatorResult()
        # Transactional offset commits waiting for their transaction's marker
        # (offsets.py): producer id -> group id -> (topic, partition) -> offset,
        # and group id -> producer ids with pending offsets in that group.
        self.pending_txn_offsets: dict[int, dict[str, dict[tuple[str, int], OffsetAndMetadata]]] = {}
        self.open_txns_by_group: dict[str, set[int]] = {}
        self._replayed_offsets = 0  # OffsetAndMetadata.record_order of the next replayed offset

    # -- the result being built by the current operation ----------------------

    def _begin(self) -> CoordinatorResult:
        self._result = CoordinatorResult()
        return self._result

    def _finish(self, response: dict | None = None, ticket: int | None = None) -> CoordinatorResult:
        """Close the operation; a parked request completed by itself is answered directly."""
        result = self._result
        if ticket is not None:
            for i, (delivered, delivered_response) in enumerate(result.deliveries):
                if delivered == ticket:
                    del result.deliveries[i]
                    response, ticket = delivered_response, None
                    break
        result.response, result.ticket = response, ticket
        return result

    def _park(self, api: str, version: int) -> int:
        ticket = self._next_ticket
        self._next_ticket += 1
        self._parked[ticket] = _Parked(api, version)
        return ticket

    def _deliver(self, ticket: int | None, response: dict) -> None:
        """Answer a parked request (no-op for None: nothing was parked)."""
        if ticket is None or ticket not in self._parked:
            return
        parked = self._parked.pop(ticket)
        if parked.api == "join":
            response = _fix_join_response(response, parked.version)
        self._result.deliveries.append((ticket, response))

    def _write_group(self, group: Group) -> None:
        self._result.records.append(group_metadata_record(group.group_id, group.to_record_value()))

    # -- JoinGroup --------------------------------------------------------------

    def join_group(self, request, now_ms: int, *, version: int, client_id: str = "",
                   client_host: str = "") -> CoordinatorResult:
        """JoinGroup: join (or rejoin) a group; usually parks until the join phase ends."""
        self._begin()
        ticket = self._park("join", version)
        created = request.group_id not in self.groups
        try:
            self._join(request, now_ms, version, client_id, client_host, ticket)
        except KafkaError as error:
            self._parked.pop(ticket, None)
            if created:  # a failed first join leaves no group behind (as Kafka)
                self._drop_if_unused(request.group_id)
            member_id = error.message if error.code == ErrorCode.MEMBER_ID_REQUIRED else request.member_id
            response = _fix_join_response(_join_error(error.code, member_id), version)
            return self._finish(response)
        self._check_join_deadline(self.groups.get(request.group_id), now_ms)
        return self._finish(None, ticket)

    def _join(self, request, now_ms, version, client_id, client_host, ticket) -> None:
        protocols = [(p.name, bytes(p.metadata)) for p in request.protocols]
        rebalance_timeout_ms = request.rebalance_timeout_ms
        if rebalance_timeout_ms is None or rebalance_timeout_ms < 0:
            rebalance_timeout_ms = request.session_timeout_ms  # JoinGroup v0 has none
        if not request.group_id:
            raise KafkaError(ErrorCode.INVALID_GROUP_ID)
        if not (self.config.group_min_session_timeout_ms <= request.session_timeout_ms
                <= self.config.group_max_session_timeout_ms):
            raise KafkaError(ErrorCode.INVALID_SESSION_TIMEOUT)
        group = self.groups.get(request.group_id)
        if group is None:
            if request.member_id:
                raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID)
            # No state timestamp yet: the group has not *become* empty, and a
            # group rebuilt from its offsets alone would not have one either.
            group = self.groups[request.group_id] = Group(request.group_id, None)
        if group.is_in(DEAD):
            raise KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        if not self._accepts_joining_member(group, request.member_id):
            group.pending_members.pop(request.member_id, None)
            raise KafkaError(ErrorCode.GROUP_MAX_SIZE_REACHED)
        if not group.supports_protocols(request.protocol_type, protocols):
            raise KafkaError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
        joining = Member(
            member_id=request.member_id, group_instance_id=request.group_instance_id,
            client_id=client_id, client_host=client_host,
            rebalance_timeout_ms=rebalance_timeout_ms, session_timeout_ms=request.session_timeout_ms,
            protocol_type=request.protocol_type, protocols=protocols, awaiting_join=ticket,
        )
        if request.member_id:
            self._join_known_member(group, joining, now_ms)
        else:
            self._join_new_member(group, joining, now_ms, version)

    def _accepts_joining_member(self, group: Group, member_id: str) -> bool:
        """group.max.size: a full group turns away members it does not know."""
        limit = self.config.group_max_size
        if group.is_in(EMPTY, DEAD):
            return True
        known = member_id in group.members
        if group.is_in(PREPARING):
            awaiting = sum(1 for m in group.members.values() if m.awaiting_join is not None)
            return (known and group.members[member_id].awaiting_join is not None) or awaiting < limit
        return known or len(group.members) < limit

    def _join_new_member(self, group: Group, joining: Member, now_ms: int, version: int) -> None:
        prefix = joining.group_instance_id if joining.group_instance_id is not None else joining.client_id
        joining.member_id = f"{prefix}-{self._new_uuid()}"
        if joining.group_instance_id is not None:
            if joining.group_instance_id in group.static_members:
                self._replace_static_member(group, joining, now_ms)
            else:
                self._add_member_and_rebalance(group, joining, now_ms)
        elif version >= 4:
            # KIP-394: hand out the id first; the member joins for real with it.
            group.pending_members[joining.member_id] = now_ms + joining.session_timeout_ms
            raise KafkaError(ErrorCode.MEMBER_ID_REQUIRED, joining.member_id)
        else:
            self._add_member_and_rebalance(group, joining, now_ms)

    def _join_known_member(self, group: Group, joining: Member, now_ms: int) -> None:
        if joining.member_id in group.pending_members:
            self._add_member_and_rebalance(group, joining, now_ms)
            return
        member = self._validate_member(group, joining.member_id, joining.group_instance_id)
        if group.is_in(PREPARING):
            self._update_member_and_rebalance(group, member, joining, now_ms)
        elif group.is_in(COMPLETING, STABLE):
            leader_rejoins = group.is_in(STABLE) and member.member_id == group.leader_id
            if member.matches(joining.protocols) and not leader_rejoins:
                # Nothing changed: hand back the current generation.
                member.heartbeat_deadline_ms = now_ms + member.session_timeout_ms
                self._deliver(joining.awaiting_join, self._join_response(group, member))
            else:
                self._update_member_and_rebalance(group, member, joining, now_ms)
        else:
            raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID)

    def _add_member_and_rebalance(self, group: Group, member: Member, now_ms: int) -> None:
        group.pending_members.pop(member.member_id, None)
        if group.is_in(PREPARING) and group.generation_id == 0:
            group.new_member_added = True  # lets the initial delay extend itself
        member.is_new = True
        # A parked new member cannot heartbeat; if its client gave up, this
        # bounds how long the stale member can hold the rebalance up.
        member.heartbeat_deadline_ms = now_ms + self.config.new_member_join_timeout_ms
        group.add(member)
        self._maybe_prepare_rebalance(group, now_ms)
        self._maybe_complete_join(group, now_ms)

    def _update_member_and_rebalance(self, group: Group, member: Member, joining: Member, now_ms: int) -> None:
        if member.awaiting_join is not None:
            # The client resent its JoinGroup (the first one timed out on its
            # side); answer the stale one so no ticket is left dangling.
            self._deliver(member.awaiting_join, _join_error(ErrorCode.REBALANCE_IN_PROGRESS, member.member_id))
        member.protocols = joining.protocols
        member.rebalance_timeout_ms = joining.rebalance_timeout_ms
        member.session_timeout_ms = joining.session_timeout_ms
        member.awaiting_join = joining.awaiting_join
        member.heartbeat_deadline_ms = now_ms + member.session_timeout_ms
        self._maybe_prepare_rebalance(group, now_ms)
        self._maybe_complete_join(group, now_ms)

    def _replace_static_member(self, group: Group, joining: Member, now_ms: int) -> None:
        """KIP-345: a static member restarted; its new member id takes the old one's place."""
        instance_id = joining.group_instance_id
        old_member_id = group.static_members[instance_id]
        old = group.members[old_member_id]
        fenced = ErrorCode.FENCED_INSTANCE_ID
        self._deliver(old.awaiting_join, _join_error(fenced, old_member_id))
        self._deliver(old.awaiting_sync, _sync_error(fenced))
        old.awaiting_join = old.awaiting_sync = None
        member = group.replace_static_member(instance_id, old_member_id, joining.member_id)
        member.protocols = joining.protocols
        member.rebalance_timeout_ms = joining.rebalance_timeout_ms
        member.session_timeout_ms = joining.session_timeout_ms
        member.heartbeat_deadline_ms = now_ms + member.session_timeout_ms
        if group.is_in(STABLE) and group.select_protocol() == group.protocol_name:
            # Same protocol for the next generation: persist the new member id
            # and hand back the old assignment, without a rebalance.
            self._write_group(group)
            is_leader = member.member_id == group.leader_id
            response = self._join_response(group, member, skip_assignment=is_leader)
            self._deliver(joining.awaiting_join, response)
            return
        member.awaiting_join = joining.awaiting_join
        if group.is_in(COMPLETING):
            self._prepare_rebalance(group, now_ms)
        else:
            self._maybe_prepare_rebalance(group, now_ms)
            self._maybe_complete_join(group, now_ms)

    def _validate_member(self, group: Group, member_id: str, group_instance_id: str | None) -> Member:
        """The member ``member_id``; fences a static member id that was replaced."""
        if group_instance_id is not None:
            current = group.static_members.get(group_instance_id)
            if current is None:
                raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID)
            if current != member_id:
                raise KafkaError(ErrorCode.FENCED_INSTANCE_ID)
        member = group.members.get(member_id)
        if member is None:
            raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID)
        return member

    # -- rebalance phases -------------------------------------------------------

    def _maybe_prepare_rebalance(self, group: Group, now_ms: int) -> None:
        if group.can_rebalance():
            self._prepare_rebalance(group, now_ms)

    def _prepare_rebalance(self, group: Group, now_ms: int) -> None:
        if group.is_in(COMPLETING):
            # The leader's assignment for this generation will never come:
            # the members waiting for it must rejoin.
            for member in group.members.values():
                member.assignment = b""
                self._deliver(member.awaiting_sync, _sync_error(ErrorCode.REBALANCE_IN_PROGRESS))
                member.awaiting_sync = None
        group.pending_sync.clear()
        group.sync_deadline_ms = None
        group.initial_rebalance = group.is_in(EMPTY)
        if group.initial_rebalance:
            delay_ms = self.config.group_initial_rebalance_delay_ms
            group.initial_delay_remaining_ms = max(group.rebalance_timeout_ms() - delay_ms, 0)
            group.new_member_added = False
        else:
            delay_ms = group.rebalance_timeout_ms()
        group.transition_to(PREPARING, now_ms)
        group.join_deadline_ms = now_ms + delay_ms

    def _maybe_complete_join(self, group: Group, now_ms: int, even_initial: bool = False) -> None:
        """End the join phase early once everyone is in (never during the initial delay)."""
        if (group.is_in(PREPARING) and group.has_all_members_joined()
                and (even_initial or not group.initial_rebalance)):
            self._complete_join(group, now_ms)

    def _check_join_deadline(self, group: Group | None, now_ms: int) -> None:
        if group is not None and group.is_in(PREPARING) and group.join_deadline_ms is not None \
                and group.join_deadline_ms <= now_ms:
            self._on_join_deadline(group, now_ms)

    def _on_join_deadline(self, group: Group, now_ms: int) -> None:
        if group.initial_rebalance and group.new_member_added and group.initial_delay_remaining_ms > 0:
            # Members are still arriving: wait another round, within the budget.
            delay_ms = min(self.config.group_initial_rebalance_delay_ms, group.initial_delay_remaining_ms)
            group.initial_delay_remaining_ms = max(
                group.initial_delay_remaining_ms - self.config.group_initial_rebalance_delay_ms, 0)
            group.new_member_added = False
            group.join_deadline_ms = now_ms + delay_ms
            return
        self._complete_join(group, now_ms)

    def _complete_join(self, group: Group, now_ms: int) -> None:
        group.join_deadline_ms = None
        group.initial_rebalance = False
        for member in group.not_yet_rejoined():
            if member.group_instance_id is None:  # static members keep their place
                group.remove(member.member_id)
        group.generation_id += 1
        if not group.members:
            group.protocol_name = None
            group.transition_to(EMPTY, now_ms)
            self._write_group(group)
            return
        group.protocol_name = group.select_protocol()
        group.transition_to(COMPLETING, now_ms)
        group.pending_sync = set(group.members)
        group.sync_deadline_ms = now_ms + group.rebalance_timeout_ms()
        for member in list(group.members.values()):
            if member.awaiting_join is None:
                continue
            ticket, member.awaiting_join = member.awaiting_join, None
            member.is_new = False
            member.heartbeat_deadline_ms = now_ms + member.session_timeout_ms
            self._deliver(ticket, self._join_response(group, member))

    def _join_response(self, group: Group, member: Member, skip_assignment: bool = False) -> dict:
        is_leader = member.member_id == group.leader_id
        members = []
        if is_leader:
            members = [
                {"member_id": m.member_id, "group_instance_id": m.group_instance_id,
                 "metadata": m.metadata_for(group.protocol_name)}
                for m in group.members.values()
            ]
        return {
            "error_code": ErrorCode.NONE, "generation_id": group.generation_id,
            "protocol_type": group.protocol_type, "protocol_name": group.protocol_name,
            "leader": group.leader_id or "", "skip_assignment": skip_assignment,
            "member_id": member.member_id, "members": members,
        }

    # -- SyncGroup --------------------------------------------------------------

    def sync_group(self, request, now_ms: int, *, version: int) -> CoordinatorResult:
        """SyncGroup: the leader hands in the assignment; everyone receives theirs."""
        self._begin()
        ticket = self._park("sync", version)
        try:
            response = self._sync(request, now_ms, ticket)
        except KafkaError as error:
            self._parked.pop(ticket, None)
            return self._finish(_sync_error(error.code))
        if response is not None:
            self._parked.pop(ticket, None)
            return self._finish(response)
        return self._finish(None, ticket)

    def _sync(self, request, now_ms: int, ticket: int) -> dict | None:
        group = self.groups.get(request.group_id)
        if group is None:
            raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID)
        if group.is_in(DEAD):
            raise KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        member = self._validate_member(group, request.member_id, request.group_instance_id)
        if request.generation_id != group.generation_id:
            raise KafkaError(ErrorCode.ILLEGAL_GENERATION)
        if (request.protocol_type is not None and request.protocol_type != group.protocol_type) or \
                (request.protocol_name is not None and request.protocol_name != group.protocol_name):
            raise KafkaError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
        if group.is_in(EMPTY):
            raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID)
        if group.is_in(PREPARING):
            raise KafkaError(ErrorCode.REBALANCE_IN_PROGRESS)
        self._synced(group, member, now_ms)
        if group.is_in(STABLE):
            return self._sync_response(group, member)
        member.awaiting_sync = ticket
        if member.member_id == group.leader_id:
            self._apply_assignment(group, request.assignments, now_ms)
        return None

    def _synced(self, group: Group, member: Member, now_ms: int) -> None:
        group.pending_sync.discard(member.member_id)
        if not group.pending_sync:
            group.sync_deadline_ms = None
        member.heartbeat_deadline_ms = now_ms + member.session_timeout_ms

    def _apply_assignment(self, group: Group, assignments, now_ms: int) -> None:
        """The leader's SyncGroup: persist the generation, answer every waiting member."""
        by_member = {a.member_id: bytes(a.assignment) for a in assignments}
        for member in group.members.values():
            member.assignment = by_member.get(member.member_id, b"")
        group.transition_to(STABLE, now_ms)
        self._write_group(group)
        for member in group.members.values():
            if member.awaiting_sync is not None:
                ticket, member.awaiting_sync = member.awaiting_sync, None
                self._deliver(ticket, self._sync_response(group, member))

    @staticmethod
    def _sync_response(group: Group, member: Member) -> dict:
        return {"error_code": ErrorCode.NONE, "protocol_type": group.protocol_type,
                "protocol_name": group.protocol_name, "assignment": member.assignment}

    # -- Heartbeat ----------------------------------------------------------------

    def heartbeat(self, request, now_ms: int, *, version: int = 4) -> CoordinatorResult:
        """Heartbeat: keep the member's session alive; REBALANCE_IN_PROGRESS says rejoin."""
        self._begin()
        try:
            self._heartbeat(request, now_ms)
        except KafkaError as error:
            return self._finish({"error_code": error.code})
        return self._finish({"error_code": ErrorCode.NONE})

    def _heartbeat(self, request, now_ms: int) -> None:
        group = self.groups.get(request.group_id)
        if group is None:
            raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID)
        if group.is_in(DEAD):
            raise KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        if group.is_in(EMPTY):
            raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID)
        member = self._validate_member(group, request.member_id, request.group_instance_id)
        if request.generation_id != group.generation_id:
            raise KafkaError(ErrorCode.ILLEGAL_GENERATION)
        member.heartbeat_deadline_ms = now_ms + member.session_timeout_ms
        if group.is_in(PREPARING):
            raise KafkaError(ErrorCode.REBALANCE_IN_PROGRESS)

    # -- LeaveGroup ---------------------------------------------------------------

    def leave_group(self, request, now_ms: int, *, version: int) -> CoordinatorResult:
        """LeaveGroup: one member (v0-v2) or a batch of members (v3+) leave."""
        self._begin()
        if version >= 3:
            identities = [(m.member_id, m.group_instance_id) for m in request.members]
        else:
            identities = [(request.member_id, None)]
        group = self.groups.get(request.group_id)
        if group is None or group.is_in(DEAD):
            code = ErrorCode.UNKNOWN_MEMBER_ID if group is None else ErrorCode.COORDINATOR_NOT_AVAILABLE
            return self._finish({"error_code": code, "members": []})
        results = [self._leave_one(group, member_id, instance_id, now_ms)
                   for member_id, instance_id in identities]
        top_level = results[0]["error_code"] if version < 3 and results else ErrorCode.NONE
        return self._finish({"error_code": top_level, "members": results})

    def _leave_one(self, group: Group, member_id: str, instance_id: str | None, now_ms: int) -> dict:
        result = {"member_id": member_id, "group_instance_id": instance_id, "error_code": ErrorCode.NONE}
        if not member_id and instance_id is None:
            result["error_code"] = ErrorCode.UNKNOWN_MEMBER_ID
        elif not member_id or instance_id is not None:
            current = group.static_members.get(instance_id)
            if current is None:
                result["error_code"] = ErrorCode.UNKNOWN_MEMBER_ID
            elif member_id and member_id != current:
                result["error_code"] = ErrorCode.FENCED_INSTANCE_ID
            else:
                self._remove_member_and_update(group, group.members[current], now_ms)
        elif member_id in group.pending_members:
            del group.pending_members[member_id]
            self._maybe_complete_join(group, now_ms, even_initial=True)
        elif member_id in group.members:
            self._remove_member_and_update(group, group.members[member_id], now_ms)
        else:
            result["error_code"] = ErrorCode.UNKNOWN_MEMBER_ID
        return result

    def _remove_member_and_update(self, group: Group, member: Member, now_ms: int) -> None:
        """Remove a member (it left or timed out) and rebalance the rest."""
        self._deliver(member.awaiting_join, _join_error(ErrorCode.UNKNOWN_MEMBER_ID, ""))
        self._deliver(member.awaiting_sync, _sync_error(ErrorCode.UNKNOWN_MEMBER_ID))
        group.remove(member.member_id)
        if group.is_in(STABLE, COMPLETING):
            self._prepare_rebalance(group, now_ms)
        self._maybe_complete_join(group, now_ms, even_initial=True)

    # -- timers -------------------------------------------------------------------

    def on_loaded(self, now_ms: int) -> None:
        """Start the clocks of a coordinator just rebuilt by ``replay`` (Kafka's onLoaded).

        Replayed members have no session deadline: give each a full session
        from now, so members that died with the old coordinator are removed
        and the group rebalances (or empties) instead of staying STABLE with
        ghosts. Offset retention checks start one interval from now.
        """
        for group in self.groups.values():
            for member in group.members.values():
                member.heartbeat_deadline_ms = now_ms + member.session_timeout_ms
        self._next_offsets_expiry_ms = now_ms + self.config.offsets_retention_check_interval_ms

    def poll_timers(self, now_ms: int) -> CoordinatorResult:
        """Fire every timer due at ``now_ms``: sessions, join and sync deadlines, offset expiry.

        Returns the records and the responses of parked requests that this
        completed (``deliveries``); ``response`` is None.
        """
        self._begin()
        for group in list(self.groups.values()):
            self._expire_pending_members(group, now_ms)
            self._expire_sessions(group, now_ms)
            self._check_join_deadline(group, now_ms)
            if group.sync_deadline_ms is not None and group.sync_deadline_ms <= now_ms:
                self._on_sync_deadline(group, now_ms)
        if self._next_offsets_expiry_ms is None:
            self._next_offsets_expiry_ms = now_ms + self.config.offsets_retention_check_interval_ms
        elif self._next_offsets_expiry_ms <= now_ms:
            self._next_offsets_expiry_ms = now_ms + self.config.offsets_retention_check_interval_ms
            self._expire_offsets(now_ms)
        return self._finish()

    def next_deadline_ms(self) -> int | None:
        """The earliest time at which ``poll_timers`` has something to do, or None."""
        deadlines = [self._next_offsets_expiry_ms]
        for group in self.groups.values():
            deadlines += [group.join_deadline_ms, group.sync_deadline_ms]
            deadlines += list(group.pending_members.values())
            deadlines += [m.heartbeat_deadline_ms for m in group.members.values()]
        return min((d for d in deadlines if d is not None), default=None)

    def _expire_pending_members(self, group: Group, now_ms: int) -> None:
        expired = [m for m, expiry_ms in group.pending_members.items() if expiry_ms <= now_ms]
        for member_id in expired:
            del group.pending_members[member_id]
        if expired:
            self._maybe_complete_join(group, now_ms, even_initial=True)

    def _expire_sessions(self, group: Group, now_ms: int) -> None:
        for member in list(group.members.values()):
            if member.member_id not in group.members:
                continue  # removed by an earlier expiry's rebalance
            if member.heartbeat_deadline_ms is None or member.heartbeat_deadline_ms > now_ms:
                continue
            waiting = member.awaiting_join is not None or member.awaiting_sync is not None
            if waiting and not member.is_new:
                # Waiting on the rebalance counts as alive; the rebalance
                # (or sync) deadline is what bounds the wait.
                member.heartbeat_deadline_ms = None
                continue
            self._remove_member_and_update(group, member, now_ms)

    def _on_sync_deadline(self, group: Group, now_ms: int) -> None:
        """Members that never sent SyncGroup this generation are removed."""
        group.sync_deadline_ms = None
        if not group.is_in(COMPLETING, STABLE) or not group.pending_sync:
            return
        for member_id in list(group.pending_sync):
            member = group.members[member_id]
            self._deliver(member.awaiting_join, _join_error(ErrorCode.UNKNOWN_MEMBER_ID, ""))
            group.remove(member_id)
        self._prepare_rebalance(group, now_ms)
        self._maybe_complete_join(group, now_ms, even_initial=True)

    def _drop_if_unused(self, group_id: str) -> None:
        group = self.groups.get(group_id)
        if (group is not None and not group.members and not group.pending_members and not group.offsets
                and group_id not in self.open_txns_by_group):
            del self.groups[group_id]


def _join_error(code: ErrorCode, member_id: str) -> dict:
    return {"error_code": code, "generation_id": -1, "protocol_type": None, "protocol_name": None,
            "leader": "", "skip_assignment": False, "member_id": member_id, "members": []}


def _sync_error(code: ErrorCode) -> dict:
    return {"error_code": code, "protocol_type": None, "protocol_name": None, "assignment": b""}


def _fix_join_response(response: dict, version: int) -> dict:
    """Before v7 the protocol name is not nullable: Kafka sends "" instead of null."""
    if version < 7 and response.get("protocol_name") is None:
        response = dict(response, protocol_name="")
    return response

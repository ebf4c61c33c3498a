"""The Trio task that keeps a consumer in a classic group (drives ``ClassicMember``).

``ClassicMembership.run()`` is a background task of the consumer. It finds the
coordinator, joins (JoinGroup, then SyncGroup; the leader runs the assignor),
then heartbeats every ``heartbeat.interval.ms`` until a heartbeat says
REBALANCE_IN_PROGRESS or the consumer asks to rejoin (its subscription
changed), and goes round again. Every decision is ``ClassicMember``'s; this
module only moves requests and waits.

The consumer learns of changes through its *listener*: ``revoked(tps)`` before
the partitions are given up (the consumer commits their offsets there),
``assigned(tps)`` after new ones arrive and ``lost(tps)`` when the membership
was taken away (the partitions may already belong to someone else: no commit).

JoinGroup may legitimately take up to ``max.poll.interval.ms`` (the
coordinator waits for every member to rejoin), so its request timeout is that
plus the usual request timeout.
"""

from __future__ import annotations

import trio

from minikafka.errors import ErrorCode, KafkaError

from . import groups
from .cluster import Cluster
from .connection import Connection, KafkaConnectionError
from .group_member import ClassicMember, MemberState, Next

JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP = 11, 12, 13, 14
RETRY_BACKOFF_S = 0.1


class _FindCoordinator(Exception):
    """The coordinator moved or went away: look it up again."""


class ClassicMembership:
    """Membership of one consumer in a classic group (owned by the consumer's nursery).

    Args:
        member: the sans-I/O state machine.
        listener: has async ``revoked``, ``assigned``, ``lost`` and a
            ``subscribed_topics()`` returning the current topic set.
        heartbeat_interval_ms: ``heartbeat.interval.ms``.
    """

    def __init__(self, cluster: Cluster, member: ClassicMember, listener, *,
                 heartbeat_interval_ms: int):
        self.cluster = cluster
        self.member = member
        self.listener = listener
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.stable = trio.Event()  # set after the first complete rebalance
        self._wake = trio.Event()
        self._connection: Connection | None = None
        self._stopped = False

    @property
    def generation_id(self) -> int:
        return self.member.generation_id

    @property
    def member_id(self) -> str:
        return self.member.member_id

    def request_rejoin(self) -> None:
        """The subscription changed (or metadata did): rejoin at the next chance."""
        self.member.rejoin_needed = True
        self._wake.set()

    async def run(self) -> None:
        """Stay in the group until cancelled."""
        while not self._stopped:
            try:
                if self._connection is None or self._connection.closed:
                    await self._find_coordinator()
                if self.member.rejoin_needed or self.member.state != MemberState.STABLE:
                    await self._rebalance()
                await self._heartbeat_until_rejoin()
            except (_FindCoordinator, KafkaConnectionError):
                self._connection = None
                await trio.sleep(RETRY_BACKOFF_S)

    async def _find_coordinator(self) -> None:
        try:
            coordinator = await groups.find_coordinator(self.cluster, self.member.group_id)
        except KafkaError as exc:
            if exc.code in (ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.NOT_COORDINATOR):
                raise _FindCoordinator() from exc
            raise
        self._connection = await self.cluster.connection_to_address(coordinator.host, coordinator.port)

    async def _request(self, api_key: int, body: dict, timeout_ms: float | None = None):
        timeout_ms = timeout_ms or self.cluster.request_timeout_ms
        return await self._connection.request(api_key, body, timeout_ms=timeout_ms)

    # -- rebalance ------------------------------------------------------------

    async def _rebalance(self) -> None:
        await self._report_lost()
        revoked = self.member.revoke_all_before_join()
        if revoked:
            await self.listener.revoked(revoked)
        join_timeout_ms = self.member.rebalance_timeout_ms + self.cluster.request_timeout_ms
        while True:
            self.member.rejoin_needed = False
            body = self.member.join_request(set(self.listener.subscribed_topics()))
            response = await self._request(JOIN_GROUP, body, join_timeout_ms)
            step = self._check(self.member.on_join_response(response))
            if step is Next.JOIN:
                await self._report_lost()
                continue
            step = await self._sync()
            if step is Next.STABLE:
                self.stable.set()
                return

    async def _sync(self) -> Next:
        assignments = {}
        if self.member.is_leader:
            topics = sorted(self.member.member_topics())
            found = await self.cluster.refresh_metadata(topics) if topics else {}
            counts = {name: len(t.partitions) for name, t in found.items()}
            assignments = self.member.compute_assignment(counts)
        response = await self._request(SYNC_GROUP, self.member.sync_request(assignments),
                                       self.member.rebalance_timeout_ms + self.cluster.request_timeout_ms)
        step, added, revoked = self.member.on_sync_response(response)
        self._check(step)
        if revoked:
            await self.listener.revoked(revoked)
        if step is Next.STABLE or added or revoked:
            await self.listener.assigned(added)
        await self._report_lost()
        return step

    def _check(self, step: Next) -> Next:
        if step is Next.FIND_COORDINATOR:
            raise _FindCoordinator()
        return step

    async def _report_lost(self) -> None:
        if self.member.lost:
            lost, self.member.lost = self.member.lost, set()
            await self.listener.lost(lost)

    # -- heartbeats -------------------------------------------------------------

    async def _heartbeat_until_rejoin(self) -> None:
        while not self.member.rejoin_needed:
            with trio.move_on_after(self.heartbeat_interval_ms / 1000):
                await self._wake.wait()
            self._wake = trio.Event()
            if self.member.rejoin_needed:
                return
            response = await self._request(HEARTBEAT, self.member.heartbeat_request())
            self._check(self.member.on_heartbeat_response(response))

    # -- leaving ------------------------------------------------------------------

    async def leave(self) -> None:
        """Give up the partitions and leave the group (``close()``).

        A static member (``group.instance.id``) does not send LeaveGroup, as
        Java's consumer: its restart within the session timeout is then no
        rebalance at all.
        """
        self._stopped = True
        if self.member.owned:
            owned, self.member.owned = self.member.owned, set()
            await self.listener.revoked(owned)
        if self.member.group_instance_id is None and self.member.member_id and \
                self._connection is not None and not self._connection.closed:
            with trio.move_on_after(self.cluster.request_timeout_ms / 1000):
                try:
                    await self._request(LEAVE_GROUP, self.member.leave_request())
                except KafkaConnectionError:
                    pass  # the session timeout will remove us
        self.member.reset()



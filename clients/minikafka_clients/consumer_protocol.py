"""KIP-848 membership (``group.protocol=consumer``): one heartbeat does it all.

The new consumer group protocol replaces JoinGroup / SyncGroup / Heartbeat by
one request, ConsumerGroupHeartbeat, and moves the assignor to the broker
(``group.remote.assignor``: ``uniform`` or ``range``). There is no
"stop-the-world" rebalance: each member converges on its *target assignment*
on its own.

- Join: heartbeat with ``member_epoch`` 0, a member id the client made up
  (KIP-1082, v1), the subscription, and no owned partitions.
- Every heartbeat reports ``topic_partitions``: what the member owns now.
  That is how it *acknowledges* an assignment.
- A response with ``assignment`` set carries the member's new target
  (partitions by ``topic_id``). The client *reconciles*: it revokes what is
  no longer in the target (``on_revoke``, committing offsets first), then
  takes what is new (``on_assign``) and heartbeats at once to say so. The
  coordinator gives a partition to its new owner only once the old owner's
  heartbeat no longer lists it, so no partition is ever owned twice.
- FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID: the member was removed (missed its
  session): its partitions are *lost* (``on_lost``) and it rejoins at epoch 0.
- Leave: epoch -1, or -2 for a static member (``group.instance.id``), which
  keeps its assignment for a restart within the session timeout.

``ConsumerGroupMember`` is the sans-I/O state; ``ConsumerProtocolMembership``
the Trio task that drives it, with the same listener interface as
``classic_membership.ClassicMembership``.
"""

from __future__ import annotations

import base64
import uuid

import trio

from minikafka.errors import ErrorCode, KafkaError

from . import groups
from .assignors import TopicPartition
from .cluster import Cluster
from .connection import Connection, KafkaConnectionError
from .group_member import COORDINATOR_ERRORS

CONSUMER_GROUP_HEARTBEAT = 68
JOIN_EPOCH, LEAVE_EPOCH, LEAVE_STATIC_EPOCH = 0, -1, -2
FENCED = frozenset({ErrorCode.FENCED_MEMBER_EPOCH, ErrorCode.UNKNOWN_MEMBER_ID})
RETRY_BACKOFF_S = 0.1


def new_member_id() -> str:
    """A random id as Kafka's ``Uuid.toString()`` writes one (22 url-safe base64 chars)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


class ConsumerGroupMember:
    """A member's view of a KIP-848 group (sans-I/O; owned by one task).

    Attributes:
        member_epoch: 0 before joining; the coordinator's epoch afterwards.
        owned: what the member owns (and reports in every heartbeat).
        target: the latest target assignment, not yet fully reconciled.
    """

    def __init__(self, group_id: str, *, group_instance_id: str | None, rebalance_timeout_ms: int,
                 server_assignor: str | None):
        self.group_id = group_id
        self.group_instance_id = group_instance_id
        self.rebalance_timeout_ms = rebalance_timeout_ms
        self.server_assignor = server_assignor
        self.member_id = new_member_id()
        self.member_epoch = JOIN_EPOCH
        self.heartbeat_interval_ms = 5000
        self.owned: set[TopicPartition] = set()
        self.target: set[TopicPartition] | None = None

    def heartbeat_request(self, topics: set[str], topic_ids: dict[str, bytes]) -> dict:
        """A full heartbeat: every field, so no "unchanged" bookkeeping is needed."""
        owned = [] if self.member_epoch == JOIN_EPOCH else _by_topic_id(self.owned, topic_ids)
        return {
            "group_id": self.group_id, "member_id": self.member_id,
            "member_epoch": self.member_epoch, "instance_id": self.group_instance_id,
            "rack_id": None, "rebalance_timeout_ms": self.rebalance_timeout_ms,
            "subscribed_topic_names": sorted(topics), "subscribed_topic_regex": None,
            "server_assignor": self.server_assignor, "topic_partitions": owned,
        }

    def on_heartbeat_response(self, response, topic_names: dict[bytes, str]) -> set[TopicPartition]:
        """Digest a heartbeat response; return the partitions *lost* (if fenced).

        Raises:
            KafkaError: a fatal error; ``COORDINATOR_NOT_AVAILABLE`` (and kin)
                for the driver to look the coordinator up again.
        """
        code = ErrorCode(response.error_code)
        if code in FENCED:
            lost, self.owned, self.target = self.owned, set(), None
            self.member_epoch = JOIN_EPOCH
            return lost
        if code != ErrorCode.NONE:
            raise KafkaError(code, response.error_message or f"heartbeat of group '{self.group_id}'")
        if response.member_id:
            self.member_id = response.member_id
        self.member_epoch = response.member_epoch
        self.heartbeat_interval_ms = response.heartbeat_interval_ms
        if response.assignment is not None:
            self.target = {(topic_names[bytes(tp.topic_id)], p)
                           for tp in response.assignment.topic_partitions for p in tp.partitions}
        return set()

    def reconcile(self) -> tuple[set[TopicPartition], set[TopicPartition]]:
        """``(revoked, added)`` to reach the target; ``owned`` becomes the target."""
        if self.target is None or self.target == self.owned:
            return set(), set()
        revoked, added = self.owned - self.target, self.target - self.owned
        self.owned = set(self.target)
        return revoked, added

    def leave_request(self) -> dict:
        epoch = LEAVE_EPOCH if self.group_instance_id is None else LEAVE_STATIC_EPOCH
        return {"group_id": self.group_id, "member_id": self.member_id, "member_epoch": epoch,
                "instance_id": self.group_instance_id, "rack_id": None,
                "rebalance_timeout_ms": -1, "subscribed_topic_names": None,
                "subscribed_topic_regex": None, "server_assignor": None, "topic_partitions": None}


def _by_topic_id(partitions, topic_ids: dict[str, bytes]) -> list[dict]:
    by_topic: dict[str, list[int]] = {}
    for topic, partition in sorted(partitions):
        by_topic.setdefault(topic, []).append(partition)
    return [{"topic_id": topic_ids[t], "partitions": ps} for t, ps in by_topic.items()]


class ConsumerProtocolMembership:
    """The Trio task keeping one consumer in a KIP-848 group.

    Same interface as ``ClassicMembership``: ``run()``, ``leave()``,
    ``request_rejoin()``, ``generation_id`` (here the member epoch, which
    OffsetCommit checks in its ``generation_id_or_member_epoch``).
    """

    def __init__(self, cluster: Cluster, member: ConsumerGroupMember, listener):
        self.cluster = cluster
        self.member = member
        self.listener = listener
        self.stable = trio.Event()
        self._wake = trio.Event()
        self._connection: Connection | None = None
        self._stopped = False

    @property
    def generation_id(self) -> int:
        return self.member.member_epoch

    @property
    def member_id(self) -> str:
        return self.member.member_id

    def request_rejoin(self) -> None:
        """The subscription changed: heartbeat now (the full heartbeat carries it)."""
        self._wake.set()

    async def run(self) -> None:
        while not self._stopped:
            try:
                if self._connection is None or self._connection.closed:
                    coordinator = await groups.find_coordinator(self.cluster, self.member.group_id)
                    self._connection = await self.cluster.connection_to_address(
                        coordinator.host, coordinator.port)
                await self._heartbeat()
                with trio.move_on_after(self.member.heartbeat_interval_ms / 1000):
                    await self._wake.wait()
                self._wake = trio.Event()
            except KafkaConnectionError:
                self._connection = None
                await trio.sleep(RETRY_BACKOFF_S)
            except KafkaError as exc:
                if exc.code not in COORDINATOR_ERRORS:
                    raise
                self._connection = None
                await trio.sleep(RETRY_BACKOFF_S)

    async def _heartbeat(self) -> None:
        topics = set(self.listener.subscribed_topics())
        topic_ids = await self._topic_ids(topics | {t for t, _ in self.member.owned})
        body = self.member.heartbeat_request(topics, topic_ids)
        response = await self._connection.request(CONSUMER_GROUP_HEARTBEAT, body,
                                                  timeout_ms=self.cluster.request_timeout_ms)
        names = await self._topic_names(response)
        lost = self.member.on_heartbeat_response(response, names)
        if lost:
            await self.listener.lost(lost)
            self._wake.set()  # rejoin at once
            return
        revoked, added = self.member.reconcile()
        if revoked:
            await self.listener.revoked(revoked)
        if added or revoked:
            await self.listener.assigned(added)
            self._wake.set()  # acknowledge at once
        if self.member.target is not None and self.member.target == self.member.owned:
            self.stable.set()

    async def _topic_ids(self, topics: set[str]) -> dict[str, bytes]:
        missing = [t for t in topics if t not in self.cluster.topics]
        if missing:
            await self.cluster.refresh_metadata(missing)
        return {t: self.cluster.topics[t].topic_id for t in topics if t in self.cluster.topics}

    async def _topic_names(self, response) -> dict[bytes, str]:
        if response.assignment is None:
            return {}
        wanted = {bytes(tp.topic_id) for tp in response.assignment.topic_partitions}
        names = {t.topic_id: name for name, t in self.cluster.topics.items()}
        if not wanted <= set(names):
            await self.cluster.refresh_metadata(None)
            names = {t.topic_id: name for name, t in self.cluster.topics.items()}
        return names

    async def leave(self) -> None:
        """Revoke everything and send the leave heartbeat (epoch -1, or -2 if static)."""
        self._stopped = True
        if self.member.owned:
            owned, self.member.owned = self.member.owned, set()
            await self.listener.revoked(owned)
        if self.member.member_epoch > 0 and self._connection is not None and not self._connection.closed:
            with trio.move_on_after(self.cluster.request_timeout_ms / 1000):
                try:
                    await self._connection.request(CONSUMER_GROUP_HEARTBEAT, self.member.leave_request(),
                                                   timeout_ms=self.cluster.request_timeout_ms)
                except KafkaConnectionError:
                    pass
        self.member.member_epoch = JOIN_EPOCH

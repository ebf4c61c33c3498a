"""One member of a classic consumer group: the JoinGroup / SyncGroup / Heartbeat state machine.

Sans-I/O: ``ClassicMember`` builds request bodies and digests responses; it
never sends anything, sleeps or reads a clock. ``classic_membership.py`` drives
it over the network. The rounds of a rebalance::

    UNJOINED --JoinGroup--> (MEMBER_ID_REQUIRED: join again with the id given, KIP-394)
             --JoinGroup ok--> COMPLETING_REBALANCE
                 the leader runs the assignor over every member's subscription
             --SyncGroup--> STABLE (this member's assignment arrives)
    STABLE --Heartbeat says REBALANCE_IN_PROGRESS--> rejoin (PREPARING_REBALANCE)
    any    --UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION--> the partitions are *lost*;
             forget the member id (unless static) and join again

*Eager* protocol (range, roundrobin): a member revokes everything it owns
before it rejoins. *Cooperative* protocol (KIP-429): it keeps its partitions
while rejoining, lists them as ``owned_partitions`` in its subscription, and
after SyncGroup revokes only those not in its new assignment; if it revoked
any, it rejoins at once so the second rebalance can hand them to their new
owner.

*Static membership* (KIP-345): with ``group.instance.id`` the coordinator
knows the member across restarts: a restart within ``session.timeout.ms``
rejoins as the same member without a rebalance, and leaving does not
trigger one either (the client sends no LeaveGroup on close, as Java's).

The subscription and assignment bytes are Kafka's ``ConsumerProtocolSubscription``
and ``ConsumerProtocolAssignment`` (an int16 version, then the fields),
declared below and in ``groups.py``.
"""

from __future__ import annotations

import enum
import struct

from minikafka.errors import ErrorCode, KafkaError
from minikafka.protocol.messages.internal import CONSUMER_PROTOCOL_SUBSCRIPTION  # one declaration, the broker's

from . import assignors, groups
from .assignors import Subscription, TopicPartition

PROTOCOL_TYPE = "consumer"
SUBSCRIPTION_VERSION = 3  # what Kafka 4.0's Java consumer sends


def encode_subscription(topics, owned: set[TopicPartition], generation_id: int) -> bytes:
    body = {"topics": sorted(topics), "user_data": None,
            "owned_partitions": _by_topic(owned), "generation_id": generation_id, "rack_id": None}
    return struct.pack(">h", SUBSCRIPTION_VERSION) + \
        CONSUMER_PROTOCOL_SUBSCRIPTION.encode(body, SUBSCRIPTION_VERSION)


def decode_subscription(raw: bytes) -> Subscription:
    """A member's metadata, as another client (any version, any vendor) wrote it."""
    (version,) = struct.unpack_from(">h", raw)
    decoded = CONSUMER_PROTOCOL_SUBSCRIPTION.decode(memoryview(bytes(raw))[2:], min(version, 3))
    owned = tuple((t.topic, p) for t in decoded.owned_partitions or () for p in t.partitions)
    return Subscription(tuple(decoded.topics), owned, decoded.generation_id)


def _by_topic(partitions) -> list[dict]:
    topics: dict[str, list[int]] = {}
    for topic, partition in sorted(partitions):
        topics.setdefault(topic, []).append(partition)
    return [{"topic": t, "partitions": ps} for t, ps in topics.items()]


class MemberState(enum.Enum):
    UNJOINED = "unjoined"
    PREPARING_REBALANCE = "preparing_rebalance"  # JoinGroup sent
    COMPLETING_REBALANCE = "completing_rebalance"  # SyncGroup sent
    STABLE = "stable"


class Next(enum.Enum):
    """What the driver should do after a response."""

    JOIN = "join"  # send JoinGroup (again)
    SYNC = "sync"  # send SyncGroup
    STABLE = "stable"  # heartbeat until told otherwise
    FIND_COORDINATOR = "find_coordinator"  # the coordinator moved: find it, then join


# Errors that mean "the coordinator is gone or busy: find it again".
COORDINATOR_ERRORS = frozenset({ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE,
                                ErrorCode.COORDINATOR_LOAD_IN_PROGRESS})
# Errors that mean "you are no longer a member of that generation".
MEMBERSHIP_LOST = frozenset({ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.ILLEGAL_GENERATION})


class ClassicMember:
    """The state of one consumer in a classic group (sans-I/O; owned by one task).

    Args:
        group_id: ``group.id``.
        strategies: assignor names in order of preference.
        group_instance_id: ``group.instance.id`` (static membership) or None.
        session_timeout_ms, rebalance_timeout_ms: sent in JoinGroup
            (``session.timeout.ms``, ``max.poll.interval.ms``).

    Attributes:
        owned: the partitions this member owns now.
        lost: set by a response that took the membership away; the driver
            reports those partitions as lost (``on_lost``) and clears it.
    """

    def __init__(self, group_id: str, strategies: list[str], *, group_instance_id: str | None,
                 session_timeout_ms: int, rebalance_timeout_ms: int):
        self.group_id = group_id
        self.strategies = strategies
        self.group_instance_id = group_instance_id
        self.session_timeout_ms = session_timeout_ms
        self.rebalance_timeout_ms = rebalance_timeout_ms
        self.member_id = ""
        self.generation_id = -1
        self.protocol_name: str | None = None
        self.leader_id = ""
        self.state = MemberState.UNJOINED
        self.owned: set[TopicPartition] = set()
        self.lost: set[TopicPartition] = set()
        self.rejoin_needed = True
        self._members: list = []

    @property
    def cooperative(self) -> bool:
        return assignors.rebalance_protocol(self.strategies) == assignors.COOPERATIVE

    @property
    def is_leader(self) -> bool:
        return self.member_id != "" and self.member_id == self.leader_id

    # -- JoinGroup --------------------------------------------------------------

    def join_request(self, topics: set[str], reason: str | None = None) -> dict:
        """The JoinGroup body; moves to PREPARING_REBALANCE."""
        self.state = MemberState.PREPARING_REBALANCE
        metadata = encode_subscription(topics, self.owned, self.generation_id)
        return {
            "group_id": self.group_id, "session_timeout_ms": self.session_timeout_ms,
            "rebalance_timeout_ms": self.rebalance_timeout_ms, "member_id": self.member_id,
            "group_instance_id": self.group_instance_id, "protocol_type": PROTOCOL_TYPE,
            "protocols": [{"name": name, "metadata": metadata} for name in self.strategies],
            "reason": reason,
        }

    def on_join_response(self, response) -> Next:
        """Digest JoinGroup; SYNC on success.

        Raises:
            KafkaError: a fatal error (FENCED_INSTANCE_ID, INCONSISTENT_GROUP_PROTOCOL, ...).
        """
        code = ErrorCode(response.error_code)
        if code == ErrorCode.MEMBER_ID_REQUIRED:  # KIP-394: rejoin with the id we were given
            self.member_id = response.member_id
            return Next.JOIN
        if code != ErrorCode.NONE:
            return self._on_error(code, "JoinGroup")
        self.member_id = response.member_id
        self.generation_id = response.generation_id
        self.protocol_name = response.protocol_name
        self.leader_id = response.leader
        self._members = list(response.members) if not response.skip_assignment else []
        self.state = MemberState.COMPLETING_REBALANCE
        return Next.SYNC

    # -- SyncGroup --------------------------------------------------------------

    def compute_assignment(self, partitions_per_topic: dict[str, int]) -> dict[str, bytes]:
        """The leader's job: every member's ConsumerProtocolAssignment bytes."""
        subscriptions = {m.member_id: decode_subscription(m.metadata) for m in self._members}
        assignment = assignors.assign(self.protocol_name, subscriptions, partitions_per_topic)
        return {member: groups.encode_assignment(_as_dict(tps)) for member, tps in assignment.items()}

    def member_topics(self) -> set[str]:
        """Every topic some member subscribes to (the leader needs their metadata)."""
        return {t for m in self._members for t in decode_subscription(m.metadata).topics}

    def sync_request(self, assignments: dict[str, bytes]) -> dict:
        return {
            "group_id": self.group_id, "generation_id": self.generation_id,
            "member_id": self.member_id, "group_instance_id": self.group_instance_id,
            "protocol_type": PROTOCOL_TYPE, "protocol_name": self.protocol_name,
            "assignments": [{"member_id": m, "assignment": a} for m, a in assignments.items()],
        }

    def on_sync_response(self, response) -> tuple[Next, set[TopicPartition], set[TopicPartition]]:
        """Digest SyncGroup: ``(next, added, revoked)``.

        ``revoked`` is what the member must give up (cooperative: only what
        moved). The caller runs on_revoke / on_assign, then ``owned`` is the
        new assignment.
        """
        code = ErrorCode(response.error_code)
        if code != ErrorCode.NONE:
            return self._on_error(code, "SyncGroup"), set(), set()
        assigned = {(t, p) for t, ps in groups.decode_assignment(response.assignment).items()
                    for p in ps}
        added, revoked = assigned - self.owned, self.owned - assigned
        self.owned = assigned
        self.state = MemberState.STABLE
        # KIP-429: having given something up, rejoin so it can go to its new owner.
        self.rejoin_needed = bool(revoked) and self.cooperative
        return (Next.JOIN if self.rejoin_needed else Next.STABLE), added, revoked

    # -- Heartbeat and LeaveGroup -----------------------------------------------

    def heartbeat_request(self) -> dict:
        return {"group_id": self.group_id, "generation_id": self.generation_id,
                "member_id": self.member_id, "group_instance_id": self.group_instance_id}

    def on_heartbeat_response(self, response) -> Next:
        code = ErrorCode(response.error_code)
        if code == ErrorCode.NONE:
            return Next.STABLE
        if code == ErrorCode.REBALANCE_IN_PROGRESS:
            self.rejoin_needed = True
            return Next.JOIN
        return self._on_error(code, "Heartbeat")

    def revoke_all_before_join(self) -> set[TopicPartition]:
        """Eager protocol: everything owned is given up before JoinGroup."""
        if self.cooperative:
            return set()
        revoked, self.owned = self.owned, set()
        return revoked

    def leave_request(self) -> dict:
        return {"group_id": self.group_id, "member_id": self.member_id,
                "members": [{"member_id": self.member_id,
                             "group_instance_id": self.group_instance_id,
                             "reason": "the consumer is being closed"}]}

    def reset(self) -> None:
        """Forget the membership (after leaving, or on a fatal error)."""
        self.member_id, self.generation_id, self.state = "", -1, MemberState.UNJOINED
        self.owned, self.rejoin_needed = set(), True

    def _on_error(self, code: ErrorCode, api: str) -> Next:
        if code in COORDINATOR_ERRORS:
            self.state = MemberState.UNJOINED
            return Next.FIND_COORDINATOR
        if code == ErrorCode.REBALANCE_IN_PROGRESS:
            return Next.JOIN
        if code in MEMBERSHIP_LOST:
            self.lost |= self.owned
            self.owned = set()
            if self.group_instance_id is None or code == ErrorCode.UNKNOWN_MEMBER_ID:
                self.member_id = ""
            self.generation_id, self.state, self.rejoin_needed = -1, MemberState.UNJOINED, True
            return Next.JOIN
        raise KafkaError(code, f"{api} for group '{self.group_id}' failed")


def _as_dict(partitions) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for topic, partition in sorted(partitions):
        out.setdefault(topic, []).append(partition)
    return out

"""One writer among several registry instances, elected through a Kafka group.

Only one instance may write to ``_schemas``: ids are handed out as "one
more than the highest id in the log", and two writers would hand out the
same id twice. Confluent's registry elects that writer (the registry
*leader*) with Kafka's classic group protocol, the one consumers use, but
with its own protocol type and metadata (``KafkaGroupLeaderElector``):

- every instance joins the group ``schema.registry.group.id`` (default
  ``schema-registry``) with protocol type ``"sr"`` and one protocol,
  ``"v0"``, whose metadata is the instance's *identity* as JSON::

      {"version": 1, "host": "127.0.0.1", "port": 8081,
       "master_eligibility": true, "scheme": "http"}

- the group coordinator picks one member as the *group* leader (not the
  registry leader) and hands it everyone's metadata; that member chooses
  the registry leader: the leader-eligible member (``leader.eligibility``)
  whose URL is the smallest, so every instance agrees on it;
- SyncGroup gives every member the same assignment, as JSON::

      {"version": 1, "error": 0, "master": "<member id>",
       "master_identity": {...the leader's identity...}}

  (``error`` 1, DUPLICATE_URLS, says two members advertise the same URL:
  they could not forward to each other; set ``host.name``);
- members then heartbeat. When one leaves or its session times out, the
  coordinator answers the others' heartbeats with REBALANCE_IN_PROGRESS,
  they join again, and a new leader is chosen.

Between "rebalance started" and "assignment received" an instance knows no
leader: writes then fail with Confluent's "unknown leader" error rather than
go to a writer that may have changed. A member that becomes the leader first
lets its reader catch up with the log (``on_elected``), so the ids it hands
out continue from the newest record.

``choose_leader`` and the JSON helpers are plain functions (no I/O);
``LeaderElector`` moves the JoinGroup / SyncGroup / Heartbeat / LeaveGroup
requests over the bundled clients' ``Cluster``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable

import trio

from minikafka.errors import ErrorCode, KafkaError
from minikafka_clients import KafkaConnectionError, open_cluster
from minikafka_clients import groups as kafka_groups

log = logging.getLogger(__name__)

JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP = 11, 12, 13, 14
PROTOCOL_TYPE = "sr"
PROTOCOL_NAME = "v0"
DEFAULT_GROUP_ID = "schema-registry"
NO_ERROR, DUPLICATE_URLS = 0, 1
DEFAULT_SESSION_TIMEOUT_MS = 10_000  # kafkagroup.session.timeout.ms
DEFAULT_HEARTBEAT_INTERVAL_MS = 3_000  # kafkagroup.heartbeat.interval.ms
DEFAULT_REBALANCE_TIMEOUT_MS = 300_000  # kafkagroup.rebalance.timeout.ms
RETRY_BACKOFF_S = 0.2

_COORDINATOR_ERRORS = frozenset({ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE,
                                 ErrorCode.COORDINATOR_LOAD_IN_PROGRESS})
_MEMBERSHIP_LOST = frozenset({ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.ILLEGAL_GENERATION})


@dataclasses.dataclass(frozen=True)
class Identity:
    """How one registry instance is reached, and whether it may lead."""

    host: str
    port: int
    leader_eligibility: bool = True
    scheme: str = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def to_json(self) -> dict:
        return {"version": 1, "host": self.host, "port": self.port,
                "master_eligibility": self.leader_eligibility, "scheme": self.scheme}

    @classmethod
    def from_json(cls, data: dict) -> "Identity":
        return cls(data["host"], int(data["port"]), bool(data.get("master_eligibility", True)),
                   data.get("scheme") or "http")


def encode_identity(identity: Identity) -> bytes:
    return json.dumps(identity.to_json()).encode()


def decode_identity(raw: bytes) -> Identity:
    return Identity.from_json(json.loads(raw))


def choose_leader(members: dict[str, Identity]) -> tuple[int, str | None, Identity | None]:
    """The group leader's decision: ``(error, leader member id, leader identity)``.

    The leader is the eligible member with the smallest URL (None if no
    member is eligible); ``error`` is DUPLICATE_URLS when two members share a URL.
    """
    eligible = sorted((identity.url, member_id) for member_id, identity in members.items()
                      if identity.leader_eligibility)
    urls = {identity.url for identity in members.values()}
    error = DUPLICATE_URLS if len(urls) != len(members) else NO_ERROR
    if not eligible:
        return error, None, None
    member_id = eligible[0][1]
    return error, member_id, members[member_id]


def encode_assignment(error: int, leader: str | None, identity: Identity | None) -> bytes:
    body: dict = {"version": 1, "error": error}
    if leader is not None:
        body["master"] = leader
        body["master_identity"] = identity.to_json()
    return json.dumps(body).encode()


def decode_assignment(raw: bytes) -> tuple[int, Identity | None]:
    """``(error, leader identity or None)`` from SyncGroup's assignment bytes."""
    data = json.loads(raw) if raw else {}
    identity = data.get("master_identity")
    return int(data.get("error", 0)), Identity.from_json(identity) if identity else None


class _Rejoin(Exception):
    """The membership must start again (rebalance, or the member id was lost)."""


class LeaderElector:
    """This instance's membership in the registry group; the service's ``Leadership``.

    Owned by one Trio run: ``run()`` is a background task; ``is_leader()``
    and ``leader_url()`` may be called from any task of the run.

    Args:
        bootstrap: ``kafkastore.bootstrap.servers``.
        identity: this instance's URL parts and ``leader.eligibility``.
        group_id: ``schema.registry.group.id``.
        on_elected: awaited when this instance becomes the leader, before
            ``is_leader()`` says so (the log's ``wait_until_caught_up``).
        session_timeout_ms, heartbeat_interval_ms, rebalance_timeout_ms:
            ``kafkagroup.session.timeout.ms`` (10 s), ``kafkagroup.heartbeat.interval.ms``
            (3 s), ``kafkagroup.rebalance.timeout.ms`` (300 s): a leader killed
            without leaving is replaced after the session timeout.
    """

    def __init__(self, bootstrap: str, identity: Identity, *, group_id: str = DEFAULT_GROUP_ID,
                 on_elected: Callable[[], Awaitable[None]] | None = None,
                 session_timeout_ms: int = DEFAULT_SESSION_TIMEOUT_MS,
                 heartbeat_interval_ms: int = DEFAULT_HEARTBEAT_INTERVAL_MS,
                 rebalance_timeout_ms: int = DEFAULT_REBALANCE_TIMEOUT_MS,
                 client_config: dict | None = None):
        self.bootstrap = bootstrap
        self.identity = identity
        self.group_id = group_id
        self.on_elected = on_elected
        self.session_timeout_ms = session_timeout_ms
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.rebalance_timeout_ms = rebalance_timeout_ms
        self.client_config = client_config or {}
        self.member_id = ""
        self.generation_id = -1
        self.leader: Identity | None = None
        self.elected = trio.Event()  # set after the first assignment
        self._connection = None
        self._coordinator: tuple[str, int] | None = None

    # -- the Leadership protocol ----------------------------------------------------

    def is_leader(self) -> bool:
        return self.leader is not None and self.leader == self.identity

    def leader_url(self) -> str | None:
        return self.leader.url if self.leader is not None else None

    # -- the membership loop ------------------------------------------------------------

    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Stay in the group until cancelled; leave it (LeaveGroup) on the way out."""
        try:
            async with open_cluster(config=self._client_config()) as cluster:
                task_status.started()
                await self._membership(cluster)
        finally:
            self.leader = None
            with trio.CancelScope(shield=True), trio.move_on_after(2):
                await self._leave()

    def _client_config(self) -> dict:
        return {"bootstrap.servers": self.bootstrap, "client.id": "schema-registry-elector",
                **self.client_config}

    async def _membership(self, cluster) -> None:
        while True:
            try:
                if self._connection is None or self._connection.closed:
                    coordinator = await kafka_groups.find_coordinator(cluster, self.group_id)
                    self._coordinator = (coordinator.host, coordinator.port)
                    self._connection = await cluster.connection_to_address(*self._coordinator)
                await self._join_and_sync()
                await self._heartbeat_until_rejoin()
            except _Rejoin as reason:
                log.debug("schema registry group: %s; joining again", reason)
                self.leader = None
            except (KafkaConnectionError, KafkaError) as exc:
                log.info("schema registry group: %s; joining again", exc)
                self.leader, self._connection = None, None
                await trio.sleep(RETRY_BACKOFF_S)

    async def _request(self, api_key: int, body: dict, timeout_ms: float):
        """Send to the coordinator; return the response, or raise what its error means.

        Raises:
            _Rejoin: the coordinator moved (find it again), the member id or
                generation is stale (join as a new member), or a rebalance began.
            KafkaError: any other error (logged; the loop backs off and rejoins).
        """
        response = await self._connection.request(api_key, body, timeout_ms=timeout_ms)
        code = ErrorCode(response.error_code)
        if code == ErrorCode.NONE or (api_key == JOIN_GROUP and code == ErrorCode.MEMBER_ID_REQUIRED):
            return response
        if code in _COORDINATOR_ERRORS:
            self._connection = None
            raise KafkaError(code, f"the coordinator of group '{self.group_id}' moved")
        if code in _MEMBERSHIP_LOST:
            self.member_id, self.generation_id = "", -1
            raise _Rejoin(code.name)
        if code == ErrorCode.REBALANCE_IN_PROGRESS:
            raise _Rejoin(code.name)
        raise KafkaError(code, f"request {api_key} to group '{self.group_id}' failed")

    async def _join_and_sync(self) -> None:
        """One rebalance: JoinGroup (again with the given id, KIP-394), then SyncGroup."""
        self.leader = None  # Confluent's onRevoked: no known leader during a rebalance
        timeout_ms = self.rebalance_timeout_ms + 30_000  # JoinGroup waits for every member
        response = await self._request(JOIN_GROUP, self._join_body(), timeout_ms)
        if response.error_code == ErrorCode.MEMBER_ID_REQUIRED:
            self.member_id = response.member_id
            response = await self._request(JOIN_GROUP, self._join_body(), timeout_ms)
        self.member_id, self.generation_id = response.member_id, response.generation_id
        assignments = {}
        if response.leader == self.member_id:
            assignments = self._assign(response.members)
        sync = await self._request(SYNC_GROUP, {
            "group_id": self.group_id, "generation_id": self.generation_id,
            "member_id": self.member_id, "group_instance_id": None,
            "protocol_type": PROTOCOL_TYPE, "protocol_name": PROTOCOL_NAME,
            "assignments": [{"member_id": m, "assignment": a} for m, a in assignments.items()],
        }, timeout_ms)
        await self._on_assignment(bytes(sync.assignment or b""))

    def _join_body(self) -> dict:
        return {"group_id": self.group_id, "session_timeout_ms": self.session_timeout_ms,
                "rebalance_timeout_ms": self.rebalance_timeout_ms, "member_id": self.member_id,
                "group_instance_id": None, "protocol_type": PROTOCOL_TYPE,
                "protocols": [{"name": PROTOCOL_NAME, "metadata": encode_identity(self.identity)}],
                "reason": None}

    def _assign(self, members) -> dict[str, bytes]:
        identities = {}
        for member in members:
            try:
                identities[member.member_id] = decode_identity(bytes(member.metadata))
            except (ValueError, KeyError):
                log.warning("member %s of group %s has unreadable metadata", member.member_id,
                            self.group_id)
        error, leader, identity = choose_leader(identities)
        assignment = encode_assignment(error, leader, identity)
        return {member_id: assignment for member_id in identities}

    async def _on_assignment(self, raw: bytes) -> None:
        error, leader = decode_assignment(raw)
        if error == DUPLICATE_URLS:
            log.error("two schema registry instances advertise the same URL: set host.name "
                      "(listeners) so that each one is reachable by the others")
        if leader is not None and leader == self.identity and self.on_elected is not None:
            await self.on_elected()
        self.leader = leader
        self.elected.set()
        log.info("schema registry leader: %s%s", leader.url if leader else "none",
                 " (this instance)" if self.is_leader() else "")

    async def _heartbeat_until_rejoin(self) -> None:
        while True:
            await trio.sleep(self.heartbeat_interval_ms / 1000)
            await self._request(HEARTBEAT, {
                "group_id": self.group_id, "generation_id": self.generation_id,
                "member_id": self.member_id, "group_instance_id": None,
            }, self.session_timeout_ms)

    async def _leave(self) -> None:
        """LeaveGroup, so that the others elect a new leader at once.

        Sent on a connection of its own: the membership's connections died
        with the cancelled task that owned them.
        """
        coordinator = self._coordinator
        if not self.member_id or coordinator is None:
            return
        try:
            async with open_cluster(config=self._client_config()) as cluster:
                connection = await cluster.connection_to_address(*coordinator)
                await connection.request(LEAVE_GROUP, {
                    "group_id": self.group_id, "member_id": self.member_id,
                    "members": [{"member_id": self.member_id, "group_instance_id": None,
                                 "reason": "the schema registry is stopping"}],
                }, timeout_ms=2_000)
        except (KafkaConnectionError, KafkaError):
            pass  # the session timeout will remove us

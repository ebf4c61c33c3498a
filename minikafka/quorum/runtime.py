"""QuorumRuntime: drives one RaftNode with Trio, plus the transports it talks through.

The Raft core (:class:`~minikafka.quorum.raft.RaftNode`) never sleeps, reads a
clock or touches a socket. This module is the thin layer that does:

- **time**: the node is ticked on a fixed grid of ``tick_ms`` on Trio's
  clock, so a ``trio.testing.MockClock`` drives a whole cluster
  deterministically. A timer task sleeps until the tick at which the node's
  next timer can expire (``RaftNode.ticks_to_next_timer``), not every tick:
  the ticks in between, which only count down, run in a burst when it wakes
  or just before the next event, so an idle replica wakes a few times a
  second and the node sees the same ticks at the same points either way;
- **events**: received messages (``receive``), proposals (``propose``) and
  snapshots (``snapshot``) are fed to the node;
- **the Ready rule**: after every event the runtime takes the node's Ready and,
  *in this order*, persists it (:meth:`RaftStorage.persist`, which fsyncs),
  queues its messages, loads a snapshot from the leader (``on_snapshot``),
  applies the committed entries (``on_commit``), then ``advance``\\ s the node.

Every node event and its Ready run in one synchronous stretch (no ``await``
between ``ready()`` and ``advance()``), so under Trio's cooperative scheduling
no other task can feed the node in between. Sending is the one asynchronous
step: messages go into an outbox that a separate task hands to the transport.

**Transports** are the network seam: an object with ``async send(destination_id,
envelope)`` that eventually calls ``runtime.receive(envelope)`` on the
destination (a transport may also have ``async run(deliver)``, which the
runtime starts beside itself). Raft tolerates lost, late and duplicated
messages, so a transport may drop anything; the core resends.

- :class:`InMemoryNetwork` connects runtimes in one process, with a
  ``cut``/``heal`` per directed link, for cluster tests under MockClock.
- :class:`TcpTransport` speaks Kafka's protocol (see :mod:`.wire`) to the other
  voters named in ``controller.quorum.voters``: one connection and one
  request in flight per peer. The answering side is
  :func:`handle_raft_request`, which a broker's handlers call with the decoded
  Vote, BeginQuorumEpoch, EndQuorumEpoch, FetchSnapshot or metadata Fetch.

**Metrics** (``register_metrics``, Kafka's ``kafka.server:type=raft-metrics``):
the state gauges (``current-leader``, ``current-epoch``, ``current-state``,
``high-watermark``, ``log-end-offset``, ``log-end-epoch``) read the node at
scrape time; ``commit-latency-avg/max`` (from ``propose`` to the commit of
that entry, on the leader), ``election-latency-avg/max`` (from losing the
leader to knowing the next one) and ``append-records-rate`` (entries this
node proposed as leader) are Kafka's windowed statistics (two samples of
30 s, Kafka's ``metrics.num.samples`` and ``metrics.sample.window.ms``).
A "record" here is one Raft entry: an operation's metadata records travel
as one entry.

A request that arrives through :func:`handle_raft_request` is stepped into the
node with a *negative* correlation id (the node's own requests use positive
ones), and the node's answer is handed back to the caller instead of the
transport. Most answers come out of the same step; a leader's answer to a
Fetch it holds (a long poll) comes out of a later event, and the caller
waits for it.
"""

from __future__ import annotations

import logging
import math
import random
from typing import Callable

import trio

from minikafka.errors import ErrorCode, KafkaError
from minikafka.quorum import wire
from minikafka.quorum.log import Entry, Snapshot, SnapshotId
from minikafka.quorum.messages import Envelope
from minikafka.quorum.raft import RaftNode
from minikafka.quorum.state import RaftConfig, Role
from minikafka.quorum.storage import RaftStorage
from minikafka.metrics import MetricName, Registry
from minikafka.quotas.sensor import Avg, Max, Rate
from minikafka.rpc.client import exchange

log = logging.getLogger("minikafka.quorum")


class ProposalLost(KafkaError):
    """A proposed entry was not committed: leadership changed first.

    The offset now holds another leader's entry (or the outcome is unknown,
    when a snapshot from the leader replaced the log). Retriable on the
    current leader.
    """

    def __init__(self, offset: int, reason: str):
        super().__init__(ErrorCode.NOT_LEADER_OR_FOLLOWER, f"entry {offset}: {reason}")
        self.offset = offset


FETCH_MAX_WAIT_MS = 500  # how long a leader may hold a Fetch (Kafka's KafkaRaftClient)
RAFT_METRICS_SAMPLES, RAFT_METRICS_WINDOW_MS = 2, 30_000  # Kafka's metrics.num.samples, metrics.sample.window.ms


def raft_metric(name: str, tags: tuple[tuple[str, str], ...] = ()) -> MetricName:
    """``kafka.server:type=raft-metrics,name=<name>`` (Kafka's attribute names)."""
    return MetricName("kafka.server", "raft-metrics", name, tags, kafka_metric=True)


class RaftMetrics:
    """The windowed statistics of one quorum replica (Kafka's ``KafkaRaftMetrics`` sensors).

    Fed by the runtime with Trio's clock in milliseconds; read at scrape time.
    """

    def __init__(self) -> None:
        def stat(kind):
            return kind(RAFT_METRICS_SAMPLES, RAFT_METRICS_WINDOW_MS)
        self.commit_latency_avg, self.commit_latency_max = stat(Avg), stat(Max)
        self.election_latency_avg, self.election_latency_max = stat(Avg), stat(Max)
        self.append_records = stat(Rate)
        self.election_start_ms: float | None = None

    def record_commit(self, latency_ms: float, now_ms: int) -> None:
        self.commit_latency_avg.record(latency_ms, now_ms)
        self.commit_latency_max.record(latency_ms, now_ms)

    def leader_changed(self, leader_id: int | None, now_ms: int) -> None:
        """Time an election: from the moment no leader is known to the next one."""
        if leader_id is None:
            if self.election_start_ms is None:
                self.election_start_ms = now_ms
        elif self.election_start_ms is not None:
            latency_ms = now_ms - self.election_start_ms
            self.election_latency_avg.record(latency_ms, now_ms)
            self.election_latency_max.record(latency_ms, now_ms)
            self.election_start_ms = None


def quorum_config(node_id: int, voters, *, tick_ms: int = 100, election_timeout_ms: int = 1000,
                  fetch_timeout_ms: int = 2000, request_timeout_ms: int = 500,
                  pre_vote: bool = True) -> RaftConfig:
    """A RaftConfig from Kafka's millisecond settings.

    Args:
        node_id: ``node.id``.
        voters: the voter ids (``controller.quorum.voters``).
        tick_ms: the runtime's tick; every timeout is rounded to whole ticks.
        election_timeout_ms: ``controller.quorum.election.timeout.ms``.
        fetch_timeout_ms: ``controller.quorum.fetch.timeout.ms``. A Fetch
            waits at the leader for at most a quarter of it (500 ms, Kafka's
            wait, at Kafka's default), so a follower hears from a live leader
            several times per fetch timeout even over a slow link.
        request_timeout_ms: when an unanswered request is resent, counted from
            the end of a Fetch's wait (Kafka's
            ``controller.quorum.request.timeout.ms`` is 2000; shorter here so a
            lost fetch is retried well inside the fetch timeout).
    """
    def ticks(ms: int) -> int:
        return max(1, round(ms / tick_ms))

    return RaftConfig(node_id=node_id, voters=frozenset(voters),
                      election_timeout_ticks=ticks(election_timeout_ms),
                      fetch_timeout_ticks=ticks(fetch_timeout_ms),
                      fetch_max_wait_ticks=ticks(min(FETCH_MAX_WAIT_MS, fetch_timeout_ms // 4)),
                      request_timeout_ticks=ticks(request_timeout_ms), pre_vote=pre_vote,
                      tick_ms=tick_ms)


class QuorumRuntime:
    """Runs one quorum replica. Owned by one broker; its methods are task-safe
    in the Trio sense (each call is synchronous or awaits only waiting).

    Args:
        config: the node id, voters and timeouts in ticks.
        storage: the node's durable state (``FileStorage`` or ``MemoryStorage``).
        transport: the network seam (see the module docstring).
        tick_ms: how often the node is ticked.
        cluster_id: sent with every request; requests for another cluster
            are refused (INCONSISTENT_CLUSTER_ID).
        rng: election jitter; seed it for reproducible runs.
        on_commit: ``on_commit(entries)`` with newly committed entries, in
            order, control records (``entry.is_control``) included.
        on_snapshot: ``on_snapshot(snapshot)`` when the application must
            replace its state (restart from a snapshot, or one from the leader).
        on_leader_change: ``on_leader_change(leader_id, epoch)`` when either
            changes (``leader_id`` None while an election runs).
    """

    def __init__(self, config: RaftConfig, storage: RaftStorage, transport, *, tick_ms: int = 100,
                 cluster_id: str | None = None, rng: random.Random | None = None,
                 on_commit: Callable[[tuple[Entry, ...]], None] | None = None,
                 on_snapshot: Callable[[Snapshot], None] | None = None,
                 on_leader_change: Callable[[int | None, int], None] | None = None):
        self.config = config
        self.storage = storage
        self.transport = transport
        self.tick_ms = tick_ms
        self.cluster_id = cluster_id
        self.rng = rng or random.Random()
        self.on_commit = on_commit or (lambda entries: None)
        self.on_snapshot = on_snapshot or (lambda snapshot: None)
        self.on_leader_change = on_leader_change or (lambda leader_id, epoch: None)
        self.node: RaftNode | None = None
        self._inbox_send, self._inbox_receive = trio.open_memory_channel(math.inf)
        self._outbox_send, self._outbox_receive = trio.open_memory_channel(math.inf)
        self._answers: dict[tuple[int, int], object] = {}  # handled requests' responses
        self._answered = trio.Event()  # set (and replaced) when one of them arrives
        self._last_handled_id = 0
        self._proposals: dict[int, int] = {}  # offset -> epoch it was proposed in
        self._proposed_at_ms: dict[int, float] = {}  # offset -> Trio time it was proposed (commit latency)
        self.metrics = RaftMetrics()
        self._outcomes: dict[int, str | None] = {}  # offset -> None (committed) or why lost
        self._changed = trio.Event()
        self._leader = (None, -1)
        self._tick_origin = math.inf  # Trio time of tick 0; tick n is due at origin + n * tick
        self._next_tick = 1  # the first tick not yet run
        self._timer_wake_at = math.inf  # when the timer task wakes next
        self._timers_moved = trio.Event()  # set when a timer falls due before that

    # --- looking --------------------------------------------------------------------

    @property
    def node_id(self) -> int:
        return self.config.node_id

    @property
    def running(self) -> bool:
        return self.node is not None

    @property
    def leader_id(self) -> int | None:
        """The leader this replica follows (itself if it leads), or None."""
        return self.node.leader_id if self.node else None

    @property
    def epoch(self) -> int:
        return self.node.epoch if self.node else -1

    @property
    def role(self) -> Role | None:
        return self.node.role if self.node else None

    @property
    def is_leader(self) -> bool:
        return self.role is Role.LEADER

    @property
    def high_watermark(self) -> int:
        return self.node.high_watermark if self.node else -1

    # --- metrics (kafka.server:type=raft-metrics) -----------------------------------

    def register_metrics(self, registry: Registry) -> None:
        """Register Kafka's raft-metrics: state gauges and windowed statistics, read at scrape time.

        ``current-state`` is a string in Kafka; here it is one gauge per
        state (tag ``state``), 1 for the current one and 0 for the others,
        which Prometheus can graph and alert on.
        """
        node = lambda: self.node  # noqa: E731 (None while stopped)
        gauges = {
            "current-leader": lambda: -1 if self.leader_id is None else self.leader_id,
            "current-epoch": lambda: self.epoch,
            "current-vote": lambda: -1 if node() is None or node().voted_id is None else node().voted_id,
            "high-watermark": lambda: self.high_watermark,
            "log-end-offset": lambda: -1 if node() is None else node().log.log_end_offset,
            "log-end-epoch": lambda: -1 if node() is None else node().log.last_fetched_epoch,
        }
        for name, read in gauges.items():
            registry.gauge(raft_metric(name), read)
        for role in Role:
            registry.gauge(raft_metric("current-state", (("state", role.value),)),
                           lambda role=role: 1 if self.role is role else 0)
        stats = {
            "commit-latency-avg": self.metrics.commit_latency_avg,
            "commit-latency-max": self.metrics.commit_latency_max,
            "election-latency-avg": self.metrics.election_latency_avg,
            "election-latency-max": self.metrics.election_latency_max,
            "append-records-rate": self.metrics.append_records,
        }
        for name, stat in stats.items():
            registry.gauge(raft_metric(name), lambda stat=stat: stat.measure(int(_now_ms())))

    # --- running ---------------------------------------------------------------------

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Load the storage, then drive the node until cancelled.

        Cancelling the enclosing scope is a crash as far as Raft is concerned:
        everything persisted stays, nothing else does.
        """
        self.node = RaftNode(self.config, self.rng, self.storage.load())
        try:
            async with trio.open_nursery() as nursery:
                self._drive(lambda node: None)  # the restart Ready: load the snapshot
                if self.config.voters == {self.node_id} and not self.is_leader:
                    # Kafka's QuorumState: the only voter stands at once, as
                    # nobody else could ever win or ask for its vote.
                    self._drive(RaftNode.start_election)
                nursery.start_soon(self._tick_loop)
                nursery.start_soon(self._receive_loop)
                nursery.start_soon(self._send_loop)
                if hasattr(self.transport, "run"):
                    await nursery.start(self.transport.run, self.receive)
                task_status.started()
        finally:
            self.node = None
            self._changed.set()
            self._answered.set()

    async def _tick_loop(self) -> None:
        """Run the ticks as they fall due, sleeping through those that only count down."""
        self._tick_origin, self._next_tick = trio.current_time(), 1
        while True:
            self._timers_moved = trio.Event()
            self._timer_wake_at = self._timer_due_at()
            with trio.move_on_at(self._timer_wake_at):
                await self._timers_moved.wait()
            self._run_due_ticks()

    def _tick_time(self, tick: int) -> float:
        # One formula for every tick's time, so that waking at a tick's time
        # always finds that tick due (no float drift from adding up ticks).
        return self._tick_origin + tick * self.tick_ms / 1000

    def _timer_due_at(self) -> float:
        """The Trio time of the tick at which the node's next timer can expire."""
        return self._tick_time(self._next_tick + self.node.ticks_to_next_timer() - 1)

    def _run_due_ticks(self) -> None:
        """Run every tick whose time has come (those slept through included), in order."""
        now = trio.current_time()
        while self._tick_time(self._next_tick) <= now:
            self._next_tick += 1
            self._handle(RaftNode.tick)

    async def _receive_loop(self) -> None:
        async for envelope in self._inbox_receive:
            self._drive(lambda node: node.step(envelope))

    async def _send_loop(self) -> None:
        async for envelope in self._outbox_receive:
            await self.transport.send(envelope.destination_id, envelope)

    def receive(self, envelope: Envelope) -> None:
        """Deliver a message from another replica (called by the transport).

        Dropped if this runtime is not running: to its peers a stopped
        replica is one whose network is down.
        """
        if self.node is not None and envelope.destination_id == self.node_id:
            self._inbox_send.send_nowait(envelope)

    # --- the Ready rule --------------------------------------------------------------

    def _drive(self, event):
        """Feed one event to the node (after the ticks due before it), then do
        what its Ready says; wake the timer task if the event moved a timer closer."""
        if self.node is None:
            raise KafkaError(ErrorCode.NOT_CONTROLLER,
                             f"quorum replica {self.node_id} is not running")
        self._run_due_ticks()
        result = self._handle(event)
        if self._timer_due_at() < self._timer_wake_at:
            self._timers_moved.set()
        return result

    def _handle(self, event):
        """Feed one event to the node, then do what its Ready says."""
        result = event(self.node)
        ready = self.node.ready()
        self.storage.persist(ready)  # durable before anything leaves or is applied
        for envelope in ready.messages:
            self._route(envelope)
        if ready.load_snapshot:
            self._outcomes.update({o: "replaced by the leader's snapshot" for o in self._proposals
                                   if o < ready.snapshot.snapshot_id.end_offset})
            self.on_snapshot(ready.snapshot)
        if ready.committed_entries:
            self._record_outcomes(ready.committed_entries)
            self.on_commit(ready.committed_entries)
        self.node.advance(ready)
        self._notice_changes(bool(ready.committed_entries or ready.load_snapshot))
        return result

    def _route(self, envelope: Envelope) -> None:
        key = (envelope.destination_id, envelope.correlation_id)
        if key in self._answers:
            self._answers[key] = envelope.message  # the answer to a handled request
            self._answered.set()
            self._answered = trio.Event()
        else:
            self._outbox_send.send_nowait(envelope)

    def _record_outcomes(self, entries: tuple[Entry, ...]) -> None:
        now_ms = _now_ms()
        for entry in entries:
            proposed_at_ms = self._proposed_at_ms.pop(entry.offset, None)
            if proposed_at_ms is not None and self.is_leader:
                self.metrics.record_commit(now_ms - proposed_at_ms, int(now_ms))
            epoch = self._proposals.pop(entry.offset, None)
            if epoch is not None:
                self._outcomes[entry.offset] = (None if entry.epoch == epoch
                                                else f"epoch {entry.epoch} overwrote epoch {epoch}")

    def _notice_changes(self, progressed: bool) -> None:
        leader = (self.node.leader_id, self.node.epoch)
        changed = leader != self._leader
        if changed:
            self._leader = leader
            self.metrics.leader_changed(leader[0], int(_now_ms()))
            if leader[0] != self.node_id:
                self._proposed_at_ms.clear()  # a follower times no commits
            self.on_leader_change(*leader)
        if changed or progressed:
            self._changed.set()
            self._changed = trio.Event()

    async def _wait_change(self) -> None:
        if self.node is None:
            raise KafkaError(ErrorCode.NOT_CONTROLLER, f"quorum replica {self.node_id} stopped")
        await self._changed.wait()

    # --- the application's side ----------------------------------------------------------

    def propose(self, data: bytes) -> int:
        """Append ``data`` to the metadata log as the leader; returns its offset.

        Raises:
            NotLeader: this replica does not lead (``exc.leader_id`` may say who does).
        """
        offset = self._drive(lambda node: node.propose(data))
        now_ms = _now_ms()
        self.metrics.append_records.record(1, int(now_ms))
        if self.node.next_apply_offset <= offset:
            self._proposals[offset] = self.node.epoch
            self._proposed_at_ms[offset] = now_ms
        else:
            self.metrics.record_commit(0.0, int(now_ms))  # a one-voter quorum commits at once
        # else a one-voter quorum committed (and applied) it in the same step:
        # wait_committed() then returns at once.
        return offset

    async def wait_committed(self, offset: int) -> None:
        """Wait until the entry proposed at ``offset`` is committed (and applied).

        Raises:
            ProposalLost: another leader's entry was committed at ``offset``.
        """
        while offset not in self._outcomes:
            if offset not in self._proposals and self.node and self.node.next_apply_offset > offset:
                return  # not proposed here: committed is all we can say
            await self._wait_change()
        reason = self._outcomes.pop(offset)
        if reason is not None:
            raise ProposalLost(offset, reason)

    async def wait_for_leader(self) -> int:
        """Wait until this replica knows a leader of its current epoch; return its id."""
        while self.node is None or self.node.role not in (Role.LEADER, Role.FOLLOWER):
            await self._wait_change()
        return self.node.leader_id

    def snapshot(self, offset: int, data: bytes) -> SnapshotId:
        """The application's state after applying every entry below ``offset``."""
        return self._drive(lambda node: node.snapshot(offset, data))

    def resign(self) -> None:
        """Controlled shutdown: hand leadership to another voter now."""
        self._drive(RaftNode.resign)

    # --- requests from other replicas (the handler side) ------------------------------------

    async def handle_request(self, source_id: int, message):
        """Step a request from ``source_id`` and return the node's response.

        The node answers in the same step, except a Fetch the leader holds
        (long polling): that answer comes out of a later event, at the
        latest when the fetch's wait runs out or leadership ends.

        Raises:
            KafkaError: NOT_CONTROLLER if the runtime is not running (or stops
                before answering).
        """
        self._last_handled_id -= 1  # negative: never one of the node's own ids
        key = (source_id, self._last_handled_id)
        self._answers[key] = None
        try:
            self._drive(lambda node: node.step(Envelope(source_id, self.node_id, message, key[1])))
            while self._answers[key] is None:
                if self.node is None:
                    raise KafkaError(ErrorCode.NOT_CONTROLLER,
                                     f"quorum replica {self.node_id} stopped")
                await self._answered.wait()
            return self._answers[key]
        finally:
            del self._answers[key]


def _now_ms() -> float:
    """Trio's clock in milliseconds (a MockClock in tests)."""
    return trio.current_time() * 1000


async def handle_raft_request(runtime: QuorumRuntime, api_key: int, request) -> dict:
    """Answer a decoded Vote / BeginQuorumEpoch / EndQuorumEpoch / FetchSnapshot
    request, or a Fetch of ``__cluster_metadata-0``, with a response body dict.

    This is what a broker's handler calls (its Fetch handler only for
    :func:`~minikafka.protocol.metadata_topic.is_metadata_fetch` requests); the dict goes to
    ``framing.encode_response`` at the request's version.
    """
    try:
        source_id, cluster_id, message = wire.decode_request(api_key, request)
    except wire.WireError as exc:
        return wire.error_response(api_key, exc.error_code)
    if None not in (cluster_id, runtime.cluster_id) and cluster_id != runtime.cluster_id:
        return wire.error_response(api_key, ErrorCode.INCONSISTENT_CLUSTER_ID)
    try:
        response = await runtime.handle_request(source_id, message)
    except KafkaError as exc:
        return wire.error_response(api_key, exc.code)
    return wire.encode_response(response)


# --- transports ----------------------------------------------------------------------------


class InMemoryNetwork:
    """Links the runtimes of one process; each directed link can be cut.

    Delivery is immediate (plus one Trio checkpoint), so under MockClock a
    message takes no virtual time. A stopped runtime drops what it receives.
    """

    def __init__(self) -> None:
        self.runtimes: dict[int, QuorumRuntime] = {}
        self.cut_links: set[tuple[int, int]] = set()

    def transport(self, node_id: int) -> "InMemoryTransport":
        return InMemoryTransport(self, node_id)

    def register(self, runtime: QuorumRuntime) -> QuorumRuntime:
        """Attach ``runtime`` (replacing an earlier one of the same node id)."""
        self.runtimes[runtime.node_id] = runtime
        return runtime

    def cut(self, a: int, b: int) -> None:
        """Cut both directions between ``a`` and ``b``."""
        self.cut_links |= {(a, b), (b, a)}

    def isolate(self, node_id: int) -> None:
        for other in self.runtimes:
            if other != node_id:
                self.cut(node_id, other)

    def heal(self) -> None:
        self.cut_links.clear()

    def deliver(self, envelope: Envelope) -> None:
        if (envelope.source_id, envelope.destination_id) in self.cut_links:
            return
        runtime = self.runtimes.get(envelope.destination_id)
        if runtime is not None:
            runtime.receive(envelope)


class InMemoryTransport:
    """One runtime's handle on an :class:`InMemoryNetwork`."""

    def __init__(self, network: InMemoryNetwork, node_id: int):
        self.network = network
        self.node_id = node_id

    async def send(self, destination_id: int, envelope: Envelope) -> None:
        await trio.lowlevel.checkpoint()
        self.network.deliver(envelope)


def parse_quorum_voters(text: str) -> dict[int, tuple[str, int]]:
    """Kafka's ``controller.quorum.voters``: ``1@host:port,2@host:port`` -> ``{1: (host, port)}``.

    Also takes ``controller.quorum.bootstrap.servers`` (``host:port,...``):
    Kafka learns the voter ids of a dynamic quorum from its log (KIP-853);
    this project's quorum is static, so a bootstrap entry without ``id@`` is
    given the id of its position (1, 2, 3, ...), the order ``cluster start``
    writes them in.
    """
    voters = {}
    for position, item in enumerate(filter(None, (s.strip() for s in text.split(","))), 1):
        node_id, at, address = item.rpartition("@")
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"bad quorum voter {item!r}: expected id@host:port")
        voters[int(node_id) if at else position] = (host.strip("[]"), int(port))
    return voters


class TcpTransport:
    """Kafka-protocol connections to the other voters; one request in flight each.

    Args:
        node_id: this replica's id (not dialled).
        voters: ``{node_id: (host, port)}``, e.g. from :func:`parse_quorum_voters`.
        cluster_id: sent in every request.
        request_timeout_s: a request unanswered for this long closes its
            connection (a hung peer); the core resends on its own schedule.
        queue_size: messages waiting per peer beyond this are dropped.
    """

    def __init__(self, node_id: int, voters: dict[int, tuple[str, int]], *,
                 cluster_id: str | None = None, request_timeout_s: float = 2.0,
                 queue_size: int = 16):
        self.node_id = node_id
        self.voters = voters
        self.cluster_id = cluster_id
        self.request_timeout_s = request_timeout_s
        self._queues = {peer: trio.open_memory_channel(queue_size)
                        for peer in voters if peer != node_id}
        self._correlation_id = 0

    async def send(self, destination_id: int, envelope: Envelope) -> None:
        if not wire.is_request(envelope.message) or destination_id not in self._queues:
            return  # answers travel back on the request's own connection
        try:
            self._queues[destination_id][0].send_nowait(envelope)
        except trio.WouldBlock:
            pass  # the peer is slow or down: losing a message is safe in Raft

    async def run(self, deliver, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """One task per peer; ``deliver(envelope)`` takes each response."""
        async with trio.open_nursery() as nursery:
            for peer, (_, receive_channel) in self._queues.items():
                nursery.start_soon(self._peer_loop, peer, receive_channel, deliver)
            task_status.started()

    async def _peer_loop(self, peer: int, requests, deliver) -> None:
        stream = None
        try:
            async for envelope in requests:
                try:
                    with trio.fail_after(self.request_timeout_s):
                        if stream is None:
                            stream = await trio.open_tcp_stream(*self.voters[peer])
                        response = await self._exchange(stream, envelope)
                except (OSError, trio.TooSlowError, trio.BrokenResourceError, ValueError) as exc:
                    log.debug("quorum %s -> %s: %s", self.node_id, peer, exc)
                    if stream is not None:
                        await trio.aclose_forcefully(stream)
                    stream = None
                    continue
                deliver(Envelope(peer, envelope.source_id, response, envelope.correlation_id))
        finally:
            if stream is not None:
                await trio.aclose_forcefully(stream)

    async def _exchange(self, stream: trio.abc.Stream, envelope: Envelope):
        """Send one request frame, read its response frame, decode it.

        Raises:
            ValueError: a malformed answer (DecodeError, WireError, framing).
        """
        api_key, version, body = wire.encode_request(envelope.message, self.cluster_id,
                                                     envelope.destination_id)
        self._correlation_id += 1
        response = await exchange(stream, api_key, version, self._correlation_id,
                                  f"raft-{self.node_id}", body)
        return wire.decode_response(api_key, response, envelope.message)

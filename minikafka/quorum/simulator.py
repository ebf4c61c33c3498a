"""A deterministic in-memory quorum: nodes, a faulty network, and safety checks.

The simulator is the Raft core's test bench (and a lab bench): it plays the
runtime's part for several :class:`RaftNode` objects at once, with no
threads, sockets or clocks. Logical time advances one tick at a time:

1. messages due at this tick are delivered (each one ``step``s its node);
2. every live node is ``tick``-ed;
3. after every event a node's Ready is handled the way a real runtime must:
   persist to its :class:`MemoryStorage`, apply snapshot and committed
   entries to the node's state machine, hand messages to the network, then
   ``advance``.

The :class:`Network` delays every message by a random 1..``max_delay_ticks``
ticks, may drop a fraction of them, and can cut links (partitions) and heal
them. A crash drops the node object and keeps only its storage; a restart
builds a new node from that storage. Every random choice comes from one
seeded ``random.Random``, so a failing run replays exactly from its seed.

The state machine of each node is the list of applied entries
``(offset, epoch, data)``; its snapshot is that list in msgpack. While it
runs, the simulator checks Raft's safety properties and raises
:class:`SafetyViolation` at the first breach:

- *election safety*: at most one leader per epoch, ever;
- *state machine safety*: every node applies the same entry at each offset,
  and an applied entry never changes.
"""

from __future__ import annotations

import heapq
import random
from typing import Callable, Iterable

import msgpack

from minikafka.quorum.messages import Envelope
from minikafka.quorum.raft import RaftNode
from minikafka.quorum.ready import Ready
from minikafka.quorum.state import RaftConfig, Role
from minikafka.quorum.storage import MemoryStorage

Applied = tuple[int, int, bytes]  # (offset, epoch, data) of one applied entry


class SafetyViolation(AssertionError):
    """The cluster broke one of Raft's safety properties."""


class Network:
    """Message delivery between simulated nodes. Owned by the simulator.

    Args:
        rng: the source of delays and drops.
        max_delay_ticks: each message takes 1..max_delay_ticks ticks.
        drop_rate: the fraction of messages lost at random.
    """

    def __init__(self, rng: random.Random, max_delay_ticks: int = 1, drop_rate: float = 0.0):
        self.rng = rng
        self.max_delay_ticks = max_delay_ticks
        self.drop_rate = drop_rate
        self.cut_links: set[tuple[int, int]] = set()
        self.trace: list[Envelope] | None = None  # set to [] to record deliveries
        self._queue: list[tuple[int, int, Envelope]] = []
        self._seq = 0

    def connected(self, a: int, b: int) -> bool:
        return (a, b) not in self.cut_links

    def send(self, envelope: Envelope, now: int) -> None:
        if not self.connected(envelope.source_id, envelope.destination_id):
            return
        if self.drop_rate and self.rng.random() < self.drop_rate:
            return
        self._seq += 1
        deliver_at = now + self.rng.randint(1, self.max_delay_ticks)
        heapq.heappush(self._queue, (deliver_at, self._seq, envelope))

    def due(self, now: int) -> list[Envelope]:
        """Messages whose time has come, minus those whose link was cut meanwhile."""
        out = []
        while self._queue and self._queue[0][0] <= now:
            _, _, envelope = heapq.heappop(self._queue)
            if self.connected(envelope.source_id, envelope.destination_id):
                out.append(envelope)
                if self.trace is not None:
                    self.trace.append(envelope)
        return out

    def partition(self, *groups: Iterable[int]) -> None:
        """Cut every link between nodes of different groups."""
        groups = [set(g) for g in groups]
        for i, group in enumerate(groups):
            for other in groups[i + 1:]:
                for a in group:
                    for b in other:
                        self.cut_links |= {(a, b), (b, a)}

    def heal(self) -> None:
        self.cut_links.clear()


class SimulatedCluster:
    """A quorum of RaftNodes driven tick by tick.

    Args:
        voters: the node ids.
        seed: seeds every random choice (network and election jitter).
        max_delay_ticks, drop_rate: see :class:`Network`.
        **config: RaftConfig overrides (``election_timeout_ticks=...``).
    """

    def __init__(self, voters: Iterable[int] = (1, 2, 3), seed: int = 0,
                 max_delay_ticks: int = 1, drop_rate: float = 0.0, **config):
        self.voters = frozenset(voters)
        self.rng = random.Random(seed)
        self.network = Network(self.rng, max_delay_ticks, drop_rate)
        self._config = config
        self.now = 0
        self.storages = {n: MemoryStorage() for n in self.voters}
        self.nodes: dict[int, RaftNode | None] = {}
        self.applied: dict[int, list[Applied]] = {}
        self.leaders_by_epoch: dict[int, int] = {}
        self.committed: dict[int, tuple[int, bytes]] = {}
        for node_id in sorted(self.voters):
            self.start(node_id)

    # --- driving --------------------------------------------------------------

    def tick(self, ticks: int = 1) -> None:
        for _ in range(ticks):
            self.now += 1
            for envelope in self.network.due(self.now):
                if self.nodes.get(envelope.destination_id) is not None:
                    self._feed(envelope.destination_id, lambda node: node.step(envelope))
            for node_id in sorted(self.voters):
                if self.nodes[node_id] is not None:
                    self._feed(node_id, RaftNode.tick)

    def run_until(self, predicate: Callable[[], bool], max_ticks: int = 500) -> int:
        """Tick until ``predicate()`` holds; returns the ticks it took."""
        for ticks in range(max_ticks + 1):
            if predicate():
                return ticks
            self.tick()
        raise AssertionError(f"condition not reached within {max_ticks} ticks")

    def _feed(self, node_id: int, event: Callable[[RaftNode], object]):
        node = self.nodes[node_id]
        result = event(node)
        self._handle_ready(node_id, node)
        self._check_election_safety(node)
        return result

    def _handle_ready(self, node_id: int, node: RaftNode) -> None:
        ready = node.ready()
        self.storages[node_id].persist(ready)
        self._apply(node_id, ready)
        for envelope in ready.messages:
            self.network.send(envelope, self.now)
        node.advance(ready)

    # --- the state machine -------------------------------------------------------

    def _apply(self, node_id: int, ready: Ready) -> None:
        if ready.load_snapshot:
            state = [(o, e, bytes(d)) for o, e, d in msgpack.unpackb(ready.snapshot.data)]
            for offset, epoch, data in state:
                self._check_committed(node_id, offset, epoch, data)
            self.applied[node_id] = state
        state = self.applied[node_id]
        for entry in ready.committed_entries:
            expected = state[-1][0] + 1 if state else 0
            if entry.offset != expected:
                raise SafetyViolation(f"node {node_id} applied {entry.offset}, expected {expected}")
            self._check_committed(node_id, entry.offset, entry.epoch, entry.data)
            state.append((entry.offset, entry.epoch, entry.data))

    def _check_committed(self, node_id: int, offset: int, epoch: int, data: bytes) -> None:
        known = self.committed.setdefault(offset, (epoch, data))
        if known != (epoch, data):
            raise SafetyViolation(f"node {node_id} applied {(epoch, data)} at {offset}, "
                                  f"but {known} was committed there")

    def _check_election_safety(self, node: RaftNode) -> None:
        if node.role is Role.LEADER:
            leader = self.leaders_by_epoch.setdefault(node.epoch, node.node_id)
            if leader != node.node_id:
                raise SafetyViolation(f"two leaders in epoch {node.epoch}: {leader} and {node.node_id}")

    def take_snapshot(self, node_id: int) -> None:
        """Let ``node_id``'s application snapshot everything it has applied."""
        node = self.nodes[node_id]
        state = self.applied[node_id]
        if state and state[-1][0] + 1 > node.log.log_start_offset:
            data = msgpack.packb([list(a) for a in state])
            self._feed(node_id, lambda n: n.snapshot(state[-1][0] + 1, data))

    # --- faults ------------------------------------------------------------------

    def start(self, node_id: int) -> None:
        """Start (or restart) a node from what its storage holds."""
        config = RaftConfig(node_id=node_id, voters=self.voters, **self._config)
        rng = random.Random(self.rng.random())
        self.nodes[node_id] = RaftNode(config, rng, self.storages[node_id].load())
        self.applied[node_id] = []
        self._feed(node_id, lambda node: None)  # the restart Ready: load the snapshot

    def crash(self, node_id: int) -> None:
        """Kill a node: everything not persisted (nothing, here) is lost."""
        self.nodes[node_id] = None

    def restart(self, node_id: int) -> None:
        self.crash(node_id)
        self.start(node_id)

    def partition(self, *groups: Iterable[int]) -> None:
        self.network.partition(*groups)

    def isolate(self, node_id: int) -> None:
        self.network.partition([node_id], self.voters - {node_id})

    def heal(self) -> None:
        self.network.heal()

    # --- looking -----------------------------------------------------------------

    def live_nodes(self) -> list[RaftNode]:
        return [n for _, n in sorted(self.nodes.items()) if n is not None]

    def leader(self) -> RaftNode | None:
        """The live leader of the highest epoch, or None."""
        leaders = [n for n in self.live_nodes() if n.role is Role.LEADER]
        return max(leaders, key=lambda n: n.epoch) if leaders else None

    def wait_for_leader(self, max_ticks: int = 500) -> RaftNode:
        self.run_until(lambda: self._stable_leader() is not None, max_ticks)
        return self._stable_leader()

    def _stable_leader(self) -> RaftNode | None:
        """A leader followed by a majority and by every live node it can reach."""
        leader = self.leader()
        if leader is None:
            return None
        followers = 0
        for node in self.live_nodes():
            if node is leader or not self.network.connected(leader.node_id, node.node_id):
                continue
            if not (node.role is Role.FOLLOWER and node.epoch == leader.epoch
                    and node.leader_id == leader.node_id):
                return None
            followers += 1
        return leader if followers + 1 >= len(self.voters) // 2 + 1 else None

    def propose(self, data: bytes, node_id: int | None = None) -> int:
        """Propose on ``node_id`` (default: the current leader); returns the offset."""
        node = self.nodes[node_id] if node_id is not None else self.leader()
        if node is None:
            raise AssertionError("no leader to propose to")
        return self._feed(node.node_id, lambda n: n.propose(data))

    def replicate(self, data: bytes, attempts: int = 5, max_ticks: int = 200) -> None:
        """Propose ``data`` until every live node has applied it, like a client
        that retries when a leader change loses its uncommitted proposal."""
        for _ in range(attempts):
            self.wait_for_leader(max_ticks=1000)
            self.propose(data)
            try:
                self.run_until(lambda: all(data in self.applied_data(n.node_id)
                                           for n in self.live_nodes()), max_ticks)
                return
            except AssertionError:
                continue
        raise AssertionError(f"{data!r} was not replicated in {attempts} attempts")

    def applied_data(self, node_id: int) -> list[bytes]:
        """The application records (control records left out) a node has applied."""
        return [d for _, _, d in self.applied[node_id] if d]

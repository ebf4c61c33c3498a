"""Three QuorumRuntimes in one trio.run, linked by the in-memory network,
under an autojumping MockClock: elections, commits, crashes, partitions and
restarts from file storage, in virtual time (each test takes milliseconds).
"""

from __future__ import annotations

import random

import pytest
import trio

from minikafka.quorum.file_storage import FileStorage, metadata_log_dir
from minikafka.quorum.raft import NotLeader
from minikafka.quorum.runtime import InMemoryNetwork, ProposalLost, QuorumRuntime, quorum_config
from minikafka.quorum.state import Role
from minikafka.quorum.storage import MemoryStorage

VOTERS = (1, 2, 3)


class Cluster:
    """Test harness: starts, kills and restarts runtimes in one nursery."""

    def __init__(self, nursery, tmp_path=None, seed: int = 0):
        self.nursery = nursery
        self.tmp_path = tmp_path
        self.seed = seed
        self.network = InMemoryNetwork()
        self.memory = {n: MemoryStorage() for n in VOTERS}
        self.runtimes: dict[int, QuorumRuntime] = {}
        self.scopes: dict[int, trio.CancelScope] = {}
        self.applied: dict[int, list[bytes]] = {}
        self.leader_changes: dict[int, list] = {n: [] for n in VOTERS}

    async def start(self, node_id: int) -> QuorumRuntime:
        storage = (FileStorage(metadata_log_dir(str(self.tmp_path / f"node{node_id}")))
                   if self.tmp_path else self.memory[node_id])
        self.applied[node_id] = []
        runtime = QuorumRuntime(
            quorum_config(node_id, VOTERS), storage, self.network.transport(node_id),
            tick_ms=100, cluster_id="test-cluster", rng=random.Random(self.seed * 10 + node_id),
            on_commit=lambda entries: self.applied[node_id].extend(
                e.data for e in entries if not e.is_control),
            on_leader_change=lambda leader, epoch: self.leader_changes[node_id].append((leader, epoch)),
        )
        self.network.register(runtime)
        self.runtimes[node_id] = runtime
        scope = self.scopes[node_id] = trio.CancelScope()

        async def run(task_status=trio.TASK_STATUS_IGNORED):
            with scope:
                await runtime.run(task_status=task_status)

        await self.nursery.start(run)
        return runtime

    async def start_all(self) -> None:
        for node_id in VOTERS:
            await self.start(node_id)

    def kill(self, node_id: int) -> None:
        """kill -9, as far as Raft can tell: the task is gone, the storage stays."""
        self.scopes[node_id].cancel()
        if self.tmp_path:
            self.runtimes[node_id].storage.close()

    def live(self) -> list[QuorumRuntime]:
        return [r for r in self.runtimes.values() if r.running]

    async def wait_for_leader(self, among=None, timeout_s: float = 30) -> QuorumRuntime:
        """A leader that every live, reachable replica in ``among`` follows."""
        among = set(among or VOTERS)
        with trio.fail_after(timeout_s):
            while True:
                await trio.sleep(0.1)
                nodes = [r for r in self.live() if r.node_id in among]
                leaders = [r for r in nodes if r.role is Role.LEADER]
                if len(leaders) == 1 and all(r.leader_id == leaders[0].node_id
                                             and r.epoch == leaders[0].epoch for r in nodes):
                    return leaders[0]

    async def replicate(self, data: bytes, among=None) -> int:
        leader = await self.wait_for_leader(among)
        offset = leader.propose(data)
        with trio.fail_after(10):
            await leader.wait_committed(offset)
        return offset

    async def wait_applied(self, node_id: int, expected: list[bytes]) -> None:
        with trio.fail_after(30):
            while self.applied[node_id] != expected:
                await trio.sleep(0.1)


async def test_three_runtimes_elect_one_leader(autojump_clock, nursery):
    cluster = Cluster(nursery)
    await cluster.start_all()
    leader = await cluster.wait_for_leader()
    assert leader.epoch >= 1
    assert [r.role for r in cluster.live()].count(Role.LEADER) == 1
    for node_id in VOTERS:  # everyone was told who leads, through the callback
        assert cluster.leader_changes[node_id][-1] == (leader.node_id, leader.epoch)
    for node_id in VOTERS:
        cluster.kill(node_id)


async def test_proposals_commit_on_every_replica_in_order(autojump_clock, nursery):
    cluster = Cluster(nursery)
    await cluster.start_all()
    leader = await cluster.wait_for_leader()
    offsets = [leader.propose(b"record-%d" % i) for i in range(5)]
    assert offsets == list(range(offsets[0], offsets[0] + 5))
    for offset in offsets:
        await leader.wait_committed(offset)
    for node_id in VOTERS:
        await cluster.wait_applied(node_id, [b"record-%d" % i for i in range(5)])
    follower = next(r for r in cluster.live() if r is not leader)
    with pytest.raises(NotLeader) as info:
        follower.propose(b"refused")
    assert info.value.leader_id == leader.node_id
    for node_id in VOTERS:
        cluster.kill(node_id)


@pytest.mark.parametrize("seed", range(5))
async def test_killed_leader_is_replaced_and_the_quorum_keeps_committing(autojump_clock, nursery, seed):
    cluster = Cluster(nursery, seed=seed)
    await cluster.start_all()
    await cluster.replicate(b"before")
    old = await cluster.wait_for_leader()
    cluster.kill(old.node_id)
    survivors = set(VOTERS) - {old.node_id}
    new = await cluster.wait_for_leader(survivors)
    assert new.node_id != old.node_id and new.epoch > old.epoch
    await cluster.replicate(b"after", survivors)
    for node_id in survivors:
        await cluster.wait_applied(node_id, [b"before", b"after"])
    for node_id in survivors:
        cluster.kill(node_id)


@pytest.mark.parametrize("seed", range(5))
async def test_cut_off_leader_loses_its_proposal_and_rejoins_after_heal(autojump_clock, nursery, seed):
    cluster = Cluster(nursery, seed=seed)
    await cluster.start_all()
    old = await cluster.wait_for_leader()
    cluster.network.isolate(old.node_id)
    lost_offset = old.propose(b"lost")
    majority = set(VOTERS) - {old.node_id}
    new = await cluster.wait_for_leader(majority)
    assert new.epoch > old.epoch
    # Check-quorum: the cut-off leader resigned and refuses proposals.
    with trio.fail_after(10):
        while old.role is Role.LEADER:
            await trio.sleep(0.1)
    with pytest.raises(NotLeader):
        old.propose(b"refused")
    await cluster.replicate(b"kept", majority)
    cluster.network.heal()
    with pytest.raises(ProposalLost):
        with trio.fail_after(30):
            await old.wait_committed(lost_offset)
    for node_id in VOTERS:
        await cluster.wait_applied(node_id, [b"kept"])
    assert (await cluster.wait_for_leader()).node_id == new.node_id
    for node_id in VOTERS:
        cluster.kill(node_id)


async def test_restart_from_file_storage_catches_up(autojump_clock, nursery, tmp_path):
    cluster = Cluster(nursery, tmp_path)
    await cluster.start_all()
    await cluster.replicate(b"one")
    leader = await cluster.wait_for_leader()
    follower_id = next(n for n in VOTERS if n != leader.node_id)
    await cluster.wait_applied(follower_id, [b"one"])
    epoch_before = cluster.runtimes[follower_id].epoch
    cluster.kill(follower_id)
    await cluster.replicate(b"two", set(VOTERS) - {follower_id})
    await cluster.replicate(b"three", set(VOTERS) - {follower_id})
    restarted = await cluster.start(follower_id)
    # It came back with its durable state: the epoch, and the log from disk.
    assert restarted.epoch >= epoch_before
    assert restarted.node.log.log_end_offset >= 2
    await cluster.wait_applied(follower_id, [b"one", b"two", b"three"])
    assert (await cluster.wait_for_leader()).node_id == leader.node_id
    for node_id in VOTERS:
        cluster.kill(node_id)


async def test_restart_of_the_whole_cluster_from_disk_keeps_every_commit(autojump_clock, nursery,
                                                                         tmp_path):
    cluster = Cluster(nursery, tmp_path)
    await cluster.start_all()
    for i in range(3):
        await cluster.replicate(b"r%d" % i)
    for node_id in VOTERS:
        cluster.kill(node_id)
    await trio.sleep(1)
    await cluster.start_all()
    await cluster.replicate(b"r3")
    for node_id in VOTERS:
        await cluster.wait_applied(node_id, [b"r0", b"r1", b"r2", b"r3"])
    for node_id in VOTERS:
        cluster.kill(node_id)


async def test_follower_behind_a_snapshot_installs_it(autojump_clock, nursery, tmp_path):
    cluster = Cluster(nursery, tmp_path)
    snapshots: list[bytes] = []
    await cluster.start_all()
    leader = await cluster.wait_for_leader()
    behind = next(n for n in VOTERS if n != leader.node_id)
    cluster.kill(behind)
    for i in range(4):
        await cluster.replicate(b"s%d" % i, set(VOTERS) - {behind})
    # The leader's application snapshots its state; the log below is gone.
    applied_end = leader.node.next_apply_offset
    leader.snapshot(applied_end, b"|".join(cluster.applied[leader.node_id]))
    assert leader.node.log.log_start_offset == applied_end
    runtime = await cluster.start(behind)
    runtime.on_snapshot = lambda snapshot: snapshots.append(snapshot.data)
    with trio.fail_after(30):
        while not snapshots:
            await trio.sleep(0.1)
    assert snapshots == [b"s0|s1|s2|s3"]
    assert runtime.node.log.log_start_offset == applied_end
    await cluster.replicate(b"after-snapshot")
    await cluster.wait_applied(behind, [b"after-snapshot"])
    for node_id in VOTERS:
        cluster.kill(node_id)

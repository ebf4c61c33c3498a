"""Deterministic Raft scenarios on the simulated cluster (no threads, no clock).

Each test is a short script: build a seeded cluster, inject a fault, tick,
and assert what Raft promises. The simulator itself raises SafetyViolation
if two leaders ever share an epoch or an applied entry changes.
"""

import random

import pytest

from minikafka.errors import ErrorCode
from minikafka.quorum import messages as m
from minikafka.quorum.raft import NotLeader, RaftNode
from minikafka.quorum.simulator import SimulatedCluster
from minikafka.quorum.state import RaftConfig, Role, check_transition
from minikafka.quorum.storage import MemoryStorage

FETCH_TIMEOUT = 20  # RaftConfig's default, in ticks


def messages_of(cluster, kind):
    return [e for e in cluster.network.trace if isinstance(e.message, kind)]


def test_initial_election_elects_exactly_one_leader():
    cluster = SimulatedCluster(voters=(1, 2, 3), seed=7)
    leader = cluster.wait_for_leader()
    nodes = cluster.live_nodes()
    assert [n.role for n in nodes].count(Role.LEADER) == 1
    assert leader.epoch >= 1
    assert all(n.epoch == leader.epoch and n.leader_id == leader.node_id for n in nodes)


def test_committed_entries_reach_every_node_in_order():
    cluster = SimulatedCluster(seed=1)
    cluster.wait_for_leader()
    offsets = [cluster.propose(b"record-%d" % i) for i in range(5)]
    assert offsets == sorted(offsets)
    cluster.tick(10)
    for node_id in (1, 2, 3):
        assert cluster.applied_data(node_id) == [b"record-%d" % i for i in range(5)]


def test_leader_failure_elects_new_leader_in_higher_epoch():
    cluster = SimulatedCluster(seed=2)
    old = cluster.wait_for_leader()
    cluster.propose(b"before")
    cluster.tick(5)
    cluster.crash(old.node_id)
    new = cluster.wait_for_leader()
    assert new.node_id != old.node_id and new.epoch > old.epoch
    cluster.propose(b"after")
    cluster.tick(5)
    cluster.start(old.node_id)  # it comes back as a follower and catches up
    cluster.tick(30)
    restarted = cluster.nodes[old.node_id]
    assert restarted.role is Role.FOLLOWER and restarted.leader_id == new.node_id
    assert cluster.applied_data(old.node_id) == [b"before", b"after"]


def test_partitioned_leader_steps_down_and_cannot_commit():
    cluster = SimulatedCluster(seed=3)
    old = cluster.wait_for_leader()
    cluster.isolate(old.node_id)
    offset = cluster.propose(b"lost")
    high_watermark = old.high_watermark
    assert high_watermark <= offset
    # Check-quorum: within one fetch timeout (plus a check period) it resigns.
    cluster.run_until(lambda: old.role is not Role.LEADER, max_ticks=2 * FETCH_TIMEOUT)
    assert old.high_watermark == high_watermark
    with pytest.raises(NotLeader):
        old.propose(b"refused")
    new = cluster.wait_for_leader()
    assert new.epoch > old.epoch or new.node_id != old.node_id
    cluster.propose(b"kept")
    cluster.heal()
    cluster.tick(40)
    for node_id in (1, 2, 3):
        assert cluster.applied_data(node_id) == [b"kept"]
    assert b"lost" not in [e.data for e in old.log.entries]


def test_minority_partition_commits_nothing():
    cluster = SimulatedCluster(voters=(1, 2, 3, 4, 5), seed=4)
    leader = cluster.wait_for_leader()
    buddy = next(n for n in (1, 2, 3, 4, 5) if n != leader.node_id)
    majority = set(range(1, 6)) - {leader.node_id, buddy}
    cluster.partition({leader.node_id, buddy}, majority)
    cluster.propose(b"minority")
    cluster.tick(2 * FETCH_TIMEOUT)
    assert cluster.applied_data(leader.node_id) == []
    assert cluster.applied_data(buddy) == []
    assert leader.role is not Role.LEADER
    new = cluster.wait_for_leader()
    assert new.node_id in majority
    cluster.propose(b"majority")
    cluster.tick(10)
    assert all(cluster.applied_data(n) == [b"majority"] for n in majority)
    cluster.heal()
    cluster.tick(40)
    assert all(cluster.applied_data(n) == [b"majority"] for n in range(1, 6))


def test_divergent_suffix_is_truncated_through_diverging_epoch():
    cluster = SimulatedCluster(seed=5)
    old = cluster.wait_for_leader()
    cluster.propose(b"committed")
    cluster.tick(5)
    cluster.isolate(old.node_id)
    for i in range(3):  # appended in the old epoch, never replicated
        cluster.propose(b"divergent-%d" % i)
    new = cluster.wait_for_leader()
    for i in range(5):
        cluster.propose(b"new-%d" % i)
    cluster.tick(5)
    assert new is not old and old.log.entries != new.log.entries
    cluster.network.trace = []
    cluster.heal()
    cluster.run_until(lambda: old.role is Role.FOLLOWER and old.log.entries == new.log.entries)
    diverging = [e for e in messages_of(cluster, m.FetchResponse)
                 if e.destination_id == old.node_id and e.message.diverging_epoch is not None]
    assert diverging, "the old leader must learn of the divergence from a Fetch response"
    assert diverging[0].message.diverging_epoch.epoch < new.epoch
    cluster.tick(5)
    assert cluster.storages[old.node_id].entries == new.log.entries  # truncated durably too
    assert cluster.applied_data(old.node_id) == [b"committed"] + [b"new-%d" % i for i in range(5)]


def test_restart_keeps_the_vote_no_double_vote_in_one_epoch():
    config = RaftConfig(node_id=1, voters=frozenset({1, 2, 3}))
    storage = MemoryStorage()
    node = RaftNode(config, random.Random(0), storage.load())

    def vote(node, candidate_id):
        request = m.VoteRequest(candidate_epoch=5, candidate_id=candidate_id,
                                last_offset_epoch=0, last_offset=0)
        node.step(m.Envelope(candidate_id, 1, request, correlation_id=9))
        ready = node.ready()
        storage.persist(ready)
        node.advance(ready)
        (response,) = ready.messages
        return response.message

    assert vote(node, 2).vote_granted
    assert storage.hard_state.epoch == 5 and storage.hard_state.voted_id == 2

    restarted = RaftNode(config, random.Random(1), storage.load())
    assert (restarted.epoch, restarted.voted_id) == (5, 2)
    assert not vote(restarted, 3).vote_granted  # same epoch, another candidate
    assert vote(restarted, 2).vote_granted  # the same vote, asked again


def test_whole_cluster_restart_recovers_log_and_state():
    cluster = SimulatedCluster(seed=6)
    leader = cluster.wait_for_leader()
    for i in range(4):
        cluster.propose(b"r%d" % i)
    cluster.tick(10)
    epoch = leader.epoch
    for node_id in (1, 2, 3):
        cluster.crash(node_id)
    for node_id in (1, 2, 3):
        cluster.start(node_id)
    assert all(cluster.applied_data(n) == [] for n in (1, 2, 3))  # not yet re-learned
    new = cluster.wait_for_leader()
    assert new.epoch > epoch
    cluster.tick(10)
    assert all(cluster.applied_data(n) == [b"r0", b"r1", b"r2", b"r3"] for n in (1, 2, 3))


def test_lagging_follower_installs_snapshot_in_chunks():
    cluster = SimulatedCluster(seed=8, snapshot_chunk_bytes=64)
    leader = cluster.wait_for_leader()
    lagging = next(n for n in (1, 2, 3) if n != leader.node_id)
    cluster.crash(lagging)
    for i in range(30):
        cluster.propose(b"before-snapshot-%02d" % i)
    cluster.tick(5)
    cluster.take_snapshot(leader.node_id)
    snapshot_end = leader.log.log_start_offset
    assert snapshot_end > 30 and leader.log.entries == []
    cluster.propose(b"after-snapshot")
    cluster.network.trace = []
    cluster.start(lagging)
    cluster.tick(40)
    follower = cluster.nodes[lagging]
    chunks = [e for e in messages_of(cluster, m.FetchSnapshotResponse) if e.destination_id == lagging]
    assert len(chunks) > 1 and all(e.message.error_code is ErrorCode.NONE for e in chunks)
    assert follower.log.log_start_offset == snapshot_end
    assert cluster.storages[lagging].snapshot.snapshot_id == leader.log.snapshot_id
    expected = [b"before-snapshot-%02d" % i for i in range(30)] + [b"after-snapshot"]
    assert cluster.applied_data(lagging) == expected
    # and a restart after the install starts from the installed snapshot
    cluster.restart(lagging)
    assert cluster.applied_data(lagging) == expected[:30]


def test_pre_vote_keeps_a_rejoining_node_from_disrupting_the_leader():
    cluster = SimulatedCluster(seed=9)
    leader = cluster.wait_for_leader()
    epoch = leader.epoch
    follower = next(n for n in cluster.live_nodes() if n is not leader)
    cluster.isolate(follower.node_id)
    cluster.tick(100)  # its timers fire again and again, but it cannot win pre-votes
    assert follower.epoch == epoch and follower.role is Role.PROSPECTIVE
    cluster.heal()
    cluster.tick(30)
    assert leader.role is Role.LEADER and leader.epoch == epoch
    assert follower.role is Role.FOLLOWER and follower.epoch == epoch


def test_resign_hands_leadership_over_quickly():
    cluster = SimulatedCluster(seed=10)
    old = cluster.wait_for_leader()
    cluster.tick(5)
    epoch = old.epoch
    cluster._feed(old.node_id, lambda node: node.resign())
    assert old.role is Role.RESIGNED
    ticks = cluster.run_until(lambda: cluster.leader() not in (None, old))
    assert ticks < 10  # well under an election timeout: EndQuorumEpoch made them stand
    assert cluster.leader().epoch == epoch + 1


def test_single_voter_commits_at_once():
    cluster = SimulatedCluster(voters=(1,), seed=11)
    cluster.wait_for_leader()
    cluster.propose(b"alone")
    assert cluster.applied_data(1) == [b"alone"]


def test_follower_refuses_proposals_and_names_the_leader():
    cluster = SimulatedCluster(seed=12)
    leader = cluster.wait_for_leader()
    follower = next(n for n in cluster.live_nodes() if n is not leader)
    with pytest.raises(NotLeader) as info:
        follower.propose(b"x")
    assert info.value.leader_id == leader.node_id
    assert info.value.code is ErrorCode.NOT_LEADER_OR_FOLLOWER


def test_stale_epoch_fetch_is_fenced():
    cluster = SimulatedCluster(seed=13)
    leader = cluster.wait_for_leader()
    request = m.FetchRequest(replica_id=99, current_leader_epoch=leader.epoch - 1, fetch_offset=0,
                             last_fetched_epoch=0, log_start_offset=0, max_bytes=1000)
    leader.step(m.Envelope(99, leader.node_id, request, correlation_id=1))
    ready = leader.ready()
    leader.advance(ready)
    (response,) = [e.message for e in ready.messages if e.destination_id == 99]
    assert response.error_code is ErrorCode.FENCED_LEADER_EPOCH
    assert response.current_leader == m.LeaderIdAndEpoch(leader.node_id, leader.epoch)


def test_illegal_transitions_are_caught():
    with pytest.raises(AssertionError):
        check_transition(Role.FOLLOWER, Role.LEADER, 3, 3)
    with pytest.raises(AssertionError):
        check_transition(Role.LEADER, Role.CANDIDATE, 3, 4)
    check_transition(Role.LEADER, Role.FOLLOWER, 3, 4)


def test_node_must_be_advanced_before_the_next_event():
    node = RaftNode(RaftConfig(node_id=1, voters=frozenset({1})), random.Random(0))
    node.ready()
    with pytest.raises(RuntimeError):
        node.tick()

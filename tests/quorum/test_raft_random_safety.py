"""Random fault schedules against the simulated quorum (Hypothesis).

Hypothesis draws a cluster (3 or 5 voters, message delay, loss rate, seed)
and a schedule of ticks, proposals, partitions, heals, crashes, restarts and
snapshots. While it runs, the simulator raises SafetyViolation if two leaders
ever share an epoch or an applied entry differs between nodes or changes.
At the end every fault is repaired, and the cluster must elect a leader and
bring every node to the same applied log (liveness after healing).
"""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minikafka.quorum.simulator import SimulatedCluster

OPS = st.one_of(
    st.tuples(st.just("tick"), st.integers(1, 40)),
    st.tuples(st.just("propose"), st.integers(1, 5)),
    st.tuples(st.just("isolate"), st.integers(0, 4)),
    st.tuples(st.just("split"), st.integers(0, 2 ** 5 - 1)),
    st.tuples(st.just("heal"), st.just(0)),
    st.tuples(st.just("crash"), st.integers(0, 4)),
    st.tuples(st.just("restart"), st.integers(0, 4)),
    st.tuples(st.just("snapshot"), st.integers(0, 4)),
)


def run_op(cluster: SimulatedCluster, voters: list[int], op: str, arg: int, counter: list[int]) -> None:
    node_id = voters[arg % len(voters)]
    if op == "tick":
        cluster.tick(arg)
    elif op == "propose":
        for _ in range(1 + arg % 5):
            if cluster.leader() is not None:
                counter[0] += 1
                cluster.propose(b"v%d" % counter[0])
    elif op == "isolate":
        cluster.isolate(node_id)
    elif op == "split":
        side = {v for i, v in enumerate(voters) if arg >> i & 1}
        cluster.partition(side, set(voters) - side)
    elif op == "heal":
        cluster.heal()
    elif op == "crash":
        cluster.crash(node_id)
    elif op == "restart":
        cluster.restart(node_id)
    elif op == "snapshot" and cluster.nodes[node_id] is not None:
        cluster.take_snapshot(node_id)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.sampled_from([3, 5]),
    seed=st.integers(0, 2 ** 32 - 1),
    max_delay_ticks=st.integers(1, 3),
    drop_rate=st.sampled_from([0.0, 0.05, 0.2]),
    schedule=st.lists(OPS, max_size=40),
)
def test_no_two_leaders_per_epoch_and_committed_entries_never_change(
        size, seed, max_delay_ticks, drop_rate, schedule):
    run_schedule(size, seed, max_delay_ticks, drop_rate, schedule)


@pytest.mark.parametrize("seed", range(40))
def test_long_seeded_random_schedules_are_safe(seed):
    """Longer schedules than Hypothesis tends to draw, from fixed seeds."""
    rng = random.Random(seed)
    kinds = ["tick", "tick", "propose", "isolate", "split", "heal", "crash", "restart", "snapshot"]
    schedule = [(kind, rng.randint(1, 40) if kind == "tick" else rng.randint(0, 31))
                for kind in (rng.choice(kinds) for _ in range(60))]
    run_schedule(rng.choice([3, 5]), seed, rng.randint(1, 3), rng.choice([0.0, 0.05, 0.2]), schedule)


def run_schedule(size, seed, max_delay_ticks, drop_rate, schedule):
    voters = list(range(1, size + 1))
    cluster = SimulatedCluster(voters, seed=seed, max_delay_ticks=max_delay_ticks,
                               drop_rate=drop_rate, snapshot_chunk_bytes=32)
    counter = [0]
    for op, arg in schedule:
        run_op(cluster, voters, op, arg, counter)

    # Repair everything: the cluster must recover and converge.
    cluster.heal()
    cluster.network.drop_rate = 0.0
    for node_id in voters:
        if cluster.nodes[node_id] is None:
            cluster.start(node_id)
    cluster.replicate(b"final")
    cluster.run_until(lambda: len({tuple(cluster.applied[n]) for n in voters}) == 1,
                      max_ticks=100)  # every node applied the same log

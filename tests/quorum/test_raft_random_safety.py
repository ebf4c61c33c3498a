"""Random fault schedules against the simulated quorum (Hypothesis).

Hypothesis draws a cluster (3 or 5 voters, message delay, loss rate, seed)
and a schedule of ticks, proposals, partitions, heals, crashes, restarts and
snapshots. While it runs, the simulator raises SafetyViolation if two leaders
ever share an epoch or an applied entry differs between nodes or changes.
At the end every fault is repaired, and the cluster must elect a leader and
bring every node to the same applied log (liveness after healing).
"""

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
        for _ in range(arg):
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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.sampled_from([3, 5]),
    seed=st.integers(0, 2 ** 32 - 1),
    max_delay_ticks=st.integers(1, 3),
    drop_rate=st.sampled_from([0.0, 0.05, 0.2]),
    schedule=st.lists(OPS, max_size=25),
)
def test_no_two_leaders_per_epoch_and_committed_entries_never_change(
        size, seed, max_delay_ticks, drop_rate, schedule):
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
    cluster.wait_for_leader(max_ticks=1000)
    cluster.propose(b"final")

    def converged():
        logs = {tuple(cluster.applied[n]) for n in voters}
        return len(logs) == 1 and cluster.applied_data(voters[0])[-1:] == [b"final"]

    cluster.run_until(converged, max_ticks=300)  # every node applied the same log

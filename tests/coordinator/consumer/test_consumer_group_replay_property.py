"""Random operation sequences: safety holds and replay(records) == live state after every step.

``Scenario.check`` (run after every step) asserts that no partition is owned
by two clients or two members, and that a coordinator rebuilt from the
records written so far has exactly the live coordinator's state. At the end
the surviving clients must converge.
"""

from cg_scenario import FakeTopics, Scenario
from hypothesis import given, settings
from hypothesis import strategies as st

NAMES = ["a", "b", "c", "d"]

operations = st.lists(st.one_of(
    st.tuples(st.just("join"), st.sampled_from(NAMES), st.booleans(), st.sampled_from(["uniform", "range", None])),
    st.tuples(st.just("heartbeat"), st.sampled_from(NAMES)),
    st.tuples(st.just("leave"), st.sampled_from(NAMES)),
    st.tuples(st.just("static_leave"), st.sampled_from(NAMES)),
    st.tuples(st.just("crash"), st.sampled_from(NAMES)),
    st.tuples(st.just("advance"), st.sampled_from([1000, 20000, 50000])),
    st.tuples(st.just("grow"), st.sampled_from(["t", "u"])),
), max_size=30)


def apply(s: Scenario, op, restarts: dict) -> None:
    kind, *args = op
    if kind == "join":
        name, static, assignor = args
        if name in s.clients:
            return
        restarts[name] = restarts.get(name, 0) + 1  # a restarted process gets a new member id
        s.join(name, topics=("t", "u") if name in "ab" else ("t",),
               instance_id=f"i-{name}" if static else None, assignor=assignor,
               rebalance_timeout_ms=30000, member_id=f"{name}-{restarts[name]}")
    elif kind == "heartbeat" and args[0] in s.clients:
        s.heartbeat(args[0])
    elif kind == "leave" and args[0] in s.clients:
        s.leave(args[0])
    elif kind == "static_leave" and args[0] in s.clients and s.clients[args[0]].instance_id:
        s.leave(args[0], epoch=-2)
        s.clients.pop(args[0])
    elif kind == "crash" and args[0] in s.clients:
        s.crash(args[0])
    elif kind == "advance":
        advance_while_alive(s, args[0])
    elif kind == "grow":
        s.topics.by_name[args[0]].num_partitions += 1


@settings(max_examples=100, deadline=None)
@given(operations)
def test_random_operations_keep_safety_and_replay_equality(ops):
    s = Scenario(FakeTopics(t=5, u=3))
    restarts: dict = {}
    for op in ops:
        apply(s, op, restarts)
    advance_while_alive(s, 50000)  # sessions of crashed and departed static members expire
    if s.clients:
        s.converge(max_rounds=12)


def advance_while_alive(s: Scenario, ms: int) -> None:
    """Time passes; live clients heartbeat every heartbeat interval (5 s), as real ones do."""
    for _ in range(ms // 5000):
        s.advance(5000)
        s.round()
    s.advance(ms % 5000)

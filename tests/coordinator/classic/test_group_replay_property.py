"""Property: replaying the records a coordinator wrote rebuilds what it keeps.

Random clients join, sync, heartbeat, leave, commit and go silent while the
clock moves. After every step a fresh coordinator replays every record
written so far; its offsets must equal the live ones exactly, and every
settled (STABLE or EMPTY) live group must equal its replayed twin.
"""

import pytest
from group_scenario import GROUP, Scenario
from hypothesis import given, settings
from hypothesis import strategies as st

from minikafka.coordinator.classic.coordinator import GroupCoordinator
from minikafka.coordinator.classic.group import GroupState
from minikafka.errors import ErrorCode as E

CLIENTS = [("c0", None), ("c1", None), ("c2", None), ("s0", "instance-0")]

operations = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["join", "sync", "heartbeat", "leave", "commit"]),
                  st.integers(0, len(CLIENTS) - 1), st.integers(0, 100)),
        st.tuples(st.just("advance"), st.just(0), st.integers(0, 12000)),
        st.tuples(st.sampled_from(["simple_commit", "delete"]), st.just(0), st.integers(0, 100)),
    ),
    max_size=40,
)


class Driver:
    """Clients that follow the protocol loosely, as real ones racing each other do."""

    def __init__(self, initial_delay_ms: int):
        self.s = Scenario(group_initial_rebalance_delay_ms=initial_delay_ms,
                          offsets_retention_ms=20000, offsets_retention_check_interval_ms=5000)
        self.member_ids = [""] * len(CLIENTS)
        self.generations = [-1] * len(CLIENTS)
        self.join_tickets: dict[int, int] = {}  # ticket -> client

    def step(self, op: str, i: int, n: int) -> None:
        s, member_id, generation = self.s, self.member_ids[i], self.generations[i]
        client_id, instance_id = CLIENTS[i]
        if op == "join":
            result = s.join(member_id, instance_id=instance_id, client_id=client_id,
                            protocols=(("range", bytes([n % 2])),))
            if result.response is not None:
                self._joined(i, result.response)
            else:
                self.join_tickets[result.ticket] = i
        elif op == "sync":
            members = list(s.coordinator.groups[GROUP].members) if GROUP in s.coordinator.groups else []
            s.sync(member_id, generation, [(m, bytes([n])) for m in members], instance_id=instance_id)
        elif op == "heartbeat":
            s.heartbeat(member_id, generation, instance_id=instance_id)
        elif op == "leave":
            s.leave((member_id, instance_id))
            self.member_ids[i] = ""
        elif op == "commit":
            s.commit(member_id, generation, {("t", n % 3): n})
        elif op == "simple_commit":
            s.commit("", -1, {("t", n % 2): n}, group="simple")
        elif op == "delete":
            s._take(s.coordinator.delete_groups([GROUP, "simple"], s.now_ms))
        else:
            s.advance(n)
        self._collect()

    def _joined(self, i: int, response: dict) -> None:
        if response["error_code"] in (E.NONE, E.MEMBER_ID_REQUIRED):
            self.member_ids[i] = response["member_id"]
            self.generations[i] = response["generation_id"]
        elif response["error_code"] in (E.UNKNOWN_MEMBER_ID, E.FENCED_INSTANCE_ID):
            self.member_ids[i] = ""

    def _collect(self) -> None:
        for ticket in [t for t in self.join_tickets if t in self.s.delivered]:
            self._joined(self.join_tickets.pop(ticket), self.s.delivered[ticket])


def assert_replay_matches(live: GroupCoordinator, records) -> None:
    fresh = GroupCoordinator()
    for key, value in records:
        fresh.replay(key, value)
    assert set(fresh.groups) <= set(live.groups)
    for group_id, group in live.groups.items():
        settled = group.is_in(GroupState.STABLE, GroupState.EMPTY)
        if group.offsets or (settled and group.generation_id > 0):
            assert group_id in fresh.groups  # it was written, so it must come back
        twin = fresh.groups.get(group_id)
        if twin is None:
            continue
        assert twin.offsets == group.offsets
        if settled:
            assert twin.state is group.state
            assert twin.to_record_value() == group.to_record_value()


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(operations, st.sampled_from([0, 3000]))
def test_replay_of_records_rebuilds_live_state(ops, initial_delay_ms):
    driver = Driver(initial_delay_ms)
    for op, i, n in ops:
        driver.step(op, i, n)
        assert_replay_matches(driver.s.coordinator, driver.s.records)


def test_replay_after_long_seeded_random_walks():
    """Longer walks than Hypothesis explores by default, reproducible by seed."""
    import random

    kinds = ["join", "join", "sync", "sync", "heartbeat", "leave", "commit", "advance",
             "simple_commit", "delete"]
    for seed in range(150):
        rng = random.Random(seed)
        driver = Driver(rng.choice([0, 3000]))
        for _ in range(40):
            op = rng.choice(kinds)
            driver.step(op, rng.randrange(len(CLIENTS)), rng.randrange(12000 if op == "advance" else 100))
            assert_replay_matches(driver.s.coordinator, driver.s.records)

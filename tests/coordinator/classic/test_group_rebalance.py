"""Scenario tests of the classic group protocol, with an explicit clock (now_ms).

Each test is a script: members join, sync, heartbeat, leave or go silent, and
the clock moves only through ``Scenario.advance``.
"""

from group_scenario import GROUP, Scenario, stable_group

from minikafka.coordinator.classic.group import GroupState
from minikafka.coordinator.records import decode_record
from minikafka.errors import ErrorCode as E


def test_first_join_gets_member_id_required_then_leads():
    s = Scenario(group_initial_rebalance_delay_ms=0)
    first = s.join().response
    assert first["error_code"] == E.MEMBER_ID_REQUIRED and first["member_id"].startswith("c-")
    assert first["protocol_name"] is None  # v9: nullable
    response = s.join(first["member_id"]).response
    assert response["error_code"] == E.NONE and response["generation_id"] == 1
    assert response["leader"] == first["member_id"]
    assert response["members"] == [{"member_id": first["member_id"], "group_instance_id": None,
                                    "metadata": b"m"}]


def test_initial_delay_collects_all_members_into_one_generation():
    s = Scenario(group_initial_rebalance_delay_ms=3000)
    parked = [s.join_dynamic()[1] for _ in range(3)]
    assert all(r.response is None for r in parked)
    s.advance(3000)  # new members arrived during the delay: it extends once
    assert not s.delivered and s.group.state is GroupState.PREPARING_REBALANCE
    s.advance(3000)
    responses = [s.delivered[r.ticket] for r in parked]
    assert {r["generation_id"] for r in responses} == {1}
    leader = responses[0]["leader"]
    for response in responses:
        is_leader = response["member_id"] == leader
        assert len(response["members"]) == (3 if is_leader else 0)
    assert s.group.state is GroupState.COMPLETING_REBALANCE


def test_old_join_version_needs_no_member_id_round_trip():
    s = Scenario(group_initial_rebalance_delay_ms=0)
    response = s.join(version=3).response
    assert response["error_code"] == E.NONE and response["protocol_name"] == "range"
    assert response["member_id"] == response["leader"]


def test_sync_distributes_the_leaders_assignment_and_writes_the_group():
    s = Scenario()
    (a, b), generation = stable_group(s, 2)
    assert s.sync(b, generation).response["assignment"] == f"assign-{b}".encode()
    group_records = [decode_record(k, v) for k, v in s.records if decode_record(k, v)[0] == 2]
    value = group_records[-1][2]
    assert value.generation == generation and value.leader == a and value.protocol == "range"
    assert {m.member_id: m.assignment for m in value.members} == {
        a: f"assign-{a}".encode(), b: f"assign-{b}".encode()}


def test_member_that_stops_heartbeating_is_removed_after_session_timeout():
    s = Scenario()
    (a, b), generation = stable_group(s, 2)  # session.timeout.ms = 10 s
    for _ in range(3):
        s.advance(3000)
        assert s.heartbeat(a, generation) == E.NONE
    s.advance(1000)  # b's last sign of life was 10 s ago
    assert b not in s.group.members
    assert s.heartbeat(a, generation) == E.REBALANCE_IN_PROGRESS
    response = s.join(a).response  # the only member rejoined: completes at once
    assert response["generation_id"] == generation + 1 and response["leader"] == a
    assert [m["member_id"] for m in response["members"]] == [a]
    assert s.heartbeat(b, generation) == E.UNKNOWN_MEMBER_ID


def test_slow_member_that_misses_the_rebalance_timeout_is_removed():
    s = Scenario()
    (a, b), generation = stable_group(s, 2)
    parked = s.join(a)  # the leader rejoins: a new rebalance
    assert parked.ticket is not None and s.group.state is GroupState.PREPARING_REBALANCE
    for _ in range(10):  # b keeps heartbeating but never rejoins
        s.advance(2900)
        assert s.heartbeat(b, generation) == E.REBALANCE_IN_PROGRESS
        assert parked.ticket not in s.delivered
    s.advance(1000)  # 30 s rebalance timeout
    response = s.delivered[parked.ticket]
    assert response["generation_id"] == generation + 1
    assert [m["member_id"] for m in response["members"]] == [a]
    assert s.heartbeat(b, generation) == E.UNKNOWN_MEMBER_ID


def test_member_that_never_syncs_is_removed_after_the_rebalance_timeout():
    s = Scenario()
    s.join_dynamic()
    s.join_dynamic()
    s.advance(6000)
    leader, generation = s.group.leader_id, s.group.generation_id
    assert s.group.state is GroupState.COMPLETING_REBALANCE
    follower = next(m for m in s.group.members if m != leader)
    s.sync(leader, generation, [])
    for _ in range(5):  # both stay alive, but the follower never sends SyncGroup
        s.advance(5000)
        assert s.heartbeat(leader, generation) == E.NONE
        assert s.heartbeat(follower, generation) == E.NONE
    s.advance(5000)  # the rebalance timeout (30 s) since the join completed
    assert list(s.group.members) == [leader] and s.group.state is GroupState.PREPARING_REBALANCE
    assert s.heartbeat(leader, generation) == E.REBALANCE_IN_PROGRESS


def test_leave_batch_rebalances_and_reports_each_member():
    s = Scenario()
    (a, b, c), generation = stable_group(s, 3)
    response = s.leave((b, None), ("nobody", None))
    assert response["error_code"] == E.NONE
    assert [m["error_code"] for m in response["members"]] == [E.NONE, E.UNKNOWN_MEMBER_ID]
    assert s.group.state is GroupState.PREPARING_REBALANCE
    ticket = s.join(a).ticket
    assert s.join(c).response["generation_id"] == generation + 1
    assert s.delivered[ticket]["generation_id"] == generation + 1


def test_leave_v0_reports_at_top_level_and_last_leave_empties_the_group():
    s = Scenario()
    (a,), generation = stable_group(s, 1)
    assert s.leave(("x", None), version=0)["error_code"] == E.UNKNOWN_MEMBER_ID
    assert s.leave((a, None), version=0)["error_code"] == E.NONE
    assert s.group.state is GroupState.EMPTY and s.group.generation_id == generation + 1


def test_static_member_restart_gets_its_assignment_back_without_rebalance():
    s = Scenario()
    joined = {i: s.join(instance_id=i, client_id=i) for i in ("i-a", "i-b")}
    s.advance(6000)
    ids = {i: s.delivered[r.ticket]["member_id"] for i, r in joined.items()}
    generation = s.group.generation_id
    follower_ticket = s.sync(ids["i-b"], generation, instance_id="i-b").ticket
    s.sync(ids["i-a"], generation, [(ids["i-a"], b"A"), (ids["i-b"], b"B")], instance_id="i-a")
    assert s.delivered[follower_ticket]["assignment"] == b"B"
    records_before = len(s.records)

    restarted = s.join(instance_id="i-b", client_id="i-b").response  # no member id: a restart
    assert restarted["error_code"] == E.NONE and restarted["generation_id"] == generation
    new_id = restarted["member_id"]
    assert new_id != ids["i-b"] and s.group.state is GroupState.STABLE
    assert s.sync(new_id, generation, instance_id="i-b").response["assignment"] == b"B"
    assert s.heartbeat(ids["i-b"], generation, instance_id="i-b") == E.FENCED_INSTANCE_ID
    assert s.heartbeat(new_id, generation, instance_id="i-b") == E.NONE
    # The new member id was persisted, with the old assignment.
    _, _, value = decode_record(*s.records[records_before])
    assert {m.group_instance_id: (m.member_id, m.assignment) for m in value.members}["i-b"] == (new_id, b"B")


def test_join_validation_errors():
    s = Scenario()
    assert s.join(session_timeout_ms=10).response["error_code"] == E.INVALID_SESSION_TIMEOUT
    assert GROUP not in s.coordinator.groups  # a failed first join leaves nothing behind
    assert s.join("who").response["error_code"] == E.UNKNOWN_MEMBER_ID
    stable_group(s, 1)
    other = s.join(protocols=(("roundrobin", b""),)).response
    assert other["error_code"] == E.INCONSISTENT_GROUP_PROTOCOL


def test_group_max_size_turns_away_new_members():
    s = Scenario(group_max_size=1)
    stable_group(s, 1)
    assert s.join(version=3).response["error_code"] == E.GROUP_MAX_SIZE_REACHED


def test_sync_and_heartbeat_fencing():
    s = Scenario()
    (a, b), generation = stable_group(s, 2)
    assert s.sync(a, generation + 5).response["error_code"] == E.ILLEGAL_GENERATION
    assert s.sync("ghost", generation).response["error_code"] == E.UNKNOWN_MEMBER_ID
    assert s.heartbeat(a, generation - 1) == E.ILLEGAL_GENERATION
    s.join(a)  # rebalance in progress
    assert s.sync(b, generation).response["error_code"] == E.REBALANCE_IN_PROGRESS


def test_rejoin_during_completing_rebalance_answers_parked_syncs():
    s = Scenario()
    (a, b), generation = stable_group(s, 2)
    ticket_a = s.join(a).ticket
    s.join(b)
    assert s.group.state is GroupState.COMPLETING_REBALANCE
    parked_sync = s.sync(b, generation + 1).ticket
    s.join(b, protocols=(("range", b"changed"),))  # metadata changed: rebalance again
    assert s.delivered[parked_sync]["error_code"] == E.REBALANCE_IN_PROGRESS
    assert ticket_a in s.delivered

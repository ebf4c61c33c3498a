"""Scenario tests of the KIP-848 consumer group coordinator, with an explicit clock.

Every step (in ``cg_scenario.Scenario``) also checks that no partition is
owned twice and that replaying the written records rebuilds the live state.
"""

from cg_scenario import GROUP, FakeTopics, Scenario, heartbeat_request

from minikafka.coordinator.consumer import records as cgr
from minikafka.coordinator.consumer.coordinator import (
    INVALID_REGULAR_EXPRESSION,
    ClassicGroupUse,
    ConsumerGroupCoordinator,
)
from minikafka.coordinator.consumer.member import MemberState
from minikafka.coordinator.records import decode_record
from minikafka.errors import ErrorCode as E
from minikafka.protocol import messages
from minikafka.protocol.codec import Struct


def record_types(records):
    return [decode_record(k, v)[0] for k, v in records]


def test_first_member_gets_every_partition_and_kafkas_record_order():
    s = Scenario()
    response = s.join("a")
    assert response["error_code"] == E.NONE and response["member_epoch"] == 1
    assert response["heartbeat_interval_ms"] == 5000
    assert response["assignment"]["topic_partitions"] == [
        {"topic_id": s.topics.id("t"), "partitions": [0, 1, 2, 3, 4, 5]}]
    # subscription, topic metadata, epoch, target member, target epoch, current assignment
    assert record_types(s.log) == [5, 4, 3, 7, 6, 8]
    assert s.group.state.value == "Stable"


def test_second_member_gets_partitions_only_after_the_first_revokes_them():
    s = Scenario()
    s.join("a")
    b = s.join("b")
    assert b["member_epoch"] == 2 and b["assignment"]["topic_partitions"] == []  # all still owned by a
    assert s.group.members["b"].state == MemberState.UNRELEASED_PARTITIONS
    a = s.heartbeat("a")  # told to revoke 3-5, stays at epoch 1
    assert a["member_epoch"] == 1 and a["assignment"]["topic_partitions"][0]["partitions"] == [0, 1, 2]
    assert s.group.members["a"].state == MemberState.UNREVOKED_PARTITIONS
    assert s.heartbeat("b").get("assignment") is None  # a has not acknowledged yet
    a = s.heartbeat("a")  # owned = 0-2: revocation acknowledged
    assert a["member_epoch"] == 2 and "assignment" not in a
    b = s.heartbeat("b")
    assert b["assignment"]["topic_partitions"][0]["partitions"] == [3, 4, 5]
    assert s.is_converged()


def test_three_members_converge_to_a_balanced_assignment():
    s = Scenario()
    for name in "abc":
        s.join(name)
    s.converge()
    assert s.counts() == [2, 2, 2]
    assert s.group.group_epoch == 3 and s.group.assignment_epoch == 3


def test_member_leaving_hands_its_partitions_to_the_others():
    s = Scenario()
    for name in "abc":
        s.join(name)
    s.converge()
    response = s.leave("b")
    assert response["member_epoch"] == -1 and response["error_code"] == E.NONE
    assert "b" not in s.group.members and s.group.group_epoch == 4
    s.converge()
    assert s.counts() == [3, 3]


def test_session_timeout_removes_a_silent_member():
    s = Scenario()
    s.join("a")
    s.join("b")
    s.converge()
    s.crash("b")
    assert s.coordinator.next_deadline_ms() == s.now_ms + 45000
    s.advance(40000)
    s.heartbeat("a")  # a stays alive
    assert s.advance(5000).records  # b's session expired
    assert "b" not in s.group.members
    s.converge()
    assert s.counts() == [6]


def test_member_that_never_revokes_is_removed_at_its_rebalance_timeout():
    s = Scenario()
    s.join("a", rebalance_timeout_ms=10000)
    s.join("b")
    s.heartbeat("a")  # asked to revoke 3-5
    assert s.group.members["a"].state == MemberState.UNREVOKED_PARTITIONS
    s.clients["a"].owned = {s.topics.id("t"): {0, 1, 2, 3, 4, 5}}  # a stubborn client
    s.clients.pop("a")
    s.advance(5000)
    s.heartbeat("b")
    s.advance(5000)  # rebalance timeout of a: fenced although its session is alive
    assert "a" not in s.group.members
    s.converge()
    assert s.counts() == [6]


def test_static_member_restart_gets_its_partitions_back_without_a_rebalance():
    s = Scenario()
    s.join("a", instance_id="i-a")
    s.join("b", instance_id="i-b")
    s.converge()
    before = s.describe_owned()["b"]
    epoch = s.group.group_epoch
    assert s.leave("b", epoch=-2)["member_epoch"] == -2
    assert s.group.members["b"].member_epoch == -2 and s.group.group_epoch == epoch
    s.clients.pop("b")  # the process is down
    s.round(2)  # a is unaffected: b's partitions stay reserved for it
    assert s.describe_owned()["a"] != {} and s.group.group_epoch == epoch
    response = s.join("b2", instance_id="i-b")  # the restarted process, new member id
    assert response["error_code"] == E.NONE
    assert s.describe_owned()["b2"] == before and "b" not in s.group.members
    assert s.group.group_epoch == epoch


def test_second_live_instance_with_the_same_instance_id_is_refused():
    s = Scenario()
    s.join("a", instance_id="i")
    response = s.send(heartbeat_request("a2", 0, instance_id="i", rebalance_timeout_ms=1000,
                                        subscribed_topic_names=["t"], topic_partitions=[]))
    assert response["error_code"] == E.UNRELEASED_INSTANCE_ID
    response = s.send(heartbeat_request("a2", 1, instance_id="i", topic_partitions=[]))
    assert response["error_code"] == E.FENCED_INSTANCE_ID


def test_static_member_that_does_not_come_back_is_removed_after_its_session():
    s = Scenario()
    s.join("a", instance_id="i-a")
    s.join("b", instance_id="i-b")
    s.converge()
    s.leave("b", epoch=-2)
    s.clients.pop("b")
    s.advance(45000)
    assert "b" not in s.group.members
    s.converge()
    assert s.counts() == [6]


def test_partition_count_change_bumps_the_epoch_and_spreads_new_partitions():
    s = Scenario()
    s.join("a")
    s.join("b")
    s.converge()
    s.topics.by_name["t"].num_partitions = 9
    s.heartbeat("a")
    assert s.group.group_epoch == 3 and s.group.subscription_metadata["t"][1] == 9
    s.converge()
    assert s.counts() == [4, 5]


def test_subscription_change_and_regex_subscription():
    topics = FakeTopics(a1=2, a2=2, b=2, __consumer_offsets=50)
    s = Scenario(topics)
    s.join("x", topics=(), regex="a.*")
    s.join("y", topics=("b",))
    s.converge()
    owned = s.describe_owned()
    assert set(owned["x"]) == {topics.id("a1"), topics.id("a2")}
    assert set(owned["y"]) == {topics.id("b")}
    topics.create("a3", 1)  # a new topic matching the regex is picked up
    s.converge()
    assert topics.id("a3") in s.describe_owned()["x"]


def test_range_assignor_when_members_ask_for_it():
    s = Scenario(FakeTopics(t=4, u=4))
    s.join("a", topics=("t", "u"), assignor="range")
    s.join("b", topics=("t", "u"), assignor="range")
    s.converge()
    t, u = s.topics.id("t"), s.topics.id("u")
    assert s.describe_owned() == {"a": {t: {0, 1}, u: {0, 1}}, "b": {t: {2, 3}, u: {2, 3}}}


def test_epoch_fencing_and_lost_responses():
    s = Scenario()
    s.join("a")
    s.join("b")
    s.converge()
    a = s.group.members["a"]
    tid = s.topics.id("t")
    owned = [{"topic_id": tid, "partitions": sorted(a.assigned_partitions[tid])}]
    future = s.send(heartbeat_request("a", a.member_epoch + 1, topic_partitions=owned))
    assert future["error_code"] == E.FENCED_MEMBER_EPOCH
    # The previous epoch with a subset of the assignment: the bump's response was lost.
    lost = s.send(heartbeat_request("a", a.previous_member_epoch, topic_partitions=owned))
    assert lost["error_code"] == E.NONE and lost["member_epoch"] == a.member_epoch
    stale = s.send(heartbeat_request("a", a.previous_member_epoch,
                                     topic_partitions=[{"topic_id": tid, "partitions": [0, 1, 2, 3, 4, 5]}]))
    assert stale["error_code"] == E.FENCED_MEMBER_EPOCH
    unknown = s.send(heartbeat_request("zz", 3, topic_partitions=[]))
    assert unknown["error_code"] == E.UNKNOWN_MEMBER_ID


def test_request_errors():
    s = Scenario(max_size=1)
    join = dict(rebalance_timeout_ms=1000, subscribed_topic_names=["t"], topic_partitions=[])
    assert s.send(heartbeat_request("", 0, **join))["error_code"] == E.INVALID_REQUEST
    assert s.send(heartbeat_request("m", 0, topic_partitions=[]))["error_code"] == E.INVALID_REQUEST
    assert s.send(heartbeat_request("m", 0, server_assignor="sticky", **join))["error_code"] == E.UNSUPPORTED_ASSIGNOR
    bad_regex = dict(join, subscribed_topic_regex="(")
    assert s.send(heartbeat_request("m", 0, **bad_regex))["error_code"] == INVALID_REGULAR_EXPRESSION
    assert GROUP not in s.coordinator.groups  # failed joins leave no group behind
    s.join("a")
    assert s.send(heartbeat_request("b", 0, **join))["error_code"] == E.GROUP_MAX_SIZE_REACHED
    v0 = s.send(heartbeat_request("", 0, group_id="other", **join), version=0)
    assert v0["error_code"] == E.NONE and v0["member_id"] == "generated-1"


def test_group_id_of_a_classic_group_is_not_a_consumer_group():
    class Classic:
        def __init__(self, use):
            self.use, self.released = use, []

        def classic_group_use(self, group_id):
            return self.use

        def release_classic_group(self, group_id):
            self.released.append(group_id)
            return []

    topics = FakeTopics(t=1)
    join = heartbeat_request("m", 0, rebalance_timeout_ms=1000, subscribed_topic_names=["t"], topic_partitions=[])
    busy = ConsumerGroupCoordinator(topics, classic_groups=Classic(ClassicGroupUse.IN_USE))
    assert busy.consumer_group_heartbeat(join, 0).response["error_code"] == E.GROUP_ID_NOT_FOUND
    empty = Classic(ClassicGroupUse.EMPTY)
    coordinator = ConsumerGroupCoordinator(topics, classic_groups=empty)
    assert coordinator.consumer_group_heartbeat(join, 0).response["error_code"] == E.NONE
    assert empty.released == [GROUP]
    assert coordinator.classic_join_check(GROUP) == (E.INCONSISTENT_GROUP_PROTOCOL, [])


def test_describe_list_delete_and_offset_checks():
    s = Scenario()
    s.join("a")
    result = s.coordinator.consumer_group_describe(Struct(group_ids=[GROUP, "nope", ""]), s.now_ms)
    ok, missing, empty = result.response["groups"]
    assert ok["group_state"] == "Stable" and ok["assignor_name"] == "uniform" and ok["group_epoch"] == 1
    member = ok["members"][0]
    assert member["member_id"] == "a" and member["subscribed_topic_names"] == ["t"]
    assert member["assignment"]["topic_partitions"][0]["topic_name"] == "t"
    assert missing["error_code"] == E.GROUP_ID_NOT_FOUND and empty["error_code"] == E.INVALID_GROUP_ID
    messages.RESPONSES[69].encode(result.response, 0)  # the handler can send it as is
    assert s.coordinator.list_groups(["stable"])[0]["group_id"] == GROUP
    s.coordinator.validate_offset_commit(GROUP, "a", 1, api_version=9)
    for member_id, epoch, version, code in [("a", 0, 9, E.STALE_MEMBER_EPOCH),
                                            ("zz", 1, 9, E.UNKNOWN_MEMBER_ID), ("a", 1, 8, E.UNSUPPORTED_VERSION)]:
        try:
            s.coordinator.validate_offset_commit(GROUP, member_id, epoch, api_version=version)
        except Exception as error:
            assert error.code == code
        else:
            raise AssertionError("accepted")
    s.leave("a")
    assert s.coordinator.list_groups(["Empty"])[0]["group_state"] == "Empty"
    s.log.extend(s.coordinator.delete_group(GROUP))
    assert GROUP not in s.coordinator.groups
    s.check_replay()


def test_heartbeat_responses_encode_at_every_version():
    s = Scenario()
    response = s.join("a")
    for version in (0, 1):
        messages.RESPONSES[68].encode(response, version)
    request = heartbeat_request("a", 1, topic_partitions=[])
    encoded = messages.REQUESTS[68].encode(request, 1)
    assert messages.REQUESTS[68].decode(encoded, 1).member_epoch == 1


def test_on_loaded_arms_session_timers_after_replay():
    s = Scenario()
    s.join("a")
    fresh = ConsumerGroupCoordinator(s.topics)
    for key, value in s.log:
        fresh.replay(key, value)
    fresh.on_loaded(1000)
    assert fresh.next_deadline_ms() == 1000 + 45000
    assert record_types(fresh.poll_timers(46000).records) == [cgr.CURRENT_MEMBER_ASSIGNMENT,
                                                              cgr.TARGET_ASSIGNMENT_MEMBER,
                                                              cgr.MEMBER_METADATA, cgr.PARTITION_METADATA,
                                                              cgr.GROUP_METADATA]

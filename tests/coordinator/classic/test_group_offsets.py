"""Committed offsets, group listing/deletion and replay of __consumer_offsets."""

from group_scenario import GROUP, Scenario, request, stable_group, subscription

from minikafka.coordinator.classic.coordinator import GroupCoordinator
from minikafka.coordinator.classic.group import GroupState
from minikafka.errors import ErrorCode as E


def test_member_commits_and_stale_generation_is_rejected():
    s = Scenario()
    (a, b), generation = stable_group(s, 2)
    assert s.commit(a, generation, {("t", 0): 10}) == {("t", 0): E.NONE}
    assert s.committed("t", 0) == 10
    s.leave((b, None))
    # PREPARING_REBALANCE: the current generation may still commit (Kafka's
    # validateOffsetCommit), so an eager consumer saves its work before revoking.
    assert s.commit(a, generation, {("t", 0): 11}) == {("t", 0): E.NONE}
    assert s.join(a).response["generation_id"] == generation + 1
    assert s.commit(a, generation, {("t", 0): 12}) == {("t", 0): E.ILLEGAL_GENERATION}
    assert s.commit("ghost", generation + 1, {("t", 0): 12}) == {("t", 0): E.UNKNOWN_MEMBER_ID}
    assert s.commit("", -1, {("t", 0): 12}) == {("t", 0): E.UNKNOWN_MEMBER_ID}  # group not empty
    assert s.committed("t", 0) == 11


def test_simple_commit_creates_an_empty_group_and_fetch_all():
    s = Scenario()
    # No such group: ILLEGAL_GENERATION before v9, GROUP_ID_NOT_FOUND from v9.
    assert s.commit("", 3, {("t", 0): 1}, version=8) == {("t", 0): E.ILLEGAL_GENERATION}
    assert s.commit("", 3, {("t", 0): 1}) == {("t", 0): E.GROUP_ID_NOT_FOUND}
    assert s.commit("", -1, {("t", 1): 7, ("t", 0): 5, ("u", 0): 9}) == {
        ("t", 1): E.NONE, ("t", 0): E.NONE, ("u", 0): E.NONE}
    assert s.group.state is GroupState.EMPTY
    fetched = s.coordinator.fetch_offsets(GROUP, None)
    assert [(t["name"], [(p["partition_index"], p["committed_offset"]) for p in t["partitions"]])
            for t in fetched["topics"]] == [("t", [(0, 5), (1, 7)]), ("u", [(0, 9)])]
    assert s.committed("t", 9) == -1
    assert s.coordinator.fetch_offsets("nope", None)["topics"] == []


def test_metadata_too_large_is_per_partition():
    s = Scenario(offset_metadata_max_bytes=1)
    assert s.commit("", -1, {("t", 0): 1}) == {("t", 0): E.OFFSET_METADATA_TOO_LARGE}


def test_offset_delete_refuses_subscribed_topics():
    s = Scenario()
    (a,), generation = stable_group(s, 1, protocols=(("range", subscription("t")),))
    s.commit(a, generation, {("t", 0): 1, ("old", 0): 2})
    req = request(_OFFSET_DELETE, 0, group_id=GROUP,
                  topics=[{"name": "t", "partitions": [{"partition_index": 0}]},
                          {"name": "old", "partitions": [{"partition_index": 0}]}])
    response = s._take(s.coordinator.delete_offsets(req, s.now_ms)).response
    codes = {t["name"]: t["partitions"][0]["error_code"] for t in response["topics"]}
    assert codes == {"t": E.GROUP_SUBSCRIBED_TO_TOPIC, "old": E.NONE}
    assert s.committed("old", 0) == -1 and s.committed("t", 0) == 1
    missing = request(_OFFSET_DELETE, 0, group_id="nope", topics=[])
    assert s.coordinator.delete_offsets(missing, 0).response["error_code"] == E.GROUP_ID_NOT_FOUND


def test_list_describe_and_delete_groups():
    s = Scenario()
    (a,), generation = stable_group(s, 1)
    s.commit("", -1, {("t", 0): 1}, group="simple")
    listed = s.coordinator.list_groups()["groups"]
    assert {(g["group_id"], g["group_state"], g["protocol_type"]) for g in listed} == {
        (GROUP, "Stable", "consumer"), ("simple", "Empty", "")}
    assert [g["group_id"] for g in s.coordinator.list_groups(["empty"])["groups"]] == ["simple"]
    assert s.coordinator.list_groups(types_filter=["consumer"])["groups"] == []
    described = s.coordinator.describe_groups([GROUP, "nope"], version=5)["groups"]
    assert described[0]["protocol_data"] == "range" and described[0]["members"][0]["member_id"] == a
    assert described[1]["group_state"] == "Dead" and described[1]["error_code"] == E.NONE
    result = s._take(s.coordinator.delete_groups([GROUP, "simple", "nope"], s.now_ms))
    assert [r["error_code"] for r in result.response["results"]] == [
        E.NON_EMPTY_GROUP, E.NONE, E.GROUP_ID_NOT_FOUND]
    assert "simple" not in s.coordinator.groups
    assert [v for _, v in result.records] == [None, None]  # offset and group tombstones


def test_offsets_of_an_empty_group_expire_after_retention():
    s = Scenario(offsets_retention_ms=60000, offsets_retention_check_interval_ms=1000)
    (a,), generation = stable_group(s, 1)
    s.commit(a, generation, {("t", 0): 3})
    s.advance(1000)
    s.leave((a, None))  # empty from now on
    s.advance(59000)
    assert s.committed("t", 0) == 3
    s.advance(2000)
    assert GROUP not in s.coordinator.groups


def test_replay_rebuilds_groups_and_offsets():
    s = Scenario()
    (a, b), generation = stable_group(s, 2)
    s.commit(a, generation, {("t", 0): 10, ("t", 1): 20})
    s.commit("", -1, {("x", 0): 1}, group="simple")
    fresh = GroupCoordinator()
    for key, value in s.records:
        fresh.replay(key, value)
    assert snapshot(fresh) == snapshot(s.coordinator)
    assert fresh.groups[GROUP].state is GroupState.STABLE


def snapshot(coordinator: GroupCoordinator) -> dict:
    """What __consumer_offsets preserves: settled groups and all offsets."""
    out = {}
    for group_id, group in coordinator.groups.items():
        settled = group.is_in(GroupState.STABLE, GroupState.EMPTY)
        out[group_id] = (group.to_record_value() if settled else None, dict(group.offsets))
    return out


from minikafka.protocol.schema import Field, Message  # noqa: E402

# OffsetDelete is not declared in protocol/messages yet; the test builds its
# request from the shape Kafka defines (OffsetDeleteRequest v0).
_OFFSET_DELETE = Message(
    name="OffsetDeleteRequest", api_key=47, kind="request", valid_versions="0",
    flexible_versions="none", fields=[
        Field("group_id", "string", "0+"),
        Field("topics", "[]OffsetDeleteRequestTopic", "0+", fields=[
            Field("name", "string", "0+"),
            Field("partitions", "[]OffsetDeleteRequestPartition", "0+", fields=[
                Field("partition_index", "int32", "0+")]),
        ]),
    ])

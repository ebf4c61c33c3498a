"""The KIP-848 consumer protocol wired into a broker: handlers, offsets, timers, restart.

In-process brokers (``open_broker``) and requests through the real codec
(``cgp_calls.call``); the clock is Trio's, so session timeouts run on
``autojump_clock`` in no time.
"""

from __future__ import annotations

import pytest
import trio

from cgp_calls import (
    API_VERSIONS, CONSUMER_GROUP_HEARTBEAT, DELETE_GROUPS, DESCRIBE_GROUPS, JOIN_GROUP, LIST_GROUPS,
    OFFSET_DELETE, call, commit, describe, fetch, heartbeat, owned_of,
)
from minikafka.config import BrokerConfig, ConfigError
from minikafka.coordinator.runtime import OFFSETS_TOPIC
from minikafka.errors import ErrorCode
from minikafka.testing import open_broker

FAST = {"group_initial_rebalance_delay_ms": 0, "offsets_topic_num_partitions": 5,
        "group_consumer_session_timeout_ms": 3000, "group_consumer_min_session_timeout_ms": 3000,
        "group_consumer_heartbeat_interval_ms": 500, "group_consumer_min_heartbeat_interval_ms": 500}


def trio_clock_ms() -> int:
    return int(trio.current_time() * 1000)


async def started(tmp_path, partitions: int = 4, **overrides):
    """Enter ``open_broker`` by hand; the caller leaves it. Topic "t" and the offsets topic exist."""
    context = open_broker(tmp_path, **{**FAST, **overrides})
    broker = await context.__aenter__()
    if broker.topics.get("t") is None:
        await broker.create_topic("t", partitions, {})
    await broker.group_coordinator.ensure_offsets_topic()
    return context, broker


def join_classic_fields(group_id: str) -> dict:
    return {"group_id": group_id, "session_timeout_ms": 6000, "rebalance_timeout_ms": 10000,
            "member_id": "", "group_instance_id": None, "protocol_type": "consumer",
            "protocols": [{"name": "range", "metadata": b"\x00\x00\x00\x00\x00\x00"}]}


async def test_api_versions_advertises_the_consumer_protocol(tmp_path):
    async with open_broker(tmp_path, **FAST) as broker:
        versions = await call(broker, API_VERSIONS, 2)
        keys = {k.api_key: (k.min_version, k.max_version) for k in versions.api_keys}
        assert keys[CONSUMER_GROUP_HEARTBEAT] == (0, 1) and keys[69] == (0, 0)


async def test_join_assigns_every_partition_and_commits_need_the_member_epoch(tmp_path):
    context, broker = await started(tmp_path)
    try:
        joined = await heartbeat(broker, "g", member_id="m1")
        assert (joined.error_code, joined.member_id, joined.member_epoch) == (0, "m1", 1)
        assert joined.heartbeat_interval_ms == 500  # group.consumer.heartbeat.interval.ms
        assert sorted(joined.assignment.topic_partitions[0].partitions) == [0, 1, 2, 3]

        assert await commit(broker, "g", "t", {0: 5, 1: 6}, member_id="m1", member_epoch=1) == {0: 0, 1: 0}
        assert await commit(broker, "g", "t", {0: 7}, member_id="m1", member_epoch=0) == {
            0: ErrorCode.STALE_MEMBER_EPOCH}
        assert await commit(broker, "g", "t", {0: 7}, member_id="who", member_epoch=1) == {
            0: ErrorCode.UNKNOWN_MEMBER_ID}
        assert await commit(broker, "g", "t", {0: 7}, member_id="m1", member_epoch=1, version=8) == {
            0: ErrorCode.UNSUPPORTED_VERSION}  # consumer-protocol members commit with v9+
        assert await fetch(broker, "g", "t", [0, 1, 2], member_id="m1", member_epoch=1) == {0: 5, 1: 6, 2: -1}
        assert await fetch(broker, "g", "t", [0], member_id="m1", member_epoch=7) == ErrorCode.STALE_MEMBER_EPOCH
        assert await fetch(broker, "g", "t", [0]) == {0: 5}  # admin tools: no member id, no epoch
    finally:
        await context.__aexit__(None, None, None)


async def test_second_member_gets_half_after_the_first_revokes(tmp_path):
    context, broker = await started(tmp_path)
    try:
        first = await heartbeat(broker, "g", member_id="m1")
        second = await heartbeat(broker, "g", member_id="m2")
        assert second.member_epoch == 2 and not second.assignment.topic_partitions  # not yet released
        # m1 learns of the new epoch and must give two partitions up first.
        again = await heartbeat(broker, "g", member_id="m1", member_epoch=first.member_epoch,
                                owned=owned_of(first))
        assert len(again.assignment.topic_partitions[0].partitions) == 2
        released = await heartbeat(broker, "g", member_id="m1", member_epoch=again.member_epoch,
                                   owned=owned_of(again))
        assert released.member_epoch == 2
        got = await heartbeat(broker, "g", member_id="m2", member_epoch=2, owned=[])
        assert len(got.assignment.topic_partitions[0].partitions) == 2
        group = await describe(broker, "g")
        assert (group.error_code, group.group_state, group.group_epoch) == (0, "Stable", 2)
        assert [m.member_id for m in group.members] == ["m1", "m2"]
        assert {m.client_id for m in group.members} == {"cgp-test"}
        assert group.members[0].client_host == "/127.0.0.1"
    finally:
        await context.__aexit__(None, None, None)


async def test_a_member_that_stops_heartbeating_is_removed(tmp_path, autojump_clock):
    async with open_broker(tmp_path, now_ms=trio_clock_ms, **FAST) as broker:
        await broker.create_topic("t", 2, {})
        await broker.group_coordinator.ensure_offsets_topic()
        await heartbeat(broker, "g", member_id="m1")
        await trio.sleep(2.9)
        assert (await describe(broker, "g")).group_state == "Stable"
        await trio.sleep(0.2)  # group.consumer.session.timeout.ms = 3000 has passed
        group = await describe(broker, "g")
        assert (group.group_state, group.members) == ("Empty", [])
        late = await heartbeat(broker, "g", member_id="m1", member_epoch=1, owned=[])
        assert late.error_code == ErrorCode.UNKNOWN_MEMBER_ID


async def test_classic_and_consumer_members_cannot_share_a_group(tmp_path):
    context, broker = await started(tmp_path)
    try:
        await heartbeat(broker, "new", member_id="m1")
        classic = await call(broker, JOIN_GROUP, 9, **join_classic_fields("new"))
        assert classic.error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL

        first = await call(broker, JOIN_GROUP, 9, **join_classic_fields("old"))
        await call(broker, JOIN_GROUP, 9, **{**join_classic_fields("old"), "member_id": first.member_id})
        refused = await heartbeat(broker, "old", member_id="m2")
        # Kafka 4.0 (no online migration): GroupIdNotFoundException, "not a consumer group".
        assert refused.error_code == ErrorCode.GROUP_ID_NOT_FOUND
        assert "not a consumer group" in refused.error_message
    finally:
        await context.__aexit__(None, None, None)


async def test_an_empty_consumer_group_gives_way_to_a_classic_one_and_back(tmp_path):
    context, broker = await started(tmp_path)
    try:
        await heartbeat(broker, "g", member_id="m1")
        await commit(broker, "g", "t", {0: 3}, member_id="m1", member_epoch=1)
        left = await heartbeat(broker, "g", member_id="m1", member_epoch=-1, owned=None)
        assert left.error_code == 0
        first = await call(broker, JOIN_GROUP, 9, **join_classic_fields("g"))
        assert first.error_code == ErrorCode.MEMBER_ID_REQUIRED  # a classic join goes ahead
        assert (await describe(broker, "g")).error_code == ErrorCode.GROUP_ID_NOT_FOUND
        assert await fetch(broker, "g", "t", [0]) == {0: 3}  # the offsets stay with the id
    finally:
        await context.__aexit__(None, None, None)


async def test_list_describe_and_delete_see_consumer_groups(tmp_path):
    context, broker = await started(tmp_path)
    try:
        await heartbeat(broker, "cg", member_id="m1")
        await commit(broker, "cg", "t", {0: 3}, member_id="m1", member_epoch=1)
        await commit(broker, "simple", "t", {0: 1})
        listed = await call(broker, LIST_GROUPS, 5, states_filter=[], types_filter=[])
        rows = {(g.group_id, g.protocol_type, g.group_state, g.group_type) for g in listed.groups}
        assert rows == {("cg", "consumer", "Stable", "consumer"), ("simple", "", "Empty", "classic")}
        only = await call(broker, LIST_GROUPS, 5, states_filter=[], types_filter=["consumer"])
        assert [g.group_id for g in only.groups] == ["cg"]

        classic_view = await call(broker, DESCRIBE_GROUPS, 5, groups=["cg"], include_authorized_operations=False)
        assert (classic_view.groups[0].group_state, classic_view.groups[0].members) == ("Dead", [])
        busy = await call(broker, DELETE_GROUPS, 2, groups_names=["cg"])
        assert busy.results[0].error_code == ErrorCode.NON_EMPTY_GROUP
        kept = await call(broker, OFFSET_DELETE, 0, group_id="cg",
                          topics=[{"name": "t", "partitions": [{"partition_index": 0}]}])
        assert kept.topics[0].partitions[0].error_code == ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC

        await heartbeat(broker, "cg", member_id="m1", member_epoch=-1)
        gone = await call(broker, DELETE_GROUPS, 2, groups_names=["cg"])
        assert gone.results[0].error_code == 0
        assert (await describe(broker, "cg")).error_code == ErrorCode.GROUP_ID_NOT_FOUND
        assert await fetch(broker, "cg", "t", [0]) == {0: -1}  # the offsets went with it
    finally:
        await context.__aexit__(None, None, None)


async def test_restart_brings_back_the_group_its_epochs_and_offsets(tmp_path, autojump_clock):
    async with open_broker(tmp_path, now_ms=trio_clock_ms, **FAST) as broker:
        await broker.create_topic("t", 4, {})
        await broker.group_coordinator.ensure_offsets_topic()
        await heartbeat(broker, "g", member_id="m1")
        await commit(broker, "g", "t", {1: 9}, member_id="m1", member_epoch=1)
        before = await describe(broker, "g")
    async with open_broker(tmp_path, now_ms=trio_clock_ms, **FAST) as broker:
        await broker.group_coordinator.wait_loaded()
        after = await describe(broker, "g")
        assert after == before
        assert await fetch(broker, "g", "t", [1], member_id="m1", member_epoch=1) == {1: 9}
        beat = await heartbeat(broker, "g", member_id="m1", member_epoch=1, owned=None)
        assert (beat.error_code, beat.member_epoch) == (0, 1)  # the member carries on
        await trio.sleep(3.5)  # ... until it stops heartbeating
        assert (await describe(broker, "g")).group_state == "Empty"
        assert broker.topics.get(OFFSETS_TOPIC) is not None


def test_broker_config_checks_the_consumer_group_timeouts():
    assert BrokerConfig({})["group.consumer.session.timeout.ms"] == 45000
    assert BrokerConfig({})["group.coordinator.rebalance.protocols"] == ["classic", "consumer"]
    with pytest.raises(ConfigError, match="min.session.timeout.ms"):
        BrokerConfig({"group.consumer.session.timeout.ms": "3000"})  # below Kafka's minimum of 45000
    with pytest.raises(ConfigError, match="less than group.consumer.session.timeout.ms"):
        BrokerConfig({"group.consumer.heartbeat.interval.ms": "50000",
                      "group.consumer.max.heartbeat.interval.ms": "60000",
                      "group.consumer.session.timeout.ms": "50000"})
    with pytest.raises(ConfigError, match="classic"):
        BrokerConfig({"group.coordinator.rebalance.protocols": "consumer"})


async def test_the_consumer_protocol_can_be_disabled(tmp_path):
    context, broker = await started(tmp_path, group_coordinator_rebalance_protocols="classic")
    try:
        refused = await heartbeat(broker, "g", member_id="m1")
        assert (refused.error_code, refused.member_id) == (ErrorCode.UNSUPPORTED_VERSION, None)
    finally:
        await context.__aexit__(None, None, None)

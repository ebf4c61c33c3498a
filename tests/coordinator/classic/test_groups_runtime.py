"""The group coordinator wired into a broker: handlers, runtime, __consumer_offsets.

In-process and fast: requests go through the real codec and the broker's
handlers (``groups_calls.call``), with a Trio MockClock where time matters.
"""

from __future__ import annotations

import trio

from groups_calls import (
    DELETE_GROUPS,
    DESCRIBE_GROUPS,
    FIND_COORDINATOR,
    HEARTBEAT,
    JOIN_GROUP,
    LEAVE_GROUP,
    LIST_GROUPS,
    METADATA,
    OFFSET_DELETE,
    OFFSET_FETCH,
    SYNC_GROUP,
    call,
    commit,
    fetch,
    join_and_sync,
    join_fields,
)
from minikafka.broker import Broker
from minikafka.coordinator.group_partition import partition_for
from minikafka.coordinator.runtime import OFFSETS_TOPIC
from minikafka.errors import ErrorCode, KafkaError
from minikafka.testing import broker_config, open_broker

FAST = {"group_initial_rebalance_delay_ms": 0, "offsets_topic_num_partitions": 5}


def trio_clock_ms() -> int:
    return int(trio.current_time() * 1000)


async def test_find_coordinator_creates_the_compacted_internal_topic(tmp_path):
    async with open_broker(tmp_path) as broker:
        assert broker.topics.get(OFFSETS_TOPIC) is None  # created on first need
        for version in range(0, 4):
            found = await call(broker, FIND_COORDINATOR, version, key="my-group")
            assert (found.error_code, found.node_id, found.port) == (0, 1, broker.bound_ports[0])
        info = broker.topics.get(OFFSETS_TOPIC)
        assert info.num_partitions == 50  # offsets.topic.num.partitions, Kafka's default
        config = broker.topics.effective_config(OFFSETS_TOPIC)
        assert config["cleanup.policy"] == ["compact"]
        assert config["segment.bytes"] == 104857600
        metadata = await call(broker, METADATA, 12, topics=[{"name": OFFSETS_TOPIC}])
        assert metadata.topics[0].is_internal


async def test_find_coordinator_batched_keys_and_key_types(tmp_path):
    async with open_broker(tmp_path, **FAST) as broker:
        found = await call(broker, FIND_COORDINATOR, 6, key_type=0, coordinator_keys=["a", "b"])
        assert [(c.key, c.error_code, c.node_id) for c in found.coordinators] == [("a", 0, 1), ("b", 0, 1)]
        txn = await call(broker, FIND_COORDINATOR, 4, key_type=1, coordinator_keys=["tx"])
        assert (txn.coordinators[0].error_code, txn.coordinators[0].node_id) == (ErrorCode.NONE, 1)
        bad = await call(broker, FIND_COORDINATOR, 3, key="x", key_type=7)
        assert bad.error_code == ErrorCode.INVALID_REQUEST


async def test_a_group_round_trip_over_the_handlers(tmp_path):
    async with open_broker(tmp_path, **FAST) as broker:
        await broker.create_topic("t", 2, {})
        await call(broker, FIND_COORDINATOR, 3, key="g")
        joined = await join_and_sync(broker, "g")
        member = joined.member_id
        assert joined.leader == member and joined.generation_id == 1
        beat = await call(broker, HEARTBEAT, 4, group_id="g", generation_id=1, member_id=member)
        assert beat.error_code == 0
        assert await commit(broker, "g", "t", {0: 5, 1: 7}, generation_id=1, member_id=member) == {0: 0, 1: 0}
        stale = await commit(broker, "g", "t", {0: 9}, generation_id=0, member_id=member)
        assert stale == {0: ErrorCode.ILLEGAL_GENERATION}
        assert await commit(broker, "g", "nope", {0: 1}, generation_id=1, member_id=member) == {
            0: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
        assert await fetch(broker, "g", "t", [0, 1, 2]) == {0: 5, 1: 7, 2: -1}
        old = await call(broker, OFFSET_FETCH, 1, group_id="g",
                         topics=[{"name": "t", "partition_indexes": [1]}])
        assert old.topics[0].partitions[0].committed_offset == 7
        every = await call(broker, OFFSET_FETCH, 7, group_id="g", topics=None)
        assert {(p.partition_index, p.committed_offset) for p in every.topics[0].partitions} == {(0, 5), (1, 7)}

        described = await call(broker, DESCRIBE_GROUPS, 5, groups=["g", "unknown"])
        group, unknown = described.groups
        assert (group.group_state, group.protocol_data) == ("Stable", "range")
        assert [(m.member_id, m.client_host) for m in group.members] == [(member, "/127.0.0.1")]
        assert unknown.group_state == "Dead"
        listed = await call(broker, LIST_GROUPS, 5, states_filter=["stable"], types_filter=[])
        assert [(g.group_id, g.group_state) for g in listed.groups] == [("g", "Stable")]

        busy = await call(broker, DELETE_GROUPS, 2, groups_names=["g"])
        assert busy.results[0].error_code == ErrorCode.NON_EMPTY_GROUP
        subscribed = await call(broker, OFFSET_DELETE, 0, group_id="g",
                                topics=[{"name": "t", "partitions": [{"partition_index": 0}]}])
        assert subscribed.topics[0].partitions[0].error_code == ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC
        left = await call(broker, LEAVE_GROUP, 5, group_id="g",
                          members=[{"member_id": member, "group_instance_id": None}])
        assert left.error_code == 0 and left.members[0].error_code == 0
        deleted = await call(broker, OFFSET_DELETE, 0, group_id="g",
                             topics=[{"name": "t", "partitions": [{"partition_index": 0}]}])
        assert deleted.error_code == 0 and deleted.topics[0].partitions[0].error_code == 0
        assert await fetch(broker, "g", "t", [0, 1]) == {0: -1, 1: 7}
        gone = await call(broker, DELETE_GROUPS, 0, groups_names=["g", "never"])
        assert [r.error_code for r in gone.results] == [0, ErrorCode.GROUP_ID_NOT_FOUND]
        assert await fetch(broker, "g", "t", [1]) == {1: -1}


async def test_group_records_land_in_the_groups_partition(tmp_path):
    async with open_broker(tmp_path, **FAST) as broker:
        await broker.create_topic("t", 1, {})
        await call(broker, FIND_COORDINATOR, 3, key="g")
        partition = broker.partition(OFFSETS_TOPIC, partition_for("g", 5))
        before = partition.log_end_offset
        await commit(broker, "g", "t", {0: 1})
        assert partition.log_end_offset == before + 1  # written before the answer came back
        others = [broker.partition(OFFSETS_TOPIC, i).log_end_offset for i in range(5)
                  if i != partition_for("g", 5)]
        assert others == [0] * 4


async def test_second_join_completes_the_parked_first(tmp_path, autojump_clock):
    async with open_broker(tmp_path, now_ms=trio_clock_ms, **FAST) as broker:
        await broker.create_topic("t", 1, {})
        await call(broker, FIND_COORDINATOR, 3, key="g")
        first = await join_and_sync(broker, "g")
        responses = {}

        async def rejoin(name, member_id):
            responses[name] = await call(broker, JOIN_GROUP, 9, **join_fields("g", member_id))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(rejoin, "new", "")  # MEMBER_ID_REQUIRED, answered at once
        second_id = responses["new"].member_id
        async with trio.open_nursery() as nursery:
            nursery.start_soon(rejoin, "second", second_id)
            await trio.sleep(1)
            assert "second" not in responses  # parked: the group waits for the first member
            beat = await call(broker, HEARTBEAT, 4, group_id="g", generation_id=1,
                              member_id=first.member_id)
            assert beat.error_code == ErrorCode.REBALANCE_IN_PROGRESS
            # PREPARING_REBALANCE: the old generation may still save its progress.
            assert await commit(broker, "g", "t", {0: 4}, generation_id=1,
                                member_id=first.member_id) == {0: 0}
            nursery.start_soon(rejoin, "first", first.member_id)
        assert responses["first"].generation_id == responses["second"].generation_id == 2
        assert len(responses["first"].members) == 2  # the leader sees everyone
        # COMPLETING_REBALANCE: the new generation has no assignment yet.
        assert await commit(broker, "g", "t", {0: 5}, generation_id=2,
                            member_id=first.member_id) == {0: ErrorCode.REBALANCE_IN_PROGRESS}


async def test_session_timeout_is_driven_by_the_trio_clock(tmp_path, autojump_clock):
    async with open_broker(tmp_path, now_ms=trio_clock_ms, **FAST) as broker:
        await broker.create_topic("t", 1, {})
        await call(broker, FIND_COORDINATOR, 3, key="g")
        await join_and_sync(broker, "g", session_timeout_ms=6000)
        await trio.sleep(5.9)
        described = await call(broker, DESCRIBE_GROUPS, 5, groups=["g"])
        assert described.groups[0].group_state == "Stable"
        await trio.sleep(0.2)  # the session expires: no heartbeat, no LeaveGroup
        described = await call(broker, DESCRIBE_GROUPS, 5, groups=["g"])
        assert (described.groups[0].group_state, described.groups[0].members) == ("Empty", [])


async def test_restart_replays_offsets_and_groups(tmp_path, autojump_clock):
    async with open_broker(tmp_path, now_ms=trio_clock_ms, **FAST) as broker:
        await broker.create_topic("t", 2, {})
        await call(broker, FIND_COORDINATOR, 3, key="g")
        joined = await join_and_sync(broker, "g", session_timeout_ms=6000)
        await commit(broker, "g", "t", {0: 3, 1: 4}, generation_id=1, member_id=joined.member_id)
        await commit(broker, "simple", "t", {0: 8})
    async with open_broker(tmp_path, now_ms=trio_clock_ms, **FAST) as broker:
        await broker.group_coordinator.wait_loaded()
        assert await fetch(broker, "g", "t", [0, 1]) == {0: 3, 1: 4}
        assert await fetch(broker, "simple", "t", [0]) == {0: 8}
        described = await call(broker, DESCRIBE_GROUPS, 5, groups=["g"])
        assert described.groups[0].group_state == "Stable"  # as written by the last SyncGroup
        assert [m.member_id for m in described.groups[0].members] == [joined.member_id]
        beat = await call(broker, HEARTBEAT, 4, group_id="g", generation_id=1, member_id=joined.member_id)
        assert beat.error_code == 0  # the member carries on across the restart
        await trio.sleep(7)  # ... until it stops heartbeating: replayed members time out too
        described = await call(broker, DESCRIBE_GROUPS, 5, groups=["g"])
        assert described.groups[0].group_state == "Empty"


async def test_requests_wait_for_the_load(tmp_path):
    async with open_broker(tmp_path, **FAST) as broker:
        await broker.create_topic("t", 1, {})
        await call(broker, FIND_COORDINATOR, 3, key="g")
        await commit(broker, "g", "t", {0: 11})
    broker = Broker(broker_config(tmp_path, **FAST))
    broker.open()
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(broker.metadata.run)  # replays the topics from the metadata log
            broker.group_coordinator.open()  # shards exist but nothing is replayed until the runtime runs
            assert await fetch(broker, "g", "t", [0]) == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
            listed = await call(broker, LIST_GROUPS, 4, states_filter=[])
            assert listed.error_code == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
            await nursery.start(broker.group_coordinator.run)
            await broker.group_coordinator.wait_loaded()
            assert await fetch(broker, "g", "t", [0]) == {0: 11}
            nursery.cancel_scope.cancel()
    finally:
        broker.close()


async def test_a_failed_append_reloads_the_coordinator_from_the_log(tmp_path, monkeypatch):
    async with open_broker(tmp_path, **FAST) as broker:
        await broker.create_topic("t", 1, {})
        await call(broker, FIND_COORDINATOR, 3, key="g")
        await commit(broker, "g", "t", {0: 1})
        partition = broker.partition(OFFSETS_TOPIC, partition_for("g", 5))

        def fail(*args, **kwargs):
            raise KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, "disk on fire")

        monkeypatch.setattr(partition, "append_records", fail)
        assert await commit(broker, "g", "t", {0: 2}) == {0: ErrorCode.COORDINATOR_NOT_AVAILABLE}
        assert await fetch(broker, "g", "t", [0]) == {0: 1}  # memory went back to the log
        monkeypatch.undo()
        assert await commit(broker, "g", "t", {0: 3}) == {0: 0}
        assert await fetch(broker, "g", "t", [0]) == {0: 3}


async def test_group_apis_answer_not_coordinator_before_the_topic_exists(tmp_path):
    async with open_broker(tmp_path, **FAST) as broker:
        assert await fetch(broker, "g", "t", [0]) == ErrorCode.NOT_COORDINATOR
        beat = await call(broker, HEARTBEAT, 0, group_id="g", generation_id=1, member_id="m")
        assert beat.error_code == ErrorCode.NOT_COORDINATOR
        empty = await call(broker, SYNC_GROUP, 5, group_id="", generation_id=1, member_id="m",
                           protocol_type="consumer", protocol_name="range", assignments=[])
        assert empty.error_code == ErrorCode.INVALID_GROUP_ID

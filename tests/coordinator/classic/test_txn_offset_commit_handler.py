"""TxnOffsetCommit through a broker's handlers, its batches in __consumer_offsets, and the markers.

In-process: requests go through the real codec and handlers
(``groups_calls.call``). The producer's transaction is real (InitProducerId,
AddOffsetsToTxn at this broker's transaction coordinator), so the KIP-890
verification asks a coordinator that knows it; the marker is written by
calling ``GroupCoordinatorRuntime.complete_transaction``, which is what
WriteTxnMarkers does for this topic.
"""

from __future__ import annotations

import trio
from groups_calls import FIND_COORDINATOR, OFFSET_FETCH, call, commit, fetch, join_and_sync

from minikafka.coordinator.group_partition import partition_for
from minikafka.coordinator.runtime import OFFSETS_TOPIC
from minikafka.errors import ErrorCode
from minikafka.testing import open_broker
from minikafka_core.records import read_batches

INIT_PRODUCER_ID, ADD_OFFSETS_TO_TXN, END_TXN, TXN_OFFSET_COMMIT = 22, 25, 26, 28
CONSUMER_GROUP_HEARTBEAT = 68
FAST = {"group_initial_rebalance_delay_ms": 0, "offsets_topic_num_partitions": 5,
        "transaction_state_log_num_partitions": 2}
PID = 7000  # a producer the transaction coordinator does not know: never verified


async def begin(broker, group_id: str, transactional_id: str = "tx") -> tuple[int, int]:
    """InitProducerId and AddOffsetsToTxn: a transaction that includes the group's partition."""
    found = await call(broker, FIND_COORDINATOR, 4, key_type=1, coordinator_keys=[transactional_id])
    assert found.coordinators[0].error_code == 0
    init = await call(broker, INIT_PRODUCER_ID, 5, transactional_id=transactional_id,
                      transaction_timeout_ms=60000, producer_id=-1, producer_epoch=-1)
    assert init.error_code == 0, init
    added = await call(broker, ADD_OFFSETS_TO_TXN, 4, transactional_id=transactional_id,
                       producer_id=init.producer_id, producer_epoch=init.producer_epoch, group_id=group_id)
    assert added.error_code == 0, added
    return init.producer_id, init.producer_epoch


async def txn_commit(broker, group_id: str, offsets: dict, *, version: int = 4, producer_id: int = PID,
                     producer_epoch: int = 0, generation_id: int = -1, member_id: str = "") -> dict:
    """TxnOffsetCommit ``{(topic, partition): offset}``; returns ``{(topic, partition): error_code}``."""
    topics: dict[str, list] = {}
    for (topic, partition), offset in offsets.items():
        topics.setdefault(topic, []).append(
            {"partition_index": partition, "committed_offset": offset, "committed_metadata": "tx"})
    response = await call(broker, TXN_OFFSET_COMMIT, version, transactional_id="tx", group_id=group_id,
                          producer_id=producer_id, producer_epoch=producer_epoch,
                          generation_id=generation_id, member_id=member_id,
                          topics=[{"name": t, "partitions": p} for t, p in topics.items()])
    return {(t.name, p.partition_index): p.error_code for t in response.topics for p in t.partitions}


async def fetch_stable(broker, group_id: str, topic: str, partitions, version: int = 8) -> dict:
    """OffsetFetch with require_stable: ``{partition: (offset, error_code)}``."""
    if version >= 8:
        response = await call(broker, OFFSET_FETCH, version, require_stable=True, groups=[
            {"group_id": group_id, "topics": [{"name": topic, "partition_indexes": list(partitions)}]}])
        assert response.groups[0].error_code == 0
        topics = response.groups[0].topics
    else:
        response = await call(broker, OFFSET_FETCH, version, require_stable=True, group_id=group_id,
                              topics=[{"name": topic, "partition_indexes": list(partitions)}])
        assert response.error_code == 0  # the partition carries UNSTABLE_OFFSET_COMMIT, not the top level
        topics = response.topics
    return {p.partition_index: (p.committed_offset, p.error_code) for t in topics for p in t.partitions}


def offsets_batches(broker, group_id: str):
    partition = broker.partition(OFFSETS_TOPIC, partition_for(group_id, 5))
    return list(read_batches(partition.read(0, 1 << 20, min_one_batch=True)))


async def test_offsets_stay_pending_until_the_commit_marker(tmp_path):
    async with open_broker(tmp_path, **FAST) as broker:
        await broker.create_topic("t", 2, {})
        await call(broker, FIND_COORDINATOR, 3, key="g")
        assert await commit(broker, "g", "t", {0: 1}) == {0: 0}
        pid, epoch = await begin(broker, "g")
        answer = await txn_commit(broker, "g", {("t", 0): 10, ("t", 1): 11, ("t", 5): 1, ("nope", 0): 1},
                                  producer_id=pid, producer_epoch=epoch)
        assert answer == {("t", 0): 0, ("t", 1): 0, ("t", 5): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                          ("nope", 0): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
        batch = offsets_batches(broker, "g")[-1]
        assert (batch.is_transactional, batch.producer_id, batch.producer_epoch) == (True, pid, epoch)
        assert len(batch.records) == 2
        assert await fetch(broker, "g", "t", [0, 1]) == {0: 1, 1: -1}
        unstable = ErrorCode.UNSTABLE_OFFSET_COMMIT
        assert await fetch_stable(broker, "g", "t", [0, 1]) == {0: (-1, unstable), 1: (-1, unstable)}
        assert await fetch_stable(broker, "g", "t", [0], version=7) == {0: (-1, unstable)}
        # The same transaction commits again: a second transactional batch, still pending.
        assert await txn_commit(broker, "g", {("t", 0): 12}, producer_id=pid, producer_epoch=epoch) == {
            ("t", 0): 0}
        assert len(offsets_batches(broker, "g")) == 3
        index = partition_for("g", 5)
        assert await broker.group_coordinator.complete_transaction(index, pid, epoch, 0, True) == 0
        marker = offsets_batches(broker, "g")[-1]
        assert marker.is_control and marker.producer_id == pid
        assert await fetch_stable(broker, "g", "t", [0, 1]) == {0: (12, 0), 1: (11, 0)}


async def test_abort_and_restart_in_the_middle_of_a_transaction(tmp_path, autojump_clock):
    index = partition_for("g", 5)
    async with open_broker(tmp_path, **FAST) as broker:
        await broker.create_topic("t", 1, {})
        await call(broker, FIND_COORDINATOR, 3, key="g")
        pid, epoch = await begin(broker, "g")
        assert await txn_commit(broker, "g", {("t", 0): 5}, producer_id=pid, producer_epoch=epoch) == {
            ("t", 0): 0}
        assert await broker.group_coordinator.complete_transaction(index, pid, epoch, 0, True) == 0
        # The next write of the producer is verified again (the marker closed the partition's transaction).
        assert await txn_commit(broker, "g", {("t", 0): 9}, producer_id=pid, producer_epoch=epoch) == {
            ("t", 0): 0}
    async with open_broker(tmp_path, **FAST) as broker:
        await broker.group_coordinator.wait_loaded()
        # Loading replayed the open transaction: its offset is still pending.
        assert await fetch_stable(broker, "g", "t", [0]) == {0: (-1, ErrorCode.UNSTABLE_OFFSET_COMMIT)}
        assert await broker.group_coordinator.complete_transaction(index, pid, epoch, 0, False) == 0
        assert await fetch_stable(broker, "g", "t", [0]) == {0: (5, 0)}
    async with open_broker(tmp_path, **FAST) as broker:
        await broker.group_coordinator.wait_loaded()
        assert await fetch_stable(broker, "g", "t", [0]) == {0: (5, 0)}  # the abort marker replays too


async def test_member_checks(tmp_path):
    async with open_broker(tmp_path, **FAST) as broker:
        await broker.create_topic("t", 1, {})
        await call(broker, FIND_COORDINATOR, 3, key="g")
        pid, epoch = await begin(broker, "g")
        joined = await join_and_sync(broker, "g")
        member, generation = joined.member_id, joined.generation_id
        producer = {"producer_id": pid, "producer_epoch": epoch}
        stale = await txn_commit(broker, "g", {("t", 0): 1}, generation_id=generation + 1, member_id=member,
                                 **producer)
        assert stale == {("t", 0): ErrorCode.ILLEGAL_GENERATION}
        ghost = await txn_commit(broker, "g", {("t", 0): 1}, generation_id=generation, member_id="ghost",
                                 **producer)
        assert ghost == {("t", 0): ErrorCode.UNKNOWN_MEMBER_ID}
        current = await txn_commit(broker, "g", {("t", 0): 1}, generation_id=generation, member_id=member,
                                   **producer)
        assert current == {("t", 0): 0}
        assert await txn_commit(broker, "g", {("t", 0): 2}, version=0, **producer) == {("t", 0): 0}
        no_group = await txn_commit(broker, "", {("t", 0): 2}, **producer)
        assert no_group == {("t", 0): ErrorCode.INVALID_GROUP_ID}


async def test_a_consumer_protocol_member_commits_with_its_epoch(tmp_path):
    async with open_broker(tmp_path, **FAST) as broker:
        await broker.create_topic("t", 1, {})
        await call(broker, FIND_COORDINATOR, 3, key="cg")
        pid, epoch = await begin(broker, "cg")
        joined = await call(broker, CONSUMER_GROUP_HEARTBEAT, 1, group_id="cg", member_id="m1",
                            member_epoch=0, rebalance_timeout_ms=10000, subscribed_topic_names=["t"],
                            topic_partitions=[])
        assert joined.error_code == 0
        producer = {"producer_id": pid, "producer_epoch": epoch}
        stale = await txn_commit(broker, "cg", {("t", 0): 3}, member_id="m1",
                                 generation_id=joined.member_epoch + 1, **producer)
        assert stale == {("t", 0): ErrorCode.ILLEGAL_GENERATION}
        ghost = await txn_commit(broker, "cg", {("t", 0): 3}, member_id="m2",
                                 generation_id=joined.member_epoch, **producer)
        assert ghost == {("t", 0): ErrorCode.UNKNOWN_MEMBER_ID}
        current = await txn_commit(broker, "cg", {("t", 0): 3}, member_id="m1",
                                   generation_id=joined.member_epoch, **producer)
        assert current == {("t", 0): 0}
        index = partition_for("cg", 5)
        assert await broker.group_coordinator.complete_transaction(index, pid, epoch, 0, True) == 0
        assert await fetch(broker, "cg", "t", [0]) == {0: 3}


async def test_verification_refuses_a_producer_outside_its_transaction(tmp_path):
    async with open_broker(tmp_path, **FAST) as broker:
        await broker.create_topic("t", 1, {})
        await call(broker, FIND_COORDINATOR, 3, key="g")
        await call(broker, FIND_COORDINATOR, 3, key="other")
        pid, epoch = await begin(broker, "g")
        fenced = await txn_commit(broker, "g", {("t", 0): 1}, producer_id=pid, producer_epoch=epoch - 1)
        assert fenced == {("t", 0): ErrorCode.INVALID_PRODUCER_EPOCH}
        # "other" was never added to the transaction (no AddOffsetsToTxn for it).
        for version, code in ((4, ErrorCode.TRANSACTION_ABORTABLE), (3, ErrorCode.INVALID_TXN_STATE)):
            answer = await txn_commit(broker, "other", {("t", 0): 1}, producer_id=pid, producer_epoch=epoch,
                                      version=version)
            assert answer == {("t", 0): code}
        assert await fetch_stable(broker, "other", "t", [0]) == {0: (-1, 0)}  # nothing was written


async def test_markers_for_partitions_not_led_and_before_the_offsets_topic_exists(tmp_path):
    async with open_broker(tmp_path, **FAST) as broker:
        await broker.create_topic("t", 1, {})
        for version in (0, 1, 4):
            answer = await txn_commit(broker, "g", {("t", 0): 1}, version=version)
            assert answer == {("t", 0): ErrorCode.NOT_COORDINATOR}
        runtime = broker.group_coordinator
        assert await runtime.complete_transaction(0, PID, 0, 0, True) == ErrorCode.NOT_LEADER_OR_FOLLOWER


async def end_txn(broker, pid: int, epoch: int, commit: bool, transactional_id: str = "tx") -> int:
    response = await call(broker, END_TXN, 4, transactional_id=transactional_id, producer_id=pid,
                          producer_epoch=epoch, committed=commit)
    return response.error_code


async def wait_stable(broker, group_id: str, topic: str, partitions) -> dict:
    """OffsetFetch with require_stable until no partition is unstable (the marker arrived)."""
    with trio.fail_after(10):
        while True:
            fetched = await fetch_stable(broker, group_id, topic, partitions)
            if all(code != ErrorCode.UNSTABLE_OFFSET_COMMIT for _, code in fetched.values()):
                return fetched
            await trio.sleep(0.01)


async def test_end_txn_sends_the_markers_that_decide_the_offsets(tmp_path):
    async with open_broker(tmp_path, **FAST) as broker:
        await broker.create_topic("t", 1, {})
        await call(broker, FIND_COORDINATOR, 3, key="g")
        pid, epoch = await begin(broker, "g")
        assert await txn_commit(broker, "g", {("t", 0): 4}, producer_id=pid, producer_epoch=epoch) == {
            ("t", 0): 0}
        assert await end_txn(broker, pid, epoch, commit=True) == 0
        assert await wait_stable(broker, "g", "t", [0]) == {0: (4, 0)}
        # The next transaction of the same producer is aborted: its offset never shows.
        added = await call(broker, ADD_OFFSETS_TO_TXN, 4, transactional_id="tx", producer_id=pid,
                           producer_epoch=epoch, group_id="g")
        while added.error_code == ErrorCode.CONCURRENT_TRANSACTIONS:  # the commit is still completing
            await trio.sleep(0.01)
            added = await call(broker, ADD_OFFSETS_TO_TXN, 4, transactional_id="tx", producer_id=pid,
                               producer_epoch=epoch, group_id="g")
        assert added.error_code == 0
        assert await txn_commit(broker, "g", {("t", 0): 8}, producer_id=pid, producer_epoch=epoch) == {
            ("t", 0): 0}
        assert await end_txn(broker, pid, epoch, commit=False) == 0
        assert await wait_stable(broker, "g", "t", [0]) == {0: (4, 0)}


async def test_a_fenced_producer_cannot_commit_offsets(tmp_path):
    async with open_broker(tmp_path, **FAST) as broker:
        await broker.create_topic("t", 1, {})
        await call(broker, FIND_COORDINATOR, 3, key="g")
        pid, epoch = await begin(broker, "g")
        assert await txn_commit(broker, "g", {("t", 0): 4}, producer_id=pid, producer_epoch=epoch) == {
            ("t", 0): 0}
        # A new instance with the same transactional id: the open transaction
        # is aborted and the old epoch fenced.
        with trio.fail_after(10):
            while (init := await call(broker, INIT_PRODUCER_ID, 5, transactional_id="tx",
                                      transaction_timeout_ms=60000, producer_id=-1,
                                      producer_epoch=-1)).error_code == ErrorCode.CONCURRENT_TRANSACTIONS:
                await trio.sleep(0.01)
        assert init.error_code == 0 and init.producer_epoch > epoch
        assert await wait_stable(broker, "g", "t", [0]) == {0: (-1, 0)}
        fenced = await txn_commit(broker, "g", {("t", 0): 5}, producer_id=pid, producer_epoch=epoch)
        assert fenced == {("t", 0): ErrorCode.INVALID_PRODUCER_EPOCH}

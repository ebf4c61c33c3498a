"""The bundled transactional producer and read_committed consumer against a real broker.

Each test runs a broker in its own Trio run (``open_broker``) and drives the
bundled clients over real sockets: commits and aborts seen through both
isolation levels, a consume-transform-produce round whose input offsets
commit with its output, fencing by a newer instance of the same
``transactional.id``, and the admin view (list / describe transactions,
describe producers, abort a transaction by writing its marker).
"""

from __future__ import annotations

import pytest
import trio

from minikafka.errors import ErrorCode, KafkaError
from minikafka_clients import Admin, Consumer, Producer, TransactionState

from tests.clients.consumer.consumer_helpers import (
    broker_with_topics, fast_group_config, produce_values)

pytestmark = pytest.mark.slow


def _producer(bootstrap: str, transactional_id: str, **extra) -> Producer:
    return Producer({"bootstrap.servers": bootstrap, "transactional.id": transactional_id,
                     "linger.ms": 1, "max.block.ms": 20_000, **extra})


async def _read_all(bootstrap: str, partitions, *, read_committed: bool, quiet_s: float = 0.5):
    """Every value readable from offset 0 of ``partitions``, until ``quiet_s`` brings nothing."""
    level = "read_committed" if read_committed else "read_uncommitted"
    async with Consumer({"bootstrap.servers": bootstrap, "isolation.level": level,
                         "fetch.max.wait.ms": 50}) as consumer:
        consumer.assign(list(partitions))
        for tp in partitions:
            consumer.seek(tp, 0)
        values = []
        while batch := await consumer.poll(quiet_s):
            values += [(r.partition, r.value) for r in batch]
        positions = {tp: await consumer.position(tp) for tp in partitions}
    return sorted(values), positions


async def _end_offset(bootstrap: str, tp, *, read_committed: bool) -> int:
    """Where ``seek_to_end`` puts a consumer of this isolation level (ListOffsets LATEST)."""
    level = "read_committed" if read_committed else "read_uncommitted"
    async with Consumer({"bootstrap.servers": bootstrap, "isolation.level": level}) as consumer:
        consumer.assign([tp])
        await consumer.seek_to_end([tp])
        return await consumer.position(tp)


async def test_read_committed_sees_committed_transactions_only(tmp_path):
    async with broker_with_topics(tmp_path, {"t": 2}) as bootstrap:
        async with _producer(bootstrap, "tx-visibility") as producer:
            await producer.init_transactions()
            producer.begin_transaction()
            await producer.send("t", b"c1", partition=0)
            await producer.send("t", b"c2", partition=1)
            await producer.commit_transaction()
            producer.begin_transaction()
            await producer.send("t", b"a1", partition=0)
            await producer.send("t", b"a2", partition=1)
            await producer.flush()  # on the log, then aborted
            await producer.abort_transaction()
            producer.begin_transaction()
            await producer.send("t", b"c3", partition=0)
            await producer.commit_transaction()
            assert producer.transaction_manager.state == TransactionState.READY
        partitions = [("t", 0), ("t", 1)]
        committed, positions = await _read_all(bootstrap, partitions, read_committed=True)
        assert committed == [(0, b"c1"), (0, b"c3"), (1, b"c2")]
        # Past the markers: three batches and three markers on t-0, two of each on t-1.
        assert positions == {("t", 0): 6, ("t", 1): 4}
        everything, _ = await _read_all(bootstrap, partitions, read_committed=False)
        assert everything == [(0, b"a1"), (0, b"c1"), (0, b"c3"), (1, b"a2"), (1, b"c2")]


async def test_an_open_transaction_holds_read_committed_consumers_at_its_start(tmp_path):
    async with broker_with_topics(tmp_path, {"t": 1}) as bootstrap:
        await produce_values(bootstrap, "t", [b"before"], partition=0)
        async with _producer(bootstrap, "tx-open") as producer:
            await producer.init_transactions()
            producer.begin_transaction()
            await producer.send("t", b"pending", partition=0)
            await producer.flush()
            await produce_values(bootstrap, "t", [b"after"], partition=0)  # not transactional
            values, positions = await _read_all(bootstrap, [("t", 0)], read_committed=True)
            assert values == [(0, b"before")]
            assert positions == {("t", 0): 1}  # the last stable offset: the open transaction's start
            assert await _end_offset(bootstrap, ("t", 0), read_committed=True) == 1
            assert await _end_offset(bootstrap, ("t", 0), read_committed=False) == 3
            await producer.commit_transaction()
        values, _ = await _read_all(bootstrap, [("t", 0)], read_committed=True)
        assert values == [(0, b"after"), (0, b"before"), (0, b"pending")]


async def test_consume_transform_produce_commits_the_input_offsets_with_the_output(tmp_path):
    async with broker_with_topics(tmp_path, {"payments": 1, "ledger": 1}) as bootstrap:
        await produce_values(bootstrap, "payments", [b"1", b"2", b"3"], partition=0)
        config = fast_group_config(bootstrap, "ledger-writer", **{
            "enable.auto.commit": False, "isolation.level": "read_committed"})
        async with Consumer(config) as consumer, _producer(bootstrap, "tx-ledger") as producer:
            await consumer.subscribe(["payments"])
            await producer.init_transactions()
            records = []
            with trio.fail_after(15):
                while len(records) < 3:
                    records += await consumer.poll(0.2)
            metadata = consumer.group_metadata()
            assert metadata.group_id == "ledger-writer" and metadata.generation_id >= 1
            assert metadata.member_id

            # An aborted round: its output and its offsets vanish together.
            producer.begin_transaction()
            await producer.send("ledger", b"lost " + records[0].value, partition=0)
            await producer.send_offsets_to_transaction({("payments", 0): 1}, metadata)
            await producer.abort_transaction()
            assert await consumer.committed([("payments", 0)]) == {("payments", 0): None}

            producer.begin_transaction()
            for record in records:
                await producer.send("ledger", b"credit " + record.value, partition=0)
            await producer.send_offsets_to_transaction(
                {(r.topic, r.partition): r.offset + 1 for r in records}, metadata)
            await producer.commit_transaction()
            with trio.fail_after(10):  # the offsets' marker is written after EndTxn answers
                while (await consumer.committed([("payments", 0)]))[("payments", 0)] != 3:
                    await trio.sleep(0.05)
        values, _ = await _read_all(bootstrap, [("ledger", 0)], read_committed=True)
        assert values == [(0, b"credit 1"), (0, b"credit 2"), (0, b"credit 3")]


async def test_a_new_instance_fences_the_old_one_and_aborts_its_transaction(tmp_path):
    async with broker_with_topics(tmp_path, {"t": 1}) as bootstrap:
        async with _producer(bootstrap, "tx-fence") as zombie, \
                _producer(bootstrap, "tx-fence") as successor:
            await zombie.init_transactions()
            zombie.begin_transaction()
            await zombie.send("t", b"zombie", partition=0)
            await zombie.flush()

            await successor.init_transactions()  # bumps the epoch: the zombie's txn aborts
            assert successor.sender.idempotence.producer_epoch > \
                zombie.sender.idempotence.producer_epoch
            with pytest.raises(KafkaError) as raised:
                await zombie.commit_transaction()
            assert raised.value.code in (ErrorCode.PRODUCER_FENCED, ErrorCode.INVALID_PRODUCER_EPOCH)
            if zombie.transaction_manager.state != TransactionState.FATAL_ERROR:
                # A produce refused for its old epoch is abortable; the abort is then fenced.
                with pytest.raises(KafkaError) as raised:
                    await zombie.abort_transaction()
                assert raised.value.code == ErrorCode.PRODUCER_FENCED
            assert zombie.transaction_manager.state == TransactionState.FATAL_ERROR
            with pytest.raises(KafkaError):
                zombie.begin_transaction()

            successor.begin_transaction()
            await successor.send("t", b"successor", partition=0)
            await successor.commit_transaction()
        values, _ = await _read_all(bootstrap, [("t", 0)], read_committed=True)
        assert values == [(0, b"successor")]


async def test_admin_lists_describes_and_aborts_an_open_transaction(tmp_path):
    async with broker_with_topics(tmp_path, {"t": 2}) as bootstrap:
        async with _producer(bootstrap, "tx-admin") as producer, \
                Admin({"bootstrap.servers": bootstrap}) as admin:
            await producer.init_transactions()
            producer.begin_transaction()
            await producer.send("t", b"stuck", partition=1)
            await producer.flush()
            producer_id = producer.sender.idempotence.producer_id

            listed = await admin.list_transactions()
            assert [(t.transactional_id, t.producer_id, t.state) for t in listed] == [
                ("tx-admin", producer_id, "Ongoing")]
            assert await admin.list_transactions(states=["CompleteCommit"]) == []
            description = (await admin.describe_transactions(["tx-admin"]))["tx-admin"]
            assert description.state == "Ongoing" and description.producer_id == producer_id
            assert description.topic_partitions == {("t", 1)}
            assert description.transaction_start_time_ms is not None
            with pytest.raises(KafkaError) as raised:
                await admin.describe_transactions(["no-such-id"])
            assert raised.value.code == ErrorCode.TRANSACTIONAL_ID_NOT_FOUND

            states = (await admin.describe_producers([("t", 1)]))[("t", 1)]
            assert [(s.producer_id, s.current_transaction_start_offset) for s in states] == [
                (producer_id, 0)]
            state = states[0]
            await admin.abort_transaction(("t", 1), producer_id=state.producer_id,
                                          producer_epoch=state.producer_epoch,
                                          coordinator_epoch=state.coordinator_epoch or 0)
            states = (await admin.describe_producers([("t", 1)]))[("t", 1)]
            assert states[0].current_transaction_start_offset is None
            values, positions = await _read_all(bootstrap, [("t", 1)], read_committed=True)
            assert values == [] and positions == {("t", 1): 2}  # past the admin's marker
            await producer.abort_transaction()  # the coordinator's own markers: harmless


async def test_send_needs_a_transaction_and_close_aborts_an_open_one(tmp_path):
    from minikafka_clients import IllegalStateError

    async with broker_with_topics(tmp_path, {"t": 1}) as bootstrap:
        async with _producer(bootstrap, "tx-close") as producer:
            with pytest.raises(IllegalStateError, match="init_transactions"):
                await producer.send("t", b"too early", partition=0)
            await producer.init_transactions()
            with pytest.raises(IllegalStateError, match="begin_transaction"):
                await producer.send("t", b"no transaction", partition=0)
            with pytest.raises(IllegalStateError):
                await producer.commit_transaction()
            assert len(producer) == 0  # nothing refused was queued
            producer.begin_transaction()
            await producer.send("t", b"left open", partition=0)
            await producer.flush()
        # Closing the producer aborted its transaction: the partition is stable again.
        values, positions = await _read_all(bootstrap, [("t", 0)], read_committed=True)
        assert values == [] and positions == {("t", 0): 2}
        async with Admin({"bootstrap.servers": bootstrap}) as admin:
            description = (await admin.describe_transactions(["tx-close"]))["tx-close"]
        assert description.state == "CompleteAbort"


async def test_a_failed_batch_spoils_the_transaction_and_the_abort_bumps_the_epoch(tmp_path):
    async with broker_with_topics(tmp_path, {"t": 1}) as bootstrap:
        async with Admin({"bootstrap.servers": bootstrap}) as admin:
            await admin.incremental_alter_configs("t", set_configs={"max.message.bytes": "1000"})
        async with _producer(bootstrap, "tx-spoiled") as producer:
            await producer.init_transactions()
            epoch = producer.sender.idempotence.producer_epoch
            producer.begin_transaction()
            kept = await producer.send("t", b"fits", partition=0)
            too_large = await producer.send("t", b"x" * 2000, partition=0)
            with pytest.raises(KafkaError) as raised:
                await producer.commit_transaction()
            assert raised.value.code == ErrorCode.MESSAGE_TOO_LARGE
            assert producer.transaction_manager.state == TransactionState.ABORTABLE_ERROR
            assert too_large.exception().code == ErrorCode.MESSAGE_TOO_LARGE
            with pytest.raises(KafkaError):
                await producer.send("t", b"more", partition=0)  # only abort is left
            await producer.abort_transaction()
            assert producer.transaction_manager.state == TransactionState.READY
            assert producer.sender.idempotence.producer_epoch == epoch + 1  # KIP-360's bump

            producer.begin_transaction()
            await producer.send("t", b"after", partition=0)
            await producer.commit_transaction()
        values, _ = await _read_all(bootstrap, [("t", 0)], read_committed=True)
        assert values == [(0, b"after")]
        assert kept.done()


async def test_committed_offsets_of_an_open_transaction_are_not_read_until_it_completes(tmp_path):
    async with broker_with_topics(tmp_path, {"in": 1}) as bootstrap:
        config = fast_group_config(bootstrap, "stable-reader")
        async with Consumer(config) as consumer, _producer(bootstrap, "tx-stable") as producer:
            await producer.init_transactions()
            producer.begin_transaction()
            await producer.send_offsets_to_transaction({("in", 0): 5}, consumer.group_metadata())
            answers = []

            async def ask() -> None:
                answers.append(await consumer.committed([("in", 0)]))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(ask)
                await trio.sleep(0.5)
                assert answers == []  # UNSTABLE_OFFSET_COMMIT, asked again and again
                async with Admin({"bootstrap.servers": bootstrap}) as admin:
                    # The admin does not require stable offsets (Kafka's default): none yet.
                    assert await admin.list_consumer_group_offsets("stable-reader") == {}
                await producer.commit_transaction()
            assert answers == [{("in", 0): 5}]

"""ProducerIdManager: blocks of producer ids from the controller, prefetch, back-off, epoch bumps.

The manager is driven here with a fake controller channel that answers like
the controller's ``allocate_producer_ids`` (fakes over mocks);
``test_replication_apis_producer_ids_cluster.py`` runs it against real brokers.
"""

from __future__ import annotations

import pytest
import trio

from minikafka.coordinator.producer_ids import ProducerIdAndEpoch, ProducerIdManager
from minikafka.errors import ErrorCode, KafkaError


class FakeChannel:
    """Hands out consecutive blocks; ``fail_with`` makes the next calls fail."""

    def __init__(self, block_size: int = 10):
        self.block_size = block_size
        self.next_start = 0
        self.calls = 0
        self.fail_with: ErrorCode | None = None
        self.release = None  # a trio.Event that holds calls until set

    async def call(self, operation: str, request, *, timeout_s: float):
        assert operation == "allocate_producer_ids"
        assert request == {"broker_id": 7, "broker_epoch": 42}
        self.calls += 1
        if self.release is not None:
            await self.release.wait()
        if self.fail_with is not None:
            raise KafkaError(self.fail_with)
        start, self.next_start = self.next_start, self.next_start + self.block_size
        return {"error_code": ErrorCode.NONE, "producer_id_start": start, "producer_id_len": self.block_size}


def new_manager(channel: FakeChannel) -> ProducerIdManager:
    """A manager of broker 7 in broker epoch 42, asking ``channel`` for blocks."""
    return ProducerIdManager(node_id=7, broker_epoch=lambda: 42, controller=channel)


async def test_ids_come_from_consecutive_blocks_fetched_ahead():
    channel = FakeChannel(block_size=10)
    manager = new_manager(channel)
    ids = []
    for _ in range(9):
        ids.append(await manager.next_producer_id())
    assert ids == list(range(9)) and channel.calls == 1
    assert await manager.next_producer_id() == 9  # 90% used: the next block is fetched now
    assert channel.calls == 2
    assert [await manager.next_producer_id() for _ in range(10)] == list(range(10, 20))
    assert channel.calls == 3  # 19 is the second block's 90% mark


async def test_no_block_answers_coordinator_load_in_progress_then_backs_off(autojump_clock):
    channel = FakeChannel()
    manager = new_manager(channel)
    channel.fail_with = ErrorCode.NOT_CONTROLLER
    with pytest.raises(KafkaError) as error:
        await manager.next_producer_id()
    assert error.value.code == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS  # Kafka's retriable answer
    with pytest.raises(KafkaError):
        await manager.next_producer_id()
    assert channel.calls == 1  # within the 50 ms back-off nobody asks again
    channel.fail_with = None
    await trio.sleep(0.05)
    assert await manager.next_producer_id() == 0


async def test_concurrent_requests_share_one_block_request():
    channel = FakeChannel(block_size=100)
    channel.release = trio.Event()
    manager = new_manager(channel)
    ids = []

    async def init():
        ids.append((await manager.init_producer_id(5, 3)))

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(init)
        await trio.testing.wait_all_tasks_blocked()
        channel.release.set()
    assert sorted(ids) == [ProducerIdAndEpoch(i, 0) for i in range(5)]  # a fresh id, epoch 0
    assert channel.calls == 1


async def test_a_block_below_ids_already_handed_out_is_refused(autojump_clock):
    channel = FakeChannel(block_size=10)
    manager = new_manager(channel)
    for _ in range(9):
        await manager.next_producer_id()
    channel.next_start = 0  # a controller that forgot its counter
    await manager.next_producer_id()  # the prefetch fails; 9 is still ours
    with pytest.raises(KafkaError) as error:
        await manager.next_producer_id()
    assert error.value.code == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        ((5, 0), (5, 1)),
        ((5, 32764), (5, 32765)),
        ((5, 32765), (5, 32766)),
        ((5, 32766), ("new", 0)),  # exhausted: Short.MAX_VALUE - 1
        ((5, 32767), ("new", 0)),
        ((-1, -1), ("new", 0)),
    ],
)
async def test_bump_epoch(current, expected):
    manager = new_manager(FakeChannel())
    await manager.next_producer_id()  # id 0 is taken
    bumped = await manager.bump_epoch(*current)
    assert bumped == (ProducerIdAndEpoch(1, 0) if expected[0] == "new" else ProducerIdAndEpoch(*expected))

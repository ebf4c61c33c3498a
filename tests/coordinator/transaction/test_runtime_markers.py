"""The marker channel's rules, with a fake cluster: grouping by leader, retries, skips, giving up."""

from __future__ import annotations

from types import SimpleNamespace

import trio

from minikafka.coordinator.transaction.coordinator import MarkerRequest
from minikafka.coordinator.transaction.markers import BrokerUnreachable, TransactionMarkerChannel
from minikafka.errors import ErrorCode
from minikafka.protocol.codec import Struct


class FakeCluster:
    """Leaders per partition (changeable), and the WriteTxnMarkers each broker receives."""

    def __init__(self, leaders: dict[tuple[str, int], int]):
        self.leaders = dict(leaders)
        self.answers: dict[int, list] = {}  # broker -> per-call answers: an ErrorCode, or "down"
        self.calls: list[tuple[int, dict]] = []

    def image(self):
        topics = {}
        for (topic, index), leader in self.leaders.items():
            topics.setdefault(topic, {})[index] = SimpleNamespace(leader=leader)
        return SimpleNamespace(topic=lambda name: SimpleNamespace(partitions=topics[name]) if name in topics else None)

    async def call(self, destination, api_key, version, body, timeout_s=None):
        assert (api_key, version) == (27, 1)
        self.calls.append((destination, body))
        queue = self.answers.get(destination, [])
        answer = queue.pop(0) if queue else ErrorCode.NONE
        if answer == "down":
            raise BrokerUnreachable(f"broker {destination} is down")
        [marker] = body["markers"]
        return Struct(markers=[Struct(producer_id=marker["producer_id"], topics=[
            Struct(name=t["name"], partitions=[Struct(partition_index=i, error_code=answer)
                                               for i in t["partition_indexes"]])
            for t in marker["topics"]])])


def marker(*partitions, commit=True) -> MarkerRequest:
    return MarkerRequest("tx", 7, 3, 5, commit, list(partitions))


def sent_to(cluster: FakeCluster, broker: int) -> list[tuple[str, int]]:
    return sorted((t["name"], i) for d, body in cluster.calls if d == broker
                  for m in body["markers"] for t in m["topics"] for i in t["partition_indexes"])


async def test_one_request_per_leader_with_the_markers_fields(autojump_clock):
    cluster = FakeCluster({("a", 0): 1, ("a", 1): 2, ("b", 0): 1})
    channel = TransactionMarkerChannel(cluster, cluster.image)
    assert await channel.write_markers(marker(("a", 0), ("a", 1), ("b", 0)), lambda: True)
    assert sorted(d for d, _ in cluster.calls) == [1, 2]
    assert sent_to(cluster, 1) == [("a", 0), ("b", 0)] and sent_to(cluster, 2) == [("a", 1)]
    body = dict(cluster.calls)[2]["markers"][0]
    assert (body["producer_id"], body["producer_epoch"], body["coordinator_epoch"],
            body["transaction_result"]) == (7, 3, 5, True)


async def test_retriable_errors_are_retried_at_the_current_leader(autojump_clock):
    cluster = FakeCluster({("a", 0): 1})
    cluster.answers[1] = [ErrorCode.NOT_LEADER_OR_FOLLOWER]
    channel = TransactionMarkerChannel(cluster, cluster.image)

    async def move_leader():
        await trio.sleep(0.05)  # after the first answer, before the retry
        cluster.leaders[("a", 0)] = 2

    async with trio.open_nursery() as nursery:
        nursery.start_soon(move_leader)
        assert await channel.write_markers(marker(("a", 0)), lambda: True)
    assert [d for d, _ in cluster.calls] == [1, 2]


async def test_an_unreachable_leader_is_retried(autojump_clock):
    cluster = FakeCluster({("a", 0): 1})
    cluster.answers[1] = ["down", "down"]
    channel = TransactionMarkerChannel(cluster, cluster.image)
    assert await channel.write_markers(marker(("a", 0)), lambda: True)
    assert len(cluster.calls) == 3


async def test_a_leaderless_partition_waits_for_a_leader(autojump_clock):
    cluster = FakeCluster({("a", 0): -1})
    channel = TransactionMarkerChannel(cluster, cluster.image)

    async def elect():
        await trio.sleep(1)
        cluster.leaders[("a", 0)] = 3

    async with trio.open_nursery() as nursery:
        nursery.start_soon(elect)
        assert await channel.write_markers(marker(("a", 0)), lambda: True)
    assert [d for d, _ in cluster.calls] == [3]


async def test_a_deleted_topic_needs_no_marker(autojump_clock):
    cluster = FakeCluster({("a", 0): 1})
    channel = TransactionMarkerChannel(cluster, cluster.image)
    assert await channel.write_markers(marker(("a", 0), ("gone", 0)), lambda: True)
    assert sent_to(cluster, 1) == [("a", 0)]


async def test_fencing_gives_up(autojump_clock):
    cluster = FakeCluster({("a", 0): 1})
    cluster.answers[1] = [ErrorCode.TRANSACTION_COORDINATOR_FENCED]
    channel = TransactionMarkerChannel(cluster, cluster.image)
    assert not await channel.write_markers(marker(("a", 0)), lambda: True)
    assert len(cluster.calls) == 1


async def test_a_lost_coordinator_stops_retrying(autojump_clock):
    cluster = FakeCluster({("a", 0): 1})
    cluster.answers[1] = [ErrorCode.NOT_LEADER_OR_FOLLOWER] * 100
    channel = TransactionMarkerChannel(cluster, cluster.image)
    current = [True]

    async def resign():
        await trio.sleep(0.35)
        current[0] = False

    async with trio.open_nursery() as nursery:
        nursery.start_soon(resign)
        assert not await channel.write_markers(marker(("a", 0)), lambda: current[0])
    assert 2 <= len(cluster.calls) <= 5

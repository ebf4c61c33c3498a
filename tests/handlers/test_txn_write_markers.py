"""WriteTxnMarkers called directly: where each marker goes and what the coordinator is told.

Partitions and the group coordinator are fakes recording the markers they
get; the handler's request and response go through the real codec.
"""

from __future__ import annotations

import dataclasses

import trio

from minikafka.config import BrokerConfig
from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext, write_txn_markers
from minikafka.protocol.messages import REQUESTS, RESPONSES
from minikafka.storage.unified_log import AppendResult

VERSION = 1


class FakePartition:
    def __init__(self, *, error=None, isr_answer=ErrorCode.NONE, log_end_offset=10):
        self.error = error
        self.isr_answer = isr_answer
        self.log_end_offset = log_end_offset
        self.markers = []

    def append_txn_marker(self, *, producer_id, producer_epoch, coordinator_epoch, commit, now_ms):
        if self.error is not None:
            raise KafkaError(self.error, "refused")
        self.markers.append((producer_id, producer_epoch, coordinator_epoch, commit))
        offset = self.log_end_offset
        self.log_end_offset += 1
        return AppendResult(base_offset=offset, last_offset=offset, log_append_time_ms=-1,
                            log_start_offset=0)


class FakePartitions:
    def __init__(self, partitions):
        self.partitions = partitions
        self.waits = []

    def partition(self, topic, index):
        try:
            return self.partitions[(topic, index)]
        except KeyError:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) from None

    def leader_partition(self, topic, index):
        partition = self.partition(topic, index)
        if partition == "follower":
            raise KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER)
        return partition

    async def wait_for_isr(self, partition, required_offset, deadline_ms):
        self.waits.append((required_offset, deadline_ms))
        return partition.isr_answer


class FakeGroupCoordinator:
    def __init__(self, answers=None):
        self.answers = answers or {}
        self.calls = []

    async def complete_transaction(self, offsets_partition, producer_id, producer_epoch,
                                   coordinator_epoch, commit):
        self.calls.append((offsets_partition, producer_id, producer_epoch, coordinator_epoch, commit))
        answer = self.answers.get(offsets_partition, ErrorCode.NONE)
        if isinstance(answer, KafkaError):
            raise answer
        return answer


class FakeClock:
    def now_ms(self):
        return 5_000

    def monotonic_ms(self):
        return 100_000.0


@dataclasses.dataclass
class Services:
    config: BrokerConfig
    partitions: FakePartitions
    group_coordinator: FakeGroupCoordinator
    clock: FakeClock = dataclasses.field(default_factory=FakeClock)


def services_with(tmp_path, partitions, group_coordinator=None):
    return Services(BrokerConfig({"log.dirs": str(tmp_path)}), FakePartitions(partitions),
                    group_coordinator or FakeGroupCoordinator())


def marker(producer_id, topics: dict, *, commit=True, epoch=2, coordinator_epoch=7) -> dict:
    return {"producer_id": producer_id, "producer_epoch": epoch, "transaction_result": commit,
            "coordinator_epoch": coordinator_epoch,
            "topics": [{"name": name, "partition_indexes": indexes} for name, indexes in topics.items()]}


def call(services, markers: list[dict]) -> dict:
    """``{producer_id: {(topic, index): error}}`` from the handler's response."""
    request = {"markers": markers}
    decoded = REQUESTS[27].decode(REQUESTS[27].encode(request, VERSION), VERSION)
    ctx = RequestContext(27, VERSION, 1, "coordinator", "127.0.0.1:1", None)
    response = trio.run(write_txn_markers.handle, services, decoded, ctx)
    response = RESPONSES[27].decode(RESPONSES[27].encode(response, VERSION), VERSION)
    return {m.producer_id: {(t.name, p.partition_index): p.error_code for t in m.topics for p in t.partitions}
            for m in response.markers}


def test_markers_are_appended_and_answered_once_the_isr_has_them(tmp_path):
    a, b = FakePartition(log_end_offset=10), FakePartition(log_end_offset=20)
    services = services_with(tmp_path, {("orders", 0): a, ("orders", 1): b})
    answers = call(services, [marker(4000, {"orders": [0, 1]}, commit=False)])
    assert answers == {4000: {("orders", 0): 0, ("orders", 1): 0}}
    assert a.markers == b.markers == [(4000, 2, 7, False)]
    # acks=all: each waits for the marker's offset + 1, against request.timeout.ms (30 s).
    assert services.partitions.waits == [(11, 130_000.0), (21, 130_000.0)]


def test_consumer_offsets_partitions_go_to_the_group_coordinator(tmp_path):
    orders = FakePartition()
    groups = FakeGroupCoordinator()
    services = services_with(tmp_path, {("orders", 0): orders, ("__consumer_offsets", 12): "offsets"}, groups)
    answers = call(services, [marker(4000, {"orders": [0], "__consumer_offsets": [12, 13]})])
    assert answers == {4000: {("orders", 0): 0, ("__consumer_offsets", 12): 0,
                              ("__consumer_offsets", 13): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}}
    assert groups.calls == [(12, 4000, 2, 7, True)]  # 13 has no replica here
    assert orders.markers == [(4000, 2, 7, True)]


def test_group_coordinator_not_ready_is_not_leader_for_the_transaction_coordinator(tmp_path):
    groups = FakeGroupCoordinator({
        1: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 2: ErrorCode.NOT_COORDINATOR,
        3: ErrorCode.COORDINATOR_NOT_AVAILABLE, 4: ErrorCode.TRANSACTION_COORDINATOR_FENCED,
        5: KafkaError(ErrorCode.NOT_COORDINATOR),
    })
    hosted = {("__consumer_offsets", i): "offsets" for i in range(1, 6)}
    answers = call(services_with(tmp_path, hosted, groups),
                   [marker(4000, {"__consumer_offsets": [1, 2, 3, 4, 5]})])
    assert answers[4000] == {
        ("__consumer_offsets", 1): ErrorCode.NOT_LEADER_OR_FOLLOWER,
        ("__consumer_offsets", 2): ErrorCode.NOT_LEADER_OR_FOLLOWER,
        ("__consumer_offsets", 3): ErrorCode.NOT_LEADER_OR_FOLLOWER,
        ("__consumer_offsets", 4): ErrorCode.TRANSACTION_COORDINATOR_FENCED,
        ("__consumer_offsets", 5): ErrorCode.NOT_LEADER_OR_FOLLOWER,
    }


def test_per_partition_errors(tmp_path):
    partitions = {
        ("orders", 0): "follower",
        ("orders", 1): FakePartition(error=ErrorCode.INVALID_PRODUCER_EPOCH),
        ("orders", 2): FakePartition(error=ErrorCode.TRANSACTION_COORDINATOR_FENCED),
        ("orders", 3): FakePartition(isr_answer=ErrorCode.REQUEST_TIMED_OUT),
        ("orders", 4): FakePartition(),
    }
    services = services_with(tmp_path, partitions)
    answers = call(services, [marker(4000, {"orders": [0, 1, 2, 3, 4], "gone": [0]})])
    assert answers[4000] == {
        ("orders", 0): ErrorCode.NOT_LEADER_OR_FOLLOWER,
        ("orders", 1): ErrorCode.INVALID_PRODUCER_EPOCH,
        ("orders", 2): ErrorCode.TRANSACTION_COORDINATOR_FENCED,
        ("orders", 3): ErrorCode.REQUEST_TIMED_OUT,
        ("orders", 4): ErrorCode.NONE,
        ("gone", 0): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    }
    assert len(services.partitions.waits) == 2  # only the appended markers wait


def test_one_result_per_producer_id(tmp_path):
    partitions = {("orders", i): FakePartition() for i in range(3)}
    services = services_with(tmp_path, partitions)
    answers = call(services, [marker(4000, {"orders": [0]}), marker(5000, {"orders": [1]}, commit=False),
                              marker(4000, {"orders": [2]})])
    assert answers == {4000: {("orders", 0): 0, ("orders", 2): 0}, 5000: {("orders", 1): 0}}
    assert partitions[("orders", 1)].markers == [(5000, 2, 7, False)]


def test_no_markers_no_results(tmp_path):
    assert call(services_with(tmp_path, {}), []) == {}

"""The partition-side handlers over real partitions: a transaction's life as a leader sees it.

Produce (with KIP-890 verification), WriteTxnMarkers, Fetch (read_committed and
read_uncommitted), ListOffsets and DescribeProducers run against real
single-replica leader ``Partition``s (real logs, producer state and
aborted-transaction index in a temp dir), with requests and responses through
the real codec. Only the transaction coordinator is a fake: it answers the
verification question, and the markers are sent by the test.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
import trio

from minikafka.config import BrokerConfig
from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import (
    RequestContext, describe_producers, fetch, list_offsets, produce, write_txn_markers,
)
from minikafka.metadata.topics import TopicInfo
from minikafka.protocol.messages import REQUESTS, RESPONSES
from minikafka.replication import waiters
from minikafka.replication.fetch_session import FetchSessionCache
from minikafka.replication.partition import Partition
from minikafka_core.batch import read_batch_header
from minikafka_core.records import Record, build_batch

from tests.storage.txn_helpers import NOW_MS, open_log

BROKER = 1
TOPIC = "payments"
TXN_ID = "payments-tx"
PRODUCER_ID = 7000
READ_UNCOMMITTED, READ_COMMITTED = 0, 1


class Partitions:
    """The broker's hosted partitions, as the handlers see them (``services.partitions``)."""

    def __init__(self, partitions: dict):
        self.partitions = partitions

    def partition(self, topic, index):
        try:
            return self.partitions[(topic, index)]
        except KeyError:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) from None

    def leader_partition(self, topic, index):
        partition = self.partition(topic, index)
        if not partition.is_leader:
            raise KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER)
        return partition

    async def wait_for_isr(self, partition, required_offset, deadline_ms):
        return await waiters.wait_for_isr(partition, required_offset, deadline_ms)

    async def wait_for_commits(self, partitions, timeout_ms):
        return await waiters.wait_for_commits(partitions, timeout_ms)


class Verifier:
    """The transaction coordinator's side of verification: partitions it knows are in the transaction."""

    def __init__(self):
        self.in_transaction: set[tuple[str, int]] = set()
        self.questions = []

    async def verify(self, transactional_id, producer_id, producer_epoch, partitions):
        self.questions.append(sorted(partitions))
        return {p: ErrorCode.NONE if p in self.in_transaction else ErrorCode.INVALID_TXN_STATE
                for p in partitions}


class Clock:
    def now_ms(self):
        return NOW_MS

    def monotonic_ms(self):
        return trio.current_time() * 1000


class Metadata:
    node_id = BROKER

    def get(self, name):
        return TopicInfo(TOPIC, b"\x01" * 16, 2) if name == TOPIC else None


@dataclasses.dataclass
class Services:
    config: BrokerConfig
    partitions: Partitions
    transaction_verifier: Verifier
    metadata: Metadata = dataclasses.field(default_factory=Metadata)
    clock: Clock = dataclasses.field(default_factory=Clock)
    fetch_sessions: FetchSessionCache = dataclasses.field(default_factory=lambda: FetchSessionCache(0))
    quotas: None = None  # no client quotas: nothing recorded, nothing throttled
    topic_stats: None = None  # no BrokerTopicMetrics marked
    validated_topics: dict = dataclasses.field(default_factory=dict)  # no schema validation


def leader(tmp_path, index: int) -> Partition:
    partition = Partition(TOPIC, index, open_log(tmp_path, verification=True, name=f"{TOPIC}-{index}"), BROKER)
    registration = SimpleNamespace(leader=BROKER, leader_epoch=0, partition_epoch=0, replicas=[BROKER],
                                   isr=[BROKER])
    partition.make_leader(registration, NOW_MS, min_insync_replicas=1, replica_lag_time_max_ms=30_000)
    return partition


@pytest.fixture
def broker(tmp_path):
    partitions = {(TOPIC, i): leader(tmp_path, i) for i in range(2)}
    return Services(BrokerConfig({"log.dirs": str(tmp_path)}), Partitions(partitions), Verifier())


def run(services, module, request: dict, version: int, connection=None):
    key = module.API_KEY
    decoded = REQUESTS[key].decode(REQUESTS[key].encode(request, version), version)
    ctx = RequestContext(key, version, 1, "test", "127.0.0.1:1", connection)
    return trio.run(module.handle, services, decoded, ctx)


def call(services, module, request: dict, version: int):
    """Run a handler; its response as the client decodes it."""
    response = run(services, module, request, version)
    key = module.API_KEY
    return RESPONSES[key].decode(RESPONSES[key].encode(response, version), version)


class TxnProducer:
    """A transactional producer's batches: one sequence per partition, as clients keep."""

    def __init__(self, producer_id=PRODUCER_ID, epoch=0):
        self.producer_id, self.epoch = producer_id, epoch
        self.sequences = {}

    def send(self, services, index: int, *values: bytes) -> int:
        """Produce ``values`` to partition ``index`` as one batch; returns the error code."""
        sequence = self.sequences.get(index, 0)
        records = [Record(i, NOW_MS, None, value) for i, value in enumerate(values)]
        batch = build_batch(records, producer_id=self.producer_id, producer_epoch=self.epoch,
                            base_sequence=sequence, is_transactional=True)
        response = call(services, produce, {
            "transactional_id": TXN_ID, "acks": -1, "timeout_ms": 1000,
            "topic_data": [{"name": TOPIC, "partition_data": [{"index": index, "records": batch}]}]}, 11)
        error = response.responses[0].partition_responses[0].error_code
        if error == ErrorCode.NONE:
            self.sequences[index] = sequence + len(values)
        return error


def end_transaction(services, producer: TxnProducer, indexes, *, commit: bool, coordinator_epoch=0) -> dict:
    """WriteTxnMarkers as the coordinator sends it; ``{(topic, index): error}``."""
    response = call(services, write_txn_markers, {"markers": [{
        "producer_id": producer.producer_id, "producer_epoch": producer.epoch, "transaction_result": commit,
        "coordinator_epoch": coordinator_epoch,
        "topics": [{"name": TOPIC, "partition_indexes": list(indexes)}]}]}, 1)
    services.transaction_verifier.in_transaction.clear()  # the transaction is over
    return {(t.name, p.partition_index): p.error_code for m in response.markers for t in m.topics
            for p in t.partitions}


def fetch_request(index: int, fetch_offset: int, isolation_level: int, max_bytes: int = 1 << 20) -> dict:
    return {"replica_id": -1, "max_wait_ms": 0, "min_bytes": 0, "max_bytes": 1 << 20,
            "isolation_level": isolation_level, "session_id": 0, "session_epoch": -1,
            "topics": [{"topic": TOPIC, "partitions": [{
                "partition": index, "current_leader_epoch": -1, "fetch_offset": fetch_offset,
                "last_fetched_epoch": -1, "log_start_offset": -1, "partition_max_bytes": max_bytes}]}],
            "forgotten_topics_data": [], "rack_id": ""}


def fetch_partition(services, index: int, fetch_offset: int, isolation_level: int, max_bytes: int = 1 << 20):
    response = call(services, fetch, fetch_request(index, fetch_offset, isolation_level, max_bytes), 12)
    return response.responses[0].partitions[0]


def batch_offsets(records) -> list[tuple[int, int, bool]]:
    """``(base_offset, last_offset, is_control)`` of each batch."""
    data, position, batches = bytes(records or b""), 0, []
    while position < len(data):
        header = read_batch_header(data, position)
        batches.append((header.base_offset, header.last_offset, header.is_control))
        position += header.size
    return batches


def aborted(partition_data) -> list[tuple[int, int]] | None:
    if partition_data.aborted_transactions is None:
        return None
    return [(t.producer_id, t.first_offset) for t in partition_data.aborted_transactions]


def latest_offset(services, index: int, isolation_level: int) -> int:
    response = call(services, list_offsets, {
        "replica_id": -1, "isolation_level": isolation_level,
        "topics": [{"name": TOPIC, "partitions": [{"partition_index": index, "current_leader_epoch": -1,
                                                   "timestamp": list_offsets.LATEST}]}]}, 7)
    return response.topics[0].partitions[0].offset


# -- produce and verification ------------------------------------------------------------


def test_a_partition_not_added_to_the_transaction_is_refused_and_nothing_is_written(broker):
    producer = TxnProducer()
    assert producer.send(broker, 0, b"a") == ErrorCode.INVALID_TXN_STATE
    assert broker.partitions.partition(TOPIC, 0).log_end_offset == 0
    assert broker.transaction_verifier.questions == [[(TOPIC, 0)]]


def test_only_the_first_batch_of_a_transaction_is_verified(broker):
    broker.transaction_verifier.in_transaction = {(TOPIC, 0)}
    producer = TxnProducer()
    assert producer.send(broker, 0, b"a") == ErrorCode.NONE
    assert producer.send(broker, 0, b"b", b"c") == ErrorCode.NONE
    assert broker.transaction_verifier.questions == [[(TOPIC, 0)]]
    assert broker.partitions.partition(TOPIC, 0).log_end_offset == 3


def test_after_a_marker_the_next_transaction_is_verified_again(broker):
    broker.transaction_verifier.in_transaction = {(TOPIC, 0)}
    producer = TxnProducer()
    assert producer.send(broker, 0, b"a") == ErrorCode.NONE
    assert end_transaction(broker, producer, [0], commit=True) == {(TOPIC, 0): ErrorCode.NONE}
    # The coordinator's next transaction does not include the partition (yet).
    assert producer.send(broker, 0, b"late") == ErrorCode.INVALID_TXN_STATE
    assert len(broker.transaction_verifier.questions) == 2


# -- markers, the last stable offset and read_committed ------------------------------------------


def test_an_ongoing_transaction_is_invisible_to_read_committed(broker):
    broker.transaction_verifier.in_transaction = {(TOPIC, 0)}
    producer = TxnProducer()
    producer.send(broker, 0, b"a", b"b")
    committed = fetch_partition(broker, 0, 0, READ_COMMITTED)
    assert (committed.high_watermark, committed.last_stable_offset) == (2, 0)
    assert batch_offsets(committed.records) == [] and aborted(committed) == []
    uncommitted = fetch_partition(broker, 0, 0, READ_UNCOMMITTED)
    assert batch_offsets(uncommitted.records) == [(0, 1, False)] and aborted(uncommitted) is None
    assert latest_offset(broker, 0, READ_COMMITTED) == 0
    assert latest_offset(broker, 0, READ_UNCOMMITTED) == 2


def test_commit_then_abort_as_read_committed_and_read_uncommitted_see_it(broker):
    producer = TxnProducer()
    verifier = broker.transaction_verifier
    verifier.in_transaction = {(TOPIC, 0), (TOPIC, 1)}
    producer.send(broker, 0, b"c1")                                       # 0
    producer.send(broker, 1, b"c1")
    assert end_transaction(broker, producer, [0, 1], commit=True) == {
        (TOPIC, 0): ErrorCode.NONE, (TOPIC, 1): ErrorCode.NONE}          # marker at 1
    verifier.in_transaction = {(TOPIC, 0)}
    producer.send(broker, 0, b"a1", b"a2")                                # 2-3
    assert end_transaction(broker, producer, [0], commit=False) == {(TOPIC, 0): ErrorCode.NONE}  # 4
    verifier.in_transaction = {(TOPIC, 0)}
    producer.send(broker, 0, b"open")                                     # 5, ongoing

    committed = fetch_partition(broker, 0, 0, READ_COMMITTED)
    assert committed.last_stable_offset == 5 and committed.high_watermark == 6
    assert batch_offsets(committed.records) == [(0, 0, False), (1, 1, True), (2, 3, False), (4, 4, True)]
    assert aborted(committed) == [(PRODUCER_ID, 2)]
    # An aborted transaction is listed when the read overlaps it: it ends at its
    # marker (4) and starts at 2; a read that stops before 2 does not list it.
    assert aborted(fetch_partition(broker, 0, 4, READ_COMMITTED)) == [(PRODUCER_ID, 2)]
    assert aborted(fetch_partition(broker, 0, 1, READ_COMMITTED)) == [(PRODUCER_ID, 2)]
    data = bytes(committed.records)
    two_batches = read_batch_header(data, 0).size
    two_batches += read_batch_header(data, two_batches).size
    first_two = fetch_partition(broker, 0, 0, READ_COMMITTED, max_bytes=two_batches)
    assert [b[0] for b in batch_offsets(first_two.records)] == [0, 1]
    assert aborted(first_two) == []
    assert aborted(fetch_partition(broker, 0, 5, READ_COMMITTED)) == []  # nothing to read yet
    assert latest_offset(broker, 0, READ_COMMITTED) == 5
    assert latest_offset(broker, 1, READ_COMMITTED) == 2

    uncommitted = fetch_partition(broker, 0, 0, READ_UNCOMMITTED)
    assert batch_offsets(uncommitted.records)[-1] == (5, 5, False)
    assert aborted(uncommitted) is None


def test_zero_copy_read_committed_bounds_the_aborted_list_by_the_lso(broker):
    producer = TxnProducer()
    broker.transaction_verifier.in_transaction = {(TOPIC, 0)}
    producer.send(broker, 0, b"a")
    end_transaction(broker, producer, [0], commit=False)
    connection = SimpleNamespace(zero_copy=True)
    response = run(broker, fetch, fetch_request(0, 0, READ_COMMITTED), 12, connection)
    data = response["responses"][0]["partitions"][0]
    try:
        assert len(data["records"]) > 0 and hasattr(data["records"], "fd")
        assert data["aborted_transactions"] == [{"producer_id": PRODUCER_ID, "first_offset": 0}]
    finally:
        data["records"].close()


def test_markers_are_fenced_by_producer_and_coordinator_epochs(broker):
    producer = TxnProducer(epoch=3)
    broker.transaction_verifier.in_transaction = {(TOPIC, 0)}
    producer.send(broker, 0, b"a")
    assert end_transaction(broker, producer, [0], commit=True, coordinator_epoch=5) == {
        (TOPIC, 0): ErrorCode.NONE}
    stale_producer = TxnProducer(epoch=2)
    assert end_transaction(broker, stale_producer, [0], commit=False, coordinator_epoch=5) == {
        (TOPIC, 0): ErrorCode.INVALID_PRODUCER_EPOCH}
    assert end_transaction(broker, producer, [0], commit=False, coordinator_epoch=4) == {
        (TOPIC, 0): ErrorCode.TRANSACTION_COORDINATOR_FENCED}


def test_describe_producers_shows_the_open_transaction(broker):
    producer = TxnProducer()
    broker.transaction_verifier.in_transaction = {(TOPIC, 1)}
    producer.send(broker, 1, b"a", b"b")
    response = call(broker, describe_producers, {"topics": [{"name": TOPIC, "partition_indexes": [0, 1]}]}, 0)
    by_index = {p.partition_index: p for p in response.topics[0].partitions}
    assert by_index[0].active_producers == []
    (state,) = by_index[1].active_producers
    assert (state.producer_id, state.producer_epoch, state.last_sequence, state.current_txn_start_offset) == (
        PRODUCER_ID, 0, 1, 0)
    end_transaction(broker, producer, [1], commit=True, coordinator_epoch=9)
    response = call(broker, describe_producers, {"topics": [{"name": TOPIC, "partition_indexes": [1]}]}, 0)
    (state,) = response.topics[0].partitions[0].active_producers
    assert (state.current_txn_start_offset, state.coordinator_epoch) == (-1, 9)


def list_offset(services, index: int, timestamp: int, isolation_level: int) -> int:
    response = call(services, list_offsets, {
        "replica_id": -1, "isolation_level": isolation_level,
        "topics": [{"name": TOPIC, "partitions": [{"partition_index": index, "current_leader_epoch": -1,
                                                   "timestamp": timestamp}]}]}, 7)
    return response.topics[0].partitions[0].offset


def test_list_offsets_by_time_never_points_into_an_undecided_transaction(broker):
    producer = TxnProducer()
    broker.transaction_verifier.in_transaction = {(TOPIC, 0)}
    producer.send(broker, 0, b"a")  # offset 0, timestamp NOW_MS, transaction ongoing
    for timestamp in (NOW_MS, list_offsets.MAX_TIMESTAMP):
        assert list_offset(broker, 0, timestamp, READ_UNCOMMITTED) == 0
        assert list_offset(broker, 0, timestamp, READ_COMMITTED) == -1
    end_transaction(broker, producer, [0], commit=True)
    assert list_offset(broker, 0, NOW_MS, READ_COMMITTED) == 0
    assert list_offset(broker, 0, list_offsets.EARLIEST, READ_COMMITTED) == 0

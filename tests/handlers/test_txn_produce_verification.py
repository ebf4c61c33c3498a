"""Produce with transactional batches: the request checks and KIP-890 verification.

The handler is called directly, with requests and responses through the real
codec. Partitions and the verifier are small fakes that record what the
handler asked of them: what the log does with a guard is the storage's
business (tests/storage), here it is which question is asked, once, and what
the producer is told.
"""

from __future__ import annotations

import dataclasses

import pytest
import trio

from minikafka.config import BrokerConfig
from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext, produce
from minikafka.protocol.messages import REQUESTS, RESPONSES
from minikafka.storage.unified_log import AppendResult
from minikafka_core.records import Record, build_batch

TXN_ID = "payments-tx"
PRODUCER_ID, EPOCH = 4000, 3


def batch(*, producer_id=PRODUCER_ID, epoch=EPOCH, transactional=True, sequence=0) -> bytes:
    return build_batch([Record(0, 1_000, b"k", b"v")], producer_id=producer_id, producer_epoch=epoch,
                       base_sequence=sequence, is_transactional=transactional)


class FakePartition:
    """Records the verification questions and appends it gets."""

    def __init__(self, name, *, ongoing=False, fail_verification=None):
        self.name = name
        self.ongoing = ongoing  # the producer's transaction already started here: no guard
        self.fail_verification = fail_verification
        self.appends = []  # (records, verification_guard)
        self.verifications = []

    def maybe_start_verification(self, producer_id, producer_epoch=None, now_ms=None):
        self.verifications.append((producer_id, producer_epoch))
        if self.fail_verification is not None:
            raise KafkaError(self.fail_verification)
        return None if self.ongoing else f"guard-{self.name}"

    def append_records(self, records, now_ms, *, single_batch, required_acks, allow_zstd,
                       verification_guard=None):
        self.appends.append((bytes(records), verification_guard))
        offset = len(self.appends) - 1
        return AppendResult(base_offset=offset, last_offset=offset, log_append_time_ms=-1,
                            log_start_offset=0)


class FakePartitions:
    def __init__(self, partitions):
        self.partitions = partitions

    def leader_partition(self, topic, index):
        try:
            return self.partitions[(topic, index)]
        except KeyError:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) from None

    async def wait_for_isr(self, partition, required_offset, deadline_ms):
        return ErrorCode.NONE


class FakeVerifier:
    """The coordinator's answers, per partition (NONE unless told otherwise)."""

    def __init__(self, answers=None):
        self.answers = answers or {}
        self.calls = []

    async def verify(self, transactional_id, producer_id, producer_epoch, partitions):
        self.calls.append((transactional_id, producer_id, producer_epoch, sorted(partitions)))
        return {p: self.answers.get(p, ErrorCode.NONE) for p in partitions}


class FakeClock:
    def now_ms(self):
        return 1_000

    def monotonic_ms(self):
        return trio.current_time() * 1000


@dataclasses.dataclass
class Services:
    config: BrokerConfig
    partitions: FakePartitions
    transaction_verifier: FakeVerifier | None
    clock: FakeClock = dataclasses.field(default_factory=FakeClock)
    quotas: None = None  # no client quotas: nothing recorded, nothing throttled
    topic_stats: None = None  # no BrokerTopicMetrics marked
    validated_topics: dict = dataclasses.field(default_factory=dict)  # no schema validation


def services_with(tmp_path, partitions, verifier=None, **config):
    return Services(BrokerConfig({"log.dirs": str(tmp_path), **config}),
                    FakePartitions(partitions), verifier or FakeVerifier())


def produce_request(data: dict, *, transactional_id=TXN_ID, acks=-1) -> dict:
    """``data``: ``{(topic, index): records}``."""
    topics = {}
    for (topic, index), records in data.items():
        topics.setdefault(topic, []).append({"index": index, "records": records})
    return {"transactional_id": transactional_id, "acks": acks, "timeout_ms": 1000,
            "topic_data": [{"name": name, "partition_data": parts} for name, parts in topics.items()]}


def call(services, request: dict, version: int = 11):
    """Run the handler on ``request`` encoded at ``version``; ``{(topic, index): partition response}``."""
    decoded = REQUESTS[0].decode(REQUESTS[0].encode(request, version), version)
    ctx = RequestContext(0, version, 1, "test", "127.0.0.1:1", None)
    response = trio.run(produce.handle, services, decoded, ctx)
    if response is None:
        return None
    response = RESPONSES[0].decode(RESPONSES[0].encode(response, version), version)
    return {(topic.name, p.index): p for topic in response.responses for p in topic.partition_responses}


def test_a_partition_that_starts_the_transaction_is_verified_then_appended_with_its_guard(tmp_path):
    a, b = FakePartition("a"), FakePartition("b", ongoing=True)
    verifier = FakeVerifier()
    services = services_with(tmp_path, {("orders", 0): a, ("orders", 1): b}, verifier)
    answers = call(services, produce_request({("orders", 0): batch(), ("orders", 1): batch()}))
    assert {key: r.error_code for key, r in answers.items()} == {("orders", 0): 0, ("orders", 1): 0}
    # One question, for the partition where the producer has no transaction yet.
    assert verifier.calls == [(TXN_ID, PRODUCER_ID, EPOCH, [("orders", 0)])]
    assert a.verifications == b.verifications == [(PRODUCER_ID, EPOCH)]
    assert a.appends == [(batch(), "guard-a")]
    assert b.appends == [(batch(), None)]


def test_one_question_per_request_for_all_its_partitions(tmp_path):
    partitions = {("orders", i): FakePartition(str(i)) for i in range(3)}
    verifier = FakeVerifier()
    call(services_with(tmp_path, partitions, verifier),
         produce_request({key: batch() for key in partitions}))
    assert verifier.calls == [(TXN_ID, PRODUCER_ID, EPOCH, sorted(partitions))]


@pytest.mark.parametrize("coordinator_says, version, producer_gets", [
    (ErrorCode.INVALID_TXN_STATE, 11, ErrorCode.INVALID_TXN_STATE),
    (ErrorCode.PRODUCER_FENCED, 11, ErrorCode.INVALID_PRODUCER_EPOCH),
    (ErrorCode.INVALID_PRODUCER_EPOCH, 11, ErrorCode.INVALID_PRODUCER_EPOCH),
    (ErrorCode.TRANSACTION_ABORTABLE, 11, ErrorCode.TRANSACTION_ABORTABLE),
    (ErrorCode.TRANSACTION_ABORTABLE, 10, ErrorCode.INVALID_TXN_STATE),
    (ErrorCode.CONCURRENT_TRANSACTIONS, 11, ErrorCode.NOT_ENOUGH_REPLICAS),
    (ErrorCode.NETWORK_EXCEPTION, 11, ErrorCode.NOT_ENOUGH_REPLICAS),
    (ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 11, ErrorCode.NOT_ENOUGH_REPLICAS),
    (ErrorCode.COORDINATOR_NOT_AVAILABLE, 9, ErrorCode.NOT_ENOUGH_REPLICAS),
    (ErrorCode.NOT_COORDINATOR, 3, ErrorCode.NOT_ENOUGH_REPLICAS),
    (ErrorCode.UNKNOWN_PRODUCER_ID, 11, ErrorCode.UNKNOWN_PRODUCER_ID),
])
def test_a_refused_verification_becomes_the_error_the_producer_handles(
        tmp_path, coordinator_says, version, producer_gets):
    refused, fine = FakePartition("refused"), FakePartition("fine")
    verifier = FakeVerifier({("orders", 0): coordinator_says})
    services = services_with(tmp_path, {("orders", 0): refused, ("orders", 1): fine}, verifier)
    answers = call(services, produce_request({("orders", 0): batch(), ("orders", 1): batch()}), version)
    assert answers[("orders", 0)].error_code == producer_gets
    assert answers[("orders", 0)].base_offset == -1
    assert answers[("orders", 1)].error_code == ErrorCode.NONE
    assert refused.appends == [] and len(fine.appends) == 1


def test_the_messages_say_why(tmp_path):
    partitions = {("orders", 0): FakePartition("0"), ("orders", 1): FakePartition("1")}
    verifier = FakeVerifier({("orders", 0): ErrorCode.INVALID_TXN_STATE,
                             ("orders", 1): ErrorCode.CONCURRENT_TRANSACTIONS})
    answers = call(services_with(tmp_path, partitions, verifier),
                   produce_request({key: batch() for key in partitions}))
    assert answers[("orders", 0)].error_message == "Partition was not added to the transaction"
    assert answers[("orders", 1)].error_message.endswith("Underlying error: CONCURRENT_TRANSACTIONS")


def test_transactional_records_without_a_transactional_id_are_refused_everywhere(tmp_path):
    txn, plain = FakePartition("txn"), FakePartition("plain")
    services = services_with(tmp_path, {("orders", 0): txn, ("logs", 0): plain})
    request = produce_request({("orders", 0): batch(), ("logs", 0): batch(transactional=False)},
                              transactional_id=None)
    answers = call(services, request)
    assert {r.error_code for r in answers.values()} == {ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED}
    assert txn.appends == plain.appends == []


@pytest.mark.parametrize("other", [{"producer_id": PRODUCER_ID + 1}, {"epoch": EPOCH + 1}])
def test_two_producers_in_one_request_are_refused_everywhere(tmp_path, other):
    a, b = FakePartition("a"), FakePartition("b")
    services = services_with(tmp_path, {("orders", 0): a, ("orders", 1): b})
    request = produce_request({("orders", 0): batch(), ("orders", 1): batch(**other)})
    answers = call(services, request)
    assert {r.error_code for r in answers.values()} == {ErrorCode.INVALID_PRODUCER_ID_MAPPING}
    assert a.appends == b.appends == []
    assert services.transaction_verifier.calls == []


def test_a_request_refused_as_a_whole_with_acks_0_closes_the_connection(tmp_path):
    services = services_with(tmp_path, {("orders", 0): FakePartition("a")})
    request = produce_request({("orders", 0): batch()}, transactional_id=None, acks=0)
    with pytest.raises(KafkaError) as raised:
        call(services, request)
    assert raised.value.code == ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED


def test_idempotent_batches_of_a_transactional_producer_need_no_verification(tmp_path):
    partition = FakePartition("a")
    services = services_with(tmp_path, {("orders", 0): partition})
    answers = call(services, produce_request({("orders", 0): batch(transactional=False)}))
    assert answers[("orders", 0)].error_code == ErrorCode.NONE
    assert partition.verifications == [] and services.transaction_verifier.calls == []
    assert partition.appends == [(batch(transactional=False), None)]


def test_verification_disabled_appends_without_asking(tmp_path):
    partition = FakePartition("a")
    services = services_with(tmp_path, {("orders", 0): partition},
                             **{"transaction.partition.verification.enable": "false"})
    answers = call(services, produce_request({("orders", 0): batch()}))
    assert answers[("orders", 0)].error_code == ErrorCode.NONE
    assert services.transaction_verifier.calls == []
    assert partition.appends == [(batch(), None)]


def test_without_a_verifier_nothing_is_asked(tmp_path):
    partition = FakePartition("a")
    services = services_with(tmp_path, {("orders", 0): partition})
    services.transaction_verifier = None
    answers = call(services, produce_request({("orders", 0): batch()}))
    assert answers[("orders", 0)].error_code == ErrorCode.NONE
    assert partition.verifications == [] and partition.appends == [(batch(), None)]


def test_a_partition_that_cannot_start_verification_keeps_its_error(tmp_path):
    follower = FakePartition("f", fail_verification=ErrorCode.NOT_LEADER_OR_FOLLOWER)
    leader = FakePartition("l")
    verifier = FakeVerifier()
    services = services_with(tmp_path, {("orders", 0): follower, ("orders", 1): leader}, verifier)
    answers = call(services, produce_request({("orders", 0): batch(), ("orders", 1): batch(),
                                              ("gone", 0): batch()}))
    assert answers[("orders", 0)].error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER
    assert answers[("gone", 0)].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    assert answers[("orders", 1)].error_code == ErrorCode.NONE
    assert verifier.calls == [(TXN_ID, PRODUCER_ID, EPOCH, [("orders", 1)])]
    assert follower.appends == []


def test_invalid_acks_is_answered_before_any_question(tmp_path):
    partition = FakePartition("a")
    services = services_with(tmp_path, {("orders", 0): partition})
    answers = call(services, produce_request({("orders", 0): batch()}, acks=2))
    assert answers[("orders", 0)].error_code == ErrorCode.INVALID_REQUIRED_ACKS
    assert services.transaction_verifier.calls == [] and partition.appends == []

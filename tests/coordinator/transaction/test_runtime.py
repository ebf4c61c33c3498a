"""The transaction coordinator runtime on a real broker: write, then answer; markers; loading; timers.

Each test runs one broker in the test's Trio loop and talks to it over a real
socket. The partition side of WriteTxnMarkers is replaced by a recording
handler (``MarkerLeader``) so the tests see exactly which markers the
coordinator sends, and can make the leader refuse them.
"""

from __future__ import annotations

import itertools

import pytest
import trio

from minikafka.errors import ErrorCode, KafkaError
from minikafka.protocol.codec import as_dict
from minikafka.rpc.client import exchange
from minikafka.testing import open_broker

FIND_COORDINATOR, INIT_PRODUCER_ID, ADD_PARTITIONS, END_TXN = 10, 22, 24, 26
WRITE_TXN_MARKERS, DESCRIBE_TRANSACTIONS, LIST_TRANSACTIONS = 27, 65, 66
OVERRIDES = {"transaction.state.log.num.partitions": 4, "num.partitions": 2}
_correlation_ids = itertools.count(1)


async def call(broker, api_key: int, version: int, body: dict) -> dict:
    stream = await trio.open_tcp_stream("127.0.0.1", broker.bound_ports[0])
    async with stream:
        response = await exchange(stream, api_key, version, next(_correlation_ids), "runtime-test", body)
    return as_dict(response)


class MarkerLeader:
    """A WriteTxnMarkers handler that records each request and answers ``errors`` in turn (then NONE)."""

    def __init__(self, errors=()):
        self.errors = list(errors)
        self.requests: list[dict] = []

    async def __call__(self, services, request, ctx):
        request = as_dict(request)
        self.requests.append(request)
        code = self.errors.pop(0) if self.errors else ErrorCode.NONE
        return {"markers": [{
            "producer_id": marker["producer_id"],
            "topics": [{"name": topic["name"],
                        "partitions": [{"partition_index": i, "error_code": code}
                                       for i in topic["partition_indexes"]]}
                       for topic in marker["topics"]]}
            for marker in request["markers"]]}


async def begin(broker, transactional_id: str, partitions, timeout_ms: int = 60000) -> tuple[int, int]:
    """FindCoordinator, InitProducerId, AddPartitionsToTxn: an ongoing transaction; (producer_id, epoch)."""
    found = await call(broker, FIND_COORDINATOR, 4, {"key_type": 1, "coordinator_keys": [transactional_id]})
    assert found["coordinators"][0]["error_code"] == ErrorCode.NONE
    init = await call(broker, INIT_PRODUCER_ID, 5, {"transactional_id": transactional_id,
                                                     "transaction_timeout_ms": timeout_ms,
                                                     "producer_id": -1, "producer_epoch": -1})
    assert init["error_code"] == ErrorCode.NONE
    producer_id, epoch = init["producer_id"], init["producer_epoch"]
    topics = {}
    for topic, index in partitions:
        topics.setdefault(topic, []).append(index)
    added = await call(broker, ADD_PARTITIONS, 3, {
        "v3_and_below_transactional_id": transactional_id, "v3_and_below_producer_id": producer_id,
        "v3_and_below_producer_epoch": epoch,
        "v3_and_below_topics": [{"name": name, "partitions": indexes} for name, indexes in topics.items()]})
    codes = [p["partition_error_code"] for t in added["results_by_topic_v3_and_below"]
             for p in t["results_by_partition"]]
    assert codes == [ErrorCode.NONE] * len(partitions)
    return producer_id, epoch


async def end(broker, transactional_id: str, producer_id: int, epoch: int, commit: bool,
              version: int = 4) -> int:
    response = await call(broker, END_TXN, version, {"transactional_id": transactional_id,
                                                     "producer_id": producer_id, "producer_epoch": epoch,
                                                     "committed": commit})
    return response["error_code"]


async def describe(broker, transactional_id: str) -> dict:
    response = await call(broker, DESCRIBE_TRANSACTIONS, 0, {"transactional_ids": [transactional_id]})
    return response["transaction_states"][0]


async def wait_for_state(broker, transactional_id: str, state: str, timeout_s: float = 10) -> dict:
    with trio.fail_after(timeout_s):
        while (entry := await describe(broker, transactional_id))["transaction_state"] != state:
            await trio.sleep(0.02)
    return entry


def coordinator_epoch(broker, transactional_id: str) -> int:
    index = broker.transactions.partition_for(transactional_id)
    return broker.partitions[("__transaction_state", index)].leader_epoch


async def test_commit_is_answered_then_marked_then_completed(tmp_path):
    leader = MarkerLeader()
    async with open_broker(tmp_path, **OVERRIDES) as broker:
        broker.handlers[WRITE_TXN_MARKERS] = leader
        await broker.create_topic("t", 2, {})
        producer_id, epoch = await begin(broker, "tx-commit", [("t", 0), ("t", 1)])
        assert (await describe(broker, "tx-commit"))["transaction_state"] == "Ongoing"

        assert await end(broker, "tx-commit", producer_id, epoch, commit=True) == ErrorCode.NONE
        entry = await wait_for_state(broker, "tx-commit", "CompleteCommit")

        assert entry["producer_id"] == producer_id and entry["producer_epoch"] == epoch
        assert entry["topics"] == []  # a completed transaction has no partitions left
        assert leader.requests == [{"markers": [{
            "producer_id": producer_id, "producer_epoch": epoch, "transaction_result": True,
            "coordinator_epoch": coordinator_epoch(broker, "tx-commit"),
            "topics": [{"name": "t", "partition_indexes": [0, 1]}]}]}]


async def test_abort_sends_abort_markers(tmp_path):
    leader = MarkerLeader()
    async with open_broker(tmp_path, **OVERRIDES) as broker:
        broker.handlers[WRITE_TXN_MARKERS] = leader
        await broker.create_topic("t", 1, {})
        producer_id, epoch = await begin(broker, "tx-abort", [("t", 0)])
        assert await end(broker, "tx-abort", producer_id, epoch, commit=False) == ErrorCode.NONE
        await wait_for_state(broker, "tx-abort", "CompleteAbort")
        assert [m["transaction_result"] for r in leader.requests for m in r["markers"]] == [False]


async def test_markers_are_retried_until_the_leader_writes_them(tmp_path):
    leader = MarkerLeader([ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.NOT_ENOUGH_REPLICAS])
    async with open_broker(tmp_path, **OVERRIDES) as broker:
        broker.handlers[WRITE_TXN_MARKERS] = leader
        await broker.create_topic("t", 1, {})
        producer_id, epoch = await begin(broker, "tx-retry", [("t", 0)])
        assert await end(broker, "tx-retry", producer_id, epoch, commit=True) == ErrorCode.NONE
        await wait_for_state(broker, "tx-retry", "CompleteCommit")
        assert len(leader.requests) == 3


async def test_a_fenced_coordinator_stops_sending_markers(tmp_path):
    leader = MarkerLeader([ErrorCode.TRANSACTION_COORDINATOR_FENCED])
    async with open_broker(tmp_path, **OVERRIDES) as broker:
        broker.handlers[WRITE_TXN_MARKERS] = leader
        await broker.create_topic("t", 1, {})
        producer_id, epoch = await begin(broker, "tx-fenced", [("t", 0)])
        assert await end(broker, "tx-fenced", producer_id, epoch, commit=True) == ErrorCode.NONE
        await trio.sleep(0.5)
        assert len(leader.requests) == 1
        assert (await describe(broker, "tx-fenced"))["transaction_state"] == "PrepareCommit"


async def test_a_restarted_coordinator_finishes_a_prepared_commit(tmp_path):
    refusing = MarkerLeader([ErrorCode.TRANSACTION_COORDINATOR_FENCED])
    async with open_broker(tmp_path, **OVERRIDES) as broker:
        broker.handlers[WRITE_TXN_MARKERS] = refusing
        await broker.create_topic("t", 1, {})
        producer_id, epoch = await begin(broker, "tx-restart", [("t", 0)])
        assert await end(broker, "tx-restart", producer_id, epoch, commit=True) == ErrorCode.NONE
        await trio.sleep(0.2)
        assert (await describe(broker, "tx-restart"))["transaction_state"] == "PrepareCommit"

    accepting = MarkerLeader()
    async with open_broker(tmp_path, **OVERRIDES) as broker:
        broker.handlers[WRITE_TXN_MARKERS] = accepting
        # The marker task may have started before the handler was swapped in: it retries.
        await wait_for_state(broker, "tx-restart", "CompleteCommit")
        assert accepting.requests[-1]["markers"][0]["transaction_result"] is True
        assert accepting.requests[-1]["markers"][0]["producer_id"] == producer_id


async def test_a_timed_out_transaction_is_aborted_and_its_producer_fenced(tmp_path):
    leader = MarkerLeader()
    overrides = {**OVERRIDES, "transaction.abort.timed.out.transaction.cleanup.interval.ms": 50}
    async with open_broker(tmp_path, **overrides) as broker:
        broker.handlers[WRITE_TXN_MARKERS] = leader
        await broker.create_topic("t", 1, {})
        producer_id, epoch = await begin(broker, "tx-timeout", [("t", 0)], timeout_ms=100)
        entry = await wait_for_state(broker, "tx-timeout", "CompleteAbort")
        assert entry["producer_epoch"] == epoch + 1
        assert leader.requests[0]["markers"][0]["transaction_result"] is False
        assert leader.requests[0]["markers"][0]["producer_epoch"] == epoch + 1
        assert await end(broker, "tx-timeout", producer_id, epoch, commit=True) == ErrorCode.PRODUCER_FENCED


async def test_verify_only_answers_without_writing(tmp_path):
    async with open_broker(tmp_path, **OVERRIDES) as broker:
        broker.handlers[WRITE_TXN_MARKERS] = MarkerLeader()
        await broker.create_topic("t", 2, {})
        producer_id, epoch = await begin(broker, "tx-verify", [("t", 0)])
        index = broker.transactions.partition_for("tx-verify")
        log_end = broker.partitions[("__transaction_state", index)].log_end_offset
        response = await call(broker, ADD_PARTITIONS, 5, {"transactions": [{
            "transactional_id": "tx-verify", "producer_id": producer_id, "producer_epoch": epoch,
            "verify_only": True, "topics": [{"name": "t", "partitions": [0, 1]}]}]})
        assert response["error_code"] == ErrorCode.NONE
        [result] = response["results_by_transaction"]
        assert result["transactional_id"] == "tx-verify"
        assert result["topic_results"] == [{"name": "t", "results_by_partition": [
            {"partition_index": 0, "partition_error_code": ErrorCode.NONE},
            {"partition_index": 1, "partition_error_code": ErrorCode.TRANSACTION_ABORTABLE}]}]
        assert broker.partitions[("__transaction_state", index)].log_end_offset == log_end
        # The partition leader's local question takes the same answer, with no request.
        verified = await broker.transaction_verifier.verify("tx-verify", producer_id, epoch, [("t", 0), ("t", 1)])
        assert verified == {("t", 0): ErrorCode.NONE, ("t", 1): ErrorCode.TRANSACTION_ABORTABLE}


async def test_a_second_init_fences_the_first_producer(tmp_path):
    async with open_broker(tmp_path, **OVERRIDES) as broker:
        broker.handlers[WRITE_TXN_MARKERS] = MarkerLeader()
        await broker.create_topic("t", 1, {})
        producer_id, epoch = await begin(broker, "tx-fence", [("t", 0)])
        body = {"transactional_id": "tx-fence", "transaction_timeout_ms": 60000,
                "producer_id": -1, "producer_epoch": -1}
        with trio.fail_after(10):  # the ongoing transaction is aborted first: CONCURRENT_TRANSACTIONS meanwhile
            while (second := await call(broker, INIT_PRODUCER_ID, 5, body))["error_code"] != ErrorCode.NONE:
                assert second["error_code"] == ErrorCode.CONCURRENT_TRANSACTIONS
                await trio.sleep(0.02)
        assert second["producer_id"] == producer_id and second["producer_epoch"] > epoch
        assert await end(broker, "tx-fence", producer_id, epoch, commit=True) == ErrorCode.PRODUCER_FENCED
        assert await end(broker, "tx-fence", producer_id, epoch, commit=True, version=1) == \
            ErrorCode.INVALID_PRODUCER_EPOCH  # v0-1 clients do not know PRODUCER_FENCED


@pytest.mark.parametrize("body, expected", [
    ({"transactional_id": "", "transaction_timeout_ms": 1000}, ErrorCode.INVALID_REQUEST),
    ({"transactional_id": "tx", "transaction_timeout_ms": 10**9}, ErrorCode.INVALID_TRANSACTION_TIMEOUT),
    ({"transactional_id": "tx", "transaction_timeout_ms": 1000, "producer_id": 5}, ErrorCode.INVALID_REQUEST),
])
async def test_init_producer_id_refuses_bad_requests(tmp_path, body, expected):
    async with open_broker(tmp_path, **OVERRIDES) as broker:
        await call(broker, FIND_COORDINATOR, 4, {"key_type": 1, "coordinator_keys": ["tx"]})
        response = await call(broker, INIT_PRODUCER_ID, 5, {"producer_id": -1, "producer_epoch": -1, **body})
        assert response["error_code"] == expected


async def test_find_coordinator_for_transactions(tmp_path):
    async with open_broker(tmp_path, **OVERRIDES) as broker:
        response = await call(broker, FIND_COORDINATOR, 4, {"key_type": 1, "coordinator_keys": ["a", ""]})
        found, empty = response["coordinators"]
        assert (found["error_code"], found["node_id"], found["port"]) == (ErrorCode.NONE, 1, broker.bound_ports[0])
        assert empty["error_code"] == ErrorCode.INVALID_REQUEST
        topic = broker.topics.get("__transaction_state")
        assert topic.num_partitions == 4
        assert topic.configs["cleanup.policy"] == "compact"
        assert topic.configs["min.insync.replicas"] == "1"  # transaction.state.log.min.isr, capped by RF 1


async def test_list_transactions_filters(tmp_path):
    async with open_broker(tmp_path, **OVERRIDES) as broker:
        broker.handlers[WRITE_TXN_MARKERS] = MarkerLeader()
        await broker.create_topic("t", 1, {})
        producer_id, _ = await begin(broker, "tx-list", [("t", 0)])
        body = {"state_filters": ["Ongoing", "Bogus"], "producer_id_filters": [], "duration_filter": -1}
        response = await call(broker, LIST_TRANSACTIONS, 1, body)
        assert response["error_code"] == ErrorCode.NONE
        assert response["unknown_state_filters"] == ["Bogus"]
        assert response["transaction_states"] == [
            {"transactional_id": "tx-list", "producer_id": producer_id, "transaction_state": "Ongoing"}]
        body = {"state_filters": ["CompleteCommit"], "producer_id_filters": [], "duration_filter": -1}
        assert (await call(broker, LIST_TRANSACTIONS, 1, body))["transaction_states"] == []


async def test_add_partitions_with_an_unknown_partition_adds_nothing(tmp_path):
    async with open_broker(tmp_path, **OVERRIDES) as broker:
        broker.handlers[WRITE_TXN_MARKERS] = MarkerLeader()
        await broker.create_topic("t", 1, {})
        producer_id, epoch = await begin(broker, "tx-unknown", [("t", 0)])
        response = await call(broker, ADD_PARTITIONS, 3, {
            "v3_and_below_transactional_id": "tx-unknown", "v3_and_below_producer_id": producer_id,
            "v3_and_below_producer_epoch": epoch,
            "v3_and_below_topics": [{"name": "t", "partitions": [0, 7]}, {"name": "nope", "partitions": [0]}]})
        assert response["results_by_topic_v3_and_below"] == [
            {"name": "t", "results_by_partition": [
                {"partition_index": 0, "partition_error_code": ErrorCode.OPERATION_NOT_ATTEMPTED},
                {"partition_index": 7, "partition_error_code": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}]},
            {"name": "nope", "results_by_partition": [
                {"partition_index": 0, "partition_error_code": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}]}]
        assert (await describe(broker, "tx-unknown"))["topics"] == [{"topic": "t", "partitions": [0]}]


async def test_a_refused_write_rolls_the_shard_back_to_its_log(tmp_path):
    async with open_broker(tmp_path, **OVERRIDES) as broker:
        broker.handlers[WRITE_TXN_MARKERS] = MarkerLeader()
        await broker.create_topic("t", 2, {})
        producer_id, epoch = await begin(broker, "tx-refused", [("t", 0)])
        partition = broker.partitions[("__transaction_state", broker.transactions.partition_for("tx-refused"))]
        append = partition.append_records

        def refuse_once(*args, **kwargs):
            partition.append_records = append
            raise KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS, "the ISR is too small")

        partition.append_records = refuse_once
        response = await call(broker, ADD_PARTITIONS, 3, {
            "v3_and_below_transactional_id": "tx-refused", "v3_and_below_producer_id": producer_id,
            "v3_and_below_producer_epoch": epoch, "v3_and_below_topics": [{"name": "t", "partitions": [1]}]})
        [[result]] = [t["results_by_partition"] for t in response["results_by_topic_v3_and_below"]]
        assert result["partition_error_code"] == ErrorCode.COORDINATOR_NOT_AVAILABLE
        assert (await describe(broker, "tx-refused"))["error_code"] == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
        entry = await wait_for_state(broker, "tx-refused", "Ongoing")
        assert entry["topics"] == [{"topic": "t", "partitions": [0]}]  # memory is the log again

"""The verifier's routing and its answers when it cannot ask, with a fake cluster."""

from __future__ import annotations

from types import SimpleNamespace

from minikafka.coordinator.transaction.markers import BrokerUnreachable
from minikafka.coordinator.transaction.verification import TransactionVerifier
from minikafka.errors import ErrorCode
from minikafka.protocol.codec import Struct

PARTITIONS = [("t", 0), ("t", 1)]


class LocalRuntime:
    def __init__(self):
        self.asked = []

    def partition_for(self, transactional_id):
        return 0

    def verify_partitions(self, transactional_id, producer_id, producer_epoch, partitions):
        self.asked.append((transactional_id, producer_id, producer_epoch, list(partitions)))
        return dict.fromkeys(partitions, ErrorCode.NONE)


class FakeClient:
    def __init__(self, answer):
        self.answer = answer
        self.calls = []

    async def call(self, destination, api_key, version, body, timeout_s=None):
        self.calls.append((destination, api_key, version, body))
        if self.answer == "down":
            raise BrokerUnreachable("down")
        return self.answer


def image(leader):
    if leader is None:
        return lambda: SimpleNamespace(topic=lambda name: None)
    partitions = {0: SimpleNamespace(leader=leader)}
    return lambda: SimpleNamespace(topic=lambda name: SimpleNamespace(partitions=partitions))


def verifier(leader, client=None, runtime=None):
    return TransactionVerifier(node_id=1, transactions=runtime or LocalRuntime(),
                               client=client or FakeClient(None), image=image(leader))


async def test_this_broker_answers_itself_without_a_request():
    runtime, client = LocalRuntime(), FakeClient(None)
    answer = await verifier(1, client, runtime).verify("tx", 7, 2, PARTITIONS)
    assert answer == dict.fromkeys(PARTITIONS, ErrorCode.NONE)
    assert runtime.asked == [("tx", 7, 2, PARTITIONS)] and client.calls == []


async def test_another_coordinator_is_asked_with_verify_only():
    response = Struct(error_code=0, results_by_transaction=[Struct(transactional_id="tx", topic_results=[
        Struct(name="t", results_by_partition=[
            Struct(partition_index=0, partition_error_code=ErrorCode.NONE),
            Struct(partition_index=1, partition_error_code=ErrorCode.TRANSACTION_ABORTABLE)])])])
    client = FakeClient(response)
    answer = await verifier(2, client).verify("tx", 7, 2, PARTITIONS)
    assert answer == {("t", 0): ErrorCode.NONE, ("t", 1): ErrorCode.TRANSACTION_ABORTABLE}
    [(destination, api_key, version, body)] = client.calls
    assert (destination, api_key, version) == (2, 24, 5)
    assert body == {"transactions": [{"transactional_id": "tx", "producer_id": 7, "producer_epoch": 2,
                                      "verify_only": True, "topics": [{"name": "t", "partitions": [0, 1]}]}]}


async def test_a_top_level_error_answers_every_partition():
    client = FakeClient(Struct(error_code=ErrorCode.NOT_COORDINATOR, results_by_transaction=[]))
    assert await verifier(2, client).verify("tx", 7, 2, PARTITIONS) == \
        dict.fromkeys(PARTITIONS, ErrorCode.NOT_COORDINATOR)


async def test_no_answer_is_a_network_exception():
    assert await verifier(2, FakeClient("down")).verify("tx", 7, 2, PARTITIONS) == \
        dict.fromkeys(PARTITIONS, ErrorCode.NETWORK_EXCEPTION)


async def test_no_leader_means_no_coordinator_available():
    for leader in (None, -1):
        assert await verifier(leader).verify("tx", 7, 2, PARTITIONS) == \
            dict.fromkeys(PARTITIONS, ErrorCode.COORDINATOR_NOT_AVAILABLE)

"""The transactional producer's coordinator requests, against a scripted fake cluster.

Each test scripts the answers a coordinator gives (retriable errors, a moved
coordinator, fencing) and checks which requests the producer sends, in
which order, and the state it ends in. Kafka's handlers are the reference:
``TransactionManager``'s ``InitProducerIdHandler``, ``AddPartitionsToTxnHandler``,
``TxnOffsetCommitHandler`` and ``EndTxnHandler``.
"""

from __future__ import annotations

from types import SimpleNamespace as NS

import pytest

from minikafka.errors import ErrorCode, KafkaError
from minikafka_clients.groups import ConsumerGroupMetadata
from minikafka_clients.idempotence import IdempotenceState
from minikafka_clients.producer import ProducerConfig
from minikafka_clients.transaction_manager import TransactionManager, TransactionState
from minikafka_clients.transactional import TransactionalRequests

FIND_COORDINATOR, INIT_PRODUCER_ID, ADD_PARTITIONS, ADD_OFFSETS, END_TXN, TXN_OFFSET_COMMIT = (
    10, 22, 24, 25, 26, 28)


def coordinator(node_id=1, error_code=0):
    return NS(coordinators=[NS(error_code=error_code, error_message=None, node_id=node_id,
                               host=f"broker-{node_id}", port=9092)])


def error(code):
    return NS(error_code=code)


def init_ok(producer_id=7, producer_epoch=0):
    return NS(error_code=0, producer_id=producer_id, producer_epoch=producer_epoch)


def added(*results):
    by_topic = {}
    for (topic, index), code in results:
        by_topic.setdefault(topic, []).append(NS(partition_index=index, partition_error_code=code))
    return NS(results_by_topic_v3_and_below=[NS(name=t, results_by_partition=ps)
                                             for t, ps in by_topic.items()])


def offsets_committed(*results):
    return NS(topics=[NS(name=t, partitions=[NS(partition_index=i, error_code=c)])
                      for (t, i), c in results])


class FakeConnection:
    def __init__(self, address):
        self.address = address

    def version_for(self, api_key):
        return 5 if api_key == ADD_PARTITIONS else 4


class FakeCluster:
    """Answers each request with the next scripted response for its API key."""

    def __init__(self, **script):
        self.script = {int(key.split("_")[1]): list(answers) for key, answers in script.items()}
        self.sent = []  # (api_key, address or None, body, api_version)

    async def connection_to_address(self, host, port):
        return FakeConnection(host)

    async def request(self, connection, api_key, body, api_version=None, **kwargs):
        self.sent.append((api_key, connection.address if connection else None, body, api_version))
        return self.script[api_key].pop(0)

    def keys(self):
        return [api_key for api_key, *_ in self.sent]


def requests_for(cluster) -> tuple[TransactionalRequests, TransactionManager]:
    config = ProducerConfig.from_dict({"transactional.id": "tx", "retry.backoff.ms": 100,
                                       "retry.backoff.max.ms": 1000})
    manager = TransactionManager("tx", config.transaction_timeout_ms)
    return TransactionalRequests(cluster, manager, IdempotenceState(), config), manager


async def initialized(cluster):
    requests, manager = requests_for(cluster)
    manager.begin_init()
    await requests.init_producer_id()
    manager.operation_done()
    return requests, manager


async def test_init_retries_and_follows_a_moved_coordinator(autojump_clock):
    cluster = FakeCluster(
        key_10=[coordinator(1), coordinator(2)],
        key_22=[error(ErrorCode.CONCURRENT_TRANSACTIONS), error(ErrorCode.NOT_COORDINATOR),
                init_ok(7, 3)])
    requests, manager = await initialized(cluster)
    assert cluster.keys() == [FIND_COORDINATOR, INIT_PRODUCER_ID, INIT_PRODUCER_ID,
                              FIND_COORDINATOR, INIT_PRODUCER_ID]
    assert [address for key, address, *_ in cluster.sent if key == INIT_PRODUCER_ID] == [
        "broker-1", "broker-1", "broker-2"]
    assert cluster.sent[0][2]["key_type"] == 1 and cluster.sent[0][2]["key"] == "tx"
    assert cluster.sent[1][2]["transactional_id"] == "tx"
    assert cluster.sent[1][2]["producer_id"] == -1
    assert manager.state == TransactionState.READY
    assert (requests.idempotence.producer_id, requests.idempotence.producer_epoch) == (7, 3)


async def test_init_fenced_is_fatal(autojump_clock):
    cluster = FakeCluster(key_10=[coordinator()], key_22=[error(ErrorCode.PRODUCER_FENCED)])
    requests, manager = requests_for(cluster)
    manager.begin_init()
    with pytest.raises(KafkaError) as raised:
        await requests.init_producer_id()
    assert raised.value.code == ErrorCode.PRODUCER_FENCED
    assert manager.state == TransactionState.FATAL_ERROR


async def test_add_partitions_uses_the_clients_version_and_backs_off_briefly_at_first(autojump_clock):
    cluster = FakeCluster(
        key_10=[coordinator()], key_22=[init_ok()],
        key_24=[added((("t", 0), ErrorCode.CONCURRENT_TRANSACTIONS), (("t", 1), 0)),
                added((("t", 0), 0), (("t", 1), 0))])
    requests, manager = await initialized(cluster)
    manager.begin_transaction()
    manager.maybe_add_partition(("t", 0))
    manager.maybe_add_partition(("t", 1))
    assert await requests.add_partitions_once() == 20  # Kafka's 20 ms for the first partitions
    assert await requests.add_partitions_once() == 0
    assert await requests.add_partitions_once() == 0  # nothing new: no request
    adds = [(body, version) for key, _, body, version in cluster.sent if key == ADD_PARTITIONS]
    assert len(adds) == 2 and all(version == 3 for _, version in adds)
    assert adds[0][0]["v3_and_below_topics"] == [{"name": "t", "partitions": [0, 1]}]
    assert adds[0][0]["v3_and_below_producer_id"] == 7
    assert manager.partitions_in_transaction == {("t", 0), ("t", 1)}


async def test_offsets_retry_only_the_partitions_that_failed(autojump_clock):
    cluster = FakeCluster(
        key_10=[coordinator(1), coordinator(3)], key_22=[init_ok()], key_25=[error(0)],
        key_28=[offsets_committed((("in", 0), 0), (("in", 1), ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)),
                offsets_committed((("in", 1), 0))])
    requests, manager = await initialized(cluster)
    manager.begin_transaction()
    group = ConsumerGroupMetadata("g", generation_id=4, member_id="m-1", group_instance_id="i-1")
    await requests.send_offsets({("in", 0): 10, ("in", 1): 20}, group)
    assert cluster.keys()[2:] == [ADD_OFFSETS, FIND_COORDINATOR, TXN_OFFSET_COMMIT, TXN_OFFSET_COMMIT]
    find_group, first, second = cluster.sent[3], cluster.sent[4], cluster.sent[5]
    assert (find_group[2]["key"], find_group[2]["key_type"]) == ("g", 0)
    assert first[1] == "broker-3"  # the group's coordinator, not the transaction's
    assert (first[2]["generation_id"], first[2]["member_id"], first[2]["group_instance_id"]) == (
        4, "m-1", "i-1")
    assert [p["partition_index"] for t in first[2]["topics"] for p in t["partitions"]] == [0, 1]
    assert [(p["partition_index"], p["committed_offset"])
            for t in second[2]["topics"] for p in t["partitions"]] == [(1, 20)]
    assert manager.transaction_started


async def test_a_zombie_members_offsets_make_the_transaction_abortable(autojump_clock):
    cluster = FakeCluster(key_10=[coordinator(), coordinator()], key_22=[init_ok()],
                          key_25=[error(0)],
                          key_28=[offsets_committed((("in", 0), ErrorCode.ILLEGAL_GENERATION))])
    requests, manager = await initialized(cluster)
    manager.begin_transaction()
    with pytest.raises(KafkaError) as raised:
        await requests.send_offsets({("in", 0): 1}, ConsumerGroupMetadata("g", 1, "old"))
    assert raised.value.code == ErrorCode.ILLEGAL_GENERATION
    assert manager.state == TransactionState.ABORTABLE_ERROR


async def test_an_empty_transaction_sends_no_end_txn_and_a_fenced_end_txn_is_fatal(autojump_clock):
    cluster = FakeCluster(key_10=[coordinator()], key_22=[init_ok()],
                          key_24=[added((("t", 0), 0))],
                          key_26=[error(ErrorCode.CONCURRENT_TRANSACTIONS),
                                  error(ErrorCode.INVALID_PRODUCER_EPOCH)])
    requests, manager = await initialized(cluster)
    manager.begin_transaction()
    manager.begin_commit()
    assert await requests.end_transaction(True, sequences_unreliable=False) is False
    manager.operation_done()
    assert END_TXN not in cluster.keys() and manager.state == TransactionState.READY

    manager.begin_transaction()
    manager.maybe_add_partition(("t", 0))
    await requests.add_partitions_once()
    manager.begin_commit()
    with pytest.raises(KafkaError) as raised:
        await requests.end_transaction(True, sequences_unreliable=False)
    assert raised.value.code == ErrorCode.PRODUCER_FENCED  # INVALID_PRODUCER_EPOCH, read as fencing
    assert cluster.keys().count(END_TXN) == 2
    assert manager.state == TransactionState.FATAL_ERROR

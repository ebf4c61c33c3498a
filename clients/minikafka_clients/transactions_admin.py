"""Transaction admin: list and describe transactions and producers; abort a hanging one.

These are the calls ``kafka-transactions.sh`` makes through Kafka's Admin
(KIP-664). Two views of the same transactions meet here:

- the *coordinator's*: each transactional id's state in
  ``__transaction_state`` (``Ongoing``, ``PrepareCommit``, ...), its producer
  id and epoch and the partitions it added;
- the *partition leader's*: per partition, the producers it has seen, and for
  each an open transaction's first offset (which holds the partition's last
  stable offset back: read_committed consumers cannot read past it).

A *hanging* transaction is open on a partition but unknown to (or already
finished by) its coordinator, so no marker will ever end it; the last stable
offset is stuck. ``abort_transaction`` writes the missing ABORT marker
itself, as the coordinator would: WriteTxnMarkers to the partition's leader,
with the producer's id and epoch and the coordinator epoch DescribeProducers
reported (a smaller one would be fenced).

==========================  =======  =========================================
operation                   API key  notes
==========================  =======  =========================================
list_transactions           66       ListTransactions, asked of *every* broker
                                     (each lists the ids it coordinates); v1+
                                     filters by duration
describe_transactions       65       DescribeTransactions, to each id's
                                     coordinator (FindCoordinator key type 1)
describe_producers          61       DescribeProducers, to the leader (or a
                                     chosen replica)
abort_transaction           27       WriteTxnMarkers, to the leader
==========================  =======  =========================================
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from minikafka.errors import ErrorCode, KafkaError

from .admin import check
from .cluster import Cluster
from .groups import TRANSACTION_KEY_TYPE, coordinator_request

DESCRIBE_PRODUCERS, DESCRIBE_TRANSACTIONS, LIST_TRANSACTIONS, WRITE_TXN_MARKERS = 61, 65, 66, 27

TopicPartition = tuple[str, int]


@dataclasses.dataclass(frozen=True)
class TransactionListing:
    """One transactional id as ListTransactions names it."""

    transactional_id: str
    producer_id: int
    state: str  # Kafka's name: "Ongoing", "PrepareCommit", "CompleteAbort", ...
    coordinator_id: int


@dataclasses.dataclass(frozen=True)
class TransactionDescription:
    """A transactional id's state at its coordinator (DescribeTransactions)."""

    coordinator_id: int
    state: str
    producer_id: int
    producer_epoch: int
    transaction_timeout_ms: int
    transaction_start_time_ms: int | None  # None: no transaction open
    topic_partitions: frozenset[TopicPartition]


@dataclasses.dataclass(frozen=True)
class ProducerState:
    """One producer as a partition's replica knows it (DescribeProducers)."""

    producer_id: int
    producer_epoch: int
    last_sequence: int
    last_timestamp: int
    coordinator_epoch: int | None  # None: no marker seen from this producer yet
    current_transaction_start_offset: int | None  # None: no open transaction


# -- the coordinators' view -------------------------------------------------------

async def list_transactions(cluster: Cluster, *, states: Iterable[str] = (),
                            producer_ids: Iterable[int] = (),
                            duration_filter_ms: int = -1) -> list[TransactionListing]:
    """Every transactional id of the cluster, sorted; optionally only those in
    ``states``, of ``producer_ids``, or open longer than ``duration_filter_ms``.

    Raises:
        KafkaError: a broker refused (UNSUPPORTED_VERSION for a duration filter
            on a broker without ListTransactions v1, ...).
    """
    await cluster.refresh_metadata([])
    body = {"state_filters": list(states), "producer_id_filters": list(producer_ids),
            "duration_filter": duration_filter_ms}
    found = []
    for node_id in sorted(cluster.brokers):
        connection = await cluster.connection_to(node_id)
        if duration_filter_ms >= 0 and connection.version_for(LIST_TRANSACTIONS) < 1:
            raise KafkaError(ErrorCode.UNSUPPORTED_VERSION,
                             f"broker {node_id} cannot filter transactions by duration")
        response = await cluster.request(connection, LIST_TRANSACTIONS, body)
        check(response.error_code, f"listing the transactions of broker {node_id}")
        found += [TransactionListing(t.transactional_id, t.producer_id, t.transaction_state, node_id)
                  for t in response.transaction_states]
    return sorted(found, key=lambda t: t.transactional_id)


async def describe_transactions(cluster: Cluster, transactional_ids: Iterable[str]
                                ) -> dict[str, TransactionDescription]:
    """Each id's state at its coordinator.

    Raises:
        KafkaError: TRANSACTIONAL_ID_NOT_FOUND for an id no coordinator knows.
    """
    return {tid: await _describe_one(cluster, tid) for tid in transactional_ids}


async def _describe_one(cluster: Cluster, transactional_id: str) -> TransactionDescription:
    coordinator, response = await coordinator_request(
        cluster, transactional_id, DESCRIBE_TRANSACTIONS, {"transactional_ids": [transactional_id]},
        lambda r: r.transaction_states[0].error_code, TRANSACTION_KEY_TYPE)
    state = response.transaction_states[0]
    check(state.error_code, f"describing transactional id '{transactional_id}'")
    return TransactionDescription(
        coordinator.node_id, state.transaction_state, state.producer_id,
        state.producer_epoch, state.transaction_timeout_ms,
        state.transaction_start_time_ms if state.transaction_start_time_ms >= 0 else None,
        frozenset((t.topic, p) for t in state.topics for p in t.partitions))


# -- the partitions' view -------------------------------------------------------------

async def describe_producers(cluster: Cluster, partitions: Iterable[TopicPartition], *,
                             broker_id: int | None = None
                             ) -> dict[TopicPartition, list[ProducerState]]:
    """The active producers of each partition, from its leader (or ``broker_id``,
    any replica of it: its producer state may differ while it catches up).

    Raises:
        KafkaError: per partition, e.g. NOT_LEADER_OR_FOLLOWER (retriable).
    """
    targets: dict[int, dict[str, list[int]]] = {}
    for topic, index in sorted(set(partitions)):
        node_id = broker_id if broker_id is not None else await cluster.leader_for(topic, index)
        targets.setdefault(node_id, {}).setdefault(topic, []).append(index)
    result: dict[TopicPartition, list[ProducerState]] = {}
    for node_id, topics in targets.items():
        body = {"topics": [{"name": t, "partition_indexes": ps} for t, ps in topics.items()]}
        response = await cluster.request(await cluster.connection_to(node_id), DESCRIBE_PRODUCERS, body)
        for topic in response.topics:
            for p in topic.partitions:
                check(p.error_code, f"describing the producers of {topic.name}-{p.partition_index}",
                      p.error_message)
                result[(topic.name, p.partition_index)] = [_producer_state(s)
                                                           for s in p.active_producers]
    return result


def _producer_state(s) -> ProducerState:
    return ProducerState(
        s.producer_id, s.producer_epoch, s.last_sequence, s.last_timestamp,
        s.coordinator_epoch if s.coordinator_epoch >= 0 else None,
        s.current_txn_start_offset if s.current_txn_start_offset >= 0 else None)


async def abort_transaction(cluster: Cluster, topic_partition: TopicPartition, *, producer_id: int,
                            producer_epoch: int, coordinator_epoch: int) -> None:
    """Write an ABORT marker for ``producer_id``'s open transaction on one partition.

    As Kafka's ``Admin.abortTransaction``: WriteTxnMarkers to the partition's
    leader, as if from the coordinator. A producer that never saw a marker has
    no coordinator epoch (-1): 0 is used, which no coordinator epoch is below.

    Raises:
        KafkaError: INVALID_PRODUCER_EPOCH (the producer moved on: a newer
            epoch), TRANSACTION_COORDINATOR_FENCED (a newer coordinator
            epoch wrote a marker since), NOT_LEADER_OR_FOLLOWER (retriable), ...
    """
    topic, index = topic_partition
    body = {"markers": [{
        "producer_id": producer_id, "producer_epoch": producer_epoch, "transaction_result": False,
        "topics": [{"name": topic, "partition_indexes": [index]}],
        "coordinator_epoch": max(coordinator_epoch, 0)}]}
    leader_id = await cluster.leader_for(topic, index)
    response = await cluster.request(await cluster.connection_to(leader_id), WRITE_TXN_MARKERS, body)
    codes = [p.error_code for m in response.markers for t in m.topics for p in t.partitions]
    if not codes:
        raise KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, "WriteTxnMarkers returned no result")
    check(codes[0], f"aborting the transaction of producer {producer_id} on {topic}-{index}")

"""The partition leader's question to the transaction coordinator (KIP-890 part 1).

Kafka's ``AddPartitionsToTxnManager``. Before a partition leader appends the
first transactional batch of a producer that has no transaction open on
that partition, it asks the producer's transaction coordinator: *is this
partition part of this producer's ongoing transaction?* A producer whose
AddPartitionsToTxn never reached the coordinator (or whose transaction was
aborted meanwhile) would otherwise leave records no marker will ever close
(a *hanging transaction*: the last stable offset stuck forever).

The question is an AddPartitionsToTxn v4+ request with ``verify_only``
set, sent to the broker that leads the transactional id's
``__transaction_state`` partition:

    {transactions: [{transactional_id, producer_id, producer_epoch,
                     verify_only: True, topics: [{name, partitions}]}]}

When that broker is this one, the question is a local call to the runtime
(``TransactionCoordinatorRuntime.verify_partitions``), with no request.

The answer is one ``ErrorCode`` per partition: NONE (go ahead), or the
coordinator's reason (INVALID_TXN_STATE, INVALID_PRODUCER_EPOCH, ...), or
what kept us from asking: COORDINATOR_NOT_AVAILABLE (no leader for the
id's partition), NETWORK_EXCEPTION (no answer), NOT_COORDINATOR or
COORDINATOR_LOAD_IN_PROGRESS (from the coordinator broker). The produce
path maps them to what the producer is told.

Kafka batches the questions of many produce requests per coordinator
broker; here each call is its own request, over a pool of connections
(``markers.BrokerClient``), so concurrent produce requests do not wait for
each other.

Owned by the broker; runs in its Trio loop.
"""

from __future__ import annotations

import logging
from typing import Callable, Protocol

from minikafka.coordinator.transaction.markers import BrokerClient, BrokerUnreachable
from minikafka.coordinator.transaction.records import TRANSACTION_STATE_TOPIC
from minikafka.errors import ErrorCode
from minikafka.metadata.image import MetadataImage

log = logging.getLogger("minikafka.coordinator.transaction.verification")

ADD_PARTITIONS_TO_TXN_KEY, VERIFY_VERSION = 24, 5
VERIFY_TIMEOUT_S = 10.0  # then NETWORK_EXCEPTION: the producer retries well within its own timeout

TopicPartition = tuple[str, int]


class LocalCoordinator(Protocol):
    """The questions this broker's own transaction coordinator answers (the runtime)."""

    def partition_for(self, transactional_id: str) -> int: ...

    def verify_partitions(self, transactional_id: str, producer_id: int, producer_epoch: int,
                          partitions: list[TopicPartition]) -> dict[TopicPartition, ErrorCode]: ...


class TransactionVerifier:
    """Asks a transactional id's coordinator whether partitions are in its ongoing transaction.

    Args:
        node_id: this broker.
        transactions: this broker's transaction coordinator runtime.
        client: a ``BrokerClient`` for requests to other brokers.
        image: returns the committed ``MetadataImage`` (who leads the id's partition).
    """

    def __init__(self, *, node_id: int, transactions: LocalCoordinator, client: BrokerClient,
                 image: Callable[[], MetadataImage]):
        self.node_id = node_id
        self.transactions = transactions
        self.client = client
        self.image = image

    async def verify(self, transactional_id: str, producer_id: int, producer_epoch: int,
                     partitions: list[TopicPartition]) -> dict[TopicPartition, ErrorCode]:
        """One ``ErrorCode`` per partition: NONE if it is in the producer's ongoing transaction."""
        partitions = list(partitions)
        coordinator = self._coordinator_node(transactional_id)
        if coordinator is None:
            return dict.fromkeys(partitions, ErrorCode.COORDINATOR_NOT_AVAILABLE)
        if coordinator == self.node_id:
            return self.transactions.verify_partitions(transactional_id, producer_id, producer_epoch, partitions)
        return await self._ask(coordinator, transactional_id, producer_id, producer_epoch, partitions)

    def _coordinator_node(self, transactional_id: str) -> int | None:
        """The leader of the id's ``__transaction_state`` partition, or None if there is none."""
        topic = self.image().topic(TRANSACTION_STATE_TOPIC)
        if topic is None:
            return None
        registration = topic.partitions.get(self.transactions.partition_for(transactional_id))
        if registration is None or registration.leader < 0:
            return None
        return registration.leader

    async def _ask(self, coordinator: int, transactional_id: str, producer_id: int, producer_epoch: int,
                   partitions: list[TopicPartition]) -> dict[TopicPartition, ErrorCode]:
        """AddPartitionsToTxn (verify_only) to the coordinator broker."""
        topics: dict[str, list[int]] = {}
        for topic, index in partitions:
            topics.setdefault(topic, []).append(index)
        body = {"transactions": [{
            "transactional_id": transactional_id, "producer_id": producer_id,
            "producer_epoch": producer_epoch, "verify_only": True,
            "topics": [{"name": name, "partitions": indexes} for name, indexes in topics.items()],
        }]}
        try:
            response = await self.client.call(coordinator, ADD_PARTITIONS_TO_TXN_KEY, VERIFY_VERSION, body,
                                              timeout_s=VERIFY_TIMEOUT_S)
        except BrokerUnreachable as exc:
            log.info("broker %s: verifying %r with broker %s: %s", self.node_id, transactional_id,
                     coordinator, exc)
            return dict.fromkeys(partitions, ErrorCode.NETWORK_EXCEPTION)
        if response.error_code != ErrorCode.NONE:
            return dict.fromkeys(partitions, ErrorCode(response.error_code))
        results = {}
        for transaction in response.results_by_transaction:
            for topic in transaction.topic_results:
                for result in topic.results_by_partition:
                    results[(topic.name, result.partition_index)] = ErrorCode(result.partition_error_code)
        return {partition: results.get(partition, ErrorCode.NETWORK_EXCEPTION) for partition in partitions}

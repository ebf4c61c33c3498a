"""The transaction coordinator (KIP-98 exactly-once, transaction version 1).

A transactional producer talks to the coordinator that owns its
``transactional.id``: the leader of the ``__transaction_state`` partition the
id hashes to. The coordinator hands out the producer id and epoch
(InitProducerId, fencing older instances), records which partitions the
transaction touches (AddPartitionsToTxn, AddOffsetsToTxn), and on EndTxn
writes the decision, then has a COMMIT or ABORT marker written to every one
of those partitions (WriteTxnMarkers). Its state lives in
``__transaction_state``, in Kafka's record format.

The sans-I/O part (no Trio, no sockets, no clock):

- ``state``: ``TransactionState`` and the table of legal transitions;
- ``records``: TransactionLogKey / TransactionLogValue bytes;
- ``metadata``: ``TransactionMetadata``, one transactional id, and its
  two-step transitions (prepare, then complete);
- ``config``: ``TransactionConfig``, the broker settings;
- ``coordinator``: ``TransactionCoordinator``, every operation of one
  ``__transaction_state`` partition, returning ``TxnResult``s.

The runtime around it (``runtime``, ``markers``, ``verification``) does the
appends, sends the markers and answers partition leaders' verification.
"""

from minikafka.coordinator.transaction.config import TransactionConfig
from minikafka.coordinator.transaction.coordinator import (
    MarkerRequest,
    TransactionCoordinator,
    TxnResult,
    unknown_state_filters,
)
from minikafka.coordinator.transaction.metadata import TransactionMetadata
from minikafka.coordinator.transaction.state import TransactionState

__all__ = [
    "MarkerRequest",
    "TransactionConfig",
    "TransactionCoordinator",
    "TransactionMetadata",
    "TransactionState",
    "TxnResult",
    "unknown_state_filters",
]

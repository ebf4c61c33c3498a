"""The states of a transactional id, and which state may follow which.

A transactional id (a producer's ``transactional.id``) is always in one
``TransactionState``. The byte ``id`` is what ``__transaction_state`` stores
(TransactionLogValue's ``transaction_status``); the ``name`` is what
DescribeTransactions and ListTransactions show (and filter on)::

    EMPTY --AddPartitions/AddOffsets--> ONGOING --EndTxn(commit)--> PREPARE_COMMIT
                                           |                           | markers written
                                           |                           v
                                           |                     COMPLETE_COMMIT
                                           +--EndTxn(abort), timeout,
                                           |  InitProducerId--> PREPARE_ABORT
                                           |                           | markers written
                                           |                           v
                                           |                     COMPLETE_ABORT
    EMPTY, COMPLETE_* --InitProducerId--> EMPTY (epoch bump)
    EMPTY, COMPLETE_* --AddPartitions--> ONGOING (a new transaction)
    EMPTY, COMPLETE_* --transactional.id.expiration.ms--> DEAD (tombstone)

``PREPARE_EPOCH_FENCE`` is the short step the coordinator takes when it aborts
a transaction on its own (timeout, or a new producer's InitProducerId): it
bumps the epoch to fence the current producer and goes on at once to
PREPARE_ABORT. Kafka never writes it to the log; neither do we.

``VALID_PREVIOUS_STATES`` is Kafka's table: a transition to ``state`` is legal
only from one of ``VALID_PREVIOUS_STATES[state]``.
"""

from __future__ import annotations

import enum


class TransactionState(enum.Enum):
    """A transactional id's state: ``value`` is the log's byte id (Kafka's numbering)."""

    EMPTY = 0
    ONGOING = 1
    PREPARE_COMMIT = 2
    PREPARE_ABORT = 3
    COMPLETE_COMMIT = 4
    COMPLETE_ABORT = 5
    DEAD = 6
    PREPARE_EPOCH_FENCE = 7

    @property
    def id(self) -> int:
        """The byte written in TransactionLogValue's ``transaction_status``."""
        return self.value

    @property
    def state_name(self) -> str:
        """Kafka's name ("Empty", "PrepareCommit", ...), as Describe/ListTransactions show it."""
        return _NAMES[self]

    @classmethod
    def from_id(cls, state_id: int) -> "TransactionState":
        """The state of a log byte id.

        Raises:
            ValueError: an id Kafka does not define.
        """
        try:
            return cls(state_id)
        except ValueError:
            raise ValueError(f"unknown transaction state id {state_id}") from None

    @classmethod
    def from_name(cls, name: str) -> "TransactionState | None":
        """The state Kafka calls ``name`` (a ListTransactions filter), or None."""
        return _BY_NAME.get(name)

    @property
    def is_expiration_allowed(self) -> bool:
        """Whether an idle transactional id in this state may expire (no open transaction)."""
        return self in _EXPIRABLE

    @property
    def is_pending(self) -> bool:
        """Whether a transaction is open or completing (Kafka's ``hasPendingTransaction``)."""
        return self in (TransactionState.ONGOING, TransactionState.PREPARE_COMMIT,
                        TransactionState.PREPARE_ABORT)


_NAMES = {
    TransactionState.EMPTY: "Empty",
    TransactionState.ONGOING: "Ongoing",
    TransactionState.PREPARE_COMMIT: "PrepareCommit",
    TransactionState.PREPARE_ABORT: "PrepareAbort",
    TransactionState.COMPLETE_COMMIT: "CompleteCommit",
    TransactionState.COMPLETE_ABORT: "CompleteAbort",
    TransactionState.DEAD: "Dead",
    TransactionState.PREPARE_EPOCH_FENCE: "PrepareEpochFence",
}
_BY_NAME = {name: state for state, name in _NAMES.items()}

EMPTY = TransactionState.EMPTY
ONGOING = TransactionState.ONGOING
PREPARE_COMMIT = TransactionState.PREPARE_COMMIT
PREPARE_ABORT = TransactionState.PREPARE_ABORT
COMPLETE_COMMIT = TransactionState.COMPLETE_COMMIT
COMPLETE_ABORT = TransactionState.COMPLETE_ABORT
DEAD = TransactionState.DEAD
PREPARE_EPOCH_FENCE = TransactionState.PREPARE_EPOCH_FENCE

_EXPIRABLE = frozenset({EMPTY, COMPLETE_COMMIT, COMPLETE_ABORT})

VALID_PREVIOUS_STATES: dict[TransactionState, frozenset[TransactionState]] = {
    EMPTY: frozenset({EMPTY, COMPLETE_COMMIT, COMPLETE_ABORT}),
    ONGOING: frozenset({ONGOING, EMPTY, COMPLETE_COMMIT, COMPLETE_ABORT}),
    PREPARE_COMMIT: frozenset({ONGOING}),
    PREPARE_ABORT: frozenset({ONGOING, PREPARE_EPOCH_FENCE}),
    COMPLETE_COMMIT: frozenset({PREPARE_COMMIT}),
    COMPLETE_ABORT: frozenset({PREPARE_ABORT}),
    DEAD: frozenset({EMPTY, COMPLETE_COMMIT, COMPLETE_ABORT}),
    PREPARE_EPOCH_FENCE: frozenset({ONGOING}),
}
"""Kafka's table: the states a transactional id may be in just before entering each state."""


def is_valid_transition(current: TransactionState, target: TransactionState) -> bool:
    """Whether ``current -> target`` is a legal transition (``VALID_PREVIOUS_STATES``)."""
    return current in VALID_PREVIOUS_STATES[target]

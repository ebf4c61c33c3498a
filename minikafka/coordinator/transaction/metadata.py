"""One transactional id's metadata, and the transitions it may go through.

``TransactionMetadata`` is Kafka's object of the same name: who the producer
is (``producer_id``, ``producer_epoch``), the state of its transaction, the
partitions in it and its timestamps. Every change goes in two steps, as in
Kafka:

1. a ``prepare_*`` method checks the move against the state table
   (``state.VALID_PREVIOUS_STATES``) and returns a ``TxnTransitMetadata``:
   the complete *target* state, nothing changed yet;
2. the coordinator writes ``transit.to_log_value()`` as a record and calls
   ``complete_transition(transit)``, which checks Kafka's invariants and
   applies the target.

Kafka keeps a *pending state* between the two steps because its write is
asynchronous. Here both steps run inside one coordinator operation and the
runtime appends the record before anyone sees the answer (a failed append
reloads the coordinator from the log), so no pending state is needed.

Invariants ``complete_transition`` enforces (Kafka's ``completeTransitionTo``):

- the producer epoch only moves forward: the same epoch, or the next one, or 0
  with a new producer id (a new epoch only from InitProducerId or a fence);
- inside ONGOING the partition set only grows; PREPARE_* keep it as it is;
- the transaction timeout changes only through InitProducerId (EMPTY).

Timestamps are not checked: they come from the broker's wall clock, which
may step back (Kafka does not check them either).

Memory equals the log for every field the record carries: ``from_log_value``
of an id's last record rebuilds the same object, except for the two fields
Kafka 4.0 keeps in memory only. ``last_producer_epoch`` is not in the record
at all, and ``previous_producer_id`` has a tagged field that Kafka 4.0 leaves
unset (so we do too). Both only let a producer retry InitProducerId after a
lost answer (KIP-360); a loaded id has -1 in both, as in Kafka.
"""

from __future__ import annotations

import dataclasses

from minikafka.coordinator.transaction.records import (
    NO_PRODUCER_EPOCH,
    NO_PRODUCER_ID,
    TopicPartition,
    TransactionLogValue,
)
from minikafka.coordinator.transaction.state import (
    COMPLETE_ABORT,
    COMPLETE_COMMIT,
    DEAD,
    EMPTY,
    ONGOING,
    PREPARE_ABORT,
    PREPARE_COMMIT,
    PREPARE_EPOCH_FENCE,
    TransactionState,
    is_valid_transition,
)
from minikafka.errors import ErrorCode

MAX_PRODUCER_EPOCH = 32767  # Short.MaxValue


def is_epoch_exhausted(producer_epoch: int) -> bool:
    """Whether a producer id has no epoch left to give a client.

    The coordinator keeps the last epoch (32767) for itself, so it can
    always fence a producer by a bump (Kafka's ``isEpochExhausted``).
    """
    return producer_epoch >= MAX_PRODUCER_EPOCH - 1


class InvalidTransition(Exception):
    """A transition the state table or Kafka's invariants forbid: a coordinator bug."""


@dataclasses.dataclass(frozen=True)
class TxnTransitMetadata:
    """The target of one transition: every field of ``TransactionMetadata`` after it."""

    producer_id: int
    previous_producer_id: int
    next_producer_id: int
    producer_epoch: int
    last_producer_epoch: int
    txn_timeout_ms: int
    state: TransactionState
    partitions: frozenset[TopicPartition]
    txn_start_timestamp_ms: int
    txn_last_update_timestamp_ms: int
    client_transaction_version: int = 0

    def to_log_value(self) -> TransactionLogValue:
        """The TransactionLogValue Kafka 4.0 writes for this transition.

        Kafka 4.0 does not set the previous and next producer ids in the
        record (they stay -1, so the tagged fields are not written).
        """
        return TransactionLogValue(
            producer_id=self.producer_id,
            producer_epoch=self.producer_epoch,
            transaction_timeout_ms=self.txn_timeout_ms,
            state=self.state,
            partitions=self.partitions,
            last_update_timestamp_ms=self.txn_last_update_timestamp_ms,
            start_timestamp_ms=self.txn_start_timestamp_ms,
            client_transaction_version=self.client_transaction_version,
        )


@dataclasses.dataclass
class TransactionMetadata:
    """Everything the coordinator knows about one transactional id.

    Owned by one ``TransactionCoordinator``; not task-safe.

    Attributes:
        transactional_id: the producer's ``transactional.id``.
        producer_id: the producer id in use.
        previous_producer_id: the producer id before the last
            InitProducerId (differs from ``producer_id`` after a new id was
            given); memory only, -1 after a load.
        next_producer_id: transaction version 2 only; always -1 here.
        producer_epoch: the current epoch; requests with another are fenced.
        last_producer_epoch: the epoch before the last InitProducerId bump,
            so a retried InitProducerId gets the same answer (-1 if unknown).
        txn_timeout_ms: the producer's ``transaction.timeout.ms``.
        state: the transaction's state.
        partitions: the partitions of the open transaction (empty otherwise).
        txn_start_timestamp_ms: when the open transaction began (-1 if none).
        txn_last_update_timestamp_ms: the last change; idle ids expire from it.
    """

    transactional_id: str
    producer_id: int
    producer_epoch: int
    txn_timeout_ms: int
    state: TransactionState
    txn_last_update_timestamp_ms: int
    previous_producer_id: int = NO_PRODUCER_ID
    next_producer_id: int = NO_PRODUCER_ID
    last_producer_epoch: int = NO_PRODUCER_EPOCH
    partitions: set[TopicPartition] = dataclasses.field(default_factory=set)
    txn_start_timestamp_ms: int = -1
    client_transaction_version: int = 0

    # -- building -----------------------------------------------------------------

    @classmethod
    def new(cls, transactional_id: str, producer_id: int, txn_timeout_ms: int,
            now_ms: int) -> "TransactionMetadata":
        """A transactional id seen for the first time: EMPTY, no epoch yet (-1)."""
        return cls(transactional_id=transactional_id, producer_id=producer_id,
                   producer_epoch=NO_PRODUCER_EPOCH, txn_timeout_ms=txn_timeout_ms,
                   state=EMPTY, txn_last_update_timestamp_ms=now_ms)

    @classmethod
    def from_log_value(cls, transactional_id: str, value: TransactionLogValue) -> "TransactionMetadata":
        """Rebuild an id from its latest record (``last_producer_epoch`` is lost: -1)."""
        return cls(
            transactional_id=transactional_id,
            producer_id=value.producer_id,
            producer_epoch=value.producer_epoch,
            txn_timeout_ms=value.transaction_timeout_ms,
            state=value.state,
            txn_last_update_timestamp_ms=value.last_update_timestamp_ms,
            previous_producer_id=value.previous_producer_id,
            next_producer_id=value.next_producer_id,
            partitions=set(value.partitions) if value.state is not EMPTY else set(),
            txn_start_timestamp_ms=value.start_timestamp_ms,
            client_transaction_version=value.client_transaction_version,
        )

    @property
    def is_producer_epoch_exhausted(self) -> bool:
        """Whether the current producer id has no client epoch left."""
        return is_epoch_exhausted(self.producer_epoch)

    # -- step 1: prepare (Kafka's prepare* methods) --------------------------------

    def prepare_fence_producer_epoch(self) -> TxnTransitMetadata:
        """Bump the epoch to fence the producer before the coordinator aborts its transaction.

        The result is in PREPARE_EPOCH_FENCE, a state that is never written:
        the caller goes on at once with ``prepare_abort_or_commit`` from it.
        """
        if self.producer_epoch >= MAX_PRODUCER_EPOCH:
            raise InvalidTransition("cannot fence a producer whose epoch is already 32767")
        return self._transit(PREPARE_EPOCH_FENCE, producer_epoch=self.producer_epoch + 1,
                             last_producer_epoch=NO_PRODUCER_EPOCH,
                             txn_last_update_timestamp_ms=self.txn_last_update_timestamp_ms)

    def prepare_increment_producer_epoch(self, txn_timeout_ms: int, expected_epoch: int | None,
                                         now_ms: int) -> TxnTransitMetadata | ErrorCode:
        """InitProducerId on the same producer id: the next epoch (or a retry's answer).

        Args:
            expected_epoch: the epoch the client says it has (InitProducerId
                v3+, KIP-360), or None for a fresh producer.

        Returns:
            the transition to EMPTY, or PRODUCER_FENCED for a client whose
            epoch is neither the current nor the last one.
        """
        bumped = self.producer_epoch + 1
        if expected_epoch is None:
            epoch, last_epoch = bumped, NO_PRODUCER_EPOCH
        elif self.producer_epoch == NO_PRODUCER_EPOCH or expected_epoch == self.producer_epoch:
            epoch, last_epoch = bumped, self.producer_epoch
        elif expected_epoch == self.last_producer_epoch:
            # A retry of a bump whose answer was lost: the same answer again.
            epoch, last_epoch = self.producer_epoch, self.last_producer_epoch
        else:
            return ErrorCode.PRODUCER_FENCED
        # Checked only when a bump is due: Kafka checks first, and so fails a
        # stale or retrying producer of an exhausted id with an internal error.
        if epoch == bumped and self.is_producer_epoch_exhausted:
            raise InvalidTransition(f"producer id {self.producer_id} has no epoch left")
        return self._transit(EMPTY, producer_epoch=epoch, last_producer_epoch=last_epoch,
                             txn_timeout_ms=txn_timeout_ms, partitions=frozenset(),
                             txn_start_timestamp_ms=-1, txn_last_update_timestamp_ms=now_ms)

    def prepare_producer_id_rotation(self, new_producer_id: int, txn_timeout_ms: int, now_ms: int,
                                     record_last_epoch: bool) -> TxnTransitMetadata:
        """InitProducerId when the epochs ran out: a new producer id at epoch 0."""
        if self.state.is_pending:
            raise InvalidTransition("cannot rotate the producer id of an open transaction")
        return self._transit(
            EMPTY, producer_id=new_producer_id, producer_epoch=0,
            last_producer_epoch=self.producer_epoch if record_last_epoch else NO_PRODUCER_EPOCH,
            txn_timeout_ms=txn_timeout_ms, partitions=frozenset(), txn_start_timestamp_ms=-1,
            txn_last_update_timestamp_ms=now_ms)

    def prepare_add_partitions(self, added: frozenset[TopicPartition], now_ms: int) -> TxnTransitMetadata:
        """AddPartitionsToTxn / AddOffsetsToTxn: ONGOING with more partitions.

        From EMPTY or COMPLETE_* this starts a new transaction at ``now_ms``.
        """
        start = now_ms if self.state in (EMPTY, COMPLETE_ABORT, COMPLETE_COMMIT) else self.txn_start_timestamp_ms
        return self._transit(ONGOING, partitions=frozenset(self.partitions | set(added)),
                             txn_start_timestamp_ms=start, txn_last_update_timestamp_ms=now_ms)

    def prepare_abort_or_commit(self, target: TransactionState, now_ms: int,
                                fence: TxnTransitMetadata | None = None) -> TxnTransitMetadata:
        """EndTxn (or the coordinator's own abort): PREPARE_COMMIT or PREPARE_ABORT.

        Args:
            fence: the PREPARE_EPOCH_FENCE transit when the coordinator aborts
                on its own: the abort then carries the bumped epoch.
        """
        source = fence or self._as_transit()
        current = PREPARE_EPOCH_FENCE if fence is not None else self.state
        if not is_valid_transition(current, target) or target not in (PREPARE_COMMIT, PREPARE_ABORT):
            raise InvalidTransition(f"{self.transactional_id}: {current.state_name} -> {target.state_name}")
        return dataclasses.replace(source, state=target, previous_producer_id=self.producer_id,
                                   next_producer_id=NO_PRODUCER_ID,
                                   partitions=frozenset(self.partitions),
                                   txn_last_update_timestamp_ms=now_ms)

    def prepare_complete(self, now_ms: int) -> TxnTransitMetadata:
        """All markers are written: COMPLETE_COMMIT or COMPLETE_ABORT, no partitions left."""
        target = COMPLETE_COMMIT if self.state is PREPARE_COMMIT else COMPLETE_ABORT
        return self._transit(target, partitions=frozenset(), txn_last_update_timestamp_ms=now_ms)

    def prepare_dead(self) -> TxnTransitMetadata:
        """Expiration: the id is forgotten (a tombstone is written, never this state)."""
        return self._transit(DEAD, partitions=frozenset())

    def _as_transit(self) -> TxnTransitMetadata:
        return TxnTransitMetadata(
            producer_id=self.producer_id, previous_producer_id=self.producer_id,
            next_producer_id=NO_PRODUCER_ID, producer_epoch=self.producer_epoch,
            last_producer_epoch=self.last_producer_epoch, txn_timeout_ms=self.txn_timeout_ms,
            state=self.state, partitions=frozenset(self.partitions),
            txn_start_timestamp_ms=self.txn_start_timestamp_ms,
            txn_last_update_timestamp_ms=self.txn_last_update_timestamp_ms,
            client_transaction_version=0)

    def _transit(self, target: TransactionState, **changes) -> TxnTransitMetadata:
        """Kafka's ``prepareTransitionTo``: check the table, build the target."""
        if not is_valid_transition(self.state, target):
            raise InvalidTransition(f"{self.transactional_id}: {self.state.state_name} -> {target.state_name}")
        transit = dataclasses.replace(self._as_transit(), state=target, **changes)
        if transit.producer_id < 0:
            raise InvalidTransition(f"illegal producer id {transit.producer_id}")
        if target is not DEAD and transit.producer_epoch < 0:
            raise InvalidTransition(f"illegal producer epoch {transit.producer_epoch}")
        return transit

    # -- step 2: complete (Kafka's completeTransitionTo) ---------------------------

    def complete_transition(self, transit: TxnTransitMetadata) -> None:
        """Apply a prepared transition, after checking Kafka's invariants.

        Raises:
            InvalidTransition: the transition breaks an invariant (a bug).
        """
        self._check_invariants(transit)
        if transit.state is EMPTY:  # only InitProducerId moves it (Kafka's completeTransitionTo)
            self.previous_producer_id = transit.previous_producer_id
        self.producer_id = transit.producer_id
        self.next_producer_id = transit.next_producer_id
        self.producer_epoch = transit.producer_epoch
        self.last_producer_epoch = transit.last_producer_epoch
        self.txn_timeout_ms = transit.txn_timeout_ms
        self.state = transit.state
        self.partitions = set(transit.partitions)
        self.txn_start_timestamp_ms = transit.txn_start_timestamp_ms
        self.txn_last_update_timestamp_ms = transit.txn_last_update_timestamp_ms
        self.client_transaction_version = transit.client_transaction_version

    def _check_invariants(self, transit: TxnTransitMetadata) -> None:
        target = transit.state
        same_producer = transit.producer_id == self.producer_id and transit.producer_epoch == self.producer_epoch
        fenced_from_ongoing = self.state is ONGOING and target is PREPARE_ABORT
        ok = True
        if target is EMPTY:
            bump = (transit.producer_epoch == self.producer_epoch + 1
                    or (transit.producer_epoch == 0 and transit.producer_id != self.producer_id))
            ok = ok and (transit.producer_epoch == self.producer_epoch or bump)
            ok = ok and not transit.partitions and transit.txn_start_timestamp_ms == -1
        elif target is ONGOING:
            ok = ok and same_producer and self.partitions <= transit.partitions
            ok = ok and transit.txn_timeout_ms == self.txn_timeout_ms
        elif target in (PREPARE_COMMIT, PREPARE_ABORT):
            fence = fenced_from_ongoing and transit.producer_epoch == self.producer_epoch + 1
            ok = ok and (same_producer or fence) and transit.partitions == self.partitions
            ok = ok and transit.txn_timeout_ms == self.txn_timeout_ms
            ok = ok and transit.txn_start_timestamp_ms == self.txn_start_timestamp_ms
        elif target in (COMPLETE_COMMIT, COMPLETE_ABORT):
            ok = ok and same_producer and transit.txn_timeout_ms == self.txn_timeout_ms
            ok = ok and transit.txn_start_timestamp_ms != -1 and not transit.partitions
        else:  # PREPARE_EPOCH_FENCE and DEAD are never completed
            ok = False
        if not ok or not is_valid_transition(self.state, target):
            raise InvalidTransition(f"{self.transactional_id}: bad transition {self.state.state_name} -> {transit}")

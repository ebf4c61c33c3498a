"""The transactional producer's state machine (Kafka's client ``TransactionManager``).

A producer with ``transactional.id`` writes to several partitions (and
commits consumer offsets) atomically (KIP-98, KIP-447): either every
record of a transaction becomes visible to ``read_committed`` consumers, or
none does. The broker-side *transaction coordinator* (the leader of the
``__transaction_state`` partition the id hashes to) drives the two-phase
commit; the producer's part is the sequence of requests below, and the
local state that says which call is allowed when::

    init_transactions()   FindCoordinator(key_type=1), InitProducerId(transactional_id)
    begin_transaction()   (local only)
    send(...)             AddPartitionsToTxn before the first batch to a new partition
    send_offsets_to_transaction(offsets, group_metadata)
                          AddOffsetsToTxn (coordinator), then TxnOffsetCommit (group coordinator)
    commit_transaction()  flush, then EndTxn(committed=true)
    abort_transaction()   drop unsent batches, wait for in-flight ones, EndTxn(committed=false)

The states and the allowed transitions are Kafka's (``TRANSITIONS``, the
``isTransitionValid`` table of the Java client)::

    UNINITIALIZED --init--> INITIALIZING --InitProducerId--> READY
    READY --begin--> IN_TRANSACTION --commit--> COMMITTING_TRANSACTION --EndTxn--> READY
                     IN_TRANSACTION --abort--> ABORTING_TRANSACTION --EndTxn--> READY
    IN_TRANSACTION / COMMITTING_TRANSACTION --error--> ABORTABLE_ERROR --abort--> ABORTING_TRANSACTION
    any --fatal error--> FATAL_ERROR (only close() is left)

An *abortable* error (a batch failed, a partition could not be added, the
group refused the offsets) spoils the current transaction only: the
application must call ``abort_transaction()`` and may then start again. A
*fatal* error spoils the producer: ``PRODUCER_FENCED`` (a newer instance
with the same ``transactional.id`` called InitProducerId, which bumped the
epoch), ``TRANSACTIONAL_ID_AUTHORIZATION_FAILED``, ``INVALID_TXN_STATE``.
Coordinator errors that go away by themselves are retried:
``NOT_COORDINATOR`` / ``COORDINATOR_NOT_AVAILABLE`` after asking
FindCoordinator again, ``CONCURRENT_TRANSACTIONS`` (the previous
transaction is still completing) and ``COORDINATOR_LOAD_IN_PROGRESS`` as
they are. ``outcome_of`` is the table of each API's error handling.

A transaction to which nothing was added (no partition, no offsets) is
completed locally: no EndTxn is sent, as Kafka's client does.

When a batch fails inside a transaction its sequence numbers can no longer
be trusted, so, as in Kafka (KIP-360), the abort ends with InitProducerId
carrying the current id and epoch: the coordinator bumps the epoch and
every partition starts again at sequence 0.

A call that was interrupted (``max.block.ms``, a cancelled task) leaves the
state where it was: calling the same method again resumes it; calling
another one is an ``IllegalStateError`` (Java's
``handleCachedTransactionRequestResult``).

Sans-I/O: this module only decides. ``transactional.py`` sends the
requests, ``sender.py`` asks it which partitions may be drained.
"""

from __future__ import annotations

import enum

from minikafka.errors import ErrorCode, KafkaError

from . import retry

TopicPartition = tuple[str, int]


class IllegalStateError(RuntimeError):
    """A transactional method called in a state that does not allow it
    (Java's ``IllegalStateException``): the state is left unchanged."""


class TransactionAbortedError(KafkaError):
    """A record of a transaction that was aborted before it was sent
    (Java's ``TransactionAbortedException``, which has no error code of its
    own; it carries ``TRANSACTION_ABORTABLE``)."""

    def __init__(self, message: str = "failing batch since the transaction was aborted"):
        super().__init__(ErrorCode.TRANSACTION_ABORTABLE, message)


class TransactionState(enum.Enum):
    """The client's transaction states (Java's ``TransactionManager.State``)."""

    UNINITIALIZED = "UNINITIALIZED"
    INITIALIZING = "INITIALIZING"
    READY = "READY"
    IN_TRANSACTION = "IN_TRANSACTION"
    COMMITTING_TRANSACTION = "COMMITTING_TRANSACTION"
    ABORTING_TRANSACTION = "ABORTING_TRANSACTION"
    ABORTABLE_ERROR = "ABORTABLE_ERROR"
    FATAL_ERROR = "FATAL_ERROR"


S = TransactionState

# target -> the states it may be entered from. FATAL_ERROR: from anywhere.
TRANSITIONS: dict[TransactionState, frozenset[TransactionState]] = {
    S.UNINITIALIZED: frozenset({S.READY, S.ABORTABLE_ERROR}),
    S.INITIALIZING: frozenset({S.UNINITIALIZED, S.ABORTING_TRANSACTION}),
    S.READY: frozenset({S.INITIALIZING, S.COMMITTING_TRANSACTION, S.ABORTING_TRANSACTION}),
    S.IN_TRANSACTION: frozenset({S.READY}),
    S.COMMITTING_TRANSACTION: frozenset({S.IN_TRANSACTION}),
    S.ABORTING_TRANSACTION: frozenset({S.IN_TRANSACTION, S.ABORTABLE_ERROR}),
    S.ABORTABLE_ERROR: frozenset({S.IN_TRANSACTION, S.COMMITTING_TRANSACTION,
                                  S.ABORTABLE_ERROR, S.INITIALIZING}),
    S.FATAL_ERROR: frozenset(TransactionState),
}


class Outcome(enum.Enum):
    """What the producer does with a coordinator's answer."""

    DONE = "done"
    RETRY = "retry"  # the same request again, after retry.backoff.ms
    FIND_COORDINATOR = "find_coordinator"  # ask FindCoordinator again, then retry
    ABORTABLE = "abortable"  # the transaction must be aborted
    ABORTABLE_BUMP = "abortable_bump"  # abortable, and the abort bumps the epoch
    FATAL = "fatal"  # the producer is unusable


# Per API, the errors that are not handled the common way (see ``outcome_of``).
_SPECIFIC: dict[str, dict[ErrorCode, Outcome]] = {
    "InitProducerId": {
        ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: Outcome.ABORTABLE,
        ErrorCode.CLUSTER_AUTHORIZATION_FAILED: Outcome.ABORTABLE,
    },
    "AddPartitionsToTxn": {
        ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: Outcome.FATAL,
        ErrorCode.INVALID_TXN_STATE: Outcome.FATAL,
        ErrorCode.UNKNOWN_PRODUCER_ID: Outcome.ABORTABLE_BUMP,
        ErrorCode.INVALID_PRODUCER_ID_MAPPING: Outcome.ABORTABLE_BUMP,
    },
    "AddOffsetsToTxn": {
        ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: Outcome.FATAL,
        ErrorCode.INVALID_TXN_STATE: Outcome.FATAL,
        ErrorCode.UNKNOWN_PRODUCER_ID: Outcome.ABORTABLE_BUMP,
        ErrorCode.INVALID_PRODUCER_ID_MAPPING: Outcome.ABORTABLE_BUMP,
        ErrorCode.GROUP_AUTHORIZATION_FAILED: Outcome.ABORTABLE,
    },
    "TxnOffsetCommit": {
        ErrorCode.REQUEST_TIMED_OUT: Outcome.FIND_COORDINATOR,
        ErrorCode.GROUP_AUTHORIZATION_FAILED: Outcome.ABORTABLE,
        ErrorCode.FENCED_INSTANCE_ID: Outcome.ABORTABLE,
        ErrorCode.UNKNOWN_MEMBER_ID: Outcome.ABORTABLE,  # Java: CommitFailedException
        ErrorCode.ILLEGAL_GENERATION: Outcome.ABORTABLE,
        ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: Outcome.FATAL,
        ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT: Outcome.FATAL,
    },
    "EndTxn": {
        ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: Outcome.FATAL,
        ErrorCode.INVALID_TXN_STATE: Outcome.FATAL,
        ErrorCode.UNKNOWN_PRODUCER_ID: Outcome.ABORTABLE_BUMP,
        ErrorCode.INVALID_PRODUCER_ID_MAPPING: Outcome.ABORTABLE_BUMP,
    },
    "FindCoordinator": {
        ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: Outcome.FATAL,
        ErrorCode.GROUP_AUTHORIZATION_FAILED: Outcome.ABORTABLE,
    },
}

# An error none of the tables names: AddPartitionsToTxn makes the transaction
# abortable (a partition could not be added); every other API is fatal.
_UNEXPECTED = {"AddPartitionsToTxn": Outcome.ABORTABLE}

_FENCED = frozenset({ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.PRODUCER_FENCED})
_FIND_COORDINATOR = frozenset({ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE})
# Batch errors that end the producer, not just the transaction (Java's maybeTransitionToErrorState).
_FATAL_BATCH_ERRORS = frozenset({
    ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    ErrorCode.PRODUCER_FENCED, ErrorCode.UNSUPPORTED_VERSION,
})


def outcome_of(api: str, code: int) -> Outcome:
    """How the transactional producer handles ``code`` in ``api``'s response.

    Kafka's handlers, in order: NONE is done; the API's own table
    (``_SPECIFIC``); a fenced epoch is fatal (``INVALID_PRODUCER_EPOCH`` from
    a coordinator is read as ``PRODUCER_FENCED``); NOT_COORDINATOR and
    COORDINATOR_NOT_AVAILABLE look the coordinator up again; other retriable
    errors are retried; TRANSACTION_ABORTABLE is abortable; anything else is
    fatal (abortable for AddPartitionsToTxn).
    """
    if code == ErrorCode.NONE:
        return Outcome.DONE
    code = ErrorCode(code)
    specific = _SPECIFIC.get(api, {}).get(code)
    if specific is not None:
        return specific
    if code in _FENCED:
        return Outcome.FATAL
    if code in _FIND_COORDINATOR:
        return Outcome.FIND_COORDINATOR if api != "FindCoordinator" else Outcome.RETRY
    if retry.is_retriable(code):
        return Outcome.RETRY
    if code == ErrorCode.TRANSACTION_ABORTABLE:
        return Outcome.ABORTABLE
    return _UNEXPECTED.get(api, Outcome.FATAL)


def error_for(api: str, code: int, transactional_id: str) -> KafkaError:
    """The exception an application sees for ``code`` (fencing named as such)."""
    code = ErrorCode(code)
    if code in _FENCED and api != "Produce":
        return KafkaError(ErrorCode.PRODUCER_FENCED,
                          f"producer with transactional.id '{transactional_id}' has been fenced "
                          "by another producer with the same transactional.id")
    return KafkaError(code, f"{api} for transactional.id '{transactional_id}' failed")


class TransactionManager:
    """The transaction state of one producer; owned by its Trio run (not task-safe
    across threads, safe across its tasks: no method awaits).

    Args:
        transactional_id: ``transactional.id``.
        transaction_timeout_ms: ``transaction.timeout.ms``, sent in InitProducerId.

    Attributes:
        state: the current ``TransactionState``.
        last_error: the error that put the manager in ABORTABLE_ERROR or
            FATAL_ERROR (None otherwise).
        epoch_bump_required: end the next abort with an epoch bump.
        transaction_started: a partition or offsets were added: EndTxn is needed.
        new_partitions: sent to, but not yet in an AddPartitionsToTxn request.
        pending_partitions: in an AddPartitionsToTxn request not yet answered.
        partitions_in_transaction: added: their batches may be sent.
    """

    def __init__(self, transactional_id: str, transaction_timeout_ms: int):
        self.transactional_id = transactional_id
        self.transaction_timeout_ms = transaction_timeout_ms
        self.state = S.UNINITIALIZED
        self.last_error: KafkaError | None = None
        self.epoch_bump_required = False
        self.transaction_started = False
        self.new_partitions: set[TopicPartition] = set()
        self.pending_partitions: set[TopicPartition] = set()
        self.partitions_in_transaction: set[TopicPartition] = set()
        self._pending_operation: tuple[str, TransactionState] | None = None

    # -- transitions ------------------------------------------------------------

    def transition_to(self, target: TransactionState, error: KafkaError | None = None) -> None:
        """Move to ``target``; raise ``IllegalStateError`` (state unchanged) if not allowed."""
        if self.state not in TRANSITIONS[target]:
            raise IllegalStateError(
                f"TransactionalId {self.transactional_id}: invalid transition attempted from "
                f"state {self.state.name} to state {target.name}")
        if target in (S.ABORTABLE_ERROR, S.FATAL_ERROR):
            if error is None:
                raise ValueError(f"cannot transition to {target.name} without an error")
            self.last_error = error
        else:
            self.last_error = None
        self.state = target

    def abortable_error(self, error: KafkaError, *, bump: bool = False) -> None:
        """The transaction cannot commit: the application must abort it."""
        if bump:
            self.epoch_bump_required = True
        if self.state == S.ABORTING_TRANSACTION:
            return  # already being aborted: nothing more to say
        if self.state in TRANSITIONS[S.ABORTABLE_ERROR]:
            self.transition_to(S.ABORTABLE_ERROR, error)

    def fatal_error(self, error: KafkaError) -> None:
        """The producer cannot go on (fenced, not authorized, ...)."""
        self.transition_to(S.FATAL_ERROR, error)

    def apply(self, outcome: Outcome, error: KafkaError) -> None:
        """Enter the error state an ABORTABLE / ABORTABLE_BUMP / FATAL outcome calls for."""
        if outcome == Outcome.FATAL:
            self.fatal_error(error)
        elif outcome in (Outcome.ABORTABLE, Outcome.ABORTABLE_BUMP):
            self.abortable_error(error, bump=outcome == Outcome.ABORTABLE_BUMP)

    # -- checks ---------------------------------------------------------------------

    @property
    def has_error(self) -> bool:
        return self.state in (S.ABORTABLE_ERROR, S.FATAL_ERROR)

    @property
    def is_completing(self) -> bool:
        return self.state in (S.COMMITTING_TRANSACTION, S.ABORTING_TRANSACTION)

    def raise_if_error(self) -> None:
        """Raise the error of ABORTABLE_ERROR / FATAL_ERROR (Java's ``maybeFailWithError``)."""
        if not self.has_error:
            return
        error = self.last_error
        if error.code == ErrorCode.PRODUCER_FENCED:
            raise KafkaError(error.code, error.message)
        raise KafkaError(error.code, "cannot execute transactional method because we are in an "
                                     f"error state: {error}")

    def _check_no_other_pending(self, operation: str) -> None:
        if self._pending_operation is not None and self._pending_operation[0] != operation:
            raise IllegalStateError(
                f"cannot attempt operation `{operation}` because the previous call to "
                f"`{self._pending_operation[0]}` timed out and must be retried")

    # -- the application's calls -----------------------------------------------------

    def begin_init(self) -> bool:
        """``init_transactions()``; False if it resumes an interrupted call."""
        self._check_no_other_pending("init_transactions")
        if self._pending_operation is not None:
            return False
        self.raise_if_error()
        self.transition_to(S.INITIALIZING)
        self._pending_operation = ("init_transactions", S.INITIALIZING)
        return True

    def begin_transaction(self) -> None:
        self._check_no_other_pending("begin_transaction")
        self.raise_if_error()
        self.transition_to(S.IN_TRANSACTION)

    def begin_commit(self) -> bool:
        """``commit_transaction()``; False if it resumes an interrupted call."""
        self._check_no_other_pending("commit_transaction")
        if self._pending_operation is not None:
            return False
        self.raise_if_error()
        self.transition_to(S.COMMITTING_TRANSACTION)
        self._pending_operation = ("commit_transaction", S.COMMITTING_TRANSACTION)
        return True

    def begin_abort(self) -> bool:
        """``abort_transaction()``; False if it resumes an interrupted call.

        Allowed in ABORTABLE_ERROR (that is what it is for), not in FATAL_ERROR.
        """
        self._check_no_other_pending("abort_transaction")
        if self._pending_operation is not None:
            return False
        if self.state != S.ABORTABLE_ERROR:
            self.raise_if_error()
        self.transition_to(S.ABORTING_TRANSACTION)
        self.new_partitions.clear()  # nothing more will be sent
        self._pending_operation = ("abort_transaction", S.ABORTING_TRANSACTION)
        return True

    def check_send_offsets(self) -> None:
        """``send_offsets_to_transaction()`` needs a transaction in progress."""
        self._check_no_other_pending("send_offsets_to_transaction")
        self.raise_if_error()
        if self.state != S.IN_TRANSACTION:
            raise IllegalStateError("cannot send offsets if a transaction is not in progress "
                                    f"(current state: {self.state.name})")

    def operation_done(self) -> None:
        """The pending init / commit / abort finished (or failed for good)."""
        self._pending_operation = None

    def check_send(self, has_producer_id: bool) -> None:
        """``send()`` is allowed only inside a transaction (checked before the
        record is appended, so a refused record is not queued)."""
        self.raise_if_error()
        if self._pending_operation is not None:
            raise IllegalStateError(f"cannot call send while `{self._pending_operation[0]}` "
                                    "is in progress")
        if not has_producer_id:
            raise IllegalStateError("cannot send to a partition before completing a call to "
                                    "init_transactions")
        if self.state != S.IN_TRANSACTION:
            raise IllegalStateError(f"cannot send while in state {self.state.name}: call "
                                    "begin_transaction first")

    def maybe_add_partition(self, topic_partition: TopicPartition) -> None:
        """A record went to ``topic_partition``: note it for AddPartitionsToTxn if it is new."""
        if (topic_partition not in self.partitions_in_transaction
                and topic_partition not in self.pending_partitions):  # no set built per record
            self.new_partitions.add(topic_partition)

    # -- the sender's questions and reports ----------------------------------------------

    def is_send_to_partition_allowed(self, topic_partition: TopicPartition) -> bool:
        """A batch may go once its partition is in the transaction."""
        return self.state != S.FATAL_ERROR and topic_partition in self.partitions_in_transaction

    def should_abort_undrained(self) -> bool:
        """Queued batches of an aborted (or doomed) transaction must not be sent."""
        return self.state in (S.ABORTABLE_ERROR, S.ABORTING_TRANSACTION)

    def take_partitions_to_add(self) -> list[TopicPartition]:
        """The partitions for the next AddPartitionsToTxn (they become pending)."""
        if self.has_error or not self.new_partitions:
            return []
        partitions = sorted(self.new_partitions)
        self.pending_partitions |= self.new_partitions
        self.new_partitions.clear()
        return partitions

    def partitions_added(self, results: dict[TopicPartition, int]) -> Outcome:
        """Handle AddPartitionsToTxn's per-partition answers; the outcome for the request.

        A retry puts the partitions back among the new ones. Whatever the
        result, they leave the pending set (Java: batches of partitions that
        did get added must still be able to complete while the transaction
        aborts).
        """
        outcome = Outcome.DONE
        for code in results.values():
            this = outcome_of("AddPartitionsToTxn", code)
            if code == ErrorCode.OPERATION_NOT_ATTEMPTED:
                this = Outcome.ABORTABLE
            if _severity(this) > _severity(outcome):
                outcome = this
        partitions = set(results)
        self.pending_partitions -= partitions
        if outcome in (Outcome.RETRY, Outcome.FIND_COORDINATOR):
            self.new_partitions |= partitions
        elif outcome == Outcome.DONE:
            self.partitions_in_transaction |= partitions
            self.transaction_started = True
        else:
            failed = {tp: code for tp, code in results.items() if code != ErrorCode.NONE}
            code = next(iter(failed.values()))
            self.apply(outcome, error_for("AddPartitionsToTxn", code, self.transactional_id))
        return outcome

    def handle_failed_batch(self, error: KafkaError) -> None:
        """A batch of the transaction failed: the transaction (or producer) is spoiled."""
        if self.state == S.FATAL_ERROR:
            return
        if error.code in _FATAL_BATCH_ERRORS:
            self.fatal_error(error)
            return
        self.abortable_error(error, bump=not self.is_completing)

    # -- completion ------------------------------------------------------------------------

    def needs_end_txn(self) -> bool:
        """Whether EndTxn must be sent (Kafka skips it when nothing was added)."""
        return self.transaction_started

    def complete_transaction(self, sequences_unreliable: bool = False) -> bool:
        """EndTxn succeeded (or was not needed). Returns whether the epoch must be
        bumped now (then the state is INITIALIZING until InitProducerId answers).

        Args:
            sequences_unreliable: a batch with a sequence number failed, so
                the next one would leave a gap (``IdempotenceState.bump_required``).
        """
        bump = self.epoch_bump_required or sequences_unreliable
        self.transition_to(S.INITIALIZING if bump else S.READY)
        self.epoch_bump_required = False
        self.transaction_started = False
        self.new_partitions.clear()
        self.pending_partitions.clear()
        self.partitions_in_transaction.clear()
        return bump

    def initialized(self) -> None:
        """InitProducerId answered: ready for a transaction."""
        self.transition_to(S.READY)


def _severity(outcome: Outcome) -> int:
    """Which outcome wins when partitions of one request disagree."""
    return [Outcome.DONE, Outcome.RETRY, Outcome.FIND_COORDINATOR, Outcome.ABORTABLE,
            Outcome.ABORTABLE_BUMP, Outcome.FATAL].index(outcome)

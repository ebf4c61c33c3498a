"""The transaction coordinator of one ``__transaction_state`` partition (sans-I/O).

``TransactionCoordinator`` plays the part of Kafka's ``TransactionCoordinator``
and ``TransactionStateManager`` for the transactional ids that hash to one
partition of ``__transaction_state``. It implements transaction version 1
(KIP-98, the classic protocol: clients add partitions with AddPartitionsToTxn,
EndTxn does not bump the epoch) and answers the KIP-890 verification question
of partition leaders.

Operations take the request's values and ``now_ms`` (the broker's wall clock)
and return a ``TxnResult``:

- ``records``: ``__transaction_state`` records, already applied to memory. The
  runtime appends them (acks=all) *before* it sends ``response``; if the
  append fails it throws this coordinator away and rebuilds one from the log
  (``replay``), so memory is never ahead of what a client was told.
- ``response``: this request's answer; its shape is given by each operation.
- ``markers``: ``MarkerRequest``s: WriteTxnMarkers to send to the leaders of
  these partitions; once all are written the runtime calls
  ``markers_written``.

The life of a committed transaction::

    InitProducerId   EMPTY, epoch e                 record
    AddPartitions    ONGOING {p1, p2}               record
    (produce to p1, p2, AddOffsets, TxnOffsetCommit ...)
    EndTxn(commit)   PREPARE_COMMIT                 record, then response, markers
    markers_written  COMPLETE_COMMIT, no partitions record

The coordinator aborts on its own (with a bump of the epoch, which fences the
producer: Kafka's PREPARE_EPOCH_FENCE step) when a transaction outlives its
``transaction.timeout.ms`` and when a new producer instance calls
InitProducerId while the previous one left a transaction open; the latter
answers CONCURRENT_TRANSACTIONS until the abort is complete, and the client
retries. An idle id (no open transaction) is forgotten after
``transactional.id.expiration.ms`` with a tombstone.

Timers are checked as Kafka's scheduler does, at fixed intervals (config.py):
``poll_timers(now_ms)`` runs the checks that are due and ``next_deadline_ms()``
says when to call it next. ``on_loaded`` starts them.

Errors that old request versions cannot carry are the handlers' business:
Kafka answers INVALID_PRODUCER_EPOCH instead of PRODUCER_FENCED to
InitProducerId v0-3, AddPartitionsToTxn, AddOffsetsToTxn and EndTxn v0-1.

An operation that would break the state table or Kafka's invariants raises
``metadata.InvalidTransition``: a bug. The runtime answers UNKNOWN_SERVER_ERROR
and, as after a failed append, rebuilds the coordinator from the log.

Owned by the runtime's shard for this partition; not task-safe.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

from minikafka.coordinator.transaction.config import TransactionConfig
from minikafka.coordinator.transaction.metadata import (
    MAX_PRODUCER_EPOCH,
    TransactionMetadata,
    TxnTransitMetadata,
    is_epoch_exhausted,
)
from minikafka.coordinator.transaction.records import (
    NO_PRODUCER_EPOCH,
    NO_PRODUCER_ID,
    Record,
    TopicPartition,
    decode_key,
    decode_value,
    transaction_log_record,
    transaction_log_tombstone,
)
from minikafka.coordinator.transaction.state import (
    COMPLETE_ABORT,
    COMPLETE_COMMIT,
    EMPTY,
    ONGOING,
    PREPARE_ABORT,
    PREPARE_COMMIT,
    TransactionState,
)
from minikafka.errors import ErrorCode

CONSUMER_OFFSETS_TOPIC = "__consumer_offsets"


@dataclasses.dataclass(frozen=True)
class MarkerRequest:
    """Write a COMMIT or ABORT marker for this producer to each of ``partitions``."""

    transactional_id: str
    producer_id: int
    producer_epoch: int
    coordinator_epoch: int
    commit: bool
    partitions: list[TopicPartition]


@dataclasses.dataclass
class TxnResult:
    """The outcome of one operation (see the module docstring)."""

    records: list[Record] = dataclasses.field(default_factory=list)
    response: object = None
    markers: list[MarkerRequest] = dataclasses.field(default_factory=list)


class TransactionCoordinator:
    """The transactional ids of one ``__transaction_state`` partition.

    Args:
        config: the broker settings (``TransactionConfig.from_broker_config``).
        partition_index: the ``__transaction_state`` partition it owns.
        coordinator_epoch: the partition's leader epoch when this broker took
            it over; every marker carries it, so partition leaders refuse
            markers of a coordinator that was replaced.

    Attributes:
        transactions: transactional id -> its metadata.
    """

    def __init__(self, config: TransactionConfig | None = None, partition_index: int = 0,
                 coordinator_epoch: int = 0):
        self.config = config or TransactionConfig()
        self.partition_index = partition_index
        self.coordinator_epoch = coordinator_epoch
        self.transactions: dict[str, TransactionMetadata] = {}
        self._next_abort_check_ms: int | None = None
        self._next_expiration_check_ms: int | None = None

    # -- InitProducerId -------------------------------------------------------------

    def needs_new_producer_id(self, transactional_id: str, producer_id: int, producer_epoch: int) -> bool:
        """Whether ``init_producer_id`` with these values would use a fresh producer id.

        A pure query: the runtime asks the producer id manager for an id only
        then. True for an id seen for the first time, and when the current
        producer id has run out of epochs (and the caller is its producer).
        """
        if not transactional_id:
            return False
        meta = self.transactions.get(transactional_id)
        if meta is None:
            return True
        expected = _expected(producer_id, producer_epoch)
        return (meta.state in (EMPTY, COMPLETE_COMMIT, COMPLETE_ABORT)
                and _is_valid_producer_id(meta, expected)
                and meta.is_producer_epoch_exhausted
                and (expected is None or expected[1] == meta.producer_epoch))

    def init_producer_id(self, transactional_id: str, transaction_timeout_ms: int, producer_id: int,
                         producer_epoch: int, now_ms: int, new_producer_id: int | None) -> TxnResult:
        """InitProducerId with a transactional id: the producer id and the next epoch.

        Args:
            producer_id, producer_epoch: what the client has (KIP-360,
                InitProducerId v3+), or -1, -1.
            new_producer_id: a fresh id from the producer id manager; must be
                given when ``needs_new_producer_id`` says so.

        Returns:
            ``response``: ``{"error_code", "producer_id", "producer_epoch"}``
            (-1, -1 with an error). CONCURRENT_TRANSACTIONS while a commit or
            abort completes, and when an open transaction of the previous
            producer is being aborted (then with records and markers).
        """
        result = TxnResult()
        error = self._check_init(transactional_id, transaction_timeout_ms, producer_id, producer_epoch)
        if error is not None:
            return _init_response(result, error)
        meta = self.transactions.get(transactional_id)
        if meta is None:
            meta = TransactionMetadata.new(transactional_id, _required(new_producer_id),
                                           transaction_timeout_ms, now_ms)
            self.transactions[transactional_id] = meta
        expected = _expected(producer_id, producer_epoch)
        if not _is_valid_producer_id(meta, expected):
            return _init_response(result, ErrorCode.PRODUCER_FENCED)
        if meta.state in (PREPARE_COMMIT, PREPARE_ABORT):
            return _init_response(result, ErrorCode.CONCURRENT_TRANSACTIONS)
        if meta.state is ONGOING:
            # Abort the previous producer's transaction; the client retries
            # and then gets a second bump (or a new id if that exhausted it).
            self._abort_with_fence(meta, now_ms, result)
            return _init_response(result, ErrorCode.CONCURRENT_TRANSACTIONS)
        transit = self._init_transit(meta, expected, transaction_timeout_ms, now_ms, new_producer_id)
        if isinstance(transit, ErrorCode):
            return _init_response(result, transit)
        self._write(meta, transit, result)
        return _init_response(result, ErrorCode.NONE, meta.producer_id, meta.producer_epoch)

    def _check_init(self, transactional_id, transaction_timeout_ms, producer_id, producer_epoch):
        if not transactional_id:
            return ErrorCode.INVALID_REQUEST
        if (producer_id == NO_PRODUCER_ID) != (producer_epoch == NO_PRODUCER_EPOCH):
            return ErrorCode.INVALID_REQUEST
        if not 0 < transaction_timeout_ms <= self.config.transaction_max_timeout_ms:
            return ErrorCode.INVALID_TRANSACTION_TIMEOUT
        return None

    @staticmethod
    def _init_transit(meta, expected, transaction_timeout_ms, now_ms, new_producer_id):
        if meta.is_producer_epoch_exhausted and (expected is None or expected[1] == meta.producer_epoch):
            return meta.prepare_producer_id_rotation(_required(new_producer_id), transaction_timeout_ms,
                                                     now_ms, record_last_epoch=expected is not None)
        return meta.prepare_increment_producer_epoch(
            transaction_timeout_ms, None if expected is None else expected[1], now_ms)

    # -- AddPartitionsToTxn, AddOffsetsToTxn -------------------------------------------

    def add_partitions(self, transactional_id: str, producer_id: int, producer_epoch: int,
                       partitions: Iterable[TopicPartition], now_ms: int) -> TxnResult:
        """AddPartitionsToTxn (a client's, v0-3, or a v4+ batch entry without verify_only).

        Returns:
            ``response``: ``{(topic, index): ErrorCode}``, the same code for
            every partition (Kafka's answer is all or nothing).
        """
        partitions = frozenset(partitions)
        result = TxnResult()
        error = self._check_add(transactional_id, producer_id, producer_epoch)
        meta = self.transactions.get(transactional_id)
        if error is None and meta.state is ONGOING and partitions <= meta.partitions:
            error = ErrorCode.NONE  # nothing new: answer at once, write nothing
        if error is None:
            self._write(meta, meta.prepare_add_partitions(partitions, now_ms), result)
            error = ErrorCode.NONE
        result.response = {partition: error for partition in partitions}
        return result

    def _check_add(self, transactional_id, producer_id, producer_epoch) -> ErrorCode | None:
        if not transactional_id:
            return ErrorCode.INVALID_REQUEST
        meta = self.transactions.get(transactional_id)
        if meta is None or meta.producer_id != producer_id:
            return ErrorCode.INVALID_PRODUCER_ID_MAPPING
        if meta.producer_epoch != producer_epoch:
            return ErrorCode.PRODUCER_FENCED
        if meta.state in (PREPARE_COMMIT, PREPARE_ABORT):
            return ErrorCode.CONCURRENT_TRANSACTIONS
        return None

    def verify_partitions(self, transactional_id: str, producer_id: int, producer_epoch: int,
                          partitions: Iterable[TopicPartition]) -> dict[TopicPartition, ErrorCode]:
        """AddPartitionsToTxn v4+ with verify_only: are these partitions in the transaction?

        A read-only query (KIP-890 part 1), the partition leader's question
        before it appends a producer's first transactional batch. Returns
        ``{(topic, index): ErrorCode}``: NONE for a partition in the open
        transaction, TRANSACTION_ABORTABLE for one that is not; one error
        for all on a wrong id or epoch, or while a commit/abort completes.
        """
        partitions = frozenset(partitions)
        if not transactional_id:
            return dict.fromkeys(partitions, ErrorCode.INVALID_REQUEST)
        meta = self.transactions.get(transactional_id)
        if meta is None or meta.producer_id != producer_id:
            return dict.fromkeys(partitions, ErrorCode.INVALID_PRODUCER_ID_MAPPING)
        if meta.producer_epoch != producer_epoch:
            return dict.fromkeys(partitions, ErrorCode.PRODUCER_FENCED)
        if meta.state in (PREPARE_COMMIT, PREPARE_ABORT):
            return dict.fromkeys(partitions, ErrorCode.CONCURRENT_TRANSACTIONS)
        return {p: ErrorCode.NONE if p in meta.partitions else ErrorCode.TRANSACTION_ABORTABLE
                for p in partitions}

    def add_offsets(self, transactional_id: str, producer_id: int, producer_epoch: int,
                    group_partition: int, now_ms: int) -> TxnResult:
        """AddOffsetsToTxn: add the group's ``__consumer_offsets`` partition to the transaction.

        Args:
            group_partition: ``partition_for(group_id)`` in ``__consumer_offsets``.

        Returns:
            ``response``: an ``ErrorCode``.
        """
        partition = (CONSUMER_OFFSETS_TOPIC, group_partition)
        result = self.add_partitions(transactional_id, producer_id, producer_epoch, [partition], now_ms)
        result.response = result.response[partition]
        return result

    # -- EndTxn and the markers --------------------------------------------------------

    def end_txn(self, transactional_id: str, producer_id: int, producer_epoch: int, commit: bool,
                now_ms: int) -> TxnResult:
        """EndTxn: commit or abort the open transaction (transaction version 1).

        Writes PREPARE_COMMIT or PREPARE_ABORT and asks for the markers; the
        answer goes out once that record is written (the markers follow).
        A retry after the transaction completed in the same direction gets
        NONE; the other direction gets INVALID_TXN_STATE; a retry while the
        markers are being written gets CONCURRENT_TRANSACTIONS.

        Returns:
            ``response``: ``{"error_code", "producer_id", "producer_epoch"}``
            (EndTxn v5's fields; always -1, -1 with transaction version 1).
        """
        result = TxnResult()
        meta = self.transactions.get(transactional_id)
        error = self._check_end(meta, transactional_id, producer_id, producer_epoch, commit)
        if error is not None:
            return _end_response(result, error)
        self._prepare_end(meta, commit, now_ms, result)
        return _end_response(result, ErrorCode.NONE)

    def _check_end(self, meta, transactional_id, producer_id, producer_epoch, commit) -> ErrorCode | None:
        if not transactional_id:
            return ErrorCode.INVALID_REQUEST
        if meta is None or meta.producer_id != producer_id:
            return ErrorCode.INVALID_PRODUCER_ID_MAPPING
        if meta.producer_epoch != producer_epoch:
            return ErrorCode.PRODUCER_FENCED
        if meta.state is ONGOING:
            return None
        done, completing = (COMPLETE_COMMIT, PREPARE_COMMIT) if commit else (COMPLETE_ABORT, PREPARE_ABORT)
        if meta.state is done:
            return ErrorCode.NONE
        if meta.state is completing:
            return ErrorCode.CONCURRENT_TRANSACTIONS
        return ErrorCode.INVALID_TXN_STATE

    def _prepare_end(self, meta: TransactionMetadata, commit: bool, now_ms: int, result: TxnResult,
                     fence: TxnTransitMetadata | None = None) -> None:
        """Write PREPARE_*, then ask for the markers (or complete at once: no partitions)."""
        target = PREPARE_COMMIT if commit else PREPARE_ABORT
        self._write(meta, meta.prepare_abort_or_commit(target, now_ms, fence), result)
        if meta.partitions:
            result.markers.append(self._marker_request(meta))
        else:
            self._write(meta, meta.prepare_complete(now_ms), result)

    def _marker_request(self, meta: TransactionMetadata) -> MarkerRequest:
        return MarkerRequest(
            transactional_id=meta.transactional_id, producer_id=meta.producer_id,
            producer_epoch=meta.producer_epoch, coordinator_epoch=self.coordinator_epoch,
            commit=meta.state is PREPARE_COMMIT, partitions=sorted(meta.partitions))

    def _abort_with_fence(self, meta: TransactionMetadata, now_ms: int, result: TxnResult) -> None:
        """The coordinator's own abort: bump the epoch (fencing the producer), then PREPARE_ABORT."""
        fence = meta.prepare_fence_producer_epoch()
        self._prepare_end(meta, False, now_ms, result, fence)

    def markers_written(self, transactional_id: str, producer_id: int, producer_epoch: int,
                        now_ms: int) -> TxnResult:
        """Every marker of the prepared transaction is written: COMPLETE_COMMIT or COMPLETE_ABORT.

        Returns:
            ``response``: NONE when the transaction was completed (or had
            been already); another ``ErrorCode`` when this producer or
            transaction is no longer the one prepared (nothing written).
        """
        result = TxnResult()
        meta = self.transactions.get(transactional_id)
        if meta is None or meta.producer_id != producer_id:
            result.response = ErrorCode.INVALID_PRODUCER_ID_MAPPING
        elif meta.producer_epoch != producer_epoch:
            result.response = ErrorCode.PRODUCER_FENCED
        elif meta.state in (COMPLETE_COMMIT, COMPLETE_ABORT):
            result.response = ErrorCode.NONE
        elif meta.state not in (PREPARE_COMMIT, PREPARE_ABORT):
            result.response = ErrorCode.INVALID_TXN_STATE
        else:
            self._write(meta, meta.prepare_complete(now_ms), result)
            result.response = ErrorCode.NONE
        return result

    # -- timers -------------------------------------------------------------------------

    def poll_timers(self, now_ms: int) -> TxnResult:
        """Run the periodic checks that are due.

        - Abort every ONGOING transaction older than its timeout, fencing its
          producer (the epoch goes up by one).
        - Forget every transactional id idle for
          ``transactional.id.expiration.ms`` with no open transaction.

        ``response`` is None.
        """
        result = TxnResult()
        self._schedule(now_ms)
        if now_ms >= self._next_abort_check_ms:
            self._abort_timed_out_transactions(now_ms, result)
            self._next_abort_check_ms = now_ms + self.config.abort_timed_out_transactions_interval_ms
        if now_ms >= self._next_expiration_check_ms:
            self._remove_expired_transactional_ids(now_ms, result)
            self._next_expiration_check_ms = now_ms + self.config.remove_expired_transactional_ids_interval_ms
        return result

    def next_deadline_ms(self) -> int | None:
        """When ``poll_timers`` should run next (None before ``on_loaded``)."""
        if self._next_abort_check_ms is None:
            return None
        return min(self._next_abort_check_ms, self._next_expiration_check_ms)

    def _schedule(self, now_ms: int) -> None:
        if self._next_abort_check_ms is None:
            self._next_abort_check_ms = now_ms + self.config.abort_timed_out_transactions_interval_ms
            self._next_expiration_check_ms = now_ms + self.config.remove_expired_transactional_ids_interval_ms

    def _abort_timed_out_transactions(self, now_ms: int, result: TxnResult) -> None:
        for meta in list(self.transactions.values()):
            if meta.state is not ONGOING or meta.txn_start_timestamp_ms + meta.txn_timeout_ms >= now_ms:
                continue
            if meta.producer_epoch >= MAX_PRODUCER_EPOCH:
                continue  # no epoch left to fence with (only a corrupt log gets here): keep the timer alive
            self._abort_with_fence(meta, now_ms, result)

    def _remove_expired_transactional_ids(self, now_ms: int, result: TxnResult) -> None:
        horizon = now_ms - self.config.transactional_id_expiration_ms
        for transactional_id, meta in list(self.transactions.items()):
            if meta.state.is_expiration_allowed and meta.txn_last_update_timestamp_ms <= horizon:
                meta.prepare_dead()  # checks the transition; DEAD itself is never stored
                del self.transactions[transactional_id]
                result.records.append(transaction_log_tombstone(transactional_id))

    # -- Describe / ListTransactions -------------------------------------------------------

    def describe(self, transactional_ids: Iterable[str]) -> list[dict]:
        """DescribeTransactions entries (the response's ``transaction_states``), in request order."""
        return [self._describe_one(transactional_id) for transactional_id in transactional_ids]

    def _describe_one(self, transactional_id: str) -> dict:
        entry = {"error_code": ErrorCode.NONE, "transactional_id": transactional_id,
                 "transaction_state": "", "transaction_timeout_ms": 0, "transaction_start_time_ms": -1,
                 "producer_id": NO_PRODUCER_ID, "producer_epoch": NO_PRODUCER_EPOCH, "topics": []}
        meta = self.transactions.get(transactional_id)
        if not transactional_id:
            entry["error_code"] = ErrorCode.INVALID_REQUEST
        elif meta is None:
            entry["error_code"] = ErrorCode.TRANSACTIONAL_ID_NOT_FOUND
        else:
            entry.update(transaction_state=meta.state.state_name, transaction_timeout_ms=meta.txn_timeout_ms,
                         transaction_start_time_ms=meta.txn_start_timestamp_ms, producer_id=meta.producer_id,
                         producer_epoch=meta.producer_epoch, topics=_topics(meta.partitions))
        return entry

    def list_transactions(self, state_filters: Iterable[str], producer_id_filters: Iterable[int],
                          duration_filter_ms: int, now_ms: int) -> list[dict]:
        """ListTransactions entries ``{transactional_id, producer_id, transaction_state}``.

        Empty filters match everything; a state name Kafka does not know
        matches nothing (``unknown_state_filters`` lists those for the
        response). ``duration_filter_ms >= 0`` keeps transactions that
        started more than that long ago (Kafka compares with the start
        timestamp, -1 for an id with no transaction, so those always pass).
        """
        state_filters, producer_ids = set(state_filters), set(producer_id_filters)
        states = {TransactionState.from_name(name) for name in state_filters} - {None}
        entries = []
        for meta in self.transactions.values():
            if producer_ids and meta.producer_id not in producer_ids:
                continue
            if state_filters and meta.state not in states:
                continue
            if duration_filter_ms >= 0 and now_ms - meta.txn_start_timestamp_ms <= duration_filter_ms:
                continue
            entries.append({"transactional_id": meta.transactional_id, "producer_id": meta.producer_id,
                            "transaction_state": meta.state.state_name})
        return entries

    # -- loading ------------------------------------------------------------------------

    def replay(self, key: bytes, value: bytes | None) -> None:
        """Apply one ``__transaction_state`` record (loading): the latest record of an id wins.

        A key version Kafka does not know is skipped (as Kafka does).

        Raises:
            ValueError: undecodable bytes.
        """
        transactional_id = decode_key(key)
        if transactional_id is None:
            return
        log_value = decode_value(value)
        if log_value is None:
            self.transactions.pop(transactional_id, None)
        else:
            self.transactions[transactional_id] = TransactionMetadata.from_log_value(transactional_id, log_value)

    def on_loaded(self, now_ms: int) -> TxnResult:
        """The partition is loaded: start the timers and finish interrupted commits and aborts.

        Call it after replaying the partition (even an empty one). A
        transaction left in PREPARE_COMMIT or PREPARE_ABORT by the previous
        coordinator gets its markers again (``markers``); one with no
        partitions is completed at once (``records``).
        """
        result = TxnResult()
        self._schedule(now_ms)
        for meta in self.transactions.values():
            if meta.state not in (PREPARE_COMMIT, PREPARE_ABORT):
                continue
            if meta.partitions:
                result.markers.append(self._marker_request(meta))
            else:
                self._write(meta, meta.prepare_complete(now_ms), result)
        return result

    # -- helpers ------------------------------------------------------------------------

    @staticmethod
    def _write(meta: TransactionMetadata, transit: TxnTransitMetadata, result: TxnResult) -> None:
        """Apply a transition and add its record to the result."""
        meta.complete_transition(transit)
        result.records.append(transaction_log_record(meta.transactional_id, transit.to_log_value()))


def unknown_state_filters(state_filters: Iterable[str]) -> list[str]:
    """The ListTransactions state filters that name no state (the response's ``unknown_state_filters``)."""
    return [name for name in state_filters if TransactionState.from_name(name) is None]


def _expected(producer_id: int, producer_epoch: int) -> tuple[int, int] | None:
    """The (producer id, epoch) an InitProducerId claims, or None for a fresh producer."""
    return None if producer_id == NO_PRODUCER_ID else (producer_id, producer_epoch)


def _is_valid_producer_id(meta: TransactionMetadata, expected: tuple[int, int] | None) -> bool:
    """Kafka's ``isValidProducerId``: may this client take over the transactional id?

    Yes for a fresh producer, for a just-created id (no epoch yet), for the
    current producer id, and for the previous id with an exhausted epoch (a
    retry after a new id was handed out but the answer was lost).
    """
    if expected is None or meta.producer_epoch == NO_PRODUCER_EPOCH:
        return True
    producer_id, epoch = expected
    return producer_id == meta.producer_id or (
        producer_id == meta.previous_producer_id and is_epoch_exhausted(epoch))


def _required(new_producer_id: int | None) -> int:
    if new_producer_id is None:
        raise ValueError("a new producer id is needed here (see needs_new_producer_id)")
    return new_producer_id


def _init_response(result: TxnResult, error: ErrorCode, producer_id: int = NO_PRODUCER_ID,
                   producer_epoch: int = NO_PRODUCER_EPOCH) -> TxnResult:
    result.response = {"error_code": error, "producer_id": producer_id, "producer_epoch": producer_epoch}
    return result


def _end_response(result: TxnResult, error: ErrorCode) -> TxnResult:
    # EndTxn v5's producer id and epoch are for transaction version 2 (the
    # epoch bumped by the commit); with version 1 Kafka always answers -1, -1.
    result.response = {"error_code": error, "producer_id": NO_PRODUCER_ID, "producer_epoch": NO_PRODUCER_EPOCH}
    return result


def _topics(partitions) -> list[dict]:
    by_topic: dict[str, list[int]] = {}
    for topic, index in sorted(partitions):
        by_topic.setdefault(topic, []).append(index)
    return [{"topic": topic, "partitions": indexes} for topic, indexes in by_topic.items()]

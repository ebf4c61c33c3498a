"""Idempotent-producer state of one partition (Kafka's ``ProducerStateManager``).

What problem this solves
    A producer that gets no answer to a Produce request cannot know whether
    the broker appended the batch, so it sends it again. Without help, the
    retry would be appended a second time. With ``enable.idempotence`` (the
    default in Kafka clients), every batch carries the producer's id
    (``producer_id``), its ``producer_epoch`` and a ``base_sequence``: the
    per-partition number of the batch's first record, counting from 0 and
    wrapping to 0 after Int32 max. This module remembers, per partition and
    per producer id, what was appended last, so that the broker can tell a
    retry from new data before it appends anything.

The rules (``check``), in Kafka's order
    1. ``producer_id == -1``: the producer is not idempotent; no checks.
    2. **Duplicate**: same epoch and the same ``[base_sequence,
       last_sequence]`` as one of the producer's last five batches. Nothing is
       appended; the broker answers with the *original* offsets, as if the
       retry had succeeded. This is what makes a retry safe.
    3. **Fencing**: an epoch older than the one we know raises
       ``INVALID_PRODUCER_EPOCH``. A new epoch means the producer was reset
       (InitProducerId, or an epoch bump after an error); batches still in
       flight from the old incarnation must never land after the new ones.
    4. **A new epoch starts at sequence 0**, else ``OUT_OF_ORDER_SEQUENCE_NUMBER``.
    5. **Same epoch: no gaps**. ``base_sequence`` must be ``last_sequence + 1``
       (or 0 after Int32 max), else ``OUT_OF_ORDER_SEQUENCE_NUMBER``: an earlier
       batch is missing, so appending this one would leave a hole.
    6. **Unknown producer**: accepted whatever its sequence. This is what
       Apache Kafka 4.0 does (``ProducerAppendInfo.checkSequence``: "If there
       is no current producer epoch (possibly because all producer records
       have been deleted due to retention or the DeleteRecords API) accept
       writes with any sequence number"). Before KIP-360 (Kafka 2.5) the broker
       answered ``UNKNOWN_PRODUCER_ID`` here; that error is retired. Rejecting
       would make an idle producer whose state expired fail for good (for
       librdkafka an out-of-order sequence is fatal).

Why five batches
    An idempotent producer keeps at most ``max.in.flight.requests.per.connection
    <= 5`` requests in flight per connection, so a retry is always a retry of
    one of the last five batches the producer sent to this partition. Kafka
    keeps exactly five (``ProducerStateEntry.NUM_BATCHES_TO_RETAIN``).

Life cycle
    ``check(batch)`` before the append, ``update(batch, first_offset,
    last_offset, now_ms)`` after it; ``load_from_batches`` replays batches read
    back from the log (recovery runs the same code as normal operation); a
    snapshot (``<20-digit offset>.snapshot`` in the partition directory, as
    Kafka names it) saves replaying the whole log at start-up. ``recover``
    loads the newest snapshot at or below the log end offset and replays the
    batches after it. Producers idle for ``producer.id.expiration.ms``
    (default 86400000, one day) are forgotten by ``remove_expired_producers``;
    as in Kafka, "idle" is measured from the max timestamp of the producer's
    last batch, so a rebuilt state ages exactly like the live one.

Differences from Kafka, on purpose
    - The snapshot content is msgpack, not Kafka's binary schema with a CRC,
      and it keeps all five batches of each producer (Kafka keeps only the
      last one, so right after a restart Kafka can only recognise a retry of
      the last batch). The file *name* is Kafka's. It also keeps the
      completed transactions whose markers were not yet below the high
      watermark, so the last stable offset does not jump past them on a
      restart (Kafka forgets them).
    - Transaction verification (KIP-890) keeps only the guard and its
      creation time, not the lowest sequence and epoch Kafka keeps for
      transaction version 2 (this broker serves transaction version 1).

Transactions (KIP-98)
    A transactional data batch from a producer with no ongoing transaction
    starts one at the batch's first offset (``current_txn_first_offset``);
    a COMMIT or ABORT control batch (the *marker*) ends it and remembers the
    marker's ``coordinator_epoch``. A transaction that ended is a
    ``CompletedTxn``; it stays *unreplicated* until the high watermark passes
    its marker. ``first_unstable_offset`` is the smallest first offset of
    the ongoing and unreplicated transactions: no read_committed consumer may
    read at or past it (``UnifiedLog.last_stable_offset``). Checks on a
    marker (``check_marker``): an older producer epoch is
    INVALID_PRODUCER_EPOCH, an older coordinator epoch
    TRANSACTION_COORDINATOR_FENCED. A producer with an ongoing transaction
    never expires, and a non-transactional batch from it is
    INVALID_TXN_STATE.

Verification (KIP-890 part 1)
    Before the first batch of a transaction is appended, the partition
    leader asks the transaction coordinator whether the partition really is
    in the producer's transaction. ``maybe_create_verification_state``
    hands out a ``VerificationGuard`` (a unique token) for the question; the
    answer is only accepted (``check_batches(..., verification_guard=)``) if
    that guard is still the producer's current one. A marker, or the start
    of the transaction, clears it, so a verification that raced with an
    abort marker cannot open a transaction the coordinator never heard of.

Sans-I/O: no clock reads (``now_ms`` is passed in) and no sockets; only the
snapshot functions touch files. Not task-safe: owned by one ``Partition``.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import os
import re
from typing import Callable, Iterable, Protocol

import msgpack

from minikafka.errors import ErrorCode, KafkaError
from minikafka.fileutil import atomic_write

NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
NO_SEQUENCE = -1
NO_TIMESTAMP = -1
INT32_MAX = 2**31 - 1
# max.in.flight.requests.per.connection is at most 5 with idempotence.
NUM_BATCHES_TO_RETAIN = 5
DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000

SNAPSHOT_SUFFIX = ".snapshot"
SNAPSHOT_VERSION = 2  # 2 adds each producer's coordinator epoch and ongoing transaction
SNAPSHOTS_TO_KEEP = 2
_SNAPSHOT_NAME = re.compile(r"^(\d{20})\.snapshot$")


class BatchLike(Protocol):
    """What this module reads from a batch (``minikafka_core.batch.BatchInfo``)."""

    producer_id: int
    producer_epoch: int
    base_sequence: int
    last_sequence: int
    last_offset_delta: int
    max_timestamp: int
    base_offset: int
    is_control: bool
    is_transactional: bool


class ControlLike(Protocol):
    """A transaction marker's content (``minikafka_core.records.ControlRecord``)."""

    type: int  # ControlRecordType: 0 ABORT, 1 COMMIT
    coordinator_epoch: int | None


CONTROL_TYPE_ABORT, CONTROL_TYPE_COMMIT = 0, 1


@dataclasses.dataclass(frozen=True)
class CompletedTxn:
    """A transaction its marker just ended (Kafka's ``CompletedTxn``).

    Attributes:
        first_offset: the offset of its first data batch here.
        last_offset: the marker's offset.
        last_stable_offset: the partition's last stable offset once this
            transaction is complete: the first offset of the earliest other
            ongoing transaction, else ``last_offset + 1`` (what the
            ``.txnindex`` entry stores).
    """

    producer_id: int
    first_offset: int
    last_offset: int
    is_aborted: bool
    last_stable_offset: int = -1


@dataclasses.dataclass(frozen=True)
class ActiveProducer:
    """One producer as DescribeProducers reports it (-1 for "none")."""

    producer_id: int
    producer_epoch: int
    last_sequence: int
    last_timestamp: int
    coordinator_epoch: int
    current_txn_start_offset: int


class VerificationGuard:
    """A unique token for one transaction verification (Kafka's ``VerificationGuard``).

    Guards compare by value; each new one gets the next value of a counter,
    so a stale guard never equals the current one.
    """

    __slots__ = ("value",)
    _next = itertools.count(1)

    def __init__(self, value: int | None = None):
        self.value = next(VerificationGuard._next) if value is None else value

    def __eq__(self, other) -> bool:
        return isinstance(other, VerificationGuard) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __repr__(self) -> str:
        return f"VerificationGuard({self.value})"

    def verify(self, request_guard: VerificationGuard | None) -> bool:
        """True if ``request_guard`` is this (current) guard and not the sentinel."""
        return request_guard is not None and request_guard != SENTINEL_GUARD and request_guard == self


SENTINEL_GUARD = VerificationGuard(0)


@dataclasses.dataclass
class VerificationStateEntry:
    """A verification in progress for one producer (Kafka's ``VerificationStateEntry``)."""

    timestamp: int
    verification_guard: VerificationGuard


@dataclasses.dataclass(frozen=True)
class BatchMetadata:
    """Where one appended batch of a producer landed (Kafka's ``BatchMetadata``)."""

    first_sequence: int
    last_sequence: int
    first_offset: int
    last_offset: int
    timestamp: int


@dataclasses.dataclass(frozen=True)
class DuplicateBatch:
    """``check`` found a retry of an appended batch: answer with these, append nothing.

    Attributes:
        first_offset: offset the original batch was given.
        last_offset: offset of the original batch's last record.
        timestamp: the original batch's max timestamp (Kafka answers it as
            ``log_append_time_ms`` for a duplicate).
    """

    first_offset: int
    last_offset: int
    timestamp: int


@dataclasses.dataclass
class ProducerStateEntry:
    """One producer's state in one partition: its epoch and its last five batches."""

    producer_id: int
    producer_epoch: int = NO_PRODUCER_EPOCH
    batches: collections.deque = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=NUM_BATCHES_TO_RETAIN)
    )
    last_timestamp: int = NO_TIMESTAMP
    coordinator_epoch: int = -1  # of the last marker
    current_txn_first_offset: int | None = None  # None: no ongoing transaction

    @property
    def last_sequence(self) -> int:
        """Sequence of the last appended record, or -1 if none in this epoch."""
        return self.batches[-1].last_sequence if self.batches else NO_SEQUENCE

    @property
    def last_offset(self) -> int:
        """Offset of the last appended record, or -1 if none in this epoch."""
        return self.batches[-1].last_offset if self.batches else -1

    def find_duplicate(self, batch: BatchLike) -> BatchMetadata | None:
        """The cached batch with the same epoch and sequence range, if any."""
        if batch.producer_epoch != self.producer_epoch:
            return None
        for cached in self.batches:
            if (cached.first_sequence, cached.last_sequence) == (
                batch.base_sequence,
                batch.last_sequence,
            ):
                return cached
        return None

    def update_epoch(self, producer_epoch: int) -> None:
        """Move to another epoch; sequences restart, so the cached batches go."""
        if producer_epoch != self.producer_epoch:
            self.producer_epoch = producer_epoch
            self.batches.clear()

    def add_batch(self, producer_epoch: int, metadata: BatchMetadata) -> None:
        """Remember an appended batch; the deque drops the sixth-oldest."""
        self.update_epoch(producer_epoch)
        self.batches.append(metadata)
        self.last_timestamp = metadata.timestamp

    def copy(self) -> ProducerStateEntry:
        """An independent copy (for validating several batches of one request)."""
        return dataclasses.replace(
            self, batches=collections.deque(self.batches, maxlen=NUM_BATCHES_TO_RETAIN)
        )


def in_sequence(last_sequence: int, next_sequence: int) -> bool:
    """True if ``next_sequence`` directly follows ``last_sequence`` (wrapping at Int32 max)."""
    if last_sequence == INT32_MAX:
        return next_sequence == 0
    return next_sequence == last_sequence + 1


def validate_sequence(entry: ProducerStateEntry | None, batch: BatchLike) -> None:
    """Raise ``KafkaError`` unless ``batch`` may follow ``entry``; rules 3 to 6 above.

    Args:
        entry: the producer's state, ``None`` for a producer we do not know.
        batch: a data batch from this producer (not a duplicate).
    """
    pid, epoch, seq = batch.producer_id, batch.producer_epoch, batch.base_sequence
    if seq < 0:
        # Kafka's LogValidator: a batch with a producer id must carry a sequence.
        raise KafkaError(
            ErrorCode.INVALID_RECORD,
            f"batch of producer {pid} has a producer id but no sequence ({seq})",
        )
    if entry is None or entry.producer_epoch == NO_PRODUCER_EPOCH:
        return  # Rule 6: state lost (expired, retention) or never seen: accept.
    if epoch < entry.producer_epoch:
        raise KafkaError(
            ErrorCode.INVALID_PRODUCER_EPOCH,
            f"producer {pid} sent epoch {epoch}, older than the current "
            f"epoch {entry.producer_epoch}: fenced",
        )
    if epoch > entry.producer_epoch:
        if seq != 0:
            raise KafkaError(
                ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                f"producer {pid} started new epoch {epoch} (current "
                f"{entry.producer_epoch}) at sequence {seq}; a new epoch starts at 0",
            )
        return
    if not in_sequence(entry.last_sequence, seq):
        raise KafkaError(
            ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
            f"producer {pid} epoch {epoch} sent sequence {seq}, expected "
            f"{0 if entry.last_sequence == INT32_MAX else entry.last_sequence + 1}",
        )


def _check_epoch(entry: ProducerStateEntry | None, batch: BatchLike) -> None:
    """Rule 3 alone (Kafka's ``checkProducerEpoch``), for batches without sequence checks."""
    if (entry is not None and entry.producer_epoch != NO_PRODUCER_EPOCH
            and batch.producer_epoch < entry.producer_epoch):
        raise KafkaError(
            ErrorCode.INVALID_PRODUCER_EPOCH,
            f"producer {batch.producer_id} sent epoch {batch.producer_epoch}, older than the "
            f"current epoch {entry.producer_epoch}: fenced",
        )


def _check_transactional(entry: ProducerStateEntry | None, batch: BatchLike) -> None:
    """A producer inside a transaction may only send transactional batches (Kafka's rule)."""
    if entry is not None and entry.current_txn_first_offset is not None and not batch.is_transactional:
        raise KafkaError(
            ErrorCode.INVALID_TXN_STATE,
            f"expected a transactional batch from producer {batch.producer_id}, "
            f"which has an ongoing transaction",
        )


class ProducerStateManager:
    """Idempotence state of one partition: producer id -> ``ProducerStateEntry``.

    Owned by one ``Partition``; not task-safe (the partition serialises
    ``check`` + append + ``update``).

    Args:
        producer_id_expiration_ms: ``producer.id.expiration.ms``; how long a
            producer may stay idle before its state is dropped.
        transaction_verification_enabled:
            ``transaction.partition.verification.enable``: the first batch of
            a transaction needs a current ``VerificationGuard``.
    """

    def __init__(self, producer_id_expiration_ms: int = DEFAULT_PRODUCER_ID_EXPIRATION_MS,
                 transaction_verification_enabled: bool = True):
        self.producer_id_expiration_ms = producer_id_expiration_ms
        self.transaction_verification_enabled = transaction_verification_enabled
        self.producers: dict[int, ProducerStateEntry] = {}
        # Kafka's lastMapOffset: every batch below this offset is reflected here.
        self.map_end_offset = 0
        # producer id -> first offset of its ongoing transaction (Kafka's ongoingTxns)
        self.ongoing_txns: dict[int, int] = {}
        # completed transactions whose marker is not yet below the high watermark
        self.unreplicated_txns: list[CompletedTxn] = []
        self.verification_states: dict[int, VerificationStateEntry] = {}

    # -- before and after an append ------------------------------------------

    def check(self, batch: BatchLike) -> DuplicateBatch | None:
        """Validate one batch before it is appended.

        Returns:
            ``DuplicateBatch`` if this is a retry of one of the producer's last
            five batches (do not append it), else ``None`` (append it).

        Raises:
            KafkaError: INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE_NUMBER or
                INVALID_RECORD, with the reason.
        """
        return self.check_batches([batch])

    def check_batches(self, batches: Iterable[BatchLike], *, check_sequences: bool = True,
                      verify_transactions: bool = False,
                      verification_guard: VerificationGuard | None = None) -> DuplicateBatch | None:
        """Validate all the batches of one produce request, in order.

        As in Kafka, a later batch of the same producer is checked against the
        earlier ones of the same request, while duplicates are looked for only
        among batches already appended; the first duplicate answers for the
        whole request.

        Args:
            check_sequences: a producer's batches (Kafka's
                ``AppendOrigin.CLIENT``): look for duplicates and check
                sequences. A coordinator's own batches (``COORDINATOR``)
                only get the epoch check: they all carry sequence 0.
            verify_transactions: KIP-890 applies (``CLIENT`` and
                ``COORDINATOR`` appends).
            verification_guard: what ``maybe_create_verification_state``
                gave this request (None: no verification was made).

        Raises:
            KafkaError: also INVALID_TXN_STATE: a transactional batch with no
                ongoing transaction here and no current guard (KIP-890), or a
                non-transactional batch from a producer inside a transaction.
        """
        pending: dict[int, ProducerStateEntry] = {}
        for batch in batches:
            pid = batch.producer_id
            if pid == NO_PRODUCER_ID or batch.is_control:
                continue
            appended = self.producers.get(pid)
            duplicate = appended.find_duplicate(batch) if appended and check_sequences else None
            if duplicate is not None:
                return DuplicateBatch(
                    duplicate.first_offset, duplicate.last_offset, duplicate.timestamp
                )
            if verify_transactions and batch.is_transactional:
                self._check_verified(batch, verification_guard)
            entry = pending.get(pid, appended)
            if check_sequences:
                validate_sequence(entry, batch)
            else:
                _check_epoch(entry, batch)
            _check_transactional(entry, batch)
            if pid not in pending:
                pending[pid] = entry.copy() if entry else ProducerStateEntry(pid)
            if batch.is_transactional and pending[pid].current_txn_first_offset is None:
                pending[pid].current_txn_first_offset = -1  # started; the offset is not known yet
            # Offsets are not known yet; only sequence and epoch matter here.
            pending[pid].add_batch(
                batch.producer_epoch,
                BatchMetadata(batch.base_sequence, batch.last_sequence, -1, -1, NO_TIMESTAMP),
            )
        return None

    def _check_verified(self, batch: BatchLike, guard: VerificationGuard | None) -> None:
        """KIP-890: the first batch of a transaction needs the producer's current guard."""
        if not self.transaction_verification_enabled:
            return
        if self.has_ongoing_transaction(batch.producer_id, batch.producer_epoch):
            return
        if not self.verification_guard(batch.producer_id).verify(guard):
            raise KafkaError(
                ErrorCode.INVALID_TXN_STATE,
                f"transactional batch of producer {batch.producer_id} is not part of an "
                f"ongoing transaction and was not verified with the coordinator",
            )

    def update(
        self,
        batch: BatchLike,
        first_offset: int,
        last_offset: int,
        now_ms: int,
        *,
        log_append_time_ms: int = NO_TIMESTAMP,
        control: ControlLike | None = None,
    ) -> CompletedTxn | None:
        """Record a batch the log has just appended at ``[first_offset, last_offset]``.

        Args:
            now_ms: the broker's clock at the append. Kafka's rules do not need
                it: a producer's age is measured from its batches' timestamps,
                which is also all that replaying the log can see.
            log_append_time_ms: for a LogAppendTime topic, the time the log
                wrote into the batch (``AppendInfo.log_append_time_ms``); the
                batch is then remembered with it, as replay will see it.
                Otherwise the batch's own max timestamp is kept, as Kafka does.
            control: for a control batch, its decoded control record (None:
                the marker's content is unknown or it was emptied by the
                cleaner; only the epoch moves).

        Returns:
            The transaction a marker completed, else None.
        """
        timestamp = batch.max_timestamp
        if log_append_time_ms != NO_TIMESTAMP:
            timestamp = log_append_time_ms
        completed = self._apply(batch, first_offset, last_offset, timestamp, control)
        self.map_end_offset = max(self.map_end_offset, last_offset + 1)
        return completed

    def _apply(self, batch: BatchLike, first_offset: int, last_offset: int, timestamp: int,
               control: ControlLike | None = None) -> CompletedTxn | None:
        """Fold one appended batch into the state, without validation."""
        pid = batch.producer_id
        if pid == NO_PRODUCER_ID:
            return None
        entry = self.producers.setdefault(pid, ProducerStateEntry(pid))
        if batch.is_control:
            entry.update_epoch(batch.producer_epoch)
            entry.last_timestamp = timestamp
            if control is None or control.type not in (CONTROL_TYPE_ABORT, CONTROL_TYPE_COMMIT):
                return None  # unknown content (or emptied by the cleaner): only the epoch moves
            return self._end_transaction(entry, control, first_offset)
        metadata = BatchMetadata(
            batch.base_sequence, batch.last_sequence, first_offset, last_offset, timestamp
        )
        entry.add_batch(batch.producer_epoch, metadata)
        if batch.is_transactional:
            # The transaction has its first offset here: no verification needed any more.
            self.verification_states.pop(pid, None)
            if entry.current_txn_first_offset is None:
                entry.current_txn_first_offset = first_offset  # a transaction begins here
                self.ongoing_txns[pid] = first_offset
        return None

    def _end_transaction(self, entry: ProducerStateEntry, control: ControlLike,
                         marker_offset: int) -> CompletedTxn | None:
        """A marker ends the producer's transaction (Kafka's ``appendEndTxnMarker``).

        Only a non-empty transaction yields a ``CompletedTxn``: a marker with
        no data before it changes neither the last stable offset nor the index.
        """
        pid = entry.producer_id
        if control.coordinator_epoch is not None:
            entry.coordinator_epoch = control.coordinator_epoch
        self.verification_states.pop(pid, None)
        first_offset = entry.current_txn_first_offset
        entry.current_txn_first_offset = None
        if first_offset is None:
            return None
        others = [offset for other, offset in self.ongoing_txns.items() if other != pid]
        self.ongoing_txns.pop(pid, None)
        completed = CompletedTxn(pid, first_offset, marker_offset,
                                 is_aborted=control.type == CONTROL_TYPE_ABORT,
                                 last_stable_offset=min(others, default=marker_offset + 1))
        self.unreplicated_txns.append(completed)
        return completed

    def load_from_batches(self, batches: Iterable[BatchLike],
                          control_of: Callable[[BatchLike], ControlLike | None] | None = None,
                          on_completed: Callable[[CompletedTxn], None] | None = None) -> None:
        """Replay batches read back from the log (recovery, or a follower's fetch).

        No validation: these batches were validated when first appended, just
        as Kafka replays with ``AppendOrigin.REPLICATION``.

        Args:
            control_of: reads a control batch's control record (None: markers
                only move the epoch).
            on_completed: called with each transaction a marker completes
                (recovery rebuilds the ``.txnindex`` from them).
        """
        for batch in batches:
            last_offset = batch.base_offset + batch.last_offset_delta
            control = control_of(batch) if control_of is not None and batch.is_control else None
            completed = self._apply(batch, batch.base_offset, last_offset, batch.max_timestamp, control)
            if completed is not None and on_completed is not None:
                on_completed(completed)
            self.map_end_offset = max(self.map_end_offset, last_offset + 1)

    # -- transactions ----------------------------------------------------------

    def has_ongoing_transaction(self, producer_id: int, producer_epoch: int | None = None) -> bool:
        """True if the producer (with this epoch, if given) is inside a transaction here."""
        entry = self.producers.get(producer_id)
        return (entry is not None and entry.current_txn_first_offset is not None
                and (producer_epoch is None or entry.producer_epoch == producer_epoch))

    def check_marker(self, producer_id: int, producer_epoch: int, coordinator_epoch: int) -> None:
        """Validate a COMMIT/ABORT marker from the coordinator before it is appended.

        Raises:
            KafkaError: INVALID_PRODUCER_EPOCH for an epoch older than the
                producer's, TRANSACTION_COORDINATOR_FENCED for a coordinator
                epoch older than the last marker's (Kafka's
                ``checkProducerEpoch`` and ``checkCoordinatorEpoch``).
        """
        entry = self.producers.get(producer_id)
        if entry is None:
            return
        if entry.producer_epoch != NO_PRODUCER_EPOCH and producer_epoch < entry.producer_epoch:
            raise KafkaError(
                ErrorCode.INVALID_PRODUCER_EPOCH,
                f"marker of producer {producer_id} has epoch {producer_epoch}, older than "
                f"the current epoch {entry.producer_epoch}",
            )
        if entry.coordinator_epoch > coordinator_epoch:
            raise KafkaError(
                ErrorCode.TRANSACTION_COORDINATOR_FENCED,
                f"marker of producer {producer_id} has coordinator epoch {coordinator_epoch}, "
                f"older than {entry.coordinator_epoch}",
            )

    def first_unstable_offset(self) -> int | None:
        """The first offset of the earliest ongoing or unreplicated transaction, or None."""
        if not self.ongoing_txns and not self.unreplicated_txns:
            return None  # the common case, asked on every fetch: no transaction here
        firsts = list(self.ongoing_txns.values())
        firsts += [txn.first_offset for txn in self.unreplicated_txns]
        return min(firsts, default=None)

    def on_high_watermark_updated(self, high_watermark: int) -> None:
        """Completed transactions whose marker is below the high watermark are stable."""
        if self.unreplicated_txns:
            self.unreplicated_txns = [txn for txn in self.unreplicated_txns
                                      if txn.last_offset >= high_watermark]

    def active_producers(self) -> list[ActiveProducer]:
        """Every producer this partition knows, as DescribeProducers reports them."""
        return [
            ActiveProducer(
                entry.producer_id, entry.producer_epoch, entry.last_sequence,
                entry.last_timestamp, entry.coordinator_epoch,
                -1 if entry.current_txn_first_offset is None else entry.current_txn_first_offset,
            )
            for entry in self.producers.values()
        ]

    # -- verification (KIP-890) --------------------------------------------------

    def maybe_create_verification_state(self, producer_id: int, now_ms: int) -> VerificationGuard:
        """The producer's current guard, created if it has none (Kafka keeps it across retries)."""
        entry = self.verification_states.get(producer_id)
        if entry is None:
            entry = VerificationStateEntry(now_ms, VerificationGuard())
            self.verification_states[producer_id] = entry
        return entry.verification_guard

    def verification_guard(self, producer_id: int) -> VerificationGuard:
        """The producer's current guard, or the sentinel (which verifies nothing)."""
        entry = self.verification_states.get(producer_id)
        return entry.verification_guard if entry is not None else SENTINEL_GUARD

    def clear_verification_state(self, producer_id: int) -> None:
        self.verification_states.pop(producer_id, None)

    # -- forgetting producers ------------------------------------------------

    def is_expired(self, entry: ProducerStateEntry, now_ms: int) -> bool:
        """Kafka's rule: no ongoing transaction, and idle (by its last batch
        timestamp) for the expiration time."""
        return (entry.current_txn_first_offset is None
                and now_ms - entry.last_timestamp >= self.producer_id_expiration_ms)

    def remove_expired_producers(self, now_ms: int) -> list[int]:
        """Forget producers idle for ``producer.id.expiration.ms``; return their ids.

        Their next batch is then accepted whatever its sequence (rule 6).
        """
        expired = [pid for pid, e in self.producers.items() if self.is_expired(e, now_ms)]
        for pid in expired:
            del self.producers[pid]
        self.verification_states = {
            pid: v for pid, v in self.verification_states.items()
            if now_ms - v.timestamp < self.producer_id_expiration_ms
        }
        return expired

    def evict_unretained_producers(self, log_start_offset: int) -> list[int]:
        """Forget producers whose last batch lies entirely below ``log_start_offset``.

        Their batches were deleted (retention, DeleteRecords), so the log can no
        longer prove what they wrote. This is Kafka's pre-KIP-360 behaviour
        (``evictUnretainedProducers``); Kafka 4.0 keeps such producers until
        they expire, which lets an idle producer keep its deduplication.
        """
        evicted = [
            pid
            for pid, entry in self.producers.items()
            if entry.batches and entry.last_offset < log_start_offset
            and entry.current_txn_first_offset is None
        ]
        for pid in evicted:
            del self.producers[pid]
        return evicted

    def truncate_fully_and_start_at(self, offset: int) -> None:
        """Forget everything (the log was emptied or replaced from ``offset``)."""
        self._clear()
        self.map_end_offset = offset

    def _clear(self) -> None:
        self.producers.clear()
        self.ongoing_txns.clear()
        self.unreplicated_txns.clear()

    # -- snapshots -----------------------------------------------------------

    def write_snapshot(self, log_dir: str | os.PathLike, offset: int) -> str:
        """Save the state as ``<offset:020d>.snapshot`` in the partition directory.

        ``offset`` is exclusive: the state reflects every batch below it. The
        file is written to a temporary name, fsynced and renamed, so a crash
        leaves either the old files or the complete new one. Only the newest
        ``SNAPSHOTS_TO_KEEP`` snapshots are kept.

        Returns:
            The path of the new snapshot.
        """
        path = os.path.join(log_dir, snapshot_file_name(offset))
        atomic_write(path, msgpack.packb(self._to_snapshot(), use_bin_type=True))
        for old in list_snapshot_offsets(log_dir)[:-SNAPSHOTS_TO_KEEP]:
            os.remove(os.path.join(log_dir, snapshot_file_name(old)))
        return path

    def load_snapshot(self, log_dir: str | os.PathLike, max_offset: int | None = None) -> int | None:
        """Replace the state with the newest readable snapshot at or below ``max_offset``.

        A snapshot that cannot be decoded is deleted and the next older one is
        tried, as Kafka does with a corrupt snapshot.

        Returns:
            The snapshot's offset (replay the log from there), or ``None`` if
            there was none: the state is then empty.
        """
        self._clear()
        for offset in reversed(list_snapshot_offsets(log_dir)):
            if max_offset is not None and offset > max_offset:
                continue
            path = os.path.join(log_dir, snapshot_file_name(offset))
            try:
                with open(path, "rb") as f:
                    self._from_snapshot(msgpack.unpackb(f.read(), raw=False))
            except (ValueError, TypeError, KeyError, msgpack.UnpackException):
                self._clear()
                os.remove(path)
                continue
            self.map_end_offset = offset
            return offset
        return None

    def recover(
        self,
        log_dir: str | os.PathLike,
        log_start_offset: int,
        log_end_offset: int,
        batches_from: Callable[[int], Iterable[BatchLike]],
        now_ms: int,
        *,
        max_snapshot_offset: int | None = None,
        control_of: Callable[[BatchLike], ControlLike | None] | None = None,
        before_replay: Callable[[int], None] | None = None,
        on_completed: Callable[[CompletedTxn], None] | None = None,
    ) -> int:
        """Rebuild the state at start-up or after the log was truncated.

        Deletes snapshots above the log end (they describe records that are
        gone), loads the newest remaining one, drops expired producers and
        replays the batches after it.

        Args:
            batches_from: ``Log.batches``: an iterator of batches from an offset.
            now_ms: the wall clock, for expiration.
            max_snapshot_offset: start from a snapshot at or below this
                offset (the replay must cover it: recovery of the
                ``.txnindex``); default the log end.
            control_of: reads a control batch's record (see ``load_from_batches``).
            before_replay: called with the offset the replay starts from.
            on_completed: called with each transaction the replay completes.

        Returns:
            The offset the replay started from.
        """
        for offset in list_snapshot_offsets(log_dir):
            if offset > log_end_offset:
                os.remove(os.path.join(log_dir, snapshot_file_name(offset)))
        limit = log_end_offset if max_snapshot_offset is None else min(max_snapshot_offset, log_end_offset)
        snapshot_offset = self.load_snapshot(log_dir, max_offset=limit)
        start = max(snapshot_offset or 0, log_start_offset)
        self.map_end_offset = start
        self.remove_expired_producers(now_ms)
        if before_replay is not None:
            before_replay(start)
        if start < log_end_offset:
            self.load_from_batches(batches_from(start), control_of, on_completed)
        self.map_end_offset = log_end_offset
        return start

    def _to_snapshot(self) -> dict:
        """The state as plain msgpack-able data."""
        return {
            "version": SNAPSHOT_VERSION,
            "producers": [
                [
                    e.producer_id,
                    e.producer_epoch,
                    e.last_timestamp,
                    [dataclasses.astuple(b) for b in e.batches],
                    e.coordinator_epoch,
                    -1 if e.current_txn_first_offset is None else e.current_txn_first_offset,
                ]
                for e in self.producers.values()
            ],
            # completed, but their markers were not yet replicated: still unstable
            "unreplicated": [dataclasses.astuple(txn) for txn in self.unreplicated_txns],
        }

    def _from_snapshot(self, data: dict) -> None:
        """Load what ``_to_snapshot`` produced."""
        if data["version"] not in (1, SNAPSHOT_VERSION):
            raise ValueError(f"unknown producer snapshot version {data['version']}")
        for row in data["producers"]:
            producer_id, epoch, last_timestamp, batches = row[:4]
            coordinator_epoch, txn_first_offset = row[4:6] if len(row) >= 6 else (-1, -1)
            entry = ProducerStateEntry(producer_id, epoch, last_timestamp=last_timestamp,
                                       coordinator_epoch=coordinator_epoch)
            entry.batches.extend(BatchMetadata(*b) for b in batches)
            if txn_first_offset >= 0:
                entry.current_txn_first_offset = txn_first_offset
                self.ongoing_txns[producer_id] = txn_first_offset
            self.producers[producer_id] = entry
        self.unreplicated_txns = [CompletedTxn(*txn) for txn in data.get("unreplicated", ())]


def snapshot_file_name(offset: int) -> str:
    """Kafka's snapshot file name: the offset, zero-padded to 20 digits."""
    return f"{offset:020d}{SNAPSHOT_SUFFIX}"


def list_snapshot_offsets(log_dir: str | os.PathLike) -> list[int]:
    """Offsets of the snapshot files in ``log_dir``, oldest first."""
    names = os.listdir(log_dir) if os.path.isdir(log_dir) else []
    return sorted(int(m.group(1)) for m in map(_SNAPSHOT_NAME.match, names) if m)

"""The idempotent producer's bookkeeping: producer id, epoch, sequence numbers.

With ``enable.idempotence=true`` (the default since Kafka 3.0) a retry can
never write a record twice, and retries never reorder records (KIP-98):

- The producer asks a broker for a ``producer_id`` and ``producer_epoch``
  (InitProducerId, ``transactional_id = null``).
- Every batch carries them plus a ``base_sequence``: per partition, the
  records are numbered 0, 1, 2, ... (wrapping at 2**31). The broker keeps the
  last five batches per producer and partition; a batch it already has is
  answered as a duplicate (no second append), and a batch that skips a number
  is refused with ``OUT_OF_ORDER_SEQUENCE_NUMBER``.
- So up to five requests may be in flight per connection
  (``max.in.flight.requests.per.connection`` <= 5): if one fails, the later
  ones fail too (out of order), all are put back in sequence order, and the
  first is resent *alone* until it succeeds (Java's
  ``shouldStopDrainBatchesForPartition``), then the rest follow.

When a sequence number can no longer be trusted (KIP-360): the broker says
``OUT_OF_ORDER_SEQUENCE_NUMBER`` for the very batch it should expect next
(it lost our state), says ``UNKNOWN_PRODUCER_ID``, or a batch with a
sequence failed for good (expired, fatal error) leaving a gap. Then the
producer *bumps its epoch*: InitProducerId with the current id and epoch
returns ``epoch + 1``, every partition restarts at sequence 0, and the batches
still waiting are renumbered from 0 in their order. Kafka's client fails the
batch that got ``OUT_OF_ORDER_SEQUENCE_NUMBER`` (its records may or may not be
in the log) and carries on with the rest; so do we.

Sans-I/O: the ``Sender`` asks this object what to do and tells it what happened.
"""

from __future__ import annotations

import dataclasses

from .accumulator import NO_SEQUENCE, ProducerBatch

SEQUENCE_MODULUS = 2**31


@dataclasses.dataclass
class _PartitionState:
    """Sequence bookkeeping of one partition (Java's ``TopicPartitionEntry``)."""

    next_sequence: int = 0
    last_acked_sequence: int = -1
    unacked: list[ProducerBatch] = dataclasses.field(default_factory=list)  # by base_sequence


class IdempotenceState:
    """Producer id, epoch and per-partition sequences of one producer.

    Owned by the producer's ``Sender``; not task-safe (one Trio thread).

    Attributes:
        producer_id, producer_epoch: -1 until InitProducerId answered.
        bump_required: the epoch must be bumped before more batches are sent.
    """

    def __init__(self):
        self.producer_id = -1
        self.producer_epoch = -1
        self.bump_required = False
        self._partitions: dict[tuple[str, int], _PartitionState] = {}

    @property
    def has_producer_id(self) -> bool:
        return self.producer_id >= 0

    def _state(self, topic_partition) -> _PartitionState:
        state = self._partitions.get(topic_partition)
        if state is None:
            state = self._partitions[topic_partition] = _PartitionState()
        return state

    # -- draining -------------------------------------------------------------

    def may_drain(self, batch: ProducerBatch) -> bool:
        """Whether ``batch`` (its partition's first queued batch) may be sent now.

        A retry (a batch that already has a sequence) goes out only when it is
        the oldest unacknowledged batch of its partition; later batches wait
        behind it, so the log receives them in order.
        """
        if not self.has_producer_id or self.bump_required:
            return False
        state = self._state(batch.topic_partition)
        if batch.base_sequence == NO_SEQUENCE:
            # New batches wait while an older epoch's batches are still out.
            return all(b.producer_epoch == self.producer_epoch for b in state.unacked)
        return bool(state.unacked) and state.unacked[0] is batch

    def assign(self, batch: ProducerBatch) -> None:
        """Stamp a batch with the producer id, epoch and (if new) its sequence."""
        state = self._state(batch.topic_partition)
        if batch.base_sequence == NO_SEQUENCE:
            batch.producer_id, batch.producer_epoch = self.producer_id, self.producer_epoch
            batch.base_sequence = state.next_sequence
            state.next_sequence = (state.next_sequence + batch.record_count) % SEQUENCE_MODULUS
            state.unacked.append(batch)

    # -- outcomes -----------------------------------------------------------------

    def acked(self, batch: ProducerBatch) -> None:
        """The broker appended ``batch`` (or already had it)."""
        state = self._state(batch.topic_partition)
        if batch in state.unacked:
            state.unacked.remove(batch)
        last = (batch.base_sequence + batch.record_count - 1) % SEQUENCE_MODULUS
        if batch.producer_epoch == self.producer_epoch:
            state.last_acked_sequence = last

    def failed(self, batch: ProducerBatch) -> None:
        """``batch`` failed for good. If it had a sequence, later ones have a gap: bump."""
        state = self._state(batch.topic_partition)
        if batch in state.unacked:
            state.unacked.remove(batch)
            if batch.producer_epoch == self.producer_epoch:
                self.bump_required = True

    def replace(self, batch: ProducerBatch, pieces: list[ProducerBatch]) -> None:
        """``batch`` was split (MESSAGE_TOO_LARGE): its pieces take its place and sequences.

        The broker appended none of it, so the pieces carry the same producer
        id and epoch and number the same records the same way, consecutively
        from ``batch.base_sequence`` (Java's ``ProducerBatch.split``).
        """
        sequence = batch.base_sequence
        for piece in pieces:
            piece.producer_id, piece.producer_epoch = batch.producer_id, batch.producer_epoch
            piece.base_sequence = sequence
            sequence = (sequence + piece.record_count) % SEQUENCE_MODULUS
        unacked = self._state(batch.topic_partition).unacked
        if batch in unacked:
            index = unacked.index(batch)
            unacked[index:index + 1] = pieces

    def is_next_expected(self, batch: ProducerBatch) -> bool:
        """Whether the broker should have accepted ``batch``'s sequence (KIP-360).

        True when every earlier batch of the partition is acknowledged: an
        ``OUT_OF_ORDER_SEQUENCE_NUMBER`` then means the broker lost our state,
        not that an earlier batch is still on its way.
        """
        state = self._state(batch.topic_partition)
        expected = (state.last_acked_sequence + 1) % SEQUENCE_MODULUS
        return batch.base_sequence == expected and (not state.unacked or state.unacked[0] is batch)

    def has_unacked(self) -> bool:
        return any(state.unacked for state in self._partitions.values())

    # -- producer id and epoch ---------------------------------------------------

    def set_producer_id(self, producer_id: int, producer_epoch: int) -> None:
        """A new id or epoch from InitProducerId: every partition starts again at 0.

        Batches that had a sequence and still wait to be (re)sent are
        renumbered from 0 in their old order, with the new epoch.
        """
        self.producer_id, self.producer_epoch = producer_id, producer_epoch
        self.bump_required = False
        for state in self._partitions.values():
            waiting = sorted(state.unacked, key=lambda b: b.base_sequence)
            state.unacked, state.next_sequence, state.last_acked_sequence = [], 0, -1
            for batch in waiting:
                batch.base_sequence = NO_SEQUENCE
                self.assign(batch)

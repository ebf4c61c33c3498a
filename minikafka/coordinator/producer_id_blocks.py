"""Producer id blocks and epoch bumps: the sans-I/O rules of producer ids (KIP-730, KIP-360).

Why ids must never repeat
    Each partition deduplicates by ``(producer_id, producer_epoch, sequence)``
    (see ``producer_state.py``). If two producers got the same id, one's
    first batches (sequence 0, 1, ...) could be taken for retries of the
    other's and be silently dropped as duplicates, or fenced. In a cluster
    the id must be unique across *all* brokers, and stay so across restarts
    and controller failovers: a partition's new leader keeps the producer
    state of the old one.

Blocks (Kafka's ``RPCProducerIdManager``)
    The active controller owns the counter. A broker asks it for a block
    with AllocateProducerIds (its broker id and epoch); the controller
    commits a ``ProducerIdsRecord`` moving the cluster's next free id past
    the block and answers ``[producer_id_start, producer_id_start +
    producer_id_len)`` (1000 ids). The broker hands ids out of its *current*
    block without asking again. When 90% of it is used, it fetches the
    *next* block ahead of time, so producers rarely wait; when the current
    block is used up it switches to the next one. A block the broker never
    finishes (it restarted) is simply lost: ids are plentiful (int64),
    repeats are not allowed. ``ProducerIdBlocks`` holds the current and the
    next block and decides when to ask; ``producer_ids.ProducerIdManager``
    does the asking.

Epochs (``bump_epoch``)
    The epoch is what fences an old incarnation of a producer. When a producer
    must be reset, its epoch goes up by one; when the epoch is exhausted
    (``>= Short.MAX_VALUE - 1``, Kafka's ``TransactionMetadata.isEpochExhausted``:
    the coordinator keeps one spare bump to fence on abort) it gets a new
    producer id with epoch 0 (KIP-360). In Kafka 4.0 this rule is applied by
    the transaction coordinator for transactional ids. For a plain idempotent
    producer (no ``transactional_id``) ``InitProducerId`` always answers a new
    id with epoch 0, even if the request names the producer's current id and
    epoch; the client bumps its epoch itself after an error (KIP-360), which
    is why the partition accepts a higher epoch starting at sequence 0.

Nothing here awaits, sleeps or reads a clock.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

from minikafka.errors import ErrorCode, KafkaError

PREFETCH_THRESHOLD = 0.9  # Kafka's ProducerIdManager.PidPrefetchThreshold
# Kafka's epochs are int16; an exhausted epoch still leaves one bump for fencing.
SHORT_MAX = 2**15 - 1
MAX_USABLE_EPOCH = SHORT_MAX - 1


class ProducerIdAndEpoch(NamedTuple):
    """What InitProducerId answers: the producer's id and epoch."""

    producer_id: int
    producer_epoch: int


@dataclasses.dataclass
class ProducerIdsBlock:
    """Ids ``[first_producer_id, first_producer_id + size)``; ``next_producer_id`` is the next to hand out."""

    first_producer_id: int
    size: int
    next_producer_id: int = -1

    def __post_init__(self):
        if self.next_producer_id < 0:
            self.next_producer_id = self.first_producer_id

    @property
    def end(self) -> int:
        return self.first_producer_id + self.size

    @property
    def prefetch_target(self) -> int:
        """Handing out this id starts fetching the next block."""
        return self.first_producer_id + math.floor(self.size * PREFETCH_THRESHOLD)

    def claim(self) -> int | None:
        """The next id of the block, or None if it is used up."""
        if self.next_producer_id >= self.end:
            return None
        self.next_producer_id += 1
        return self.next_producer_id - 1


class ProducerIdBlocks:
    """The block ids are handed out of, and the one fetched ahead of it.

    Owned by one ``ProducerIdManager``; not task-safe on its own (the
    manager changes it only between awaits).
    """

    def __init__(self):
        self._current = ProducerIdsBlock(0, 0)  # used up: the first id asks for a block
        self._next: ProducerIdsBlock | None = None

    @property
    def has_next(self) -> bool:
        """True once the next block is here (no need to ask for one)."""
        return self._next is not None

    def claim(self) -> int | None:
        """An id from the current block, switching to the next block when it is used up.

        None when both are used up: the caller asks the controller for a block.
        """
        producer_id = self._current.claim()
        if producer_id is None and self._next is not None:
            self._current, self._next = self._next, None
            producer_id = self._current.claim()
        return producer_id

    def should_prefetch(self, producer_id: int) -> bool:
        """True if handing out ``producer_id`` crossed the current block's 90% mark."""
        return producer_id == self._current.prefetch_target

    def accept(self, producer_id_start: int, producer_id_len: int) -> None:
        """Take the controller's answer to AllocateProducerIds as the next block.

        Raises:
            KafkaError: UNKNOWN_SERVER_ERROR for a block that is empty or not
                above the ids already handed out (Kafka's sanity checks).
        """
        block = ProducerIdsBlock(producer_id_start, producer_id_len)
        if block.first_producer_id < self._current.end or block.size <= 0:
            raise KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, f"invalid producer id block {block}")
        self._next = block


def bumped_epoch(producer_id: int, producer_epoch: int) -> ProducerIdAndEpoch | None:
    """``(producer_id, producer_epoch + 1)``, or None if the producer needs a new id.

    A new id (with epoch 0) is needed when there is no id yet (``-1``) or the
    epoch is exhausted (KIP-360).
    """
    if producer_id < 0 or producer_epoch < 0 or producer_epoch >= MAX_USABLE_EPOCH:
        return None
    return ProducerIdAndEpoch(producer_id, producer_epoch + 1)

"""Producer ids handed to producers, in blocks allocated by the controller (KIP-730).

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
    repeats are not allowed.

    No block yet, or the controller cannot be reached: InitProducerId answers
    COORDINATOR_LOAD_IN_PROGRESS (a retriable error; Kafka picked it over
    REQUEST_TIMED_OUT because older clients treat that one as fatal), and
    the next request is not sent before a 50 ms back-off.

    Kafka sends the request from a background thread and never blocks a
    request handler. Here the request runs in the task of the InitProducerId
    that needs it: the one that crosses the 90% mark (after taking its id),
    or the first one that finds every block used (the others wait for the
    same answer). Either waits at most ``ALLOCATE_TIMEOUT_S``.

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

Owned by one broker; task-safe within its Trio run (one block request at a
time, the rest of the state changes between awaits).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import NamedTuple

import trio

from minikafka.errors import ErrorCode, KafkaError

log = logging.getLogger("minikafka.producer_ids")

PREFETCH_THRESHOLD = 0.9  # Kafka's ProducerIdManager.PidPrefetchThreshold
RETRY_BACKOFF_S = 0.05  # Kafka's RPCProducerIdManager.RetryBackoffMs
ALLOCATE_TIMEOUT_S = 2.0  # how long a request waits for a block before COORDINATOR_LOAD_IN_PROGRESS
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


class ProducerIdManager:
    """Hands out producer ids from blocks the active controller allocates.

    Args:
        path: unused. Ids used to come from a file in the first log dir; the
            controller's metadata log now keeps the counter for the cluster.
    """

    def __init__(self, path=None):
        self._current = ProducerIdsBlock(0, 0)  # used up: the first id fetches a block
        self._next: ProducerIdsBlock | None = None
        self._request_done: trio.Event | None = None  # set while a block request is in flight
        self._backoff_until = -math.inf  # trio time before which no new request is sent

    async def next_producer_id(self, broker) -> int:
        """A producer id no broker of the cluster handed out before.

        Args:
            broker: the owning broker (its ``controller_channel``, ``node_id``
                and ``lifecycle.broker_epoch`` make the block request).

        Raises:
            KafkaError: COORDINATOR_LOAD_IN_PROGRESS if no block is available
                in time (the client retries).
        """
        producer_id = self._claim()
        if producer_id is None:
            await self._fetch_next_block(broker)
            producer_id = self._claim()
            if producer_id is None:
                raise KafkaError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
                                 "Producer ID block is full. Waiting for next block")
        elif producer_id == self._current.prefetch_target:
            await self._fetch_next_block(broker)
        return producer_id

    def _claim(self) -> int | None:
        """An id from the current block, switching to the next block when it is used up."""
        producer_id = self._current.claim()
        if producer_id is None and self._next is not None:
            self._current, self._next = self._next, None
            producer_id = self._current.claim()
        return producer_id

    async def _fetch_next_block(self, broker) -> None:
        """Make sure a next block is there, or fetching it failed (logged, backed off)."""
        if self._next is not None:
            return
        if self._request_done is not None:  # someone else is asking: wait for that answer
            with trio.move_on_after(ALLOCATE_TIMEOUT_S):
                await self._request_done.wait()
            return
        if trio.current_time() < self._backoff_until:
            return
        self._request_done = trio.Event()
        try:
            self._next = await self._allocate(broker)
        except KafkaError as exc:
            log.info("broker %s: no producer id block: %s", broker.node_id, exc)
            self._backoff_until = trio.current_time() + RETRY_BACKOFF_S
        finally:
            self._request_done.set()
            self._request_done = None

    async def _allocate(self, broker) -> ProducerIdsBlock:
        """One AllocateProducerIds call to the active controller; the block it answers.

        Raises:
            KafkaError: the controller's error, REQUEST_TIMED_OUT, or
                UNKNOWN_SERVER_ERROR for a block that is empty or not above
                the ids already handed out (Kafka's sanity checks).
        """
        request = {"broker_id": broker.node_id, "broker_epoch": broker.lifecycle.broker_epoch}
        response = await broker.controller_channel.call("allocate_producer_ids", request,
                                                        timeout_s=ALLOCATE_TIMEOUT_S)
        if response["error_code"] != ErrorCode.NONE:
            raise KafkaError(ErrorCode(response["error_code"]), "AllocateProducerIds failed")
        block = ProducerIdsBlock(response["producer_id_start"], response["producer_id_len"])
        if block.first_producer_id < self._current.end or block.size <= 0:
            raise KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, f"invalid producer id block {block}")
        return block

    async def init_producer_id(self, broker, producer_id: int = -1,
                               producer_epoch: int = -1) -> ProducerIdAndEpoch:
        """InitProducerId for an idempotent producer (``transactional_id`` null).

        Kafka ignores ``producer_id`` / ``producer_epoch`` here and always
        answers a fresh id with epoch 0; they are accepted so the handler can
        pass the request's fields through unchanged.

        Raises:
            KafkaError: COORDINATOR_LOAD_IN_PROGRESS (see ``next_producer_id``).
        """
        return ProducerIdAndEpoch(await self.next_producer_id(broker), 0)

    async def bump_epoch(self, broker, producer_id: int, producer_epoch: int) -> ProducerIdAndEpoch:
        """The next (id, epoch) for a producer that must fence its old self.

        Args:
            broker: the owning broker (see ``next_producer_id``).
            producer_id: the current id, or -1 if the producer has none yet.
            producer_epoch: the current epoch, or -1.

        Returns:
            ``(producer_id, producer_epoch + 1)``, or a new id with epoch 0 when
            there is no id yet or the epoch is exhausted (KIP-360).
        """
        if producer_id < 0 or producer_epoch < 0 or producer_epoch >= MAX_USABLE_EPOCH:
            return ProducerIdAndEpoch(await self.next_producer_id(broker), 0)
        return ProducerIdAndEpoch(producer_id, producer_epoch + 1)

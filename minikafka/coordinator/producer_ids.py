"""Producer ids for idempotent producers: the Trio driver that asks the controller for blocks.

The rules (blocks of 1000 ids, the 90% prefetch mark, epoch bumps) are
sans-I/O, in ``producer_id_blocks``; this module sends the
AllocateProducerIds requests they call for, through the broker's controller
channel (``ControllerRequests``), stamped with this broker's id and current
broker epoch.

No block yet, or the controller cannot be reached: InitProducerId answers
COORDINATOR_LOAD_IN_PROGRESS (a retriable error; Kafka picked it over
REQUEST_TIMED_OUT because older clients treat that one as fatal), and the
next request is not sent before a 50 ms back-off.

Kafka sends the request from a background thread and never blocks a request
handler. Here the request runs in the task of the InitProducerId that needs
it: the one that crosses the 90% mark (after taking its id), or the first one
that finds every block used (the others wait for the same answer). Either
waits at most ``ALLOCATE_TIMEOUT_S``.

Owned by one broker; task-safe within its Trio run (one block request at a
time, the rest of the state changes between awaits).
"""

from __future__ import annotations

import logging
import math
from typing import Callable

import trio

from minikafka.coordinator.producer_id_blocks import ProducerIdAndEpoch, ProducerIdBlocks, bumped_epoch
from minikafka.errors import ErrorCode, KafkaError
from minikafka.metadata.broker_lifecycle import ControllerRequests

log = logging.getLogger("minikafka.producer_ids")

RETRY_BACKOFF_S = 0.05  # Kafka's RPCProducerIdManager.RetryBackoffMs
ALLOCATE_TIMEOUT_S = 2.0  # how long a request waits for a block before COORDINATOR_LOAD_IN_PROGRESS


class ProducerIdManager:
    """Hands out producer ids from blocks the active controller allocates.

    Args:
        node_id: this broker's ``node.id`` (the block request names it).
        broker_epoch: returns this broker's current broker epoch (from its
            registration; the controller refuses stale ones).
        controller: sends operations to the active controller (the broker's
            ``ControllerChannel``).
    """

    def __init__(self, *, node_id: int, broker_epoch: Callable[[], int], controller: ControllerRequests):
        self.node_id = node_id
        self._broker_epoch = broker_epoch
        self._controller = controller
        self._blocks = ProducerIdBlocks()
        self._request_done: trio.Event | None = None  # set while a block request is in flight
        self._backoff_until = -math.inf  # trio time before which no new request is sent

    async def next_producer_id(self) -> int:
        """A producer id no broker of the cluster handed out before.

        Raises:
            KafkaError: COORDINATOR_LOAD_IN_PROGRESS if no block is available
                in time (the client retries).
        """
        producer_id = self._blocks.claim()
        if producer_id is None:
            await self._fetch_next_block()
            producer_id = self._blocks.claim()
            if producer_id is None:
                raise KafkaError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
                                 "Producer ID block is full. Waiting for next block")
        elif self._blocks.should_prefetch(producer_id):
            await self._fetch_next_block()
        return producer_id

    async def _fetch_next_block(self) -> None:
        """Make sure a next block is there, or fetching it failed (logged, backed off)."""
        if self._blocks.has_next:
            return
        if self._request_done is not None:  # someone else is asking: wait for that answer
            with trio.move_on_after(ALLOCATE_TIMEOUT_S):
                await self._request_done.wait()
            return
        if trio.current_time() < self._backoff_until:
            return
        self._request_done = trio.Event()
        try:
            await self._allocate()
        except KafkaError as exc:
            log.info("broker %s: no producer id block: %s", self.node_id, exc)
            self._backoff_until = trio.current_time() + RETRY_BACKOFF_S
        finally:
            self._request_done.set()
            self._request_done = None

    async def _allocate(self) -> None:
        """One AllocateProducerIds call to the active controller; its block becomes the next one.

        Raises:
            KafkaError: the controller's error, REQUEST_TIMED_OUT, or
                UNKNOWN_SERVER_ERROR for a block ``ProducerIdBlocks.accept`` refuses.
        """
        request = {"broker_id": self.node_id, "broker_epoch": self._broker_epoch()}
        response = await self._controller.call("allocate_producer_ids", request, timeout_s=ALLOCATE_TIMEOUT_S)
        if response["error_code"] != ErrorCode.NONE:
            raise KafkaError(ErrorCode(response["error_code"]), "AllocateProducerIds failed")
        self._blocks.accept(response["producer_id_start"], response["producer_id_len"])

    async def init_producer_id(self, producer_id: int = -1, producer_epoch: int = -1) -> ProducerIdAndEpoch:
        """InitProducerId for an idempotent producer (``transactional_id`` null).

        Kafka ignores ``producer_id`` / ``producer_epoch`` here and always
        answers a fresh id with epoch 0; they are accepted so the handler can
        pass the request's fields through unchanged.

        Raises:
            KafkaError: COORDINATOR_LOAD_IN_PROGRESS (see ``next_producer_id``).
        """
        return ProducerIdAndEpoch(await self.next_producer_id(), 0)

    async def bump_epoch(self, producer_id: int, producer_epoch: int) -> ProducerIdAndEpoch:
        """The next (id, epoch) for a producer that must fence its old self.

        Args:
            producer_id: the current id, or -1 if the producer has none yet.
            producer_epoch: the current epoch, or -1.

        Returns:
            ``(producer_id, producer_epoch + 1)``, or a new id with epoch 0 when
            there is no id yet or the epoch is exhausted (see ``bumped_epoch``).
        """
        bumped = bumped_epoch(producer_id, producer_epoch)
        if bumped is None:
            return ProducerIdAndEpoch(await self.next_producer_id(), 0)
        return bumped

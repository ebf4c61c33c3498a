"""The producer's synchronous face, for scripts and notebooks.

``SyncProducer`` runs the Trio ``Producer`` (``producer.py``) in a background
thread, through ``sync.py``'s ``TrioPortal`` like every blocking client. So
the batching, the sender task and the retries are exactly the async
producer's; only the calling convention differs::

    with SyncProducer({"bootstrap.servers": "127.0.0.1:9092"}) as producer:
        future = producer.produce("orders", b"value", key=b"customer-7")
        producer.flush()
        print(future.result())   # RecordMetadata(topic, partition, offset, timestamp_ms)

``produce()`` returns a ``concurrent.futures.Future`` at once. It does not
wait for the Trio thread: it appends the record to a hand-off queue (a
``deque``, safe between threads) and wakes the Trio thread only when the
queue was empty; a pump task there feeds the queue to ``Producer.send`` in
order. A round trip into Trio per record would cost more than the whole
rest of the producer. Back-pressure: past ``HANDOFF_LIMIT`` queued records,
``produce()`` waits until the pump has taken them (and so until
``buffer.memory`` has room, at most ``max.block.ms``). Errors of ``send()``
(an unknown topic, a record too large) arrive through the future.
``on_delivery(err, metadata)`` callbacks run in the producer's background
thread, as kafka-python's do, so they must be quick and thread-safe. One
``SyncProducer`` may be shared by threads.

Transactions (``transactional.id``) have the async producer's methods, blocking:
``init_transactions()``, ``begin_transaction()``,
``send_offsets_to_transaction()``, ``commit_transaction()`` and
``abort_transaction()``. The last three first hand over the records still
in the hand-off queue, so every record produced before the call belongs to
the transaction it ends. A record refused because no transaction is open
fails through its future (``IllegalStateError``).
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib

import trio

from .producer import Producer
from .sync import SyncFace

HANDOFF_LIMIT = 10_000  # records queued between the caller's thread and Trio's


class SyncProducer(SyncFace):
    """A blocking Kafka producer over the Trio one.

    Args:
        config: Kafka producer settings, as for ``Producer``.

    Raises:
        KafkaConnectionError: no bootstrap server could be reached.
        ValueError: a bad setting.
    """

    async_class = Producer

    def __init__(self, config: dict):
        self._handoff: collections.deque = collections.deque()
        self._close_timeout_ms: float | None = None
        super().__init__(config)

    @contextlib.asynccontextmanager
    async def open_client(self, config: dict):
        """The producer, and beside it the pump that feeds it the hand-off queue."""
        self._pump_wakeup, self._pump_lock = trio.Event(), trio.Lock()
        async with Producer(config) as producer:
            self._producer = producer
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._pump)
                try:
                    yield producer
                finally:
                    await self._send_handoff()  # what was queued before close()
                    nursery.cancel_scope.cancel()
            # Here, in the task that entered the producer: it closes its nursery.
            await producer.close(self._close_timeout_ms)

    # -- the producer API ------------------------------------------------------

    def produce(self, topic: str, value: bytes | None = None, key: bytes | None = None, *,
                partition: int | None = None, timestamp_ms: int | None = None,
                headers=None, on_delivery=None) -> concurrent.futures.Future:
        """Queue one record; see ``Producer.send``.

        Returns:
            A ``concurrent.futures.Future`` of its ``RecordMetadata``.
        """
        if self._portal.closed:
            raise RuntimeError("the producer is closed")
        future: concurrent.futures.Future = concurrent.futures.Future()
        future.set_running_or_notify_cancel()
        self._handoff.append((future, topic, value, key, partition, timestamp_ms, headers,
                              on_delivery))
        if len(self._handoff) == 1:
            self._portal.run_sync_soon(self._wake_pump)
        elif len(self._handoff) > HANDOFF_LIMIT:
            self._portal.run(self._send_handoff)
        return future

    send = produce  # Java's and kafka-python's name

    def _wake_pump(self) -> None:
        self._pump_wakeup.set()

    async def _pump(self) -> None:
        """In the Trio thread: feed the hand-off queue to ``Producer.send``."""
        while True:
            await self._pump_wakeup.wait()
            self._pump_wakeup = trio.Event()
            await self._send_handoff()

    async def _send_handoff(self) -> None:
        async with self._pump_lock:  # one drainer at a time keeps the records in order
            while self._handoff:
                future, topic, value, key, partition, timestamp_ms, headers, on_delivery = (
                    self._handoff.popleft())
                try:
                    delivery = await self._producer.send(
                        topic, value, key, partition=partition, timestamp_ms=timestamp_ms,
                        headers=headers, on_delivery=on_delivery)
                except Exception as exc:  # reported through the record's future
                    future.set_exception(exc)
                else:
                    delivery.add_done_callback(_resolve(future))

    async def _flush(self, timeout_ms):
        await self._send_handoff()
        return await self._producer.flush(timeout_ms)

    def flush(self, timeout_ms: float | None = None) -> int:
        """Block until every buffered record is delivered; see ``Producer.flush``."""
        return self._portal.run(self._flush, timeout_ms)

    def __len__(self) -> int:
        return self._portal.run_sync(len, self._producer)

    def metrics(self) -> dict[str, float]:
        """See ``Producer.metrics``."""
        return self._portal.run_sync(self._producer.metrics)

    # -- transactions ------------------------------------------------------------

    def init_transactions(self) -> None:
        """See ``Producer.init_transactions``."""
        self._portal.run(self._producer.init_transactions)

    def begin_transaction(self) -> None:
        """See ``Producer.begin_transaction``."""
        self._portal.run_sync(self._producer.begin_transaction)

    async def _after_handoff(self, method, *args):
        await self._send_handoff()  # the records produced so far belong to this transaction
        return await method(*args)

    def send_offsets_to_transaction(self, offsets, group_metadata) -> None:
        """See ``Producer.send_offsets_to_transaction``."""
        self._portal.run(self._after_handoff, self._producer.send_offsets_to_transaction,
                         offsets, group_metadata)

    def commit_transaction(self) -> None:
        """See ``Producer.commit_transaction``."""
        self._portal.run(self._after_handoff, self._producer.commit_transaction)

    def abort_transaction(self) -> None:
        """See ``Producer.abort_transaction``."""
        self._portal.run(self._after_handoff, self._producer.abort_transaction)

    def close(self, timeout_ms: float | None = None) -> None:
        """Deliver what is buffered (at most ``timeout_ms``), then stop (idempotent)."""
        self._close_timeout_ms = timeout_ms
        super().close()


def _resolve(future: concurrent.futures.Future):
    """A done-callback that copies a ``DeliveryFuture``'s outcome into ``future``."""
    def copy(delivery) -> None:
        error = delivery.exception()
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(delivery.result())
    return copy

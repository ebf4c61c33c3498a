"""The producer's record accumulator: per-partition batches, linger and memory.

``Producer.send()`` does not send anything. It appends the record to the
*open batch* of its partition in the ``RecordAccumulator``; a separate task,
the ``Sender``, drains batches that are ready and ships them. This is the
design of Kafka's Java producer (``RecordAccumulator``, ``ProducerBatch``),
and it is why producing is fast: hundreds of records share one batch header,
one CRC, one compression run and one network round trip.

Per partition there is a FIFO (``deque``) of batches. Records go into the
last one; when it has no room for the next record (``batch.size``, 16 KiB by
default, counted on the uncompressed bytes), a new batch opens behind it. A
partition is *ready* to send when its first batch is

- full (or is not the last batch of the deque), or
- older than ``linger.ms`` (Kafka 4.0: 5 ms; KIP-1030), or a retry whose
  backoff has passed, or
- the producer is flushing or closing, or waiting for ``buffer.memory``.

``buffer.memory`` bounds the bytes held by batches (queued or in flight);
``send()`` waits while it is used up (back-pressure), for at most
``max.block.ms``. The accumulator only counts; the producer does the waiting.

Records are encoded into the batch as they arrive (varint-framed v2 records,
``minikafka_core.records.append_record``), so closing a batch is one
compression call plus a 61-byte header. The header is written at send time
(``ProducerBatch.build``) because the producer id, epoch and sequence number
may change between attempts (idempotence, ``idempotence.py``).

A batch the broker refuses as too large (``MESSAGE_TOO_LARGE``: more than the
topic's ``max.message.bytes``) is *split* if it holds more than one record
(Java's ``splitAndReenqueue``): its records are re-encoded into smaller
batches that go back to the front of the queue; the records' futures and
callbacks follow them (``ProducerBatch.moved_to``), and the old batch's
result completes once all its pieces have. A single record that is too
large fails with ``MESSAGE_TOO_LARGE``.

Sans-I/O: every method takes ``now_ms``; nothing here sleeps or reads a clock.
Completion goes through ``ProduceResult``, which fires callbacks and wakes
awaiting tasks (an async face over it is ``producer.DeliveryFuture``).
"""

from __future__ import annotations

import collections
import dataclasses

from minikafka.errors import ErrorCode, KafkaError
from minikafka_core import records as record_codec
from minikafka_core import compression as codecs
from minikafka_core.records import TRANSACTIONAL_MASK, append_record, finish_batch

RECORD_BATCH_OVERHEAD = 61  # the magic v2 header (Java's DefaultRecordBatch.RECORD_BATCH_OVERHEAD)
NO_SEQUENCE = -1


@dataclasses.dataclass(frozen=True)
class RecordMetadata:
    """Where a produced record landed. ``offset`` is -1 with ``acks=0``."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int


class ProduceResult:
    """The outcome of one batch, shared by the futures of its records.

    Java's ``ProduceRequestResult``: one per batch, so a record costs no
    event of its own. ``on_done`` callbacks run once, when the batch
    completes; ``waiters`` are woken (anything with a ``set()``).
    """

    __slots__ = ("done", "base_offset", "log_append_time_ms", "error", "_callbacks")

    def __init__(self):
        self.done = False
        self.base_offset = -1
        self.log_append_time_ms = -1
        self.error: KafkaError | None = None
        self._callbacks: list = []

    def add_callback(self, callback) -> None:
        """Call ``callback()`` on completion (at once if already complete)."""
        if self.done:
            callback()
        else:
            self._callbacks.append(callback)

    def complete(self, base_offset: int, log_append_time_ms: int, error: KafkaError | None) -> None:
        if self.done:
            return
        self.done = True
        self.base_offset, self.log_append_time_ms, self.error = base_offset, log_append_time_ms, error
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()


class ProducerBatch:
    """Records for one partition, sent (and retried) together.

    Owned by the accumulator until drained, then by the sender until it
    completes. Not task-safe; the producer's one Trio thread uses it.

    Attributes:
        topic, partition: where it goes.
        created_ms: when it opened (linger and ``delivery.timeout.ms`` count from here).
        record_count: records so far; record ``i`` gets offset ``base_offset + i``.
        timestamps: each record's timestamp (CreateTime), for its metadata.
        base_sequence, producer_id, producer_epoch: idempotence fields, set
            when first drained (``NO_SEQUENCE`` until then).
        is_transactional: part of a transaction (the attribute bit), set when drained.
        attempts: how many times it has been sent.
        retry_at_ms: not before this time when it is a retry.
        moved_to: after a split, per relative offset, ``(piece, relative
            offset in it)``: where each record went; None if not split.
    """

    def __init__(self, topic: str, partition: int, created_ms: int, batch_size: int):
        self.topic = topic
        self.partition = partition
        self.created_ms = created_ms
        self.batch_size = batch_size
        self.records = bytearray()
        self.record_count = 0
        self.timestamps: list[int] = []
        self.callbacks: list = []  # (relative_offset, on_delivery) for records that have one
        self.result = ProduceResult()
        self.closed = False
        self.base_sequence = NO_SEQUENCE
        self.producer_id = -1
        self.producer_epoch = -1
        self.is_transactional = False
        self.attempts = 0
        self.retry_at_ms = 0
        self.moved_to: list[tuple[ProducerBatch, int]] | None = None
        self._payload: bytes | None = None

    @property
    def size_bytes(self) -> int:
        """Estimated wire size (uncompressed, as Java estimates it)."""
        return RECORD_BATCH_OVERHEAD + len(self.records)

    @property
    def topic_partition(self) -> tuple[str, int]:
        return (self.topic, self.partition)

    def try_append(self, timestamp_ms: int, key, value, headers) -> int | None:
        """Encode one record into the batch; its relative offset, or None if full.

        The first record always fits, however large (a batch holds at least one).
        """
        if self.closed:
            return None
        first_timestamp = self.timestamps[0] if self.timestamps else timestamp_ms
        # The first record always fits (-1: no limit); the others while the batch stays in batch.size.
        room = max(self.batch_size - RECORD_BATCH_OVERHEAD, 0) if self.record_count else -1
        if not append_record(self.records, self.record_count, timestamp_ms - first_timestamp,
                             key, value, headers, room):
            self.closed = True  # full: the next record opens a new batch
            return None
        self.timestamps.append(timestamp_ms)
        self.record_count += 1
        return self.record_count - 1

    def is_full(self) -> bool:
        return self.closed or self.size_bytes >= self.batch_size

    def close(self) -> None:
        """No more appends (it is being sent)."""
        self.closed = True

    def build(self, compression: int) -> bytes:
        """The batch's wire bytes with the current producer id, epoch and sequence.

        Compression runs once; a retry reuses the compressed records and only
        rewrites the header (and its CRC).
        """
        if self._payload is None:
            self._payload = codecs.compress(compression, self.records) if compression else bytes(self.records)
        attributes = compression | (TRANSACTIONAL_MASK if self.is_transactional else 0)
        return finish_batch(self._payload, record_count=self.record_count,
                            first_timestamp=self.timestamps[0], max_timestamp=max(self.timestamps),
                            attributes=attributes, producer_id=self.producer_id,
                            producer_epoch=self.producer_epoch, base_sequence=self.base_sequence)

    def split(self, max_bytes: int) -> list[ProducerBatch]:
        """Re-encode the records into new batches of at most ``max_bytes`` each, in order.

        The records' callbacks move with them (``moved_to`` says where each
        went), and this batch's result completes when every piece's has. A
        piece keeps ``created_ms``: ``delivery.timeout.ms`` counts from the
        record's first batch, as in Java's ``ProducerBatch.split``.
        """
        encoded = finish_batch(bytes(self.records), record_count=self.record_count,
                               first_timestamp=self.timestamps[0], max_timestamp=max(self.timestamps),
                               attributes=0, producer_id=-1, producer_epoch=-1, base_sequence=-1)
        pieces: list[ProducerBatch] = []
        self.moved_to = []
        for record in record_codec.parse_batch(encoded).records:
            fields = (record.timestamp, record.key, record.value,
                      [(name.encode(), value) for name, value in record.headers])
            if not pieces or pieces[-1].try_append(*fields) is None:
                pieces.append(ProducerBatch(self.topic, self.partition, self.created_ms, max_bytes))
                pieces[-1].try_append(*fields)
            self.moved_to.append((pieces[-1], pieces[-1].record_count - 1))
        for relative_offset, on_delivery in self.callbacks:
            piece, moved_offset = self.moved_to[relative_offset]
            piece.callbacks.append((moved_offset, on_delivery))
        self.callbacks = []
        _complete_when_all_done(self.result, [piece.result for piece in pieces])
        return pieces

    def in_retry(self) -> bool:
        return self.attempts > 0

    def record_metadata(self, relative_offset: int) -> RecordMetadata:
        """The metadata of record ``relative_offset`` (after completion)."""
        result = self.result
        offset = result.base_offset + relative_offset if result.base_offset >= 0 else -1
        timestamp = (result.log_append_time_ms if result.log_append_time_ms >= 0
                     else self.timestamps[relative_offset])
        return RecordMetadata(self.topic, self.partition, offset, timestamp)

    def complete(self, base_offset: int, log_append_time_ms: int = -1,
                 error: KafkaError | None = None) -> None:
        """Finish the batch: resolve its records' futures and run their callbacks (once)."""
        if self.result.done:
            return
        self.result.complete(base_offset, log_append_time_ms, error)
        for relative_offset, on_delivery in self.callbacks:
            metadata = self.record_metadata(relative_offset)
            on_delivery(error, metadata)  # Kafka's Callback.onCompletion(metadata, exception)


def _complete_when_all_done(result: ProduceResult, parts: list[ProduceResult]) -> None:
    """Complete ``result`` (with no offset of its own) once every one of ``parts`` is."""
    remaining = [len(parts)]

    def one_done() -> None:
        remaining[0] -= 1
        if remaining[0] == 0:
            result.complete(-1, -1, None)

    for part in parts:
        part.add_callback(one_done)


@dataclasses.dataclass
class AppendResult:
    """What ``RecordAccumulator.append`` did.

    Attributes:
        batch, relative_offset: where the record went (None if aborted).
        batch_is_full: the batch is ready to send: wake the sender.
        new_batch_created: this append opened a batch (wake the sender too).
        aborted_for_new_batch: with ``abort_on_new_batch``, the record was
            not appended because it would have opened a batch (KIP-480: the
            partitioner picks a new sticky partition and the caller retries).
    """

    batch: ProducerBatch | None
    relative_offset: int
    batch_is_full: bool = False
    new_batch_created: bool = False
    aborted_for_new_batch: bool = False


class RecordAccumulator:
    """Per-partition queues of batches, with ``linger.ms`` and ``buffer.memory``.

    Args:
        batch_size: ``batch.size`` in bytes.
        linger_ms: ``linger.ms``.
        buffer_memory: ``buffer.memory`` in bytes.
    """

    def __init__(self, *, batch_size: int = 16384, linger_ms: float = 5,
                 buffer_memory: int = 32 * 1024 * 1024):
        self.batch_size = batch_size
        self.linger_ms = linger_ms
        self.buffer_memory = buffer_memory
        self.used_memory = 0
        self.flushing = 0  # how many flush() calls are waiting
        self.closing = False
        self.memory_waiters = 0  # send() calls blocked on buffer.memory
        self.batches: dict[tuple[str, int], collections.deque[ProducerBatch]] = {}
        self.incomplete: set[ProducerBatch] = set()  # queued or in flight

    # -- appending -----------------------------------------------------------

    def has_room(self, record_bytes: int) -> bool:
        """Whether ``buffer.memory`` allows another ``record_bytes`` now."""
        return self.used_memory + record_bytes <= self.buffer_memory or not self.incomplete

    def append(self, topic: str, partition: int, timestamp_ms: int, key, value, headers,
               now_ms: int, *, abort_on_new_batch: bool = False) -> AppendResult:
        """Append one record to the partition's open batch (or a new one).

        Args:
            headers: ``[(key_bytes, value_bytes_or_None)]``.
            abort_on_new_batch: return without appending if the record would
                open a new batch (see ``AppendResult.aborted_for_new_batch``).
        """
        queue = self.batches.get((topic, partition))
        if queue is None:
            queue = self.batches[(topic, partition)] = collections.deque()
        if queue:
            last = queue[-1]
            relative_offset = last.try_append(timestamp_ms, key, value, headers)
            if relative_offset is not None:
                return AppendResult(last, relative_offset, batch_is_full=last.is_full() or len(queue) > 1)
        if abort_on_new_batch:
            return AppendResult(None, -1, aborted_for_new_batch=True)
        batch = ProducerBatch(topic, partition, now_ms, self.batch_size)
        relative_offset = batch.try_append(timestamp_ms, key, value, headers)
        queue.append(batch)
        self.incomplete.add(batch)
        self.used_memory += batch.batch_size
        return AppendResult(batch, relative_offset, batch_is_full=batch.is_full() or len(queue) > 1,
                            new_batch_created=True)

    # -- readiness and draining ----------------------------------------------------

    def ready(self, now_ms: int) -> tuple[list[tuple[str, int]], float]:
        """Partitions whose first batch may be sent now, and when to look again.

        Returns:
            ``(partitions, next_check_ms)``: the ready partitions, and how many
            ms until the next batch becomes ready by lingering (``inf``: none).
        """
        ready, next_check_ms = [], float("inf")
        hurry = self.flushing > 0 or self.closing or self.memory_waiters > 0
        for topic_partition, queue in self.batches.items():
            if not queue:
                continue
            batch = queue[0]
            if batch.in_retry():
                wait_ms = batch.retry_at_ms - now_ms
            elif hurry or len(queue) > 1 or batch.is_full():
                wait_ms = 0
            else:
                wait_ms = batch.created_ms + self.linger_ms - now_ms
            if wait_ms <= 0:
                ready.append(topic_partition)
            else:
                next_check_ms = min(next_check_ms, wait_ms)
        return ready, next_check_ms

    def peek(self, topic_partition: tuple[str, int]) -> ProducerBatch | None:
        queue = self.batches.get(topic_partition)
        return queue[0] if queue else None

    def pop(self, topic_partition: tuple[str, int]) -> ProducerBatch:
        """Take the partition's first batch out to send it (it is closed now)."""
        batch = self.batches[topic_partition].popleft()
        batch.close()
        return batch

    def reenqueue(self, batch: ProducerBatch, now_ms: int, backoff_ms: float) -> None:
        """Put a batch back for a retry, in sequence order (Java's ``insertInSequenceOrder``).

        A retried batch goes before every batch that has no sequence yet, and
        among batches with sequences, in sequence order, so an idempotent
        producer resends them in the order the broker expects.
        """
        batch.retry_at_ms = now_ms + backoff_ms
        queue = self.batches.setdefault(batch.topic_partition, collections.deque())
        index = 0
        while (index < len(queue) and queue[index].base_sequence != NO_SEQUENCE
               and queue[index].base_sequence < batch.base_sequence):
            index += 1
        queue.insert(index, batch)

    def split(self, batch: ProducerBatch) -> list[ProducerBatch]:
        """Replace a batch the broker found too large by smaller ones (not queued yet).

        Java splits to ``batch.size``; a piece here is also at most half the
        refused batch, so that a batch already within ``batch.size`` (the
        topic's ``max.message.bytes`` being smaller) still shrinks each time.
        """
        pieces = batch.split(min(self.batch_size, batch.size_bytes // 2))
        self.deallocate(batch)
        for piece in pieces:
            self.incomplete.add(piece)
            self.used_memory += piece.batch_size
        return pieces

    def deallocate(self, batch: ProducerBatch) -> None:
        """The batch is complete: release its memory."""
        if batch in self.incomplete:
            self.incomplete.discard(batch)
            self.used_memory -= batch.batch_size

    # -- expiry and abort -------------------------------------------------------------

    def expired_batches(self, now_ms: int, delivery_timeout_ms: float) -> list[ProducerBatch]:
        """Take out queued batches older than ``delivery.timeout.ms`` (Java's ``expiredBatches``)."""
        expired = []
        for queue in self.batches.values():
            while queue and now_ms - queue[0].created_ms >= delivery_timeout_ms:
                expired.append(queue.popleft())
        return expired

    def abort_all(self) -> list[ProducerBatch]:
        """Take out every queued batch (a forced close)."""
        batches = [batch for queue in self.batches.values() for batch in queue]
        for queue in self.batches.values():
            queue.clear()
        return batches

    def has_queued(self) -> bool:
        return any(self.batches.values())

    def pending_record_count(self) -> int:
        """Records not yet acknowledged (queued or in flight)."""
        return sum(batch.record_count for batch in self.incomplete)


def fail_batch(batch: ProducerBatch, code: ErrorCode, message: str) -> None:
    """Complete ``batch`` with an error."""
    batch.complete(-1, -1, KafkaError(code, message))

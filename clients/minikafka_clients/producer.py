"""The Kafka producer (Trio-native): partition, accumulate, send, deliver.

Usage::

    async with Producer({"bootstrap.servers": "127.0.0.1:9092"}) as producer:
        future = await producer.send("orders", b"value", key=b"customer-7")
        metadata = await future          # RecordMetadata(topic, partition, offset, ...)
        await producer.flush()

How a record travels (the same path as in Kafka's Java producer):

1. ``send()`` looks the topic up in the metadata cache (asking the cluster
   the first time; Kafka's producers let the broker auto-create it), and
   picks the partition: the caller's, else murmur2 of the key, else the
   *sticky* partition for keyless records (KIP-480, ``partitioner.py``);
2. it appends the record to that partition's open batch in the
   ``RecordAccumulator`` (``accumulator.py``), waiting for ``buffer.memory``
   if it is used up (at most ``max.block.ms``), and returns a
   ``DeliveryFuture`` at once;
3. the ``Sender`` task (``sender.py``) ships batches that are full or older
   than ``linger.ms`` to their partition leaders, retries what may be
   retried, and completes the futures and ``on_delivery`` callbacks.

Idempotence (``enable.idempotence``, on by default since Kafka 3.0) needs
``acks=all``, ``retries > 0`` and ``max.in.flight.requests.per.connection <=
5``. As in Kafka, if the user set none of them in conflict the producer is
idempotent; a conflicting setting turns the default off, but conflicts with
an *explicit* ``enable.idempotence=true`` are a configuration error.

Transactions (``transactional.id``, which requires idempotence): records
sent between ``begin_transaction()`` and ``commit_transaction()`` (and the
consumer offsets of ``send_offsets_to_transaction()``) become visible to
``read_committed`` consumers all at once, or, after
``abort_transaction()``, never::

    async with Producer({"bootstrap.servers": ..., "transactional.id": "ledger-1"}) as producer:
        await producer.init_transactions()
        producer.begin_transaction()
        await producer.send("ledger", b"credit 10")
        await producer.commit_transaction()

``transaction_manager.py`` holds the client's state machine (which call is
allowed when, which errors abort the transaction and which end the
producer), ``transactional.py`` the requests to the coordinators.

Time: linger and timeouts use Trio's clock (so ``MockClock`` works); record
timestamps use the wall clock, ``wall_clock_ms`` (injectable).

Quotas: a broker that throttles the producer (``producer_byte_rate``) says
so in ``throttle_time_ms``; the sender then sends that broker nothing until
the time has passed (``sender.py``, KIP-219), and ``metrics()`` shows
``produce-throttle-time-avg`` / ``-max``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time

import trio

from minikafka.errors import ErrorCode, KafkaError

from . import retry
from .accumulator import RecordAccumulator, RecordMetadata
from .client_config import CONNECTION_KEYS, IGNORED_PRODUCER, check_keys
from .cluster import open_cluster
from .idempotence import IdempotenceState
from .partitioner import StickyPartitioner, partition_for_key
from .sender import Sender
from .transaction_manager import IllegalStateError, TransactionManager, TransactionState
from .transactional import TransactionalRequests

COMPRESSION_CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}

__all__ = ["DeliveryFuture", "Producer", "ProducerConfig", "RecordMetadata"]


def _bool(value) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in ("true", "1", "yes")


def _acks(value) -> int:
    acks = -1 if str(value).lower() == "all" else int(value)
    if acks not in (-1, 0, 1):
        raise ValueError(f"acks must be 0, 1, -1 or all, not {value!r}")
    return acks


def _compression(value) -> int:
    if isinstance(value, int):
        return value
    try:
        return COMPRESSION_CODECS[str(value).lower()]
    except KeyError:
        raise ValueError(f"unknown compression.type {value!r}; one of "
                         f"{', '.join(COMPRESSION_CODECS)}") from None


@dataclasses.dataclass
class ProducerConfig:
    """The producer's settings, with Kafka 4.0's defaults (Java property names in ``KEYS``)."""

    bootstrap_servers: str = "localhost:9092"
    client_id: str = "minikafka-producer"
    acks: int = -1
    linger_ms: float = 5
    batch_size: int = 16384
    buffer_memory: int = 32 * 1024 * 1024
    compression: int = 0
    max_in_flight: int = 5
    retries: int = 2**31 - 1
    retry_backoff_ms: float = 100
    retry_backoff_max_ms: float = 1000
    request_timeout_ms: float = 30_000
    delivery_timeout_ms: float = 120_000
    max_block_ms: float = 60_000
    max_request_size: int = 1024 * 1024
    enable_idempotence: bool = True
    transaction_timeout_ms: int = 60_000
    transactional_id: str | None = None
    partitioner_ignore_keys: bool = False

    KEYS = {  # Kafka property -> (field, parser)
        "bootstrap.servers": ("bootstrap_servers", str),
        "client.id": ("client_id", str),
        "acks": ("acks", _acks),
        "linger.ms": ("linger_ms", float),
        "batch.size": ("batch_size", int),
        "buffer.memory": ("buffer_memory", int),
        "compression.type": ("compression", _compression),
        "compression.codec": ("compression", _compression),  # librdkafka's alias
        "max.in.flight.requests.per.connection": ("max_in_flight", int),
        "retries": ("retries", int),
        "retry.backoff.ms": ("retry_backoff_ms", float),
        "retry.backoff.max.ms": ("retry_backoff_max_ms", float),
        "request.timeout.ms": ("request_timeout_ms", float),
        "delivery.timeout.ms": ("delivery_timeout_ms", float),
        "max.block.ms": ("max_block_ms", float),
        "max.request.size": ("max_request_size", int),
        "enable.idempotence": ("enable_idempotence", _bool),
        "transaction.timeout.ms": ("transaction_timeout_ms", int),
        "transactional.id": ("transactional_id", lambda v: None if v is None else str(v)),
        "partitioner.ignore.keys": ("partitioner_ignore_keys", _bool),
    }

    @classmethod
    def from_dict(cls, settings: dict) -> "ProducerConfig":
        """Parse Kafka-style settings; check them as Kafka's ``ProducerConfig`` does.

        Keys of the connection layer that are not fields here
        (``metadata.max.age.ms``, ...) and the accepted-but-ignored ones are
        left to ``open_cluster`` and ``client_config``.

        Raises:
            ValueError: an unknown or refused key, a bad value, or a conflict
                with an explicit ``enable.idempotence=true``.
        """
        check_keys(settings, client="producer", used=CONNECTION_KEYS | set(cls.KEYS),
                   ignored=IGNORED_PRODUCER)
        config = cls()
        for key, value in settings.items():
            if key in cls.KEYS:
                name, parse = cls.KEYS[key]
                setattr(config, name, parse(value))
        config._resolve_idempotence(explicit="enable.idempotence" in settings)
        if config.transactional_id is not None and not config.enable_idempotence:
            raise ValueError("cannot set a transactional.id without also enabling idempotence")
        if config.delivery_timeout_ms < config.linger_ms + config.request_timeout_ms:
            raise ValueError("delivery.timeout.ms should be >= linger.ms + request.timeout.ms")
        return config

    def _resolve_idempotence(self, explicit: bool) -> None:
        conflicts = []
        if self.acks != -1:
            conflicts.append("acks must be all")
        if self.retries == 0:
            conflicts.append("retries must be > 0")
        if self.max_in_flight > 5:
            conflicts.append("max.in.flight.requests.per.connection must be <= 5")
        if self.enable_idempotence and conflicts:
            if explicit or self.transactional_id is not None:
                what = "enable.idempotence=true" if explicit else "transactional.id is set"
                raise ValueError(what + ", but " + "; ".join(conflicts))
            self.enable_idempotence = False  # Kafka 3.x+: the default yields to the user's choice


class DeliveryFuture:
    """The future result of one ``send()``: ``await`` it for ``RecordMetadata``.

    Shares its batch's ``ProduceResult``, so it costs no event until awaited.
    ``await future`` raises ``KafkaError`` if the record was not delivered.
    """

    __slots__ = ("_batch", "_relative_offset")

    def __init__(self, batch, relative_offset: int):
        self._batch = batch
        self._relative_offset = relative_offset

    def done(self) -> bool:
        # A split batch's result completes once all its pieces have.
        return self._batch.result.done

    def _located(self):
        """The batch that holds the record now, and its relative offset there
        (records move when the broker finds their batch too large: a split)."""
        batch, relative_offset = self._batch, self._relative_offset
        while batch.moved_to is not None:
            batch, relative_offset = batch.moved_to[relative_offset]
        return batch, relative_offset

    def result(self) -> RecordMetadata:
        """The metadata (raises ``KafkaError`` on failure, ``RuntimeError`` if not done)."""
        if not self.done():
            raise RuntimeError("the record has not been delivered yet")
        batch, relative_offset = self._located()
        if batch.result.error is not None:
            raise batch.result.error
        return batch.record_metadata(relative_offset)

    def exception(self) -> KafkaError | None:
        return self._located()[0].result.error if self.done() else None

    def add_done_callback(self, callback) -> None:
        """Call ``callback(self)`` when done (in the producer's Trio thread)."""
        self._batch.result.add_callback(lambda: callback(self))

    async def wait(self) -> RecordMetadata:
        if not self.done():
            event = trio.Event()
            self._batch.result.add_callback(event.set)
            await event.wait()
        return self.result()

    def __await__(self):
        return self.wait().__await__()


class Producer:
    """A Kafka producer; use it as ``async with Producer(config) as producer``.

    Owned by one Trio run; any task of it may call ``send()``.

    Args:
        config: Kafka producer settings (``bootstrap.servers``, ``acks``, ...).
        wall_clock_ms: the clock for record timestamps (default: ``time.time``).
    """

    def __init__(self, config: dict, *, wall_clock_ms=None):
        self.config = ProducerConfig.from_dict(config)
        self._settings = dict(config)  # for the connection layer's keys
        self.wall_clock_ms = wall_clock_ms or (lambda: int(time.time() * 1000))
        self.accumulator = RecordAccumulator(batch_size=self.config.batch_size,
                                             linger_ms=self.config.linger_ms,
                                             buffer_memory=self.config.buffer_memory)
        self.partitioner = StickyPartitioner()
        self.cluster = None
        self.sender: Sender | None = None
        self._memory_freed = trio.Event()
        self._exit_stack: contextlib.AsyncExitStack | None = None
        self._closed = False
        self.transaction_manager: TransactionManager | None = None
        self._transactional: TransactionalRequests | None = None
        if self.config.transactional_id is not None:
            self.transaction_manager = TransactionManager(self.config.transactional_id,
                                                          self.config.transaction_timeout_ms)

    # -- lifecycle ---------------------------------------------------------------

    async def __aenter__(self) -> "Producer":
        async with contextlib.AsyncExitStack() as stack:
            self.cluster = await stack.enter_async_context(open_cluster(
                self.config.bootstrap_servers, config=self._settings,
                client_id=self.config.client_id, request_timeout_ms=self.config.request_timeout_ms))
            nursery = await stack.enter_async_context(trio.open_nursery())
            idempotence = IdempotenceState() if self.config.enable_idempotence else None
            if self.transaction_manager is not None:
                self._transactional = TransactionalRequests(self.cluster, self.transaction_manager,
                                                            idempotence, self.config)
            self.sender = Sender(self.cluster, self.accumulator, self.config, idempotence,
                                 _monotonic_ms, self._batch_done, transactional=self._transactional)
            await nursery.start(self.sender.run)
            self._sender_scope = nursery.cancel_scope
            self._exit_stack = stack.pop_all()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    async def close(self, timeout_ms: float | None = None) -> None:
        """Send what is buffered (for at most ``timeout_ms``), then shut down.

        Records still undelivered after the timeout fail with an error, as
        with Java's ``close(Duration)``; ``close(0)`` fails them at once.
        A transaction still open is aborted first, as Kafka's producer does.
        Call it from the task that entered ``async with`` (it closes the
        producer's nursery).
        """
        if self._closed:
            return
        try:
            with trio.CancelScope(shield=True):
                if timeout_ms != 0:
                    await self._abort_open_transaction(timeout_ms)
                self._closed = True
                self.accumulator.closing = True
                if timeout_ms != 0:
                    await self.flush(timeout_ms)
                self._sender_scope.cancel()  # in-flight requests end with it
                self.sender.fail_incomplete(KafkaError(
                    ErrorCode.UNKNOWN_SERVER_ERROR, "the producer was closed before delivery"))
        finally:
            self._closed = True
            await self._exit_stack.aclose()

    async def _abort_open_transaction(self, timeout_ms: float | None) -> None:
        manager = self.transaction_manager
        if manager is None or manager.state not in (TransactionState.IN_TRANSACTION,
                                                    TransactionState.ABORTABLE_ERROR,
                                                    TransactionState.ABORTING_TRANSACTION):
            return
        with trio.move_on_after(math.inf if timeout_ms is None else timeout_ms / 1000):
            try:
                await self.abort_transaction()
            except (KafkaError, IllegalStateError):
                pass  # the coordinator aborts it after transaction.timeout.ms

    # -- sending --------------------------------------------------------------------

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None, *,
                   partition: int | None = None, timestamp_ms: int | None = None,
                   headers=None, on_delivery=None) -> DeliveryFuture:
        """Queue one record; return its ``DeliveryFuture`` (await that to wait for delivery).

        Args:
            value, key: bytes or None (null).
            partition: an explicit partition; default: the partitioner picks.
            timestamp_ms: CreateTime; default: now.
            headers: ``[(str, bytes | None)]`` or a dict.
            on_delivery: ``on_delivery(err, metadata)``, called once when the
                record is acknowledged (``err`` None) or failed (a ``KafkaError``).

        Raises:
            KafkaError: unknown topic or partition (after ``max.block.ms``),
                ``MESSAGE_TOO_LARGE``, or ``buffer.memory`` stayed full for
                ``max.block.ms``; or the producer is closed.
        """
        if self._closed or self.sender.fatal_error is not None:
            raise self.sender.fatal_error or KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR,
                                                        "the producer is closed")
        manager = self.transaction_manager
        if manager is not None:
            manager.check_send(self.sender.idempotence.has_producer_id)
        # The common case (metadata known, memory free) reads no clock and awaits nothing:
        # max.block.ms only starts counting when send() has to wait.
        deadline = None
        num_partitions = self._known_partitions(topic, partition)
        if num_partitions is None:
            deadline = trio.current_time() + self.config.max_block_ms / 1000
            num_partitions = await self._wait_for_partitions(topic, partition, deadline)
        header_list = _encode_headers(headers)
        size = len(key or b"") + len(value or b"")
        if header_list:
            size += sum(len(k) + len(v or b"") for k, v in header_list)
        if size + 100 > min(self.config.max_request_size, self.config.buffer_memory):
            raise KafkaError(ErrorCode.MESSAGE_TOO_LARGE,
                             f"the record is {size} bytes, more than max.request.size or buffer.memory")
        if not self.accumulator.has_room(size):
            if deadline is None:
                deadline = trio.current_time() + self.config.max_block_ms / 1000
            await self._wait_for_memory(size, deadline)
        timestamp_ms = self.wall_clock_ms() if timestamp_ms is None else timestamp_ms
        if manager is not None:  # awaited above: check again, the transaction may have ended
            manager.check_send(self.sender.idempotence.has_producer_id)
        result = self._append(topic, partition, num_partitions, timestamp_ms, key, value, header_list)
        if manager is not None:
            manager.maybe_add_partition(result.batch.topic_partition)
        if on_delivery is not None:
            result.batch.callbacks.append((result.relative_offset, on_delivery))
        if result.batch_is_full or result.new_batch_created:
            self.sender.wakeup()
        return DeliveryFuture(result.batch, result.relative_offset)

    produce = send  # confluent-kafka's name

    def _append(self, topic, partition, num_partitions, timestamp_ms, key, value, headers):
        """Append to the accumulator, moving the sticky partition on a new batch (KIP-480)."""
        now_ms = _monotonic_ms()
        keyless = partition is None and (key is None or self.config.partitioner_ignore_keys)
        if partition is None and not keyless:
            partition = partition_for_key(key, num_partitions)
        if not keyless:
            return self.accumulator.append(topic, partition, timestamp_ms, key, value, headers, now_ms)
        sticky = self.partitioner.partition(topic, num_partitions)
        result = self.accumulator.append(topic, sticky, timestamp_ms, key, value, headers, now_ms,
                                         abort_on_new_batch=True)
        if result.aborted_for_new_batch:
            # The sticky partition's batch is full or gone: stick to another one.
            sticky = self.partitioner.next_partition(topic, num_partitions, sticky)
            result = self.accumulator.append(topic, sticky, timestamp_ms, key, value, headers, now_ms)
        return result

    def _known_partitions(self, topic: str, partition: int | None) -> int | None:
        """The topic's partition count if the metadata has it (and ``partition``), else None."""
        metadata = self.cluster.topics.get(topic)
        if metadata is not None and (partition is None or partition in metadata.partitions):
            return len(metadata.partitions)
        return None

    async def _wait_for_partitions(self, topic: str, partition: int | None, deadline: float) -> int:
        """The topic's partition count, fetching metadata until ``max.block.ms``."""
        while True:
            num_partitions = self._known_partitions(topic, partition)
            if num_partitions is not None:
                return num_partitions
            metadata = self.cluster.topics.get(topic)
            error = self.cluster.topic_error(topic)
            if error is not None and not retry.is_retriable(error):
                # INVALID_TOPIC_EXCEPTION, TOPIC_AUTHORIZATION_FAILED: waiting cannot help.
                raise KafkaError(error, f"cannot produce to topic '{topic}'")
            if trio.current_time() >= deadline:
                what = f"partition {partition} of " if metadata is not None else ""
                raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                                 f"{what}topic '{topic}' not present in metadata after "
                                 f"{self.config.max_block_ms:.0f} ms")
            try:
                await self.cluster.refresh_metadata([topic], auto_create=True)
            except KafkaError:
                pass
            if topic not in self.cluster.topics or (partition is not None and partition
                                                    not in self.cluster.topics[topic].partitions):
                await trio.sleep(min(self.config.retry_backoff_ms / 1000,
                                     max(0.0, deadline - trio.current_time())))

    async def _wait_for_memory(self, size: int, deadline: float) -> None:
        """Back-pressure: wait while ``buffer.memory`` is used up."""
        if self.accumulator.has_room(size):
            return
        self.accumulator.memory_waiters += 1
        self.sender.wakeup()  # send what lingers: memory comes back sooner
        try:
            with trio.move_on_at(deadline):
                while not self.accumulator.has_room(size):
                    await self._memory_freed.wait()
                return
            raise KafkaError(ErrorCode.REQUEST_TIMED_OUT,
                             f"buffer.memory stayed full for {self.config.max_block_ms:.0f} ms")
        finally:
            self.accumulator.memory_waiters -= 1

    def _batch_done(self, batch) -> None:
        self._memory_freed.set()
        self._memory_freed = trio.Event()

    # -- flush ------------------------------------------------------------------------

    async def flush(self, timeout_ms: float | None = None) -> int:
        """Send every buffered record now and wait for their outcome.

        Returns:
            How many records are still undelivered (0 unless it timed out),
            like confluent-kafka's ``flush()``.
        """
        waiting = list(self.accumulator.incomplete)
        self.accumulator.flushing += 1
        self.sender.wakeup()
        try:
            with trio.move_on_after(math.inf if timeout_ms is None else timeout_ms / 1000):
                for batch in waiting:
                    if not batch.result.done:
                        event = trio.Event()
                        batch.result.add_callback(event.set)
                        await event.wait()
        finally:
            self.accumulator.flushing -= 1
        return sum(batch.record_count for batch in waiting if not batch.result.done)

    # -- transactions (KIP-98, KIP-447; transaction_manager.py) ----------------------------

    def _manager(self) -> TransactionManager:
        if self.transaction_manager is None:
            raise IllegalStateError("transactional method invoked on a non-transactional "
                                    "producer: set transactional.id")
        return self.transaction_manager

    async def _bounded(self, operation: str, work) -> None:
        """Run ``work()`` for at most ``max.block.ms``; a timeout leaves the
        operation pending: calling the same method again resumes it."""
        with trio.move_on_after(self.config.max_block_ms / 1000):
            try:
                await work()
            except BaseException as exc:
                if not isinstance(exc, trio.Cancelled):
                    self.transaction_manager.operation_done()
                raise
            self.transaction_manager.operation_done()
            return
        raise KafkaError(ErrorCode.REQUEST_TIMED_OUT,
                         f"{operation} did not complete within max.block.ms "
                         f"({self.config.max_block_ms:.0f} ms); call it again to complete it")

    async def init_transactions(self) -> None:
        """Get the ``transactional.id``'s producer id and a new epoch (fencing any
        older producer with the same id, whose open transaction is aborted).

        Raises:
            KafkaError: PRODUCER_FENCED and other fatal errors; REQUEST_TIMED_OUT
                after ``max.block.ms`` (call again to resume).
            IllegalStateError: already initialized.
        """
        self._manager().begin_init()
        await self._bounded("init_transactions", self._transactional.init_producer_id)

    def begin_transaction(self) -> None:
        """Start a transaction (local: the coordinator hears of it with the first
        AddPartitionsToTxn or AddOffsetsToTxn)."""
        self._manager().begin_transaction()

    async def send_offsets_to_transaction(self, offsets, group_metadata) -> None:
        """Commit a consumer group's offsets as part of the transaction (KIP-447).

        Args:
            offsets: ``{(topic, partition): next offset to read}`` (ints or
                ``OffsetAndMetadata``), the consumer's positions.
            group_metadata: the consumer's ``group_metadata()``: the group's
                coordinator fences a zombie member by its generation and member id.
        """
        self._manager().check_send_offsets()
        await self._bounded("send_offsets_to_transaction",
                            lambda: self._transactional.send_offsets(offsets, group_metadata))

    async def commit_transaction(self) -> None:
        """Flush, then commit: every record and offset of the transaction becomes
        visible to read_committed consumers at once.

        Raises:
            KafkaError: a record or request of the transaction failed (the
                transaction must now be aborted), or a fatal error
                (PRODUCER_FENCED); REQUEST_TIMED_OUT (call again to resume).
        """
        self._manager().begin_commit()
        await self._bounded("commit_transaction", lambda: self._complete_transaction(commit=True))

    async def abort_transaction(self) -> None:
        """Drop unsent records, wait for those in flight, and abort: nothing of the
        transaction is ever visible to read_committed consumers."""
        self._manager().begin_abort()
        self.sender.wakeup()  # it fails the batches not yet sent
        await self._bounded("abort_transaction", lambda: self._complete_transaction(commit=False))

    async def _complete_transaction(self, commit: bool) -> None:
        await self.flush()  # EndTxn goes only after every batch's answer
        if await self._transactional.end_transaction(commit, self.sender.idempotence.bump_required):
            await self._transactional.init_producer_id(bump=True)

    def __len__(self) -> int:
        """Records not yet delivered (confluent-kafka's ``len(producer)``)."""
        return self.accumulator.pending_record_count()

    def metrics(self) -> dict[str, float]:
        """The producer metrics this producer keeps, by Kafka's names.

        ``produce-throttle-time-avg`` / ``-max``: the throttle time (ms) the
        brokers reported in their responses, over the last
        ``metrics.num.samples`` windows of ``metrics.sample.window.ms``
        (NaN when no response came in that time); ``record-retry-total``:
        records sent again after a retriable error.
        """
        values = self.cluster.throttle_time_sensor.metrics("produce", _monotonic_ms())
        values["record-retry-total"] = float(self.sender.record_retry_total)
        return values


def _monotonic_ms() -> float:
    return trio.current_time() * 1000


def _encode_headers(headers) -> list[tuple[bytes, bytes | None]]:
    if not headers:
        return []
    items = headers.items() if isinstance(headers, dict) else headers
    return [(k.encode("utf-8") if isinstance(k, str) else bytes(k),
             v.encode("utf-8") if isinstance(v, str) else v) for k, v in items]

"""The producer's sender task: drain ready batches, ship them, handle answers.

One Trio task per producer (Java's ``Sender`` thread) loops:

1. fail batches that waited longer than ``delivery.timeout.ms``;
2. with idempotence, get a producer id first, and bump the epoch when a
   sequence number became unreliable (``idempotence.py``);
3. ask the accumulator which partitions are ready (``linger.ms`` passed, batch
   full, flush), look up each one's leader in the metadata cache, and per
   leader with a free slot (``max.in.flight.requests.per.connection``) drain
   at most one batch per partition, up to ``max.request.size`` bytes, into one
   Produce request;
4. sleep until the next batch lingers out, or something wakes it (a new or
   full batch, an answer, fresh metadata, flush, close).

A leader that throttles this producer (a quota, KIP-219: the response's
``throttle_time_ms``, applied by the connection, ``throttle.py``) gets
nothing drained for it until its throttle time has passed: its batches stay
in the accumulator, where they keep filling, and the loop sleeps at most
until the throttle ends (Java's ``Sender``: a node that is not ``ready``
is skipped, and ``pollDelayMs`` bounds the wait). Other leaders are served
meanwhile.

The loop writes each Produce request itself and does not wait for its
answer: up to ``max.in.flight.requests.per.connection`` requests are
pipelined on a connection, each remembered as an ``_InFlightProduce``. The
connection's reader hands answers back by waking the loop, which handles
them, in the order the requests were sent, at the start of its next round
(Kafka's ``NetworkClient.poll`` then ``Sender.handleProduceResponse``: no
task per request). Per partition, the answer is one of:

- success (or ``DUPLICATE_SEQUENCE_NUMBER``: the broker already had it):
  complete the batch's futures and callbacks;
- ``MESSAGE_TOO_LARGE`` for a batch of several records: split it into
  smaller batches and send those (``accumulator.py``), without counting a
  retry, as Java's ``Sender`` does;
- a retriable error (``retry.RETRIABLE``: leader moved, not enough replicas,
  timeout, a broken connection): put the batch back in sequence order and
  resend it after ``retry.backoff.ms`` (growing to ``retry.backoff.max.ms``,
  KIP-580), after refreshing metadata if the error says it is stale, as long
  as ``retries`` and ``delivery.timeout.ms`` allow;
- anything else: fail the batch.

A transactional producer (``transactional.id``, ``transactional.py``)
adds two steps before draining: batches of a transaction that is being
aborted (or can only be aborted) are failed instead of sent, and the
partitions that got their first record are added to the transaction with
AddPartitionsToTxn; a batch goes out only once its partition is in the
transaction. Its batches carry the transactional attribute bit, and any
batch that fails makes the transaction abortable. Its producer id comes
from ``init_transactions()``, never from the sender itself.

A request that gets no answer within ``request.timeout.ms`` (the loop
checks each round, and sleeps no longer than the oldest deadline) closes its
connection (as Kafka's ``NetworkClient`` does), which fails the other
requests on it too; their batches are retried on a new connection. With
idempotence those retries cannot duplicate anything: the broker recognises
the sequence numbers it already appended.
"""

from __future__ import annotations

import collections
import logging

import trio

from minikafka.errors import ErrorCode, KafkaError

from . import retry
from .accumulator import ProducerBatch, RecordAccumulator
from .connection import Connection, InFlightRequest, KafkaConnectionError
from .idempotence import IdempotenceState
from .transaction_manager import TransactionAbortedError

PRODUCE_KEY = 0
INIT_PRODUCER_ID_KEY = 22

log = logging.getLogger(__name__)


class _InFlightProduce:
    """One Produce request on the wire: where it went, what it carries, its deadline."""

    __slots__ = ("node_id", "connection", "batches", "request", "deadline_ms")

    def __init__(self, node_id: int, connection: Connection, batches: list[ProducerBatch],
                 deadline_ms: float):
        self.node_id = node_id
        self.connection = connection
        self.batches = batches
        self.request: InFlightRequest | None = None
        self.deadline_ms = deadline_ms


class Sender:
    """Drains the accumulator into Produce requests (one task per producer).

    Args:
        cluster: the producer's ``Cluster`` (metadata cache, connections).
        accumulator: where ``send()`` puts records.
        config: a ``ProducerConfig``.
        idempotence: the sequence bookkeeping, or None without idempotence.
        monotonic_ms: a clock for linger and timeouts (Trio's, in ms).
        on_batch_done: called with each completed batch (frees memory).
        transactional: the ``TransactionalRequests`` of a transactional producer.
    """

    def __init__(self, cluster, accumulator: RecordAccumulator, config,
                 idempotence: IdempotenceState | None, monotonic_ms, on_batch_done, *,
                 transactional=None):
        self.cluster = cluster
        self.accumulator = accumulator
        self.config = config
        self.idempotence = idempotence
        self.monotonic_ms = monotonic_ms
        self.on_batch_done = on_batch_done
        self.transactional = transactional
        self.transaction_manager = transactional.manager if transactional is not None else None
        self.fatal_error: KafkaError | None = None
        self.record_retry_total = 0  # Kafka's producer metric of the same name (record-retry-total)
        self.in_flight: dict[int, int] = collections.Counter()  # node id -> requests
        self._requests: list[_InFlightProduce] = []  # in the order they were sent
        self.backoff = retry.ExponentialBackoff(config.retry_backoff_ms, config.retry_backoff_max_ms)
        self._wakeup = trio.Event()
        self._metadata_wanted: set[str] = set()
        self._refreshing = False
        self._drain_start = 0
        self._nursery: trio.Nursery | None = None

    def wakeup(self) -> None:
        """Make the loop look again now (new batch, flush, close, an answer)."""
        self._wakeup.set()

    # -- the loop ------------------------------------------------------------

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Run until cancelled (``Producer.close``)."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                while True:
                    wait_ms = await self._run_once()
                    if wait_ms > 0:
                        with trio.move_on_after(wait_ms / 1000):
                            await self._wakeup.wait()
                        self._wakeup = trio.Event()
                    else:
                        await trio.lowlevel.checkpoint()
        except BaseException as exc:
            # Whatever stopped the sender (close, a bug), no future may wait forever.
            self.fatal_error = self.fatal_error or KafkaError(
                ErrorCode.UNKNOWN_SERVER_ERROR, f"the producer's sender stopped: {exc!r}")
            self.fail_incomplete(self.fatal_error)
            raise

    async def _run_once(self) -> float:
        """One round; returns how long the loop may sleep (ms)."""
        now_ms = self.monotonic_ms()
        if self._requests:
            await self._handle_answers(now_ms)
        self._expire(now_ms)
        if self.transactional is not None:
            wait_ms = await self._prepare_transaction()
            if wait_ms:
                return wait_ms
        if self.idempotence is not None and not self._producer_id_usable():
            if self.transactional is not None:
                return self.config.retry_backoff_ms  # init_transactions() / the abort bumps it
            return await self._maybe_init_producer_id()
        ready, next_check_ms = self.accumulator.ready(now_ms)
        by_node = self._group_by_leader(ready)
        sent, throttled_ms = 0, None
        for node_id, partitions in by_node.items():
            delay_ms = self.cluster.throttle_delay_ms(node_id, now_ms)
            if delay_ms > 0:  # the broker throttles us: nothing for it until then
                throttled_ms = delay_ms if throttled_ms is None else min(throttled_ms, delay_ms)
            elif self.in_flight[node_id] < self.config.max_in_flight:
                batches = self._drain(partitions)
                if batches:
                    await self._send(node_id, batches, now_ms)
                    sent += 1
        if sent:
            return 0
        # Ready partitions that could not go (no leader, slots full, a retry
        # blocking) wait for a wakeup; cap the sleep so nothing waits forever.
        wait_ms = min(next_check_ms, self.config.retry_backoff_ms if ready else next_check_ms, 1000)
        if throttled_ms is not None:
            wait_ms = min(wait_ms, throttled_ms)
        if self._requests:  # wake up in time to time out the oldest request
            wait_ms = min(wait_ms, min(r.deadline_ms for r in self._requests) - now_ms)
        return wait_ms

    async def _prepare_transaction(self) -> float:
        """Fail the batches of an aborted transaction; add new partitions to it.

        Returns:
            How long to wait before the next round (0: go on and drain).
        """
        manager = self.transaction_manager
        if manager.should_abort_undrained() and self.accumulator.has_queued():
            self.fail_queued(manager.last_error or TransactionAbortedError())
        return await self.transactional.add_partitions_once()

    def _producer_id_usable(self) -> bool:
        return self.idempotence.has_producer_id and not self.idempotence.bump_required

    def _group_by_leader(self, ready) -> dict[int, list[tuple[str, int]]]:
        by_node: dict[int, list[tuple[str, int]]] = {}
        for topic_partition in ready:
            leader_id = self._leader(*topic_partition)
            if leader_id is None:
                self._want_metadata(topic_partition[0])
            else:
                by_node.setdefault(leader_id, []).append(topic_partition)
        return by_node

    def _leader(self, topic: str, partition: int) -> int | None:
        """The partition's leader from the metadata cache, or None if unknown."""
        metadata = self.cluster.topics.get(topic)
        partition_metadata = metadata.partitions.get(partition) if metadata else None
        if partition_metadata is None or partition_metadata.leader_id < 0:
            return None
        return partition_metadata.leader_id

    def _drain(self, partitions: list[tuple[str, int]]) -> list[ProducerBatch]:
        """At most one batch per partition, up to ``max.request.size`` bytes.

        The start rotates so that no partition is always last (Java's ``drainIndex``).
        """
        self._drain_start = (self._drain_start + 1) % len(partitions)
        batches, size = [], 0
        for topic_partition in partitions[self._drain_start:] + partitions[:self._drain_start]:
            batch = self.accumulator.peek(topic_partition)
            if batch is None or (self.idempotence and not self.idempotence.may_drain(batch)):
                continue
            if self.transaction_manager is not None:
                if not self.transaction_manager.is_send_to_partition_allowed(topic_partition):
                    continue  # AddPartitionsToTxn first
                batch.is_transactional = True
            if batches and size + batch.size_bytes > self.config.max_request_size:
                break
            batch = self.accumulator.pop(topic_partition)
            if self.idempotence is not None:
                self.idempotence.assign(batch)
            batches.append(batch)
            size += batch.size_bytes
        return batches

    # -- one request -------------------------------------------------------------

    async def _send(self, node_id: int, batches: list[ProducerBatch], now_ms: float) -> None:
        """Write one Produce request; its answer is handled by a later round."""
        try:
            connection = await self.cluster.connection_to(node_id)
        except (KafkaConnectionError, KafkaError) as exc:
            log.debug("cannot reach broker %s: %s", node_id, exc)
            self._complete_all(batches, ErrorCode.NETWORK_EXCEPTION)
            return
        produce = _InFlightProduce(node_id, connection, batches,
                                   now_ms + self.config.request_timeout_ms)
        self.in_flight[node_id] += 1
        try:
            # Requests leave in the order they were drained: sequence order.
            produce.request = await connection.send(
                PRODUCE_KEY, self._produce_body(batches), expect_response=self.config.acks != 0,
                on_done=self._answered)
        except KafkaConnectionError:
            self._done_with(produce)
            self._complete_all(batches, ErrorCode.NETWORK_EXCEPTION)
        except KafkaError as exc:
            self._done_with(produce)
            self._complete_all(batches, exc.code)
        except BaseException:
            self._done_with(produce)  # cancelled (close): fail_incomplete() takes the batches
            raise
        else:
            if produce.request is None:  # acks=0: no answer will come
                self._done_with(produce)
                self._handle_response(batches, None)
            else:
                self._requests.append(produce)

    def _produce_body(self, batches: list[ProducerBatch]) -> dict:
        by_topic: dict[str, list] = {}
        for batch in batches:
            batch.attempts += 1
            by_topic.setdefault(batch.topic, []).append(
                {"index": batch.partition, "records": batch.build(self.config.compression)})
        manager = self.transaction_manager
        return {"transactional_id": manager.transactional_id if manager else None,
                "acks": self.config.acks,
                "timeout_ms": int(self.config.request_timeout_ms),
                "topic_data": [{"name": t, "partition_data": p} for t, p in by_topic.items()]}

    def _answered(self, request: InFlightRequest) -> None:
        """The connection resolved a Produce request (its reader task): look again."""
        self._wakeup.set()

    def _done_with(self, produce: _InFlightProduce) -> None:
        self.in_flight[produce.node_id] -= 1
        if produce in self._requests:
            self._requests.remove(produce)

    async def _handle_answers(self, now_ms: float) -> None:
        """Handle answered requests in send order; close connections that timed out."""
        timed_out = []
        for produce in list(self._requests):
            request = produce.request
            if request.done.is_set():
                self._done_with(produce)
                if request.error is not None:  # the connection broke
                    self._complete_all(produce.batches, ErrorCode.NETWORK_EXCEPTION)
                else:
                    self._handle_response(produce.batches, request.response)
            elif now_ms >= produce.deadline_ms:
                self._done_with(produce)
                self._complete_all(produce.batches, ErrorCode.REQUEST_TIMED_OUT)
                timed_out.append(produce.connection)
        for connection in dict.fromkeys(timed_out):
            # Kafka disconnects on a request timeout; the other requests on the
            # connection fail with it and are handled next round.
            log.debug("no answer from %s within request.timeout.ms: closing it", connection)
            await connection.aclose()

    def _handle_response(self, batches: list[ProducerBatch], response) -> None:
        if response is None:  # acks=0: no answer, no offsets
            for batch in batches:
                self._complete(batch, ErrorCode.NONE, -1, -1)
            return
        answers = {(t.name, p.index): p for t in response.responses for p in t.partition_responses}
        for batch in batches:
            answer = answers.get(batch.topic_partition)
            if answer is None:
                self._complete(batch, ErrorCode.UNKNOWN_SERVER_ERROR, -1, -1)
            else:
                self._complete(batch, answer.error_code, answer.base_offset,
                               answer.log_append_time_ms, getattr(answer, "error_message", None))

    def _complete_all(self, batches, code: ErrorCode) -> None:
        for batch in batches:
            self._complete(batch, code, -1, -1)

    # -- outcomes ---------------------------------------------------------------------

    def _complete(self, batch: ProducerBatch, code: int, base_offset: int,
                  log_append_time_ms: int, message: str | None = None) -> None:
        """Decide a batch's fate from its partition's error code."""
        if code in (ErrorCode.NONE, ErrorCode.DUPLICATE_SEQUENCE_NUMBER):
            if self.idempotence is not None:
                self.idempotence.acked(batch)
            self._finish(batch, base_offset, log_append_time_ms, None)
            return
        code = ErrorCode(code)
        now_ms = self.monotonic_ms()
        if code == ErrorCode.MESSAGE_TOO_LARGE and batch.record_count > 1 and self.fatal_error is None:
            self._split(batch, now_ms)
            return
        # One draw of the jittered backoff: the batch is kept only if it can
        # wait exactly this long and still go out before its delivery timeout.
        backoff_ms = self.backoff.backoff_ms(batch.attempts - 1)
        if self._can_retry(batch, code, now_ms, backoff_ms):
            if retry.needs_metadata_refresh(code):
                self._want_metadata(batch.topic)
            if code == ErrorCode.UNKNOWN_PRODUCER_ID:
                self.idempotence.bump_required = True  # the broker forgot us (KIP-360)
            self.accumulator.reenqueue(batch, now_ms, backoff_ms)
            self.record_retry_total += batch.record_count
            return
        if self.idempotence is not None:
            self.idempotence.failed(batch)
        detail = message or f"producing to {batch.topic}-{batch.partition} failed"
        self._finish(batch, -1, -1, KafkaError(code, detail))

    def _split(self, batch: ProducerBatch, now_ms: int) -> None:
        """Send the records of a batch the broker found too large again, in smaller batches."""
        log.warning("splitting a batch of %d records for %s-%d: too large for the broker",
                    batch.record_count, batch.topic, batch.partition)
        pieces = self.accumulator.split(batch)
        if self.idempotence is not None:
            self.idempotence.replace(batch, pieces)
        for piece in reversed(pieces):  # each goes in front: they keep their order
            self.accumulator.reenqueue(piece, now_ms, 0)
        self.on_batch_done(batch)

    def _can_retry(self, batch: ProducerBatch, code: ErrorCode, now_ms: int,
                   backoff_ms: float) -> bool:
        if self.fatal_error is not None or batch.attempts > self.config.retries:
            return False
        deadline_ms = batch.created_ms + self.config.delivery_timeout_ms
        if now_ms + backoff_ms >= deadline_ms:
            return False
        if self.idempotence is not None:
            if code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER:
                # An earlier batch is still unacknowledged: this one just came
                # too early and goes again after it. Otherwise: KIP-360, fail.
                return not self.idempotence.is_next_expected(batch)
            if code == ErrorCode.UNKNOWN_PRODUCER_ID:
                # Idempotent: bump the epoch and resend. Transactional: the batch
                # fails, the transaction aborts, and the abort bumps the epoch.
                return self.transactional is None
        return retry.is_retriable(code)

    def _finish(self, batch, base_offset, log_append_time_ms, error) -> None:
        if error is not None and self.transaction_manager is not None:
            self.transaction_manager.handle_failed_batch(error)
        self.accumulator.deallocate(batch)
        try:
            batch.complete(base_offset, log_append_time_ms, error)
        finally:
            self.on_batch_done(batch)

    def _expire(self, now_ms: int) -> None:
        for batch in self.accumulator.expired_batches(now_ms, self.config.delivery_timeout_ms):
            if self.idempotence is not None:
                self.idempotence.failed(batch)
            self._finish(batch, -1, -1, KafkaError(
                ErrorCode.REQUEST_TIMED_OUT,
                f"expiring {batch.record_count} record(s) for {batch.topic}-{batch.partition}: "
                f"{now_ms - batch.created_ms:.0f} ms has passed since batch creation"))

    def fail_queued(self, error: KafkaError) -> None:
        """Fail every batch still queued (forced close, fatal error)."""
        for batch in self.accumulator.abort_all():
            if self.idempotence is not None:
                self.idempotence.failed(batch)
            self._finish(batch, -1, -1, error)

    def fail_incomplete(self, error: KafkaError) -> None:
        """Fail every batch not yet complete, queued or in flight (close)."""
        self.fail_queued(error)
        for batch in list(self.accumulator.incomplete):
            if self.idempotence is not None:
                self.idempotence.failed(batch)
            self._finish(batch, -1, -1, error)

    # -- metadata -------------------------------------------------------------------

    def _want_metadata(self, topic: str) -> None:
        """Refresh metadata for ``topic`` soon (one refresh at a time)."""
        self._metadata_wanted.add(topic)
        if not self._refreshing and self._nursery is not None:
            self._refreshing = True
            self._nursery.start_soon(self._refresh_metadata)

    async def _refresh_metadata(self) -> None:
        try:
            await trio.sleep(self.config.retry_backoff_ms / 1000)  # do not hammer a moving cluster
            topics, self._metadata_wanted = sorted(self._metadata_wanted), set()
            await self.cluster.refresh_metadata(topics, auto_create=True)
        except (KafkaConnectionError, KafkaError) as exc:
            log.debug("metadata refresh failed: %s", exc)
        finally:
            self._refreshing = False
            self.wakeup()

    # -- producer id (idempotence) -----------------------------------------------------

    async def _maybe_init_producer_id(self) -> float:
        """Get a producer id, or bump the epoch once nothing is in flight."""
        if sum(self.in_flight.values()):
            return self.config.retry_backoff_ms  # answers wake us; bump after them
        try:
            await self._init_producer_id()
        except (KafkaConnectionError, KafkaError) as exc:
            if isinstance(exc, KafkaError) and not retry.is_retriable(exc.code):
                self.fatal_error = exc
                self.fail_queued(exc)
            log.debug("InitProducerId failed: %s", exc)
            return self.config.retry_backoff_ms
        return 0

    async def _init_producer_id(self) -> None:
        """InitProducerId; with a current id and epoch (v3+), bump the epoch (KIP-360)."""
        connection = await self.cluster.any_connection()
        state = self.idempotence
        body = {"transactional_id": None,
                "transaction_timeout_ms": int(self.config.transaction_timeout_ms),
                "producer_id": state.producer_id, "producer_epoch": state.producer_epoch}
        if connection.version_for(INIT_PRODUCER_ID_KEY) < 3:
            body["producer_id"], body["producer_epoch"] = -1, -1  # no bump: a new id
        response = await connection.request(INIT_PRODUCER_ID_KEY, body,
                                            timeout_ms=self.config.request_timeout_ms)
        if response.error_code != ErrorCode.NONE:
            raise KafkaError(ErrorCode(response.error_code), "InitProducerId failed")
        state.set_producer_id(response.producer_id, response.producer_epoch)
        log.debug("producer id %s, epoch %s", response.producer_id, response.producer_epoch)

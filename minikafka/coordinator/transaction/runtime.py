"""The transaction coordinator runtime: the thin Trio layer around ``TransactionCoordinator``.

The coordinator itself (``coordinator.py``) is sans-I/O: an operation takes
a request's values and ``now_ms`` and returns a ``TxnResult`` of records
(already applied to its memory), a response, and the transaction markers
to send. This module does the I/O, in the style of the group coordinator's
runtime (``coordinator/runtime.py``) and of Kafka's
``TransactionStateManager``:

- **Shards.** A transactional id lives in one partition of
  ``__transaction_state`` (``partition_for``: Kafka's
  ``abs(hashCode) % transaction.state.log.num.partitions``). The runtime
  keeps one shard per partition this broker leads, each with its own
  ``TransactionCoordinator``. Its *coordinator epoch* is the partition's
  leader epoch when the shard was loaded: markers carry it, and a partition
  leader refuses markers of an older coordinator epoch
  (TRANSACTION_COORDINATOR_FENCED), so a deposed coordinator cannot write
  them. Requests for a partition we do not lead get NOT_COORDINATOR, for a
  loading one COORDINATOR_LOAD_IN_PROGRESS.
- **Write, then answer.** ``execute`` runs one operation, appends its
  records to the shard's partition as one batch (acks=all: refused while the
  ISR is below ``transaction.state.log.min.isr``), waits until the in-sync
  replicas have everything the shard wrote, and only then answers. If they
  do not have it within ``offsets.commit.timeout.ms`` (the write timeout
  Kafka's coordinators share), the answer is COORDINATOR_NOT_AVAILABLE (the
  client retries; the record stays in the log). If the append itself fails,
  memory is ahead of the log: the shard answers COORDINATOR_LOAD_IN_PROGRESS
  for a moment and is rebuilt from its log.
- **Markers after the prepare record.** The markers of a PrepareCommit or
  PrepareAbort are sent only once that record is committed (at or below
  the high watermark): a coordinator that fails over later finds the
  decision in the log and sends the same markers again (``on_loaded``). A
  background task per transaction runs the marker channel (``markers.py``)
  until every partition has its marker, then calls the coordinator's
  ``markers_written`` (CompleteCommit/CompleteAbort), unless the shard was
  lost or reloaded meanwhile. EndTxn is answered once the prepare record is
  replicated, not after the markers (transaction version 1, as Kafka).
- **Loading** replays the partition's records (up to its log end: a new
  leader has every record the old one may have acted on) through the
  coordinator's ``replay``, then ``on_loaded`` returns the markers of
  transactions caught half-way, which the runtime sends.
- **Timers.** One task sleeps until the earliest ``next_deadline_ms()`` of
  any shard, then runs ``poll_timers``: timed-out transactions are aborted
  (with an epoch bump that fences their producer) and idle transactional ids
  expire, through the same write path.

``__transaction_state`` is created on the first FindCoordinator for a
transactional id with ``transaction.state.log.num.partitions`` partitions,
replication factor ``transaction.state.log.replication.factor`` (capped by
the registered brokers), ``min.insync.replicas`` =
``transaction.state.log.min.isr`` (capped by that factor),
``cleanup.policy=compact`` and ``segment.bytes`` =
``transaction.state.log.segment.bytes``, as Kafka does.

Owned by one ``Broker``; every method runs in the broker's Trio loop.
Nothing awaits between an operation and the append of its records, so no
other request observes the coordinator's memory ahead of its log.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Mapping, Protocol

import trio

from minikafka.config import BrokerConfig
from minikafka.coordinator.group_partition import partition_for
from minikafka.coordinator.runtime import (
    ShardState,
    TopicCreator,
    create_internal_topic,
    internal_replication_factor,
    read_log_entries,
    seconds_until_earliest,
    wait_replicated,
)
from minikafka.coordinator.transaction.config import TransactionConfig
from minikafka.coordinator.transaction.coordinator import TransactionCoordinator, TxnResult
from minikafka.coordinator.transaction.records import TRANSACTION_STATE_TOPIC
from minikafka.coordinator.transaction.state import TransactionState
from minikafka.errors import ErrorCode, KafkaError
from minikafka.metadata.topics import TopicRegistry
from minikafka.metrics.names import MetricName
from minikafka.metrics.registry import Registry
from minikafka.quotas.sensor import Avg, Max
from minikafka.replication.partition import Partition
from minikafka.replication.waiters import wait_for_commits
from minikafka_core.records import Record, build_batch

log = logging.getLogger("minikafka.coordinator.transaction")

RELOAD_BACKOFF_S = 0.1  # after a failed write, before the shard is rebuilt from its log
COMMIT_POLL_MS = 1000  # how often a marker task waiting for the high watermark checks the shard

# What a failed write to the transaction log tells the client (Kafka's
# TransactionStateManager.appendTransactionToLog): look again, or retry later.
_APPEND_ERRORS = {
    ErrorCode.NOT_LEADER_OR_FOLLOWER: ErrorCode.NOT_COORDINATOR,
    ErrorCode.KAFKA_STORAGE_ERROR: ErrorCode.NOT_COORDINATOR,
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_ENOUGH_REPLICAS: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.REQUEST_TIMED_OUT: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.MESSAGE_TOO_LARGE: ErrorCode.UNKNOWN_SERVER_ERROR,
    ErrorCode.RECORD_LIST_TOO_LARGE: ErrorCode.UNKNOWN_SERVER_ERROR,
}


class ProducerIds(Protocol):
    """Fresh producer ids, unique in the cluster (the broker's ``ProducerIdManager``)."""

    async def next_producer_id(self) -> int: ...


class MarkerWriter(Protocol):
    """Writes one transaction's markers (``markers.TransactionMarkerChannel``)."""

    async def write_markers(self, marker, is_current: Callable[[], bool]) -> bool: ...


METRICS_SAMPLES, METRICS_WINDOW_MS = 2, 30_000  # Kafka's metrics.num.samples, metrics.sample.window.ms


def transaction_coordinator_metric(name: str, tags=()) -> MetricName:
    """``kafka.server:type=transaction-coordinator-metrics``, attribute ``name``."""
    return MetricName("kafka.server", "transaction-coordinator-metrics", name, tags, kafka_metric=True)


class _Shard:
    """One ``__transaction_state`` partition this broker leads, with its coordinator.

    ``generation`` counts loads: a marker task started under one generation
    stops if the shard was reloaded (the reload re-sends what is pending).
    """

    def __init__(self, index: int, partition: Partition):
        self.index = index
        self.partition = partition
        self.coordinator: TransactionCoordinator | None = None
        self.coordinator_epoch = -1
        self.state = ShardState.LOADING
        self.generation = 0


class TransactionCoordinatorRuntime:
    """Drives one ``TransactionCoordinator`` per led ``__transaction_state`` partition.

    Args:
        config: the broker's ``BrokerConfig``.
        node_id: this broker's ``node.id``.
        topics: the broker's ``TopicRegistry``.
        partitions: the broker's hosted partitions, ``{(topic, index): Partition}``.
        topic_admin: creates ``__transaction_state``.
        producer_ids: fresh producer ids (the broker's ``ProducerIdManager``).
        markers: writes transaction markers (a ``TransactionMarkerChannel``).
        now_ms: the broker's wall clock in milliseconds (ends up in records).
        monotonic_ms: Trio's clock in milliseconds (write timeouts).

    Handlers call ``ensure_transaction_topic``, ``partition_for``,
    ``is_coordinator_for``, ``init_producer_id``, ``execute``, ``read``,
    ``describe`` and ``list_transactions``; the verifier calls
    ``verify_partitions``. ``run`` is the runtime's task.
    """

    def __init__(self, config: BrokerConfig, *, node_id: int, topics: TopicRegistry,
                 partitions: Mapping[tuple[str, int], Partition], topic_admin: TopicCreator,
                 producer_ids: ProducerIds, markers: MarkerWriter,
                 now_ms: Callable[[], int], monotonic_ms: Callable[[], float]):
        self.config = config
        self.node_id = node_id
        self.topics = topics
        self.partitions = partitions
        self.topic_admin = topic_admin
        self.producer_ids = producer_ids
        self.markers = markers
        self.now_ms = now_ms
        self.monotonic_ms = monotonic_ms
        self.num_partitions: int = config["transaction.state.log.num.partitions"]
        self.txn_config = TransactionConfig.from_broker_config(config)
        self._shards: dict[int, _Shard] = {}
        self._timers_changed = trio.Event()
        self._nursery: trio.Nursery | None = None
        self._opened = False
        self._load_time_avg = Avg(METRICS_SAMPLES, METRICS_WINDOW_MS)
        self._load_time_max = Max(METRICS_SAMPLES, METRICS_WINDOW_MS)

    # -- life cycle -----------------------------------------------------------------

    def open(self) -> None:
        """At start-up (metadata caught up): follow leadership from now on."""
        self._opened = True

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Load the led partitions, then run timers and marker tasks until cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            self.on_metadata()
            task_status.started()
            await self._run_timers()

    async def ensure_transaction_topic(self) -> None:
        """Create ``__transaction_state`` (on the first FindCoordinator for a transactional id).

        Raises:
            KafkaError: COORDINATOR_NOT_AVAILABLE if the topic cannot be created.
        """
        if not self._opened or self._nursery is None:
            raise KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, "the broker is starting")
        if self.topics.get(TRANSACTION_STATE_TOPIC) is not None:
            return
        replication_factor = internal_replication_factor(
            self.config["transaction.state.log.replication.factor"], self.topics)
        configs = {
            "cleanup.policy": "compact",
            "segment.bytes": str(self.config["transaction.state.log.segment.bytes"]),
            "min.insync.replicas": str(min(self.config["transaction.state.log.min.isr"], replication_factor)),
            "unclean.leader.election.enable": "false",
        }
        await create_internal_topic(self.topic_admin, TRANSACTION_STATE_TOPIC, self.num_partitions, configs,
                                    replication_factor, node_id=self.node_id)
        self.on_metadata()

    def on_metadata(self) -> None:
        """Follow leadership changes (Kafka's ``onElection`` / ``onResignation``).

        A shard whose partition we no longer lead is dropped (its marker
        tasks stop); a partition we now lead, or lead under a new leader
        epoch, is loaded from its log with that epoch as coordinator epoch.
        """
        if not self._opened or self._nursery is None:
            return
        led = self._led_partitions()
        for index in [i for i in self._shards if i not in led]:
            shard = self._shards.pop(index)
            shard.generation += 1  # stops its marker tasks
            log.info("broker %s: resigned as transaction coordinator of %s-%d",
                     self.node_id, TRANSACTION_STATE_TOPIC, index)
        for index in sorted(led):
            shard = self._shards.get(index)
            partition = self.partitions[(TRANSACTION_STATE_TOPIC, index)]
            if shard is None or shard.coordinator_epoch != partition.leader_epoch:
                shard = self._shards[index] = shard or _Shard(index, partition)
                shard.partition = partition
                self._load(shard)
        self._timers_changed.set()

    def _led_partitions(self) -> set[int]:
        """The ``__transaction_state`` partitions we lead (and hold, as leader)."""
        topic = self.topics.image.topic(TRANSACTION_STATE_TOPIC)
        if topic is None:
            return set()
        led = set()
        for index, registration in topic.partitions.items():
            partition = self.partitions.get((TRANSACTION_STATE_TOPIC, index))
            if registration.leader == self.node_id and partition is not None and partition.is_leader:
                led.add(index)
        return led

    # -- loading --------------------------------------------------------------------

    # -- metrics (kafka.server:type=transaction-coordinator-metrics) -------------------------

    def register_metrics(self, registry: Registry) -> None:
        """Kafka's ``partition-load-time-avg/max`` (ms to replay a ``__transaction_state`` partition),
        plus the transactional ids coordinated here by state (``transaction-count{state=...}``,
        minikafka's: Kafka shows states only through ListTransactions), all read at scrape time."""
        now_ms = lambda: int(self.monotonic_ms())  # noqa: E731
        registry.gauge(transaction_coordinator_metric("partition-load-time-avg"),
                       lambda: self._load_time_avg.measure(now_ms()))
        registry.gauge(transaction_coordinator_metric("partition-load-time-max"),
                       lambda: self._load_time_max.measure(now_ms()))
        for state in TransactionState:
            registry.gauge(transaction_coordinator_metric("transaction-count", (("state", state.name),)),
                           lambda state=state: self._count_in_state(state))

    def _count_in_state(self, state: TransactionState) -> int:
        return sum(meta.state is state for shard in list(self._shards.values())
                   if shard.state is ShardState.ACTIVE and shard.coordinator is not None
                   for meta in list(shard.coordinator.transactions.values()))

    def _load(self, shard: _Shard) -> None:
        """Replay the shard's partition into a fresh coordinator, activate it, resend pending markers."""
        started = time.perf_counter()  # CPU-bound replay: real elapsed time, whatever Trio's clock says
        self._replay_shard(shard)
        elapsed_ms = (time.perf_counter() - started) * 1000
        self._load_time_avg.record(elapsed_ms, int(self.monotonic_ms()))
        self._load_time_max.record(elapsed_ms, int(self.monotonic_ms()))

    def _replay_shard(self, shard: _Shard) -> None:
        shard.state = ShardState.LOADING
        shard.generation += 1
        shard.coordinator_epoch = shard.partition.leader_epoch
        shard.coordinator = TransactionCoordinator(self.txn_config, shard.index, shard.coordinator_epoch)
        count = 0
        for _, key, value in read_log_entries(shard.partition):
            if key is None:  # a control record: this log has no transactions of its own
                continue
            try:
                shard.coordinator.replay(key, value)
                count += 1
            except ValueError as exc:
                log.warning("%s-%d: skipping unreadable record: %s", TRANSACTION_STATE_TOPIC, shard.index, exc)
        shard.state = ShardState.ACTIVE
        result = shard.coordinator.on_loaded(self.now_ms())
        log.info("broker %s: transaction coordinator of %s-%d (coordinator epoch %d) loaded %d records",
                 self.node_id, TRANSACTION_STATE_TOPIC, shard.index, shard.coordinator_epoch, count)
        self._apply_in_background(shard, result)
        self._timers_changed.set()

    # -- what handlers call -----------------------------------------------------------

    def partition_for(self, transactional_id: str) -> int:
        """The ``__transaction_state`` partition that holds ``transactional_id``."""
        return partition_for(transactional_id, self.num_partitions)

    def is_coordinator_for(self, transactional_id: str) -> bool:
        """True if this broker leads the partition of ``transactional_id``."""
        return self.partition_for(transactional_id) in self._shards

    async def init_producer_id(self, transactional_id: str, transaction_timeout_ms: int,
                               producer_id: int, producer_epoch: int) -> dict:
        """InitProducerId for a transactional producer: the response dict.

        A fresh producer id is fetched (from the controller's blocks) only
        when the coordinator says it needs one: a new transactional id, or an
        exhausted epoch.

        Raises:
            KafkaError: as ``execute``; COORDINATOR_LOAD_IN_PROGRESS while no
                producer id block is available.
        """
        shard = self._shard_of(transactional_id)
        new_producer_id = None
        if shard.coordinator.needs_new_producer_id(transactional_id, producer_id, producer_epoch):
            new_producer_id = await self.producer_ids.next_producer_id()
        return await self.execute(transactional_id, lambda coordinator, now_ms: coordinator.init_producer_id(
            transactional_id, transaction_timeout_ms, producer_id, producer_epoch, now_ms, new_producer_id))

    async def execute(self, transactional_id: str,
                      operation: Callable[[TransactionCoordinator, int], TxnResult]):
        """Run ``operation(coordinator, now_ms)`` on the id's shard; write, replicate, then answer.

        Returns:
            The result's ``response`` (an ``ErrorCode`` or a dict, per operation).

        Raises:
            KafkaError: INVALID_REQUEST (empty id), NOT_COORDINATOR,
                COORDINATOR_LOAD_IN_PROGRESS, or what a failed write maps to
                (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE).
        """
        shard = self._shard_of(transactional_id)
        result = operation(shard.coordinator, self.now_ms())
        self._apply(shard, result)
        await self._wait_replicated(shard)
        return result.response

    def read(self, transactional_id: str, operation: Callable[[TransactionCoordinator], object]):
        """Run a read-only ``operation(coordinator)`` on the id's shard. Raises as ``execute``."""
        return operation(self._shard_of(transactional_id).coordinator)

    def verify_partitions(self, transactional_id: str, producer_id: int, producer_epoch: int,
                          partitions: list[tuple[str, int]]) -> dict[tuple[str, int], ErrorCode]:
        """KIP-890's question from a partition leader: are these partitions in the transaction?

        Every partition gets the shard's error if the id is not ours or loading.
        """
        try:
            shard = self._shard_of(transactional_id)
        except KafkaError as exc:
            return {partition: exc.code for partition in partitions}
        return shard.coordinator.verify_partitions(transactional_id, producer_id, producer_epoch, partitions)

    def describe(self, transactional_id: str) -> dict:
        """One DescribeTransactions entry (error_code NOT_COORDINATOR etc. when not ours)."""
        try:
            shard = self._shard_of(transactional_id)
        except KafkaError as exc:
            return {"error_code": exc.code, "transactional_id": transactional_id, "transaction_state": "",
                    "transaction_timeout_ms": 0, "transaction_start_time_ms": -1, "producer_id": -1,
                    "producer_epoch": -1, "topics": []}
        return shard.coordinator.describe([transactional_id])[0]

    def list_transactions(self, state_filters: list[str], producer_id_filters: list[int],
                          duration_filter_ms: int) -> list[dict]:
        """ListTransactions over every shard this broker coordinates.

        Raises:
            KafkaError: COORDINATOR_LOAD_IN_PROGRESS while a shard is loading (as Kafka).
        """
        if any(shard.state is ShardState.LOADING for shard in self._shards.values()):
            raise KafkaError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
        now_ms = self.now_ms()
        states = []
        for index in sorted(self._shards):
            states.extend(self._shards[index].coordinator.list_transactions(
                state_filters, producer_id_filters, duration_filter_ms, now_ms))
        return states

    def _shard_of(self, transactional_id: str) -> _Shard:
        if not transactional_id:
            raise KafkaError(ErrorCode.INVALID_REQUEST, "the transactional id is empty")
        shard = self._shards.get(self.partition_for(transactional_id))
        if shard is None:
            raise KafkaError(ErrorCode.NOT_COORDINATOR, f"broker {self.node_id} does not coordinate "
                             f"transactional id {transactional_id!r}")
        if shard.state is ShardState.LOADING:
            raise KafkaError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
        return shard

    # -- write, replicate, send markers ---------------------------------------------

    def _apply(self, shard: _Shard, result: TxnResult) -> None:
        """Append the result's records; its markers go out once those records are committed.

        Raises:
            KafkaError: the append failed (the shard was reloaded from its log).
        """
        generation = shard.generation
        self._append(shard, result.records)
        if result.markers:
            required_offset = shard.partition.log_end_offset
            self._nursery.start_soon(self._send_when_committed, shard, generation, required_offset,
                                     result.markers)

    def _apply_in_background(self, shard: _Shard, result: TxnResult) -> None:
        """``_apply`` for results nobody answers (timers, loading, completions)."""
        try:
            self._apply(shard, result)
        except KafkaError:
            pass  # logged; the reload re-sends whatever markers are pending

    def _append(self, shard: _Shard, records) -> None:
        """Append ``records`` as one batch (acks=all); on failure reload the shard and raise."""
        self._timers_changed.set()
        if not records:
            return
        now_ms = self.now_ms()
        batch = build_batch([Record(delta, now_ms, key, value) for delta, (key, value) in enumerate(records)])
        try:
            shard.partition.append_records(batch, now_ms, required_acks=-1)
        except Exception as exc:
            code = _APPEND_ERRORS.get(getattr(exc, "code", None), ErrorCode.COORDINATOR_NOT_AVAILABLE)
            log.warning("%s-%d: appending %d transaction records failed (%s); reloading",
                        TRANSACTION_STATE_TOPIC, shard.index, len(records), exc)
            self._reload(shard)
            raise KafkaError(code, f"could not write to {TRANSACTION_STATE_TOPIC}: {exc}") from None

    async def _wait_replicated(self, shard: _Shard) -> None:
        """Wait until the in-sync replicas have every record this shard wrote (before answering).

        Raises:
            KafkaError: NOT_COORDINATOR (leadership moved) or
                COORDINATOR_NOT_AVAILABLE (not replicated in time; the client retries).
        """
        deadline_ms = self.monotonic_ms() + self.config["offsets.commit.timeout.ms"]
        await wait_replicated(shard.partition, deadline_ms, _APPEND_ERRORS, f"{TRANSACTION_STATE_TOPIC}-{shard.index}")

    def _reload(self, shard: _Shard) -> None:
        """Memory may be ahead of the log: stop serving the shard and rebuild it from its log soon.

        Until then its requests get COORDINATOR_LOAD_IN_PROGRESS (retriable)
        and its marker tasks stop. The pause keeps a write that fails again
        (too few in-sync replicas) from looping.
        """
        shard.state = ShardState.LOADING
        shard.generation += 1
        self._nursery.start_soon(self._reload_later, shard, shard.generation)

    async def _reload_later(self, shard: _Shard, generation: int) -> None:
        await trio.sleep(RELOAD_BACKOFF_S)
        if self._is_current(shard, generation):
            if shard.partition.is_leader:
                self._load(shard)
            else:
                del self._shards[shard.index]

    def _is_current(self, shard: _Shard, generation: int) -> bool:
        """True while ``shard`` is still ours and not reloaded since ``generation``."""
        return self._shards.get(shard.index) is shard and shard.generation == generation

    async def _send_when_committed(self, shard: _Shard, generation: int, required_offset: int,
                                   markers) -> None:
        """Send ``markers`` once the high watermark covers ``required_offset`` (the prepare record).

        A decision only a crash could lose is never acted on: until the
        in-sync replicas have the record, no marker leaves.
        """
        while shard.partition.high_watermark < required_offset:
            if not self._is_current(shard, generation):
                return
            await wait_for_commits([shard.partition], COMMIT_POLL_MS)
        for marker in markers:
            self._nursery.start_soon(self._write_markers, shard, generation, marker)

    async def _write_markers(self, shard: _Shard, generation: int, marker) -> None:
        """Write one transaction's markers, then record its completion (CompleteCommit/CompleteAbort)."""
        if not await self.markers.write_markers(marker, lambda: self._is_current(shard, generation)):
            return
        if self._is_current(shard, generation):
            result = shard.coordinator.markers_written(marker.transactional_id, marker.producer_id,
                                                       marker.producer_epoch, self.now_ms())
            self._apply_in_background(shard, result)

    # -- timers -------------------------------------------------------------------------

    async def _run_timers(self) -> None:
        """Sleep until the next deadline (or a change of deadlines), then fire timers."""
        while True:
            self._timers_changed = trio.Event()
            with trio.move_on_after(self._seconds_to_next_deadline()):
                await self._timers_changed.wait()
            self._poll_due_timers()

    def _seconds_to_next_deadline(self) -> float:
        return seconds_until_earliest([s.coordinator.next_deadline_ms() for s in self._shards.values()
                                       if s.state is ShardState.ACTIVE], self.now_ms())

    def _poll_due_timers(self) -> None:
        now_ms = self.now_ms()
        for shard in list(self._shards.values()):
            if shard.state is not ShardState.ACTIVE:
                continue
            deadline_ms = shard.coordinator.next_deadline_ms()
            if deadline_ms is not None and deadline_ms <= now_ms:
                self._apply_in_background(shard, shard.coordinator.poll_timers(now_ms))

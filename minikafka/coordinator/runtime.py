"""The group coordinator runtime: the thin Trio layer around ``GroupCoordinator``.

The coordinator itself (``classic/coordinator.py``) is sans-I/O: an operation
returns a ``CoordinatorResult`` of records to write and responses to send.
This module does the I/O, in the style of Kafka's ``CoordinatorRuntime``:

- **Shards.** Every group lives in one partition of ``__consumer_offsets``
  (``partition_for``). The runtime keeps one *shard* per partition this
  broker leads (on one broker, all of them): a ``GroupCoordinator`` for the
  classic protocol and a ``ConsumerGroupCoordinator`` for KIP-848's
  consumer protocol, fed by the same records (each ignores the other's
  record types) and sharing one id space: a group id belongs to one
  protocol at a time (``_ClassicGroupsHook``, ``classic_join_check``). A
  shard is LOADING while its partition is replayed and ACTIVE afterwards;
  requests for a LOADING shard get COORDINATOR_LOAD_IN_PROGRESS and requests
  for a partition we do not lead get NOT_COORDINATOR.
- **Write, then answer.** ``execute`` runs one operation, appends its records
  to the shard's partition as one batch, and only then releases the
  response and the *deliveries* (responses of parked JoinGroup and SyncGroup
  requests the operation completed). Each answer then waits until the
  partition's high watermark covers everything the shard wrote so far: the
  in-sync replicas of ``__consumer_offsets`` have it (Kafka's coordinator
  writes with acks=all), or after ``offsets.commit.timeout.ms`` the client
  gets COORDINATOR_NOT_AVAILABLE and retries. A client never learns of a
  generation or an offset commit that a crash could lose. Nothing between
  the operation and the append awaits, so under Trio no other request can
  observe the coordinator's memory ahead of the log.
- **Failure.** If an append fails, memory is ahead of the log: the shard's
  coordinator is thrown away and rebuilt by replaying the partition, and
  every parked request of the shard fails (its client rejoins), as Kafka does
  when it unloads and reloads a coordinator.
- **Loading** replays a partition's records through both coordinators'
  ``replay``, the same code the live path uses, so memory after a restart
  is memory before it.
- **Transactions** (KIP-98, KIP-447). ``execute_transactional`` runs a
  TxnOffsetCommit: after the KIP-890 verification (the transaction
  coordinator confirms the producer's transaction includes this partition),
  its records are appended as one *transactional* batch carrying the
  producer's id and epoch; the coordinator keeps those offsets pending.
  ``complete_transaction`` is the WriteTxnMarkers path for
  ``__consumer_offsets``: it appends the COMMIT or ABORT marker to the
  partition, applies it to the shard (pending offsets become committed or
  vanish), and answers once the in-sync replicas have it. Loading reads
  transactional batches and markers back through the same two coordinator
  methods (``replay(..., producer_id)``, ``replay_end_transaction_marker``).
- **Timers.** One task sleeps until the earliest ``next_deadline_ms()`` of
  any shard's coordinators (or until an operation changed the deadlines)
  and then runs their ``poll_timers``: expired sessions, join, sync and
  rebalance deadlines, offset retention. Their records and deliveries go
  through the same write-then-answer path.

Committed offsets live in the classic coordinator for groups of both
protocols (Kafka keeps them apart from group metadata too): a consumer
group's offsets sit in a *simple* classic group, which holds offsets and
never members. Handlers that touch both (OffsetCommit, JoinGroup,
DeleteGroups, ...) use ``execute_both``/``read_both``.

Clocks: the coordinator's ``now_ms`` is the broker's wall clock
(injected, handed in as ``now_ms``), because it ends up in records (commit
timestamps) that outlive the process. Waiting uses Trio's clock for the
*difference* between a deadline and now, so a test that injects
``now_ms=lambda: int(trio.current_time() * 1000)`` can drive every timer with
``trio.testing.MockClock``.

``__consumer_offsets`` is created on first need (FindCoordinator) with
``offsets.topic.num.partitions`` partitions, ``cleanup.policy=compact`` and
``segment.bytes=offsets.topic.segment.bytes``, as Kafka does.

Owned by one ``Broker``, which hands it only what it uses: the config, the
node id, the topic view of the metadata image, the hosted partitions, the
topic creation of ``__consumer_offsets`` and the two clocks. All methods run
in the broker's Trio loop.
"""

from __future__ import annotations

import enum
import logging
import math
from typing import Awaitable, Callable, Mapping, Protocol

import trio

from minikafka.config import BrokerConfig
from minikafka.coordinator.classic.config import GroupConfig
from minikafka.coordinator.classic.coordinator import GroupCoordinator
from minikafka.coordinator.classic.group import GroupState
from minikafka.coordinator.consumer.coordinator import (
    ClassicGroupUse,
    ConsumerGroupConfig,
    ConsumerGroupCoordinator,
)
from minikafka.coordinator.group_metrics import GroupCoordinatorMetrics
from minikafka.coordinator.group_partition import partition_for
from minikafka.coordinator.records import OFFSET_COMMIT_KEY_TYPE, group_metadata_tombstone
from minikafka.coordinator.result import CoordinatorResult
from minikafka.errors import ErrorCode, KafkaError
from minikafka.metadata.topics import TopicInfo, TopicRegistry
from minikafka.metrics.registry import Registry
from minikafka.replication.partition import Partition
from minikafka.replication.waiters import wait_for_isr
from minikafka.storage import AppendOrigin, FetchIsolation
from minikafka_core.records import ControlRecordType, Record, build_batch, read_batches

log = logging.getLogger("minikafka.coordinator")

OFFSETS_TOPIC = "__consumer_offsets"
LOAD_READ_BYTES = 1024 * 1024  # how much of the log one replay step reads
MIN_TIMER_SLEEP_S = 0.001  # never spin if a deadline in the past is not cleared

# What a failed append of coordinator records tells the client (Kafka's
# CoordinatorRuntime maps storage errors the same way): retry elsewhere or later.
_APPEND_ERRORS = {
    ErrorCode.NOT_LEADER_OR_FOLLOWER: ErrorCode.NOT_COORDINATOR,
    ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.REQUEST_TIMED_OUT: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.MESSAGE_TOO_LARGE: ErrorCode.UNKNOWN_SERVER_ERROR,
    ErrorCode.RECORD_LIST_TOO_LARGE: ErrorCode.UNKNOWN_SERVER_ERROR,
}

# Errors of a transactional write that the producer must see as they are.
_TXN_APPEND_ERRORS = frozenset({
    ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.INVALID_TXN_STATE, ErrorCode.PRODUCER_FENCED,
    ErrorCode.TRANSACTION_ABORTABLE,
})

# What a failed KIP-890 verification tells a TxnOffsetCommit client (Kafka's
# AddPartitionsToTxnManager, then CoordinatorOperationExceptionHelper): a
# transaction coordinator that cannot answer is a retriable error of ours; a
# fenced producer is INVALID_PRODUCER_EPOCH.
_VERIFICATION_ERRORS = {
    ErrorCode.PRODUCER_FENCED: ErrorCode.INVALID_PRODUCER_EPOCH,
    ErrorCode.NOT_COORDINATOR: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.COORDINATOR_NOT_AVAILABLE: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.COORDINATOR_LOAD_IN_PROGRESS: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NETWORK_EXCEPTION: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_ENOUGH_REPLICAS: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.REQUEST_TIMED_OUT: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NOT_LEADER_OR_FOLLOWER: ErrorCode.NOT_COORDINATOR,
    ErrorCode.KAFKA_STORAGE_ERROR: ErrorCode.NOT_COORDINATOR,
}

# The transaction coordinator only knows partition errors: a group
# coordinator that is not (yet) serving the partition is "not the leader"
# to it, and it retries (Kafka's KafkaApis does this mapping).
_MARKER_ERRORS = {
    ErrorCode.NOT_COORDINATOR: ErrorCode.NOT_LEADER_OR_FOLLOWER,
    ErrorCode.COORDINATOR_LOAD_IN_PROGRESS: ErrorCode.NOT_LEADER_OR_FOLLOWER,
    ErrorCode.COORDINATOR_NOT_AVAILABLE: ErrorCode.NOT_LEADER_OR_FOLLOWER,
}

NO_PRODUCER_ID = -1


class TopicCreator(Protocol):
    """Creates a topic through the controller (the ``Broker``): how ``__consumer_offsets`` comes to be."""

    async def create_topic(self, name: str, num_partitions: int, configs: dict,
                           replication_factor: int = -1) -> TopicInfo: ...


class ShardState(enum.Enum):
    """Where a shard is in its life (Kafka's CoordinatorState, simplified)."""

    LOADING = "Loading"
    ACTIVE = "Active"


class _Waiter:
    """A handler waiting for the response to its parked request."""

    def __init__(self):
        self._event = trio.Event()
        self._response: dict | None = None
        self._error: ErrorCode | None = None

    def deliver(self, response: dict) -> None:
        self._response = response
        self._event.set()

    def fail(self, code: ErrorCode) -> None:
        self._error = code
        self._event.set()

    async def wait(self) -> dict:
        await self._event.wait()
        if self._error is not None:
            raise KafkaError(self._error, "the coordinator was reloaded")
        return self._response


class _Shard:
    """One ``__consumer_offsets`` partition this broker leads, with its coordinators.

    ``coordinator`` is the classic one (and the keeper of committed offsets),
    ``consumer_groups`` the KIP-848 one. Both are replaced on a reload.
    """

    def __init__(self, index: int, partition, coordinator: GroupCoordinator,
                 consumer_groups: ConsumerGroupCoordinator):
        self.index = index
        self.partition = partition
        self.coordinator = coordinator
        self.consumer_groups = consumer_groups
        self.state = ShardState.LOADING
        self.waiters: dict[int, _Waiter] = {}  # ticket -> parked request's handler

    def next_deadline_ms(self) -> int | None:
        deadlines = (self.coordinator.next_deadline_ms(), self.consumer_groups.next_deadline_ms())
        return min((d for d in deadlines if d is not None), default=None)

    def fail_waiters(self, code: ErrorCode) -> None:
        for waiter in self.waiters.values():
            waiter.fail(code)
        self.waiters.clear()


class _ClassicGroupsHook:
    """What a shard's consumer coordinator may ask of its classic coordinator.

    A group id is either classic or consumer. A consumer-protocol member may
    take over an id whose classic group is absent, *simple* (offsets only)
    or EMPTY; the empty classic group is then deleted (a GroupMetadata
    tombstone), but its committed offsets stay, as in Kafka.
    """

    def __init__(self, shard: _Shard):
        self._shard = shard  # not the coordinator: a reload replaces it

    def classic_group_use(self, group_id: str) -> ClassicGroupUse:
        group = self._shard.coordinator.groups.get(group_id)
        if group is None or group.is_in(GroupState.DEAD):
            return ClassicGroupUse.NONE
        if not group.is_in(GroupState.EMPTY) or group.members or group.pending_members:
            return ClassicGroupUse.IN_USE
        if group.protocol_type is None:
            return ClassicGroupUse.NONE  # a simple group: only offsets, nothing to release
        return ClassicGroupUse.EMPTY

    def release_classic_group(self, group_id: str) -> list:
        record = group_metadata_tombstone(group_id)
        self._shard.coordinator.replay(*record)  # applied now, appended with the caller's records
        return [record]


class GroupCoordinatorRuntime:
    """Drives one ``GroupCoordinator`` per led ``__consumer_offsets`` partition.

    Args:
        config: the broker's ``BrokerConfig`` (``offsets.*`` and group settings).
        node_id: this broker's ``node.id``.
        topics: the broker's ``TopicRegistry`` (does ``__consumer_offsets``
            exist, who leads its partitions, how many brokers could host it).
        partitions: the broker's hosted partitions, ``{(topic, index): Partition}``.
        topic_admin: creates ``__consumer_offsets`` (the broker's controller operations).
        now_ms: the broker's wall clock in milliseconds (ends up in records).
        monotonic_ms: Trio's clock in milliseconds (commit timeouts).

    Handlers call ``find_coordinator``, ``execute`` (operations that may
    write), ``read`` (operations that only look) and ``shards_for_listing``.
    ``run`` is the runtime's task (loading, then timers).
    """

    def __init__(self, config: BrokerConfig, *, node_id: int, topics: TopicRegistry,
                 partitions: Mapping[tuple[str, int], Partition], topic_admin: TopicCreator,
                 now_ms: Callable[[], int], monotonic_ms: Callable[[], float]):
        self.config = config
        self.node_id = node_id
        self.topics = topics
        self.partitions = partitions
        self.topic_admin = topic_admin
        self.now_ms = now_ms
        self.monotonic_ms = monotonic_ms
        self.num_partitions: int = config["offsets.topic.num.partitions"]
        self.group_config = GroupConfig.from_broker_config(config)
        self.consumer_group_config = ConsumerGroupConfig.from_broker_config(config)
        self._shards: dict[int, _Shard] = {}
        self._timers_changed = trio.Event()
        self._loaded = trio.Event()
        self._opened = False  # on_metadata follows leadership once open() ran
        self.metrics: GroupCoordinatorMetrics | None = None  # register_metrics

    def register_metrics(self, registry: Registry) -> None:
        """Group counts and offset commits of the groups coordinated here (``group_metrics``)."""
        self.metrics = GroupCoordinatorMetrics(registry, self.active_shards, lambda: int(self.monotonic_ms()))

    def active_shards(self) -> list[tuple[GroupCoordinator, ConsumerGroupCoordinator]]:
        """``(classic, consumer)`` coordinators of the partitions coordinated here and loaded."""
        return [(s.coordinator, s.consumer_groups) for s in list(self._shards.values())
                if s.state is ShardState.ACTIVE]

    # -- life cycle -----------------------------------------------------------------

    def open(self) -> None:
        """At start-up: a LOADING shard per partition we lead (``run`` loads them)."""
        self._opened = True
        if self.topics.get(OFFSETS_TOPIC) is not None:
            self._open_shards()

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Load the shards opened by ``open``, then run the timers until cancelled."""
        task_status.started()
        for shard in list(self._shards.values()):
            if shard.state is ShardState.LOADING:
                self._load(shard)
                await trio.sleep(0)  # let requests for loaded partitions through
        self._loaded.set()
        await self._run_timers()

    async def wait_loaded(self) -> None:
        """Return once every partition that existed at start-up is loaded."""
        await self._loaded.wait()

    async def ensure_offsets_topic(self) -> None:
        """Create ``__consumer_offsets`` (Kafka does it on the first FindCoordinator).

        Raises:
            KafkaError: COORDINATOR_NOT_AVAILABLE if the topic cannot be created.
        """
        if not self._opened:  # still catching up with the metadata: our image may be empty
            raise KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, "the broker is starting")
        if self.topics.get(OFFSETS_TOPIC) is not None:
            return
        configs = {
            "cleanup.policy": "compact",
            "segment.bytes": str(self.config["offsets.topic.segment.bytes"]),
        }
        replication_factor = internal_replication_factor(self.config["offsets.topic.replication.factor"],
                                                         self.topics)
        await create_internal_topic(self.topic_admin, OFFSETS_TOPIC, self.num_partitions, configs,
                                    replication_factor, node_id=self.node_id)
        self._open_shards()
        for shard in self._shards.values():
            if shard.state is ShardState.LOADING:
                self._load(shard)  # empty logs: instant

    def _led_partitions(self) -> set[int]:
        """The ``__consumer_offsets`` partitions the metadata image says we lead (and hold)."""
        topic = self.topics.image.topic(OFFSETS_TOPIC)
        if topic is None:
            return set()
        return {index for index, registration in topic.partitions.items()
                if registration.leader == self.node_id
                and (OFFSETS_TOPIC, index) in self.partitions}

    def _open_shards(self) -> None:
        """A LOADING shard for every partition we lead (all of them, on one broker)."""
        for index in sorted(self._led_partitions()):
            if index not in self._shards:
                partition = self.partitions[(OFFSETS_TOPIC, index)]
                shard = _Shard(index, partition, None, None)
                self._new_coordinators(shard)
                self._shards[index] = shard

    def on_metadata(self) -> None:
        """Follow leadership changes (Kafka's ``onElection`` / ``onResignation``).

        Called by the broker after each applied metadata change: a shard
        whose partition we no longer lead is dropped (its parked requests
        get NOT_COORDINATOR and their clients look the coordinator up again);
        a partition we now lead is loaded from its log, which the old
        leader's answers waited for (every acknowledged write is there,
        pending transactional offsets included).
        """
        if not self._opened:
            return
        led = self._led_partitions()
        for index in [i for i in self._shards if i not in led]:
            self._shards.pop(index).fail_waiters(ErrorCode.NOT_COORDINATOR)
        for index in sorted(led - set(self._shards)):
            shard = _Shard(index, self.partitions[(OFFSETS_TOPIC, index)], None, None)
            self._shards[index] = shard
            self._load(shard)
        self._timers_changed.set()

    def _new_coordinators(self, shard: _Shard) -> None:
        shard.coordinator = GroupCoordinator(self.group_config)
        shard.consumer_groups = ConsumerGroupCoordinator(
            self.topics, self.consumer_group_config, classic_groups=_ClassicGroupsHook(shard))

    # -- loading --------------------------------------------------------------------

    def _load(self, shard: _Shard) -> None:
        """Replay the shard's partition into a fresh coordinator, then activate it."""
        shard.state = ShardState.LOADING
        self._new_coordinators(shard)
        count = 0
        for producer_id, key, value in read_log_entries(shard.partition):
            if key is None:  # a transaction marker: value says COMMIT (True) or ABORT
                shard.coordinator.replay_end_transaction_marker(producer_id, value)
                continue
            try:
                # Each coordinator ignores the other protocol's record types.
                shard.coordinator.replay(key, value, producer_id=producer_id)
                shard.consumer_groups.replay(key, value)
                count += 1
            except ValueError as exc:
                # Kafka would fail the load; skipping one bad record keeps the
                # rest of the partition's groups available, and we say so.
                log.warning("%s-%d: skipping unreadable record: %s", OFFSETS_TOPIC, shard.index, exc)
        now_ms = self.now_ms()
        shard.coordinator.on_loaded(now_ms)
        shard.consumer_groups.on_loaded(now_ms)
        shard.state = ShardState.ACTIVE
        self._timers_changed.set()
        if count:
            log.info("broker %s: loaded %d records of %s-%d (%d classic, %d consumer groups)",
                     self.node_id, count, OFFSETS_TOPIC, shard.index,
                     len(shard.coordinator.groups), len(shard.consumer_groups.groups))

    # -- what handlers call -----------------------------------------------------------

    def partition_for(self, group_id: str) -> int:
        """The ``__consumer_offsets`` partition that holds ``group_id``."""
        return partition_for(group_id, self.num_partitions)

    def is_coordinator_for(self, group_id: str) -> bool:
        """True if this broker leads the partition of ``group_id``."""
        return self.partition_for(group_id) in self._shards

    async def execute(self, group_id: str,
                      operation: Callable[[GroupCoordinator, int], CoordinatorResult]) -> dict:
        """Run ``operation(coordinator, now_ms)`` on the group's shard; write, then answer.

        Returns:
            The response dict; for a parked request, once it is delivered.

        Raises:
            KafkaError: INVALID_GROUP_ID, NOT_COORDINATOR,
                COORDINATOR_LOAD_IN_PROGRESS, or the error that failed the
                append (COORDINATOR_NOT_AVAILABLE, ...). The handler turns it
                into its API's error response.
        """
        return await self.execute_both(
            group_id, lambda classic, _consumer, now_ms: operation(classic, now_ms))

    async def execute_both(self, group_id: str, operation: Callable[
            [GroupCoordinator, ConsumerGroupCoordinator, int], CoordinatorResult]) -> dict:
        """``execute`` for operations that need both protocols' coordinators.

        ``operation(classic, consumer_groups, now_ms)``; the consumer
        coordinator's operations (ConsumerGroupHeartbeat, ...) go through
        here too. Raises as ``execute``.
        """
        shard = self._shard_of(group_id)
        result = operation(shard.coordinator, shard.consumer_groups, self.now_ms())
        waiter = None
        if result.ticket is not None:
            waiter = shard.waiters[result.ticket] = _Waiter()
        self._apply(shard, result)
        if waiter is None:
            response = result.response
        else:
            try:
                response = await waiter.wait()
            finally:
                shard.waiters.pop(result.ticket, None)
        await self._wait_replicated(shard)
        return response

    async def _wait_replicated(self, shard: _Shard) -> None:
        """Wait until the in-sync replicas have every record this shard wrote.

        Raises:
            KafkaError: NOT_COORDINATOR (leadership moved) or
                COORDINATOR_NOT_AVAILABLE (not replicated within
                ``offsets.commit.timeout.ms``).
        """
        deadline_ms = self.monotonic_ms() + self.config["offsets.commit.timeout.ms"]
        await wait_replicated(shard.partition, deadline_ms, _APPEND_ERRORS, f"{OFFSETS_TOPIC}-{shard.index}")

    async def execute_transactional(
            self, group_id: str, operation: Callable[[GroupCoordinator, ConsumerGroupCoordinator, int],
                                                     CoordinatorResult], *,
            transactional_id: str, producer_id: int, producer_epoch: int,
            verify: Callable[..., Awaitable[dict]] | None = None, api_version: int = 4) -> dict:
        """``execute_both`` for TxnOffsetCommit: the records go in a transactional batch.

        Args:
            operation: ``operation(classic, consumer_groups, now_ms)``; its
                records must be the producer's pending offsets.
            transactional_id, producer_id, producer_epoch: the producer's.
            verify: the transaction coordinator's check (KIP-890,
                ``TransactionVerifier.verify``), or None when
                ``transaction.partition.verification.enable`` is off. Asked
                only when the partition has no ongoing transaction of this
                producer yet (``Partition.maybe_start_verification``).
            api_version: the TxnOffsetCommit version: below 4 the client does
                not know TRANSACTION_ABORTABLE, INVALID_TXN_STATE replaces it.

        Raises:
            KafkaError: as ``execute``; the verification's error (mapped as
                Kafka maps it for this API); the append's INVALID_PRODUCER_EPOCH,
                INVALID_TXN_STATE.
        """
        shard = self._shard_of(group_id)
        guard = None
        if verify is not None:
            guard = shard.partition.maybe_start_verification(producer_id, producer_epoch, self.now_ms())
            if guard is not None:
                await self._verify(shard, verify, transactional_id, producer_id, producer_epoch, api_version)
                if self._shard_of(group_id) is not shard:  # reloaded or moved while we waited
                    raise KafkaError(ErrorCode.NOT_COORDINATOR, "the coordinator moved during verification")
        result = operation(shard.coordinator, shard.consumer_groups, self.now_ms())
        self._apply(shard, result, txn=(producer_id, producer_epoch, guard))
        await self._wait_replicated(shard)
        return result.response

    @staticmethod
    async def _verify(shard: _Shard, verify, transactional_id: str, producer_id: int,
                      producer_epoch: int, api_version: int) -> None:
        """Ask the transaction coordinator whether this partition is in the producer's transaction."""
        errors = await verify(transactional_id, producer_id, producer_epoch, [(OFFSETS_TOPIC, shard.index)])
        code = ErrorCode(errors.get((OFFSETS_TOPIC, shard.index), ErrorCode.NONE))
        if code == ErrorCode.NONE:
            return
        if code == ErrorCode.TRANSACTION_ABORTABLE and api_version < 4:
            code = ErrorCode.INVALID_TXN_STATE
        raise KafkaError(_VERIFICATION_ERRORS.get(code, code), "transaction verification failed")

    async def complete_transaction(self, offsets_partition: int, producer_id: int, producer_epoch: int,
                                   coordinator_epoch: int, commit: bool) -> ErrorCode:
        """Write a transaction's COMMIT or ABORT marker to a ``__consumer_offsets`` partition.

        The WriteTxnMarkers path for this topic (Kafka's
        ``GroupCoordinatorService.completeTransaction``): the marker is
        appended, then applied to the shard (the producer's pending offsets
        are committed or dropped), and the answer waits for the in-sync
        replicas, as any coordinator write.

        Returns:
            An error for the WriteTxnMarkers response: NONE;
            NOT_LEADER_OR_FOLLOWER if this broker does not serve the
            partition's group coordinator (the transaction coordinator
            retries); INVALID_PRODUCER_EPOCH or TRANSACTION_COORDINATOR_FENCED
            from the append; REQUEST_TIMED_OUT or
            NOT_ENOUGH_REPLICAS_AFTER_APPEND from the wait.
        """
        shard = self._shards.get(offsets_partition)
        if shard is None or shard.state is not ShardState.ACTIVE:
            return ErrorCode.NOT_LEADER_OR_FOLLOWER
        try:
            shard.partition.append_txn_marker(
                producer_id=producer_id, producer_epoch=producer_epoch,
                coordinator_epoch=coordinator_epoch, commit=commit, now_ms=self.now_ms())
        except KafkaError as exc:
            log.info("%s-%d: transaction marker of producer %d not written: %s",
                     OFFSETS_TOPIC, shard.index, producer_id, exc)
            return _MARKER_ERRORS.get(exc.code, exc.code)
        shard.coordinator.replay_end_transaction_marker(producer_id, commit)
        self._timers_changed.set()  # offsets held back by the transaction may expire now
        deadline_ms = self.monotonic_ms() + self.config["offsets.commit.timeout.ms"]
        return await wait_for_isr(shard.partition, shard.partition.log_end_offset, deadline_ms)

    def read(self, group_id: str, operation: Callable[[GroupCoordinator], object]):
        """Run a read-only ``operation(coordinator)`` on the group's shard (no records).

        Raises:
            KafkaError: as ``execute``.
        """
        return operation(self._shard_of(group_id).coordinator)

    def read_both(self, group_id: str,
                  operation: Callable[[GroupCoordinator, ConsumerGroupCoordinator], object]):
        """``read`` with both coordinators: ``operation(classic, consumer_groups)``."""
        shard = self._shard_of(group_id)
        return operation(shard.coordinator, shard.consumer_groups)

    def shards_for_listing(self) -> tuple[list[GroupCoordinator], bool]:
        """``(active coordinators, any shard still loading)`` for ListGroups."""
        active = [s.coordinator for s in self._shards.values() if s.state is ShardState.ACTIVE]
        loading = any(s.state is ShardState.LOADING for s in self._shards.values())
        return active, loading

    def consumer_groups_for_listing(self) -> list[ConsumerGroupCoordinator]:
        """The consumer coordinators of the ACTIVE shards (ListGroups merges them)."""
        return [s.consumer_groups for s in self._shards.values() if s.state is ShardState.ACTIVE]

    def _shard_of(self, group_id: str) -> _Shard:
        if not group_id:
            raise KafkaError(ErrorCode.INVALID_GROUP_ID, "the group id is empty")
        shard = self._shards.get(self.partition_for(group_id))
        if shard is None:
            raise KafkaError(ErrorCode.NOT_COORDINATOR, f"broker {self.node_id} "
                             f"does not coordinate group {group_id!r}")
        if shard.state is ShardState.LOADING:
            raise KafkaError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
        return shard

    # -- write, then answer --------------------------------------------------------------

    def _apply(self, shard: _Shard, result: CoordinatorResult, txn=None) -> None:
        """Append the result's records, then release its deliveries.

        ``txn`` is ``(producer_id, producer_epoch, verification_guard)`` for
        a transactional write, None otherwise.

        Raises:
            KafkaError: the append failed; the shard was reloaded from its log
                and its parked requests failed with the same error.
        """
        if result.records:
            try:
                self._append(shard, result.records, txn)
            except Exception as exc:
                code = getattr(exc, "code", None)
                if code not in _TXN_APPEND_ERRORS:
                    code = _APPEND_ERRORS.get(code, ErrorCode.COORDINATOR_NOT_AVAILABLE)
                log.exception("%s-%d: appending %d coordinator records failed; reloading",
                              OFFSETS_TOPIC, shard.index, len(result.records))
                shard.fail_waiters(code)
                self._load(shard)
                raise KafkaError(code, f"could not write to {OFFSETS_TOPIC}: {exc}") from None
        for ticket, response in result.deliveries:
            waiter = shard.waiters.pop(ticket, None)
            if waiter is not None:  # None: its handler is gone (broker shutting down)
                waiter.deliver(response)
        self._timers_changed.set()

    def _append(self, shard: _Shard, records, txn=None) -> None:
        """Append ``records`` as one batch: an operation's records land together or not at all.

        A transactional batch carries the producer's id and epoch and base
        sequence 0, as Kafka's coordinator writes it, and the KIP-890 guard.
        The COORDINATOR origin tells the log these are not a client's
        batches: no duplicate or sequence checks (epochs are still fenced).
        """
        now_ms = self.now_ms()
        entries = [Record(delta, now_ms, key, value) for delta, (key, value) in enumerate(records)]
        guard = None
        if txn is None:
            batch = build_batch(entries)
        else:
            producer_id, producer_epoch, guard = txn
            batch = build_batch(entries, producer_id=producer_id, producer_epoch=producer_epoch,
                                base_sequence=0, is_transactional=True)
        shard.partition.append_records(batch, now_ms, origin=AppendOrigin.COORDINATOR,
                                       verification_guard=guard)
        if self.metrics is not None:
            self.metrics.record_offset_commits(_count_offset_commits(records))

    # -- timers -------------------------------------------------------------------------

    async def _run_timers(self) -> None:
        """Sleep until the next deadline (or a change of deadlines), then fire timers."""
        while True:
            self._timers_changed = trio.Event()
            with trio.move_on_after(self._seconds_to_next_deadline()):
                await self._timers_changed.wait()
            self._poll_due_timers()

    def _seconds_to_next_deadline(self) -> float:
        return seconds_until_earliest([s.next_deadline_ms() for s in self._shards.values()
                                       if s.state is ShardState.ACTIVE], self.now_ms())

    def _poll_due_timers(self) -> None:
        now_ms = self.now_ms()
        for shard in list(self._shards.values()):
            if shard.state is not ShardState.ACTIVE:
                continue
            for coordinator in (shard.coordinator, shard.consumer_groups):
                deadline_ms = coordinator.next_deadline_ms()
                if deadline_ms is None or deadline_ms > now_ms:
                    continue
                try:
                    self._apply(shard, coordinator.poll_timers(now_ms))
                except KafkaError:
                    break  # logged and reloaded by _apply; the timers run again from the log


def _count_offset_commits(records) -> int:
    """The committed offsets among ``(key, value)`` records (tombstones are deletions, not commits)."""
    return sum(1 for key, value in records
               if value is not None and int.from_bytes(key[:2], "big") == OFFSET_COMMIT_KEY_TYPE)


def internal_replication_factor(configured: int, topics: TopicRegistry) -> int:
    """The replication factor of an internal topic: the configured one, capped by the registered brokers.

    Kafka 4.0 refuses to create the topic (and answers COORDINATOR_NOT_AVAILABLE)
    while fewer brokers than the configured factor are registered; single-node
    setups configure 1. minikafka uses min(configured, registered brokers).
    """
    return min(configured, max(1, topics.num_brokers))


async def create_internal_topic(topic_admin: TopicCreator, name: str, num_partitions: int, configs: dict,
                                replication_factor: int, *, node_id: int) -> None:
    """Create a coordinator's topic (``__consumer_offsets``, ``__transaction_state``) through the controller.

    A topic that already exists (another broker created it first) is fine.

    Raises:
        KafkaError: COORDINATOR_NOT_AVAILABLE if the topic cannot be created.
    """
    try:
        await topic_admin.create_topic(name, num_partitions, configs, replication_factor)
    except KafkaError as exc:
        if exc.code != ErrorCode.TOPIC_ALREADY_EXISTS:
            log.error("broker %s: cannot create %s: %s", node_id, name, exc)
            raise KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, str(exc)) from None


async def wait_replicated(partition: Partition, deadline_ms: float, errors: Mapping[ErrorCode, ErrorCode],
                          name: str) -> None:
    """Wait until the in-sync replicas have the partition's whole log (a coordinator's acks=all).

    Args:
        deadline_ms: on the monotonic clock.
        errors: how the wait's error maps to the client's (default
            COORDINATOR_NOT_AVAILABLE).
        name: the partition, for the error message.

    Raises:
        KafkaError: the mapped error of a wait that failed or timed out.
    """
    error = await wait_for_isr(partition, partition.log_end_offset, deadline_ms)
    if error != ErrorCode.NONE:
        raise KafkaError(errors.get(error, ErrorCode.COORDINATOR_NOT_AVAILABLE),
                         f"{name} not replicated: {ErrorCode(error).name}")


def seconds_until_earliest(deadlines_ms, now_ms: int) -> float:
    """How long a timer task sleeps: until the earliest deadline (None ones ignored).

    ``math.inf`` without deadlines; never less than ``MIN_TIMER_SLEEP_S``,
    so a deadline in the past that is not cleared does not spin the loop.
    """
    deadlines_ms = [d for d in deadlines_ms if d is not None]
    if not deadlines_ms:
        return math.inf
    return max((min(deadlines_ms) - now_ms) / 1000, MIN_TIMER_SLEEP_S)


def read_log_entries(partition: Partition):
    """Yield a coordinator partition's log, in order, as ``(producer_id, key, value)``.

    How both coordinator runtimes load a partition they now lead. Up to the
    log end, as Kafka's loader: a new leader may hold records above its high
    watermark that its followers have not fetched yet; they are part of the
    log it leads from now on, and the next write waits for the in-sync
    replicas to have them too.

    A data record's ``producer_id`` is its batch's if the batch is
    transactional, else -1. A COMMIT or ABORT marker is yielded as
    ``(producer_id, None, commit)``; other control records are skipped.
    """
    offset = partition.log_start_offset
    while offset < partition.log_end_offset:
        data = partition.read(offset, LOAD_READ_BYTES, min_one_batch=True, isolation=FetchIsolation.LOG_END)
        if not data:
            return
        for batch in read_batches(data):
            if batch.last_offset >= offset:
                yield from _batch_entries(batch, offset)
            offset = max(offset, batch.last_offset + 1)


def _batch_entries(batch, from_offset: int):
    """``read_log_entries``'s entries of one batch (records below ``from_offset`` skipped)."""
    if batch.is_control:
        for control in batch.control_records:
            if control.type in (ControlRecordType.COMMIT, ControlRecordType.ABORT):
                yield batch.producer_id, None, control.type == ControlRecordType.COMMIT
        return
    producer_id = batch.producer_id if batch.is_transactional else NO_PRODUCER_ID
    for record in batch.records:
        if record.key is not None and record.offset >= from_offset:
            yield producer_id, record.key, record.value

"""The replica manager: one broker's replication at run time (Kafka's ``ReplicaManager``).

The decisions are in the sans-I/O modules next to this one (``leader_state``,
``follower_state``, ``fetch_rules``); ``Partition`` applies them to its log.
This module is the thin Trio layer that connects them to the cluster:

- **Roles from metadata** (``apply``, called by the broker after every
  metadata change, Kafka's ``applyDelta``): every local partition whose
  registration names this broker leader becomes a leader
  (``Partition.make_leader``), every other one a follower of the named
  leader (``make_follower``); the followers are then grouped by leader and
  handed to one ``ReplicaFetcher`` per leader. Fenced or shutting-down
  brokers are marked ineligible for the ISR on every led partition.
- **ISR changes** (AlterPartition, KIP-497): a leader proposes a new ISR when
  a follower catches up (on its fetch, ``on_follower_fetch``) or falls
  behind (the shrink check every ``replica.lag.time.max.ms / 2``, as
  Kafka's ``isr-expiration`` task). Each proposal is sent to the active
  controller through the broker's controller channel; its answer (or
  failure) is applied to the partition. The committed change also arrives
  as metadata, whichever comes first wins (partition epochs only go up).
- **Metrics** (``register_metrics``, Kafka's ``kafka.server:type=ReplicaManager``):
  gauges read the hosted partitions at scrape time (PartitionCount,
  LeaderCount, UnderReplicatedPartitions, UnderMinIsrPartitionCount,
  AtMinIsrPartitionCount, OfflineReplicaCount); the IsrShrinksPerSec and
  IsrExpandsPerSec meters are marked once per committed change of the ISR
  of a partition this broker goes on leading in the same leader epoch
  (``_record_isr_change``), FailedIsrUpdatesPerSec once per refused or
  lost AlterPartition. Per partition, Kafka's ``kafka.cluster:type=Partition``
  gauges (UnderReplicated, InSyncReplicasCount, ReplicasCount, UnderMinIsr,
  AtMinIsr; non-zero on the leader only) follow the hosted partitions
  (``_sync_partition_gauges`` after every ``apply``).
- **High watermark checkpoint**: every
  ``replica.high.watermark.checkpoint.interval.ms`` and on shutdown, each
  log dir's ``replication-offset-checkpoint`` gets the high watermark of
  its partitions, so a restarted replica does not take its whole log for
  committed.

Owned by one ``Broker``, which hands it only what it uses: the node id, the
config, the hosted partitions, the topic view of the metadata image, the
controller channel, the broker epoch, the wall clock and a
factory of ``ReplicaFetcher`` (the fetchers get the network and the image).
Runs in the broker's Trio loop (``run``).
"""

from __future__ import annotations

import logging
import os
from typing import Callable, Mapping

import trio

from minikafka.config import BrokerConfig
from minikafka.errors import ErrorCode, KafkaError
from minikafka.storage.checkpoints import REPLICATION_OFFSET_CHECKPOINT, read_offset_checkpoint, write_offset_checkpoint
from minikafka.metadata.broker_lifecycle import ControllerRequests
from minikafka.metadata.result import get_field
from minikafka.metadata.topics import TopicRegistry
from minikafka.metrics import MetricName, Registry
from minikafka.replication.fetcher import ReplicaFetcher
from minikafka.replication.partition import Partition

log = logging.getLogger("minikafka.replication")

ALTER_PARTITION_TIMEOUT_S = 10.0


def replica_manager_metric(name: str) -> MetricName:
    """``kafka.server:type=ReplicaManager,name=<name>``."""
    return MetricName("kafka.server", "ReplicaManager", name)


class _NoMeter:
    """Stands in for a meter until ``register_metrics`` (a replica manager built without a registry)."""

    def mark(self, n: int = 1) -> None:
        pass


class ReplicaManager:
    """Leader and follower roles, fetchers and ISR changes of one broker's partitions.

    Args:
        node_id: this broker's ``node.id``.
        config: the broker's ``BrokerConfig`` (``replica.*`` settings, read
            when used so dynamic changes apply).
        partitions: the broker's hosted partitions, ``{(topic, index): Partition}``
            (the broker's own dict: it opens and removes partitions in it).
        topics: the broker's ``TopicRegistry`` (topic ids, ``min.insync.replicas``).
        controller: reaches the active controller (AlterPartition).
        broker_epoch: returns this broker's current broker epoch.
        now_ms: the broker's wall clock in milliseconds.
        new_fetcher: ``new_fetcher(leader_id)``, a ``ReplicaFetcher`` for one leader.
    """

    def __init__(self, *, node_id: int, config: BrokerConfig, partitions: Mapping[tuple[str, int], Partition],
                 topics: TopicRegistry, controller: ControllerRequests, broker_epoch: Callable[[], int],
                 now_ms: Callable[[], int], new_fetcher: Callable[[int], ReplicaFetcher]):
        self.node_id = node_id
        self.config = config
        self.partitions = partitions
        self.topics = topics
        self.controller = controller
        self._broker_epoch = broker_epoch
        self.now_ms = now_ms
        self._new_fetcher = new_fetcher
        self.fetchers: dict[int, ReplicaFetcher] = {}
        self._nursery: trio.Nursery | None = None
        self._isr_shrinks = self._isr_expands = self._failed_isr_updates = _NoMeter()
        self._registry: Registry | None = None
        self._partition_gauges: set[tuple[str, int]] = set()  # partitions with kafka.cluster gauges

    # -- metrics (kafka.server:type=ReplicaManager) ------------------------------------

    def register_metrics(self, registry: Registry) -> None:
        """Register Kafka's ReplicaManager gauges and meters in ``registry``.

        The gauges are computed from the hosted partitions when read (a
        scrape), so they cost nothing on the request path. As in Kafka,
        the ISR-related gauges count only the partitions this broker leads:
        a leader knows its ISR, a follower only repeats the image.
        """
        gauges = {
            "PartitionCount": lambda: len(self.partitions),
            "LeaderCount": lambda: sum(1 for _ in self._leader_states()),
            "UnderReplicatedPartitions": lambda: sum(s.is_under_replicated for s in self._leader_states()),
            "UnderMinIsrPartitionCount": lambda: sum(s.is_under_min_isr for s in self._leader_states()),
            "AtMinIsrPartitionCount": lambda: sum(len(s.isr) == s.effective_min_isr
                                                  for s in self._leader_states()),
            # Kafka counts the replicas of a failed log dir; this broker stops
            # on a log dir failure instead, so none of its replicas is offline.
            "OfflineReplicaCount": lambda: 0,
        }
        for name, read in gauges.items():
            registry.gauge(replica_manager_metric(name), read)
        self._isr_shrinks = registry.meter(replica_manager_metric("IsrShrinksPerSec"))
        self._isr_expands = registry.meter(replica_manager_metric("IsrExpandsPerSec"))
        self._failed_isr_updates = registry.meter(replica_manager_metric("FailedIsrUpdatesPerSec"))
        self._registry = registry
        self._sync_partition_gauges()

    def _sync_partition_gauges(self) -> None:
        """Give each hosted partition its ``kafka.cluster:type=Partition`` gauges; drop those of removed ones."""
        if self._registry is None:
            return
        hosted = set(self.partitions)
        for key in self._partition_gauges - hosted:
            self._registry.remove_matching(lambda name, key=key: name.type == "Partition"
                                           and name.domain == "kafka.cluster"
                                           and name.tags == _partition_tags(key))
        for key in hosted - self._partition_gauges:
            for name, read in _PARTITION_GAUGES.items():
                self._registry.gauge(MetricName("kafka.cluster", "Partition", name, _partition_tags(key)),
                                     lambda key=key, read=read: self._leader_gauge(key, read))
        self._partition_gauges = hosted

    def _leader_gauge(self, key: tuple[str, int], read) -> int:
        """``read(leader_state)`` while we lead the partition, else 0 (Kafka's followers report 0)."""
        partition = self.partitions.get(key)
        state = partition.leader_state if partition is not None else None
        return 0 if state is None else int(read(state))

    def _leader_states(self):
        for partition in list(self.partitions.values()):
            if partition.leader_state is not None:
                yield partition.leader_state

    def _record_isr_change(self, partition: Partition, before: tuple[int, frozenset[int]] | None) -> None:
        """Mark IsrShrinksPerSec / IsrExpandsPerSec if the committed ISR of a partition we lead changed.

        ``before`` is ``(leader_epoch, isr)`` while leading, before the
        change was applied (``_isr_snapshot``). A new leadership is not an
        ISR change. Kafka marks the meters when the controller accepts the
        leader's own AlterPartition; here the change may arrive first as
        metadata (the answer then brings nothing new), and an ISR the
        controller shrank itself (a fenced or shutting-down follower) is
        counted too: the leader's ISR shrank all the same.
        """
        after = _isr_snapshot(partition)
        if before is None or after is None or before[0] != after[0] or before[1] == after[1]:
            return
        if after[1] < before[1]:
            self._isr_shrinks.mark()
        elif after[1] > before[1]:
            self._isr_expands.mark()
        else:  # one member out, another in (a reassignment): both
            self._isr_shrinks.mark()
            self._isr_expands.mark()

    # -- roles from the metadata image ----------------------------------------------

    def apply(self, image) -> None:
        """Give every local partition the role the image names, then regroup the fetchers."""
        now_ms = self.now_ms()
        lag_ms = self.config["replica.lag.time.max.ms"]
        ineligible = {b for b, registration in image.brokers.items() if not registration.is_active}
        following: dict[int, dict] = {}
        for key, partition in self.partitions.items():
            registration = image.topic(key[0]).partitions[key[1]]
            if registration.leader == self.node_id:
                min_isr = self.topics.effective_config(key[0])["min.insync.replicas"]
                before = _isr_snapshot(partition)
                if partition.make_leader(registration, now_ms, min_isr, lag_ms, ineligible):
                    log.info("broker %s: leader of %s-%d in epoch %d (isr %s)", self.node_id, *key,
                             registration.leader_epoch, list(registration.isr))
                self._record_isr_change(partition, before)
            else:
                partition.make_follower(registration)
                if partition.follower_state is not None:
                    following.setdefault(registration.leader, {})[key] = partition
        self._set_fetchers(following)
        self._sync_partition_gauges()

    def _set_fetchers(self, following: dict[int, dict]) -> None:
        for leader_id in [leader for leader in self.fetchers if leader not in following]:
            self.fetchers.pop(leader_id).cancel_scope.cancel()
        for leader_id, partitions in following.items():
            fetcher = self.fetchers.get(leader_id)
            if fetcher is None:
                fetcher = self.fetchers[leader_id] = self._new_fetcher(leader_id)
                if self._nursery is not None:
                    self._nursery.start_soon(fetcher.run)
            fetcher.set_partitions(partitions)

    # -- running ------------------------------------------------------------------------

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Run the fetchers, the ISR shrink check and the checkpoint timer until cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for fetcher in self.fetchers.values():
                nursery.start_soon(fetcher.run)
            nursery.start_soon(self._shrink_isr_loop)
            nursery.start_soon(self._checkpoint_loop)
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                # Cancelled (the broker stops): no new fetchers from here on,
                # although metadata may still be applied while tasks wind down.
                self._nursery = None

    async def _shrink_isr_loop(self) -> None:
        interval_s = self.config["replica.lag.time.max.ms"] / 2 / 1000
        while True:
            await trio.sleep(interval_s)
            now_ms = self.now_ms()
            for partition in list(self.partitions.values()):
                proposed = partition.maybe_shrink_isr(now_ms)
                if proposed is not None:
                    self._alter_isr(partition, proposed)

    async def _checkpoint_loop(self) -> None:
        interval_s = self.config["replica.high.watermark.checkpoint.interval.ms"] / 1000
        while True:
            await trio.sleep(interval_s)
            # The offsets are taken here, in the loop; the fsyncs run in a
            # thread (as Kafka's checkpoint task does): with much unflushed
            # log data an fsync can take long enough to stall every request.
            await trio.to_thread.run_sync(self._write_checkpoints, self._high_watermarks_by_dir())

    # -- ISR changes ----------------------------------------------------------------------

    def on_follower_fetch(self, partition, update) -> None:
        """A follower's fetch was recorded; send the ISR expansion it proposed, if any."""
        if update is not None and update.proposed_isr is not None:
            self._alter_isr(partition, update.proposed_isr)

    def _alter_isr(self, partition, isr: frozenset[int]) -> None:
        if self._nursery is None:
            partition.isr_change_answered(None, None, self.now_ms())
            self._failed_isr_updates.mark()
            return
        log.info("broker %s: proposing isr %s for %s-%d (was %s)", self.node_id, sorted(isr),
                 partition.topic, partition.index, sorted(partition.leader_state.isr))
        self._nursery.start_soon(self._send_alter_partition, partition, isr)

    async def _send_alter_partition(self, partition, isr: frozenset[int]) -> None:
        """AlterPartition for one partition; apply the controller's answer."""
        topic = self.topics.get(partition.topic)
        request = {"broker_id": self.node_id, "broker_epoch": self._broker_epoch(), "topics": [{
            "topic_id": topic.topic_id if topic else bytes(16), "topic_name": partition.topic, "partitions": [{
                "partition_index": partition.index, "leader_epoch": partition.leader_epoch,
                "new_isr_with_epochs": [{"broker_id": b, "broker_epoch": -1} for b in sorted(isr)],
                "leader_recovery_state": 0, "partition_epoch": partition.partition_epoch}]}]}
        answer_isr, partition_epoch = None, None
        try:
            response = await self.controller.call("alter_partition", request, timeout_s=ALTER_PARTITION_TIMEOUT_S)
            answer_isr, partition_epoch = _parse_alter_partition(response)
        except KafkaError as exc:
            log.info("broker %s: AlterPartition for %s-%d failed: %s", self.node_id, partition.topic,
                     partition.index, exc)
        if answer_isr is None:
            self._failed_isr_updates.mark()
        before = _isr_snapshot(partition)
        partition.isr_change_answered(answer_isr, partition_epoch, self.now_ms())
        self._record_isr_change(partition, before)

    # -- high watermark checkpoint ------------------------------------------------------

    def checkpoint_high_watermarks(self) -> None:
        """Write each log dir's ``replication-offset-checkpoint``."""
        self._write_checkpoints(self._high_watermarks_by_dir())

    def _high_watermarks_by_dir(self) -> dict[str, dict]:
        by_dir: dict[str, dict] = {log_dir: {} for log_dir in self.config["log.dirs"]}
        for key, partition in self.partitions.items():
            by_dir.setdefault(os.path.dirname(partition.log.dir), {})[key] = partition.high_watermark
        return by_dir

    def _write_checkpoints(self, by_dir: dict[str, dict]) -> None:
        for log_dir, offsets in by_dir.items():
            try:
                write_offset_checkpoint(os.path.join(log_dir, REPLICATION_OFFSET_CHECKPOINT), offsets)
            except OSError as exc:
                log.warning("broker %s: cannot write the high watermark checkpoint in %s: %s",
                            self.node_id, log_dir, exc)


def read_high_watermarks(log_dirs) -> dict[tuple[str, int], int]:
    """Every partition's checkpointed high watermark (missing files: none)."""
    offsets: dict[tuple[str, int], int] = {}
    for log_dir in log_dirs:
        try:
            offsets.update(read_offset_checkpoint(os.path.join(log_dir, REPLICATION_OFFSET_CHECKPOINT)))
        except ValueError as exc:  # a damaged file: start from the log start offsets (Kafka's default)
            log.warning("ignoring the high watermark checkpoint in %s: %s", log_dir, exc)
    return offsets


_PARTITION_GAUGES = {  # kafka.cluster:type=Partition,name=...,topic=,partition= (leader's view)
    "UnderReplicated": lambda state: state.is_under_replicated,
    "InSyncReplicasCount": lambda state: len(state.isr),
    "ReplicasCount": lambda state: len(state.replicas),
    "UnderMinIsr": lambda state: state.is_under_min_isr,
    "AtMinIsr": lambda state: len(state.isr) == state.effective_min_isr,
}


def _partition_tags(key: tuple[str, int]) -> tuple[tuple[str, str], ...]:
    return (("topic", key[0]), ("partition", str(key[1])))


def _isr_snapshot(partition: Partition) -> tuple[int, frozenset[int]] | None:
    """``(leader_epoch, committed isr)`` while ``partition`` is led here, else None."""
    state = partition.leader_state
    return None if state is None else (state.leader_epoch, state.isr)


def _parse_alter_partition(response) -> tuple[tuple[int, ...] | None, int | None]:
    """``(isr, partition_epoch)`` from an AlterPartition response; ``(None, None)`` if refused."""
    code = get_field(response, "error_code", ErrorCode.NONE)
    topics = get_field(response, "topics") or []
    if code != ErrorCode.NONE or not topics or not get_field(topics[0], "partitions"):
        log.info("AlterPartition refused: %s", ErrorCode(code).name)
        return None, None
    answer = get_field(topics[0], "partitions")[0]
    if get_field(answer, "error_code") != ErrorCode.NONE:
        log.info("AlterPartition refused: %s", ErrorCode(get_field(answer, "error_code")).name)
        return None, None
    return tuple(get_field(answer, "isr")), get_field(answer, "partition_epoch")

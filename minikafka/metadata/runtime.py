"""MetadataRuntime: one node's cluster metadata, driven by the Raft quorum (KRaft).

Every broker runs in KRaft *combined mode* (``process.roles=broker,controller``):
it is a voter of the controller quorum, it replays the committed metadata log
into its :class:`MetadataImage`, and while it leads the quorum it is also the
*active controller*. A lone broker is simply a one-voter quorum (empty
``controller.quorum.voters``): there is one code path, whatever the size.

What this runtime does (Kafka's ``QuorumController`` event loop plus the
broker's ``MetadataLoader``, in one thin Trio layer over sans-I/O cores):

- **Replay.** ``on_commit`` decodes each committed entry and applies its
  records to ``image`` (the *committed* image), then calls ``on_publish`` so
  the broker reconciles its partitions. A snapshot from disk or from the
  leader replaces the image wholesale.
- **Activation.** When Raft elects this node, the runtime waits until the
  epoch's LeaderChange control entry is committed and replayed (everything
  before it is then applied too), then builds a :class:`QuorumController`
  on a *copy* of the image. On a brand-new cluster it first appends
  ``bootstrap()`` (``metadata.version``).
- **Operations** (:meth:`submit`): the controller decides and returns records
  (already applied to its own image), the runtime proposes them as *one*
  entry (so an operation's records commit atomically, as Kafka's atomic
  record batches do), waits for the commit, and only then returns the
  response. If leadership is lost first, the controller (whose image is now
  ahead of the log) is thrown away and the caller gets NOT_CONTROLLER.
- **Timers.** A task ticks the controller at its ``next_deadline_ms()``
  (broker session expiry, leader rebalance), and writes what it returns.
- **Snapshots.** After ``metadata.log.max.record.bytes.between.snapshots``
  bytes of committed entries, the image is written as a snapshot
  (``image.to_records()``) and Raft compacts its log.

Entry payload (this project's format; Kafka writes one record per Kafka
record inside a batch): a msgpack array of encoded metadata records
(:func:`minikafka.metadata.records.encode_record`). A snapshot's payload is
the same array for ``image.to_records()``.

Clocks: the controller's ``now_ms`` (heartbeat sessions, rebalance timer) is
Trio's clock in milliseconds, so ``trio.testing.MockClock`` drives fencing.

Owned by one ``Broker``; all methods run in its Trio loop.
"""

from __future__ import annotations

import logging
from typing import Callable

import msgpack
import trio

from minikafka.errors import ErrorCode, KafkaError
from minikafka.metadata.controller import QuorumController
from minikafka.metadata.controller_metrics import register_controller_metrics
from minikafka.metadata.image import MetadataImage
from minikafka.metadata.records import decode_record, encode_record
from minikafka.metadata.result import ControllerConfig
from minikafka.quorum.raft import NotLeader
from minikafka.metrics import Registry
from minikafka.quorum.runtime import ProposalLost, QuorumRuntime

log = logging.getLogger("minikafka.metadata")

SNAPSHOT_CHECK_INTERVAL_S = 1.0


def encode_entry(records) -> bytes:
    """The payload of one metadata log entry (see the module docstring)."""
    return msgpack.packb([encode_record(record) for record in records], use_bin_type=True)


def decode_entry(data: bytes) -> list:
    """The records of one entry (or of a snapshot)."""
    return [decode_record(item) for item in msgpack.unpackb(data, raw=False)]


class MetadataRuntime:
    """The metadata side of one node. See the module docstring.

    Args:
        config: the broker's ``BrokerConfig`` (controller settings are read
            from it with ``ControllerConfig.from_broker_config``).
        quorum_factory: ``quorum_factory(on_commit, on_snapshot,
            on_leader_change) -> QuorumRuntime``; the broker builds the Raft
            runtime (storage, transport) and this runtime owns its callbacks.
        on_publish: called with the image after every applied change.
        rng: randomness for the controller (topic ids, placement).
    """

    def __init__(self, config, quorum_factory: Callable[..., QuorumRuntime], *,
                 on_publish: Callable[[MetadataImage], None] | None = None, rng=None):
        self.config = config
        self.controller_config = ControllerConfig.from_broker_config(config)
        self.image = MetadataImage()
        self.applied_offset = -1  # the last metadata offset replayed into the image
        self.on_publish = on_publish or (lambda image: None)
        self.controller: QuorumController | None = None
        self._rng = rng
        self._active_epoch = -1  # the quorum epoch this node's controller belongs to
        self._bytes_since_snapshot = 0
        self._changed = trio.Event()
        self.quorum = quorum_factory(self._on_commit, self._on_snapshot, self._on_leader_change)

    # --- looking ---------------------------------------------------------------------

    @property
    def node_id(self) -> int:
        return self.quorum.node_id

    @property
    def is_active(self) -> bool:
        """True while this node is the active controller."""
        return self.controller is not None

    @property
    def active_controller_id(self) -> int | None:
        """The quorum leader (the active controller once it has caught up), or None."""
        return self.quorum.leader_id

    def now_ms(self) -> int:
        return int(trio.current_time() * 1000)

    def register_metrics(self, registry: Registry) -> None:
        """The controller's KafkaController gauges and the quorum's raft-metrics, read at scrape time."""
        register_controller_metrics(
            registry, image=lambda: self.image, is_active=lambda: self.is_active,
            last_applied_offset=lambda: self.applied_offset,
            last_committed_offset=lambda: max(-1, self.quorum.high_watermark - 1))
        self.quorum.register_metrics(registry)

    # --- running ---------------------------------------------------------------------

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Start the quorum replica and the controller timer; run until cancelled."""
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(self.quorum.run)
                nursery.start_soon(self._controller_timer)
                nursery.start_soon(self._snapshot_loop)
                task_status.started()
        finally:
            self.controller = None

    async def wait_changed(self) -> None:
        """Wait until the image, the leader or the controller changes."""
        await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_applied(self, offset: int) -> None:
        """Wait until the image has replayed the metadata log up to ``offset``."""
        while self.applied_offset < offset:
            await self.wait_changed()

    # --- replay (Raft callbacks; synchronous, inside the quorum's Ready) --------------

    def _on_commit(self, entries) -> None:
        for entry in entries:
            if entry.is_control:
                # The LeaderChange opening our own epoch: everything before it is replayed.
                if self.quorum.is_leader and entry.epoch == self.quorum.epoch and self.controller is None:
                    self._activate(entry.epoch)
            else:
                for record in decode_entry(entry.data):
                    self.image.apply(record)
                self._bytes_since_snapshot += len(entry.data)
            self.applied_offset = entry.offset
        self.on_publish(self.image)
        self._notify()

    def _on_snapshot(self, snapshot) -> None:
        self.image = MetadataImage.from_records(decode_entry(snapshot.data))
        self.applied_offset = snapshot.snapshot_id.end_offset - 1
        self._bytes_since_snapshot = 0
        if self.controller is not None:  # a leader never loads a snapshot; be safe
            self._deactivate("a snapshot replaced the log")
        self.on_publish(self.image)
        self._notify()

    def _on_leader_change(self, leader_id: int | None, epoch: int) -> None:
        # Called after the commits of the same Ready: a controller activated
        # by this epoch's LeaderChange entry stays.
        if self.controller is not None and (leader_id != self.node_id or epoch != self._active_epoch):
            self._deactivate(f"leadership moved to {leader_id} in epoch {epoch}")
        self._notify()

    def _activate(self, epoch: int) -> None:
        """The LeaderChange of our epoch is replayed: become the active controller."""
        self._active_epoch = epoch
        self.controller = QuorumController(self.controller_config, self.image.copy(), self.now_ms(),
                                           rng=self._rng)
        log.info("node %s: active controller in epoch %d", self.node_id, epoch)

    def _deactivate(self, reason: str) -> None:
        log.info("node %s: no longer the active controller: %s", self.node_id, reason)
        self.controller = None

    # --- the active controller's operations ----------------------------------------

    async def submit(self, operation: str, request, **kwargs) -> dict | None:
        """Run one controller operation here, commit its records, return its response.

        Args:
            operation: a ``QuorumController`` method (``"create_topics"``, ...).
            request: the request (decoded ``Struct`` or dict).
            **kwargs: extra arguments of the operation.

        Raises:
            KafkaError: NOT_CONTROLLER if this node is not (or stops being) the
                active controller before the records commit.
        """
        controller = self._require_active()
        if operation == "register_broker":
            kwargs["metadata_offset"] = self.quorum.node.log.log_end_offset
        result = getattr(controller, operation)(request, self.now_ms(), **kwargs)
        await self._commit(controller, result.records)
        return result.response

    async def bootstrap_if_new(self) -> None:
        """On a brand-new cluster, write ``metadata.version`` first (once)."""
        controller = self._require_active()
        if "metadata.version" not in controller.image.features:
            await self._commit(controller, controller.bootstrap(self.now_ms()).records)

    def _require_active(self) -> QuorumController:
        if self.controller is not None and not self.quorum.is_leader:
            # Resigned (check-quorum: cut off from the majority) in the same
            # epoch, so no leader change was announced: stop acting now.
            self._deactivate("the quorum leader resigned")
        if self.controller is None:
            raise KafkaError(ErrorCode.NOT_CONTROLLER,
                             f"node {self.node_id} is not the active controller "
                             f"(the quorum leader is {self.active_controller_id})")
        return self.controller

    async def _commit(self, controller: QuorumController, records) -> None:
        if not records:
            return
        try:
            offset = self.quorum.propose(encode_entry(records))
        except NotLeader:
            self._lost(controller, "not the quorum leader")
            raise KafkaError(ErrorCode.NOT_CONTROLLER, "leadership lost before the records were written")
        try:
            await self.quorum.wait_committed(offset)
        except ProposalLost as exc:
            self._lost(controller, str(exc))
            raise KafkaError(ErrorCode.NOT_CONTROLLER, f"records lost: {exc}") from None
        except KafkaError as exc:  # the quorum stopped
            self._lost(controller, str(exc))
            raise KafkaError(ErrorCode.NOT_CONTROLLER, "the quorum replica stopped") from None

    def _lost(self, controller: QuorumController, reason: str) -> None:
        # The controller's image already holds the lost records: never reuse it.
        if self.controller is controller:
            self._deactivate(reason)

    # --- timers ------------------------------------------------------------------------

    async def _controller_timer(self) -> None:
        """Tick the active controller at its deadlines (fencing, leader rebalance)."""
        while True:
            controller = self.controller
            if controller is None:
                await self.wait_changed()
                continue
            if "metadata.version" not in controller.image.features:
                await self._guard(self.bootstrap_if_new())
                continue
            delay_s = max(0, controller.next_deadline_ms() - self.now_ms()) / 1000
            with trio.move_on_after(delay_s):
                await self.wait_changed()
                continue
            if self.controller is controller:
                result = controller.tick(self.now_ms())
                await self._guard(self._commit(controller, result.records))

    @staticmethod
    async def _guard(operation) -> None:
        try:
            await operation
        except KafkaError as exc:
            log.info("controller work not committed: %s", exc)

    async def _snapshot_loop(self) -> None:
        """Snapshot the image once enough committed bytes piled up behind the last one."""
        limit = self.config["metadata.log.max.record.bytes.between.snapshots"]
        while True:
            await trio.sleep(SNAPSHOT_CHECK_INTERVAL_S)
            if self._bytes_since_snapshot >= limit and self.quorum.running:
                self.take_snapshot()

    def take_snapshot(self) -> None:
        """Write the committed image as a snapshot now (Raft then drops the log below it)."""
        end_offset = self.applied_offset + 1
        if end_offset <= self.quorum.node.log.log_start_offset:
            return
        self.quorum.snapshot(end_offset, encode_entry(self.image.to_records()))
        self._bytes_since_snapshot = 0

"""The active controller's logic: validate requests, decide, return metadata records.

Kafka's ``QuorumController`` (with its ``ClusterControlManager``,
``ReplicationControlManager``, ``ConfigurationControlManager`` and
``ProducerIdControlManager``), sans-I/O. It owns a :class:`MetadataImage`
and the brokers' heartbeat sessions; every operation takes ``now_ms`` and
returns a :class:`ControllerResult` (records + response; see ``result.py``
for the runtime contract). No trio, no sockets, no clock.

This module holds the broker lifecycle; topics, partitions, configs and
client quotas are in ``topic_control``, ``partition_control``,
``config_control`` and ``quota_control``, whose functions the methods below
forward to.

Broker lifecycle (Kafka's, KIP-631)::

    register_broker      -> RegisterBrokerRecord (fenced); the broker epoch is
                            the record's offset in the metadata log
    heartbeat, caught up -> UnfenceBrokerRecord; leaderless partitions that
                            have it in their ISR elect it
    no heartbeat for broker.session.timeout.ms (tick)
                         -> FenceBrokerRecord; it leaves every ISR and its
                            leaderships move to other ISR members
    heartbeat want_shut_down (controlled shutdown)
                         -> BrokerRegistrationChangeRecord(in_controlled_shutdown);
                            leaderships and ISR places move away at once;
                            a later heartbeat answers should_shut_down and
                            fences it

Invariants kept by every operation (and checked by the property test):
a partition's leader is in its ISR and active; a fenced broker is in an ISR
only as the last member of a leaderless partition; a leaderless partition has
no active ISR member (a clean choice is always taken).
"""

from __future__ import annotations

import random

from minikafka.config import uuid_to_str
from minikafka.errors import ErrorCode, KafkaError
from minikafka.metadata import config_control, partition_control, quota_control, topic_control
from minikafka.metadata import records as r
from minikafka.metadata.heartbeats import BrokerHeartbeatManager
from minikafka.metadata.image import TOPIC_RESOURCE, MetadataImage
from minikafka.metadata.partition_change import Election, PartitionChangeBuilder
from minikafka.metadata.placement import ReplicaPlacer
from minikafka.metadata.result import ControllerConfig, ControllerResult, get_field, parse_bool

METADATA_VERSION = 25
"""``metadata.version`` feature level of Kafka 4.0 (4.0-IV3)."""
PRODUCER_ID_BLOCK_SIZE = 1000
"""Producer ids handed to a broker per AllocateProducerIds (Kafka's block size)."""


class QuorumController:
    """The controller state machine. Owned by the metadata runtime of one node.

    Args:
        config: the controller settings.
        image: the committed metadata image to start from (the runtime's
            copy, or None for an empty cluster). The controller mutates it.
        now_ms: the time it becomes active (starts every broker's session).
        rng: randomness for topic ids and placement (tests seed it).
    """

    def __init__(self, config: ControllerConfig | None = None, image: MetadataImage | None = None,
                 now_ms: int = 0, rng: random.Random | None = None):
        self.config = config or ControllerConfig()
        self.image = image if image is not None else MetadataImage()
        self.rng = rng or random.Random()
        self.placer = ReplicaPlacer(start=self.rng.randrange(1 << 16))
        self.heartbeats = BrokerHeartbeatManager(self.config.broker_session_timeout_ms)
        self.activate(now_ms)

    # --- runtime hooks -------------------------------------------------------------------

    def activate(self, now_ms: int) -> None:
        """Become the active controller: every registered broker gets a fresh session."""
        self.heartbeats.reset_all(self.image.brokers, now_ms)
        self.next_rebalance_ms = now_ms + self.config.leader_imbalance_check_interval_ms

    def replay(self, record: r.MetadataRecord) -> None:
        """Apply a committed record written by another controller (standby mode)."""
        self.image.apply(record)

    def snapshot(self) -> list[r.MetadataRecord]:
        """Records that rebuild the current image (a metadata snapshot)."""
        return self.image.to_records()

    def bootstrap(self, now_ms: int) -> ControllerResult:
        """The records a brand-new cluster starts with (``metadata.version``)."""
        out: list = []
        if "metadata.version" not in self.image.features:
            self.emit(out, r.FeatureLevelRecord("metadata.version", METADATA_VERSION))
        return ControllerResult(out)

    def emit(self, out: list, record: r.MetadataRecord) -> None:
        """Apply ``record`` to our image and add it to the operation's output."""
        self.image.apply(record)
        out.append(record)

    def next_deadline_ms(self) -> int:
        """When :meth:`tick` next has something to do (for the runtime's timer)."""
        expiry = self.heartbeats.next_expiry_ms(b for b, reg in self.image.brokers.items() if not reg.fenced)
        return min(x for x in (expiry, self.next_rebalance_ms) if x is not None)

    # --- broker lifecycle ------------------------------------------------------------------

    def register_broker(self, request, now_ms: int, metadata_offset: int | None = None) -> ControllerResult:
        """BrokerRegistration: (re-)register a broker, fenced until it catches up.

        Args:
            request: ``broker_id``, ``incarnation_id``, ``listeners`` (``name``,
                ``host``, ``port``, ``security_protocol``), ``rack``,
                ``previous_broker_epoch``.
            metadata_offset: the offset the RegisterBrokerRecord will take (the
                metadata log end offset); it becomes the broker epoch, as in Kafka.
        """
        broker_id = get_field(request, "broker_id")
        incarnation_id = bytes(get_field(request, "incarnation_id"))
        existing = self.image.brokers.get(broker_id)
        if (existing is not None and existing.incarnation_id != incarnation_id
                and self.heartbeats.has_valid_session(broker_id, now_ms)
                and get_field(request, "previous_broker_epoch", -1) != existing.broker_epoch):
            # Another process with this node.id is alive: refuse until its session ends.
            return ControllerResult([], {"error_code": ErrorCode.DUPLICATE_BROKER_REGISTRATION,
                                         "broker_epoch": -1})
        epoch = max(metadata_offset or 0, existing.broker_epoch + 1 if existing else 0)
        end_points = tuple(r.Endpoint(get_field(e, "name"), get_field(e, "host"), get_field(e, "port"),
                                      get_field(e, "security_protocol", 0))
                           for e in get_field(request, "listeners", ()) or ())
        out: list = []
        self.emit(out, r.RegisterBrokerRecord(broker_id, incarnation_id, epoch, end_points,
                                              get_field(request, "rack")))
        self.move_leadership_off(out, broker_id)  # a restarted broker starts fenced
        self.heartbeats.touch(broker_id, now_ms)
        return ControllerResult(out, {"error_code": ErrorCode.NONE, "broker_epoch": epoch})

    def broker_heartbeat(self, request, now_ms: int) -> ControllerResult:
        """BrokerHeartbeat: keep the session, unfence, or run a controlled shutdown.

        Args:
            request: ``broker_id``, ``broker_epoch``, ``current_metadata_offset``
                (the last metadata offset the broker applied), ``want_fence``,
                ``want_shut_down``.
        """
        broker_id = get_field(request, "broker_id")
        try:
            registration = self.check_broker_epoch(broker_id, get_field(request, "broker_epoch"))
        except KafkaError as exc:
            return ControllerResult([], _heartbeat_response(exc.code, False, True, False))
        self.heartbeats.touch(broker_id, now_ms)
        caught_up = get_field(request, "current_metadata_offset", -1) >= registration.broker_epoch
        out: list = []
        if get_field(request, "want_shut_down", False):
            should_shut_down = self._controlled_shutdown(out, broker_id)
        else:
            should_shut_down = False
            # A broker that finished a controlled shutdown must register again to return.
            if (registration.fenced and caught_up and not registration.in_controlled_shutdown
                    and not get_field(request, "want_fence", False)):
                self.unfence(out, broker_id)
            elif not registration.fenced and get_field(request, "want_fence", False):
                self.fence(out, broker_id)
        fenced = self.image.brokers[broker_id].fenced
        return ControllerResult(out, _heartbeat_response(ErrorCode.NONE, caught_up, fenced, should_shut_down))

    def _controlled_shutdown(self, out: list, broker_id: int) -> bool:
        """Move everything off a stopping broker; True once it may exit.

        The first shutdown heartbeat writes the changes; a later one (by then
        the broker has seen them) answers should_shut_down and fences it.
        Kafka compares the broker's metadata offset instead.
        """
        registration = self.image.brokers[broker_id]
        if registration.fenced:
            return True
        if not registration.in_controlled_shutdown:
            self.emit(out, r.BrokerRegistrationChangeRecord(broker_id, registration.broker_epoch,
                                                            in_controlled_shutdown=1))
            self.move_leadership_off(out, broker_id)
            return False
        if any(p.leader == broker_id for _, _, p in self.image.all_partitions()):
            return False
        self.fence(out, broker_id)
        return True

    def tick(self, now_ms: int) -> ControllerResult:
        """Periodic work: fence brokers whose session expired, rebalance leaders."""
        out: list = []
        live = [b for b, reg in self.image.brokers.items() if not reg.fenced]
        for broker_id in self.heartbeats.expired(live, now_ms):
            self.fence(out, broker_id)
        partition_control.elect_offline_partitions(self, out)
        if self.config.auto_leader_rebalance_enable and now_ms >= self.next_rebalance_ms:
            self.next_rebalance_ms = now_ms + self.config.leader_imbalance_check_interval_ms
            partition_control.balance_partition_leaders(self, out)
        return ControllerResult(out)

    def fence(self, out: list, broker_id: int) -> None:
        self.emit(out, r.FenceBrokerRecord(broker_id, self.image.brokers[broker_id].broker_epoch))
        self.move_leadership_off(out, broker_id)

    def unfence(self, out: list, broker_id: int) -> None:
        self.emit(out, r.UnfenceBrokerRecord(broker_id, self.image.brokers[broker_id].broker_epoch))
        for topic, partition_id, p in list(self.image.all_partitions()):
            if p.leader == r.NO_LEADER and broker_id in p.replicas:
                self.change_partition(out, topic, partition_id, lambda b: b.set_election(Election.ONLINE))

    def move_leadership_off(self, out: list, broker_id: int) -> None:
        """Take ``broker_id`` out of every ISR and elect new leaders where it led."""
        for topic, partition_id, p in list(self.image.all_partitions()):
            if broker_id in p.isr or p.leader == broker_id:
                isr = tuple(b for b in p.isr if b != broker_id)
                self.change_partition(out, topic, partition_id, lambda b: b.set_target_isr(isr))

    def check_broker_epoch(self, broker_id: int, broker_epoch: int):
        """The registration, or BROKER_ID_NOT_REGISTERED / STALE_BROKER_EPOCH."""
        registration = self.image.brokers.get(broker_id)
        if registration is None:
            raise KafkaError(ErrorCode.BROKER_ID_NOT_REGISTERED, f"Broker {broker_id} is not registered.")
        if registration.broker_epoch != broker_epoch:
            raise KafkaError(ErrorCode.STALE_BROKER_EPOCH,
                             f"Expected broker epoch {registration.broker_epoch}, but got {broker_epoch}")
        return registration

    # --- partitions: helpers shared by the control modules ---------------------------------

    def builder(self, topic, partition_id: int) -> PartitionChangeBuilder:
        """A change builder for one partition with the cluster's current rules."""
        return PartitionChangeBuilder(topic.partitions[partition_id], topic.topic_id, partition_id,
                                      self.image.is_active, self.unclean_allowed(topic.name))

    def change_partition(self, out: list, topic, partition_id: int, configure) -> None:
        """Let ``configure(builder)`` state a wish; emit the resulting change, if any."""
        builder = self.builder(topic, partition_id)
        configure(builder)
        record = builder.build()
        if record is not None:
            self.emit(out, record)

    def unclean_allowed(self, topic_name: str) -> bool:
        """The topic's ``unclean.leader.election.enable``, else the broker default."""
        value = self.image.configs.get((TOPIC_RESOURCE, topic_name), {}).get("unclean.leader.election.enable")
        return self.config.unclean_leader_election_enable if value is None else parse_bool(value)

    def new_topic_id(self) -> bytes:
        """16 random bytes that Kafka accepts as a topic id (see ``config.random_uuid``)."""
        while True:
            raw = self.rng.getrandbits(128).to_bytes(16, "big")
            if raw not in (bytes(16), bytes(15) + b"\x01") and not uuid_to_str(raw).startswith("-"):
                return raw

    # --- producer ids ------------------------------------------------------------------------

    def allocate_producer_ids(self, request, now_ms: int) -> ControllerResult:
        """AllocateProducerIds: hand the broker the next block of 1000 ids."""
        broker_id, broker_epoch = get_field(request, "broker_id"), get_field(request, "broker_epoch")
        try:
            self.check_broker_epoch(broker_id, broker_epoch)
        except KafkaError as exc:
            return ControllerResult([], {"error_code": exc.code, "producer_id_start": -1, "producer_id_len": 0})
        start = self.image.next_producer_id
        out: list = []
        self.emit(out, r.ProducerIdsRecord(broker_id, broker_epoch, start + PRODUCER_ID_BLOCK_SIZE))
        return ControllerResult(out, {"error_code": ErrorCode.NONE, "producer_id_start": start,
                                      "producer_id_len": PRODUCER_ID_BLOCK_SIZE})

    # --- the operations of the other control modules --------------------------------------

    def create_topics(self, request, now_ms: int) -> ControllerResult:
        return topic_control.create_topics(self, request)

    def delete_topics(self, request, now_ms: int) -> ControllerResult:
        return topic_control.delete_topics(self, request)

    def create_partitions(self, request, now_ms: int) -> ControllerResult:
        return topic_control.create_partitions(self, request)

    def alter_configs(self, request, now_ms: int) -> ControllerResult:
        return config_control.alter_configs(self, request)

    def incremental_alter_configs(self, request, now_ms: int) -> ControllerResult:
        return config_control.incremental_alter_configs(self, request)

    def alter_client_quotas(self, request, now_ms: int) -> ControllerResult:
        return quota_control.alter_client_quotas(self, request)

    def alter_partition(self, request, now_ms: int) -> ControllerResult:
        return partition_control.alter_partition(self, request)

    def elect_leaders(self, request, now_ms: int) -> ControllerResult:
        return partition_control.elect_leaders(self, request)

    def alter_partition_reassignments(self, request, now_ms: int) -> ControllerResult:
        return partition_control.alter_partition_reassignments(self, request)

    def list_partition_reassignments(self, request, now_ms: int) -> ControllerResult:
        return partition_control.list_partition_reassignments(self, request)


def _heartbeat_response(error_code, caught_up: bool, fenced: bool, should_shut_down: bool) -> dict:
    return {"error_code": error_code, "is_caught_up": caught_up, "is_fenced": fenced,
            "should_shut_down": should_shut_down}

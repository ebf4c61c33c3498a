"""The metadata image: the cluster's state, rebuilt by replaying metadata records.

Every broker and every controller holds a ``MetadataImage`` and feeds it the
committed records of ``__cluster_metadata`` in log order with :meth:`apply`.
Because replay is deterministic, replicas that applied the same prefix of the
log hold equal images, and so answer Metadata the same way. This is Kafka's
``MetadataImage`` + ``MetadataDelta`` folded into one mutable object.

What it holds (Kafka's names):

- ``brokers``: ``{broker_id: BrokerRegistration}`` (epoch, incarnation,
  endpoints, rack, fenced, in controlled shutdown);
- ``topics``: ``{topic_id: TopicImage}``, each with ``{partition_id:
  PartitionRegistration}`` (replicas, isr, leader, leader_epoch,
  partition_epoch, adding/removing replicas); ``topic_ids`` maps names to ids;
- ``configs``: ``{(resource_type, resource_name): {key: value string}}`` for
  topics (type 2) and brokers (type 4, ``""`` = cluster default);
- ``client_quotas``: ``{entity: {key: value}}``, the client quotas
  (KIP-546); an entity is ``((entity_type, entity_name), ...)`` sorted by
  type, a name of None being the default entity (see ``quota_control``); an
  entity whose last key is removed disappears;
- ``next_producer_id``: the first producer id not handed out yet;
- ``features``: ``{name: level}`` (``metadata.version``).

Ownership: an image is mutated in place by :meth:`apply` and belongs to one
owner (a broker's metadata runtime, or one controller); :meth:`copy` gives an
independent image. Registrations are frozen dataclasses, replaced on change,
so a copy shares them safely. Not task-safe, and needs not be: nothing awaits.

Replaying a record that does not fit the image (a change to an unknown topic,
a fence of an unknown broker) raises :class:`MetadataReplayError`: committed
records were validated by the controller, so this means a bug, and a broker
must not silently diverge from its peers.

:meth:`to_records` is the snapshot: the shortest list of records that rebuilds
an equal image (``MetadataImage.from_records(image.to_records()) == image``).
"""

from __future__ import annotations

import dataclasses

from minikafka.metadata import records as r

TOPIC_RESOURCE = 2
"""``ConfigResource.Type.TOPIC``."""
BROKER_RESOURCE = 4
"""``ConfigResource.Type.BROKER``."""


class MetadataReplayError(ValueError):
    """A record does not apply to this image (a bug: see the module docstring)."""


@dataclasses.dataclass(frozen=True)
class BrokerRegistration:
    """One broker as the cluster knows it (Kafka's ``BrokerRegistration``)."""

    broker_id: int
    incarnation_id: bytes
    broker_epoch: int
    end_points: tuple[r.Endpoint, ...] = ()
    rack: str | None = None
    fenced: bool = True
    in_controlled_shutdown: bool = False

    @property
    def is_active(self) -> bool:
        """May lead partitions and join ISRs: unfenced and not shutting down."""
        return not self.fenced and not self.in_controlled_shutdown


@dataclasses.dataclass(frozen=True)
class PartitionRegistration:
    """One partition's replication state (Kafka's ``PartitionRegistration``).

    During a reassignment ``replicas`` holds old and new replicas together;
    ``adding_replicas`` are the new ones still catching up and
    ``removing_replicas`` the ones that leave when the new ones are in sync.
    """

    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    leader: int = r.NO_LEADER
    leader_epoch: int = 0
    partition_epoch: int = 0
    removing_replicas: tuple[int, ...] = ()
    adding_replicas: tuple[int, ...] = ()

    @property
    def preferred_leader(self) -> int:
        """The first assigned replica: the leader when everything is healthy."""
        return self.replicas[0]

    @property
    def is_reassigning(self) -> bool:
        return bool(self.adding_replicas or self.removing_replicas)

    @property
    def target_replicas(self) -> tuple[int, ...]:
        """The replicas once the current reassignment (if any) completes."""
        return tuple(b for b in self.replicas if b not in self.removing_replicas)

    def merge(self, change: r.PartitionChangeRecord) -> PartitionRegistration:
        """This partition after ``change`` (Kafka's ``PartitionRegistration.merge``).

        Every change bumps the partition epoch (the version AlterPartition
        is checked against); a leader field other than NO_LEADER_CHANGE also
        bumps the leader epoch, even when it names the same leader.
        """
        leader, leader_epoch = self.leader, self.leader_epoch
        if change.leader != r.NO_LEADER_CHANGE:
            leader, leader_epoch = change.leader, leader_epoch + 1
        return PartitionRegistration(
            replicas=self.replicas if change.replicas is None else change.replicas,
            isr=self.isr if change.isr is None else change.isr,
            leader=leader,
            leader_epoch=leader_epoch,
            partition_epoch=self.partition_epoch + 1,
            removing_replicas=(self.removing_replicas if change.removing_replicas is None
                               else change.removing_replicas),
            adding_replicas=self.adding_replicas if change.adding_replicas is None else change.adding_replicas,
        )


@dataclasses.dataclass
class TopicImage:
    """One topic: its name, id and partitions."""

    name: str
    topic_id: bytes
    partitions: dict[int, PartitionRegistration] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class MetadataImage:
    """The cluster metadata (see the module docstring for ownership)."""

    brokers: dict[int, BrokerRegistration] = dataclasses.field(default_factory=dict)
    topics: dict[bytes, TopicImage] = dataclasses.field(default_factory=dict)
    topic_ids: dict[str, bytes] = dataclasses.field(default_factory=dict)
    configs: dict[tuple[int, str], dict[str, str]] = dataclasses.field(default_factory=dict)
    next_producer_id: int = 0
    features: dict[str, int] = dataclasses.field(default_factory=dict)
    client_quotas: dict[tuple[tuple[str, str | None], ...], dict[str, float]] = dataclasses.field(
        default_factory=dict)

    # --- queries ---------------------------------------------------------------------

    def topic(self, name: str) -> TopicImage | None:
        topic_id = self.topic_ids.get(name)
        return None if topic_id is None else self.topics[topic_id]

    def partition(self, topic_id: bytes, partition_id: int) -> PartitionRegistration | None:
        topic = self.topics.get(topic_id)
        return None if topic is None else topic.partitions.get(partition_id)

    def is_active(self, broker_id: int) -> bool:
        """Registered, unfenced and not in controlled shutdown."""
        broker = self.brokers.get(broker_id)
        return broker is not None and broker.is_active

    def active_broker_ids(self) -> list[int]:
        """The brokers that may take new replicas and leaderships, sorted."""
        return sorted(b for b, reg in self.brokers.items() if reg.is_active)

    def all_partitions(self):
        """Every ``(topic, partition_id, PartitionRegistration)``, in a stable order.

        A linear scan: fine for the few thousand partitions of a lab cluster
        (Kafka keeps a broker -> partitions index, ``BrokersToIsrs``).
        """
        for topic in sorted(self.topics.values(), key=lambda t: t.name):
            for partition_id in sorted(topic.partitions):
                yield topic, partition_id, topic.partitions[partition_id]

    def topic_config(self, name: str) -> dict[str, str]:
        """A topic's own overrides, as strings (empty when none)."""
        return self.configs.get((TOPIC_RESOURCE, name), {})

    # --- replay ----------------------------------------------------------------------

    def apply(self, record: r.MetadataRecord) -> None:
        """Replay one committed record, in place.

        Raises:
            MetadataReplayError: the record does not fit this image.
        """
        handler = _APPLY.get(type(record))
        if handler is None:
            raise MetadataReplayError(f"unknown record {record!r}")
        handler(self, record)

    def _register_broker(self, rec: r.RegisterBrokerRecord) -> None:
        self.brokers[rec.broker_id] = BrokerRegistration(
            rec.broker_id, rec.incarnation_id, rec.broker_epoch, rec.end_points, rec.rack,
            rec.fenced, rec.in_controlled_shutdown)

    def _unregister_broker(self, rec: r.UnregisterBrokerRecord) -> None:
        self._broker(rec.broker_id, rec.broker_epoch)
        del self.brokers[rec.broker_id]

    def _fence(self, rec: r.FenceBrokerRecord) -> None:
        broker = self._broker(rec.id, rec.epoch)
        self.brokers[rec.id] = dataclasses.replace(broker, fenced=True)

    def _unfence(self, rec: r.UnfenceBrokerRecord) -> None:
        broker = self._broker(rec.id, rec.epoch)
        self.brokers[rec.id] = dataclasses.replace(broker, fenced=False)

    def _change_broker(self, rec: r.BrokerRegistrationChangeRecord) -> None:
        broker = self._broker(rec.broker_id, rec.broker_epoch)
        fenced = {-1: False, 0: broker.fenced, 1: True}[rec.fenced]
        shutting_down = broker.in_controlled_shutdown or rec.in_controlled_shutdown == 1
        self.brokers[rec.broker_id] = dataclasses.replace(
            broker, fenced=fenced, in_controlled_shutdown=shutting_down)

    def _broker(self, broker_id: int, broker_epoch: int) -> BrokerRegistration:
        broker = self.brokers.get(broker_id)
        if broker is None or broker.broker_epoch != broker_epoch:
            raise MetadataReplayError(f"no broker {broker_id} with epoch {broker_epoch}")
        return broker

    def _add_topic(self, rec: r.TopicRecord) -> None:
        if rec.name in self.topic_ids or rec.topic_id in self.topics:
            raise MetadataReplayError(f"topic {rec.name} exists")
        self.topics[rec.topic_id] = TopicImage(rec.name, rec.topic_id)
        self.topic_ids[rec.name] = rec.topic_id

    def _remove_topic(self, rec: r.RemoveTopicRecord) -> None:
        topic = self._topic(rec.topic_id)
        del self.topics[rec.topic_id], self.topic_ids[topic.name]
        self.configs.pop((TOPIC_RESOURCE, topic.name), None)  # Kafka drops them too

    def _topic(self, topic_id: bytes) -> TopicImage:
        topic = self.topics.get(topic_id)
        if topic is None:
            raise MetadataReplayError(f"unknown topic id {topic_id.hex()}")
        return topic

    def _set_partition(self, rec: r.PartitionRecord) -> None:
        self._topic(rec.topic_id).partitions[rec.partition_id] = PartitionRegistration(
            rec.replicas, rec.isr, rec.leader, rec.leader_epoch, rec.partition_epoch,
            rec.removing_replicas, rec.adding_replicas)

    def _change_partition(self, rec: r.PartitionChangeRecord) -> None:
        partitions = self._topic(rec.topic_id).partitions
        if rec.partition_id not in partitions:
            raise MetadataReplayError(f"unknown partition {rec.partition_id}")
        partitions[rec.partition_id] = partitions[rec.partition_id].merge(rec)

    def _set_config(self, rec: r.ConfigRecord) -> None:
        resource = (rec.resource_type, rec.resource_name)
        configs = self.configs.setdefault(resource, {})
        if rec.value is None:
            configs.pop(rec.name, None)
        else:
            configs[rec.name] = rec.value
        if not configs:
            del self.configs[resource]  # keep images equal however they were built

    def _set_client_quota(self, rec: r.ClientQuotaRecord) -> None:
        """Kafka's ``ClientQuotaControlManager.replay``: set or remove one key."""
        entity = tuple(sorted(tuple(component) for component in rec.entity))
        quotas = self.client_quotas.setdefault(entity, {})
        if rec.remove:
            quotas.pop(rec.key, None)
        else:
            quotas[rec.key] = float(rec.value)
        if not quotas:
            del self.client_quotas[entity]  # keep images equal however they were built

    def _set_feature(self, rec: r.FeatureLevelRecord) -> None:
        if rec.feature_level == 0:
            self.features.pop(rec.name, None)  # level 0 removes a feature (Kafka)
        else:
            self.features[rec.name] = rec.feature_level

    def _set_producer_ids(self, rec: r.ProducerIdsRecord) -> None:
        if rec.next_producer_id < self.next_producer_id:
            raise MetadataReplayError("producer ids must never be handed out twice")
        self.next_producer_id = rec.next_producer_id

    # --- snapshots -------------------------------------------------------------------

    def to_records(self) -> list[r.MetadataRecord]:
        """Records that rebuild this image from empty (a metadata snapshot)."""
        out: list[r.MetadataRecord] = [r.FeatureLevelRecord(n, level) for n, level in sorted(self.features.items())]
        for b in sorted(self.brokers.values(), key=lambda b: b.broker_id):
            out.append(r.RegisterBrokerRecord(b.broker_id, b.incarnation_id, b.broker_epoch, b.end_points,
                                              b.rack, b.fenced, b.in_controlled_shutdown))
        for topic, partition_id, p in self.all_partitions():
            if partition_id == min(topic.partitions):
                out.append(r.TopicRecord(topic.name, topic.topic_id))
            out.append(r.PartitionRecord(partition_id, topic.topic_id, p.replicas, p.isr, p.removing_replicas,
                                         p.adding_replicas, p.leader, p.leader_epoch, p.partition_epoch))
        out += [r.TopicRecord(t.name, t.topic_id) for t in self.topics.values() if not t.partitions]
        for (resource_type, resource_name), configs in sorted(self.configs.items()):
            out += [r.ConfigRecord(resource_type, resource_name, k, v) for k, v in sorted(configs.items())]
        for entity, quotas in sorted(self.client_quotas.items(), key=lambda item: quota_entity_order(item[0])):
            out += [r.ClientQuotaRecord(entity, key, value) for key, value in sorted(quotas.items())]
        if self.next_producer_id:
            out.append(r.ProducerIdsRecord(-1, -1, self.next_producer_id))
        return out

    @classmethod
    def from_records(cls, records) -> MetadataImage:
        """An image built by replaying ``records`` from empty."""
        image = cls()
        for record in records:
            image.apply(record)
        return image

    def copy(self) -> MetadataImage:
        """An independent image equal to this one (registrations are shared: frozen)."""
        return MetadataImage(
            brokers=dict(self.brokers),
            topics={tid: TopicImage(t.name, t.topic_id, dict(t.partitions)) for tid, t in self.topics.items()},
            topic_ids=dict(self.topic_ids),
            configs={key: dict(values) for key, values in self.configs.items()},
            next_producer_id=self.next_producer_id,
            features=dict(self.features),
            client_quotas={entity: dict(values) for entity, values in self.client_quotas.items()},
        )


def quota_entity_order(entity) -> tuple:
    """A sort key for client quota entities: by types, then names (None, the default, first)."""
    return tuple((entity_type, name is not None, name or "") for entity_type, name in entity)


_APPLY = {
    r.RegisterBrokerRecord: MetadataImage._register_broker,
    r.UnregisterBrokerRecord: MetadataImage._unregister_broker,
    r.FenceBrokerRecord: MetadataImage._fence,
    r.UnfenceBrokerRecord: MetadataImage._unfence,
    r.BrokerRegistrationChangeRecord: MetadataImage._change_broker,
    r.TopicRecord: MetadataImage._add_topic,
    r.RemoveTopicRecord: MetadataImage._remove_topic,
    r.PartitionRecord: MetadataImage._set_partition,
    r.PartitionChangeRecord: MetadataImage._change_partition,
    r.ConfigRecord: MetadataImage._set_config,
    r.FeatureLevelRecord: MetadataImage._set_feature,
    r.ClientQuotaRecord: MetadataImage._set_client_quota,
    r.ProducerIdsRecord: MetadataImage._set_producer_ids,
}
"""Which method replays which record type."""

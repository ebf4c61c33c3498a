"""The cluster metadata records: what the controller writes to ``__cluster_metadata``.

In KRaft every fact about the cluster is a record in the Raft-replicated
metadata log, and every broker (and every standby controller) rebuilds the
same :class:`~minikafka.metadata.image.MetadataImage` by replaying them in
order. There is no other source of truth: a topic exists because a
``TopicRecord`` was committed, a broker leads a partition because the last
``PartitionRecord``/``PartitionChangeRecord`` for it says so.

The record types, their numbers (Kafka's ``apiKey``, the ``MetadataRecordType``)
and their fields are written from Apache Kafka's
``metadata/src/main/resources/common/metadata/*.json`` (not among the
message definitions this project was given as a reference, so this is from
knowledge of Kafka 4.0), in snake_case. Fields minikafka does not use (directories, ELR, ZooKeeper
migration flags, tagged features) are left out.

Two conventions come from Kafka's ``PartitionChangeRecord``:

- ``leader = NO_LEADER_CHANGE (-2)`` means "leader unchanged"; any other value
  (``NO_LEADER (-1)`` included) sets the leader *and bumps the leader epoch*.
  So the controller writes the same leader again when it needs a new epoch.
- ``isr``, ``replicas``, ``removing_replicas``, ``adding_replicas`` of ``None``
  mean "unchanged". Every change record bumps the partition epoch.

Encoding: Kafka frames each record as ``frame version | apiKey | version |
flexible message``. minikafka keeps the first three and, where Kafka's exact
bytes are not available here, encodes the fields with msgpack (docs/decisions.md says why)::

    msgpack([api_key, version, {field: value}])

Uuids are 16 raw bytes; lists are decoded as tuples so records are hashable.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import msgpack

NO_LEADER = -1
"""``leader`` of a partition without a leader (offline)."""
NO_LEADER_CHANGE = -2
"""``PartitionChangeRecord.leader`` meaning: keep the leader and its epoch."""


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One listener of a broker: a ``NAME://host:port`` entry of ``listeners`` or
    ``advertised.listeners``, and an entry of ``RegisterBrokerRecord.EndPoints``."""

    name: str
    host: str
    port: int
    security_protocol: int = 0  # 0 PLAINTEXT, as Kafka's SecurityProtocol ids

    def __str__(self) -> str:
        return f"{self.name}://{self.host}:{self.port}"


@dataclasses.dataclass(frozen=True)
class RegisterBrokerRecord:
    """A broker (re-)registered; it starts fenced (apiKey 0)."""

    API_KEY: ClassVar[int] = 0
    broker_id: int
    incarnation_id: bytes
    broker_epoch: int
    end_points: tuple[Endpoint, ...] = ()
    rack: str | None = None
    fenced: bool = True
    in_controlled_shutdown: bool = False


@dataclasses.dataclass(frozen=True)
class UnregisterBrokerRecord:
    """A broker was removed from the cluster (apiKey 1)."""

    API_KEY: ClassVar[int] = 1
    broker_id: int
    broker_epoch: int


@dataclasses.dataclass(frozen=True)
class TopicRecord:
    """A topic was created (apiKey 2); its partitions follow as PartitionRecords."""

    API_KEY: ClassVar[int] = 2
    name: str
    topic_id: bytes


@dataclasses.dataclass(frozen=True)
class PartitionRecord:
    """The full state of one partition (apiKey 3): at creation, and in snapshots."""

    API_KEY: ClassVar[int] = 3
    partition_id: int
    topic_id: bytes
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    removing_replicas: tuple[int, ...] = ()
    adding_replicas: tuple[int, ...] = ()
    leader: int = NO_LEADER
    leader_epoch: int = 0
    partition_epoch: int = 0


@dataclasses.dataclass(frozen=True)
class ConfigRecord:
    """Set (or, with ``value`` None, delete) one config key (apiKey 4).

    ``resource_type`` is Kafka's ``ConfigResource.Type`` (2 topic, 4 broker);
    a broker ``resource_name`` of ``""`` is the cluster-wide default.
    """

    API_KEY: ClassVar[int] = 4
    resource_type: int
    resource_name: str
    name: str
    value: str | None


@dataclasses.dataclass(frozen=True)
class PartitionChangeRecord:
    """A change to one partition (apiKey 5); ``None``/``-2`` fields are unchanged."""

    API_KEY: ClassVar[int] = 5
    partition_id: int
    topic_id: bytes
    isr: tuple[int, ...] | None = None
    leader: int = NO_LEADER_CHANGE
    replicas: tuple[int, ...] | None = None
    removing_replicas: tuple[int, ...] | None = None
    adding_replicas: tuple[int, ...] | None = None


@dataclasses.dataclass(frozen=True)
class FenceBrokerRecord:
    """The broker may no longer lead or be in an ISR (apiKey 7)."""

    API_KEY: ClassVar[int] = 7
    id: int
    epoch: int


@dataclasses.dataclass(frozen=True)
class UnfenceBrokerRecord:
    """The broker caught up with the metadata log and may serve again (apiKey 8)."""

    API_KEY: ClassVar[int] = 8
    id: int
    epoch: int


@dataclasses.dataclass(frozen=True)
class RemoveTopicRecord:
    """The topic and all its partitions are gone (apiKey 9)."""

    API_KEY: ClassVar[int] = 9
    topic_id: bytes


@dataclasses.dataclass(frozen=True)
class FeatureLevelRecord:
    """A finalized feature level, e.g. ``metadata.version`` (apiKey 12)."""

    API_KEY: ClassVar[int] = 12
    name: str
    feature_level: int


@dataclasses.dataclass(frozen=True)
class ClientQuotaRecord:
    """Set (or, with ``remove``, delete) one client quota value (apiKey 14, KIP-546).

    ``entity`` is the quota entity as ``((entity_type, entity_name), ...)``
    sorted by type: ``user``, ``client-id`` (alone or together) or ``ip``;
    a name of None is that type's default entity. ``value`` is ignored when
    ``remove`` is set.
    """

    API_KEY: ClassVar[int] = 14
    entity: tuple[tuple[str, str | None], ...]
    key: str
    value: float = 0.0
    remove: bool = False


@dataclasses.dataclass(frozen=True)
class ProducerIdsRecord:
    """A block of producer ids was handed to a broker (apiKey 15).

    ``next_producer_id`` is the first id *not yet* handed out to anyone.
    """

    API_KEY: ClassVar[int] = 15
    broker_id: int
    broker_epoch: int
    next_producer_id: int


@dataclasses.dataclass(frozen=True)
class BrokerRegistrationChangeRecord:
    """A change to a registration (apiKey 17).

    ``fenced``: -1 unfenced, 0 unchanged, 1 fenced; ``in_controlled_shutdown``:
    0 unchanged, 1 now shutting down (Kafka's int8 encodings).
    """

    API_KEY: ClassVar[int] = 17
    broker_id: int
    broker_epoch: int
    fenced: int = 0
    in_controlled_shutdown: int = 0


RECORD_TYPES = {cls.API_KEY: cls for cls in (
    RegisterBrokerRecord, UnregisterBrokerRecord, TopicRecord, PartitionRecord, ConfigRecord,
    PartitionChangeRecord, FenceBrokerRecord, UnfenceBrokerRecord, RemoveTopicRecord,
    FeatureLevelRecord, ClientQuotaRecord, ProducerIdsRecord, BrokerRegistrationChangeRecord,
)}
"""Every record type by its apiKey."""

MetadataRecord = (RegisterBrokerRecord | UnregisterBrokerRecord | TopicRecord | PartitionRecord
                  | ConfigRecord | PartitionChangeRecord | FenceBrokerRecord | UnfenceBrokerRecord
                  | RemoveTopicRecord | FeatureLevelRecord | ClientQuotaRecord | ProducerIdsRecord
                  | BrokerRegistrationChangeRecord)

RECORD_VERSION = 0
"""The one version of minikafka's msgpack encoding of each record."""


def encode_record(record: MetadataRecord) -> bytes:
    """One record as bytes for the metadata log (see the module docstring)."""
    fields = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    if isinstance(record, RegisterBrokerRecord):
        fields["end_points"] = [dataclasses.astuple(e) for e in record.end_points]
    return msgpack.packb([record.API_KEY, RECORD_VERSION, fields], use_bin_type=True)


def decode_record(data: bytes) -> MetadataRecord:
    """The inverse of :func:`encode_record`.

    Raises:
        ValueError: unknown record type or version, or malformed bytes.
    """
    try:
        api_key, version, fields = msgpack.unpackb(data, raw=False, use_list=False)
        cls = RECORD_TYPES[api_key]
    except (ValueError, TypeError, KeyError, msgpack.UnpackException) as exc:
        raise ValueError(f"not a metadata record: {exc!r}") from None
    if version != RECORD_VERSION:
        raise ValueError(f"unsupported {cls.__name__} version {version}")
    if cls is RegisterBrokerRecord:
        fields = dict(fields, end_points=tuple(Endpoint(*e) for e in fields["end_points"]))
    elif cls is ClientQuotaRecord:
        fields = dict(fields, value=float(fields["value"]))  # msgpack may hand back an int
    return cls(**fields)

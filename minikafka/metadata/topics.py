"""The topic registry: a read view of the topics in the cluster metadata image.

In Apache Kafka 4.0 topics are cluster metadata: the active controller appends
``TopicRecord``, ``PartitionRecord`` and ``ConfigRecord`` entries to the KRaft
metadata log (``__cluster_metadata``) and every broker replays them into its
``MetadataImage`` (see ``minikafka.metadata.runtime``). This module is the
broker-side *view* of that image that handlers and the group coordinator
read: names, ids, partition counts, replication factors, config overrides,
and the validation a request gets before it is sent to the controller (the
controller validates again: it is the authority).

Nothing here writes. Changes go through the controller: ``Broker.create_topic``,
``delete_topic``, ``add_partitions``, ``set_resource_configs`` (handlers reach
them as ``BrokerServices.topic_admin``).

Handlers receive it as their metadata cache (``BrokerServices.metadata``):
besides the topics it answers with the committed image, the cluster id, this
node's id and advertised endpoint, and the active controller's id.

Client quotas: :meth:`TopicRegistry.client_quotas` reads them from the image
and :meth:`TopicRegistry.add_client_quota_listener` tells the broker's quota
managers whenever committed ``ClientQuotaRecord``s (or a loaded snapshot)
change them (Kafka's ``ClientQuotaMetadataManager`` role).

Invariants checked (Kafka's): names follow Kafka's rules (1-249 of
``[a-zA-Z0-9._-]``, not ``.``/``..``, and no two names equal once ``.`` is
read as ``_``, because metric names cannot tell them apart); partition
counts only grow.

Owned by one ``Broker``; synchronous and not task-safe (no method awaits, so
under Trio each call runs to completion).
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Callable

from minikafka.config import BrokerConfig, format_value, validate_topic_configs
from minikafka.errors import ErrorCode, KafkaError

if TYPE_CHECKING:
    from minikafka.metadata.image import MetadataImage

MAX_NAME_LENGTH = 249
_LEGAL_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")


@dataclasses.dataclass
class TopicInfo:
    """What the registry knows about one topic.

    Attributes:
        name: the topic name.
        topic_id: 16 random bytes (Kafka's topic Uuid), never all zero.
        num_partitions: partitions 0 .. num_partitions-1 exist.
        replication_factor: the number of replicas of partition 0.
        configs: the topic's own overrides, as strings (``{"retention.ms": "1000"}``).
    """

    name: str
    topic_id: bytes
    num_partitions: int
    replication_factor: int = 1
    configs: dict[str, str] = dataclasses.field(default_factory=dict)


def validate_topic_name(name: str) -> None:
    """Kafka's ``Topic.validate``; raises ``KafkaError(INVALID_TOPIC_EXCEPTION)``."""
    if not name:
        raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, "Topic name is illegal, it can't be empty")
    if name in (".", ".."):
        raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, 'Topic name cannot be "." or ".."')
    if len(name) > MAX_NAME_LENGTH:
        raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION,
                         f"Topic name is illegal, it can't be longer than {MAX_NAME_LENGTH} "
                         f"characters, topic name: {name}")
    if not _LEGAL_NAME.match(name):
        raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION,
                         f'Topic name "{name}" is illegal, it contains a character other than '
                         "ASCII alphanumerics, '.', '_' and '-'")


class TopicRegistry:
    """The broker's view of topics and dynamic broker configs in the metadata image.

    It is the metadata cache handlers read (``BrokerServices.metadata``): the
    topics, the committed image, the cluster id, this node's id and its
    advertised endpoint, and who the active controller is.

    Args:
        config: the broker's ``BrokerConfig`` (defaults, dynamic layers).
        metadata: anything with an ``image`` attribute holding the committed
            ``MetadataImage`` and an ``active_controller_id`` (the broker's
            ``MetadataRuntime``); read on every call, because a snapshot
            replaces the image object.
        cluster_id: the cluster id from ``meta.properties``.
        advertised_endpoint: returns the ``(host, port)`` clients should use
            for this broker (known once its listeners are bound).
    """

    def __init__(self, config: BrokerConfig, metadata, *, cluster_id: str | None = None,
                 advertised_endpoint: Callable[[], tuple[str, int]] | None = None):
        self.config = config
        self.metadata = metadata
        self.cluster_id = cluster_id
        self._advertised_endpoint = advertised_endpoint
        self._quota_listeners: list[Callable[[dict], None]] = []
        self._published_quotas: dict | None = None

    # -- the node and the cluster ---------------------------------------------

    @property
    def node_id(self) -> int:
        return self.config.node_id

    @property
    def image(self) -> MetadataImage:
        """The committed metadata image (a new object after each snapshot load)."""
        return self.metadata.image

    @property
    def active_controller_id(self) -> int | None:
        """The quorum leader (the active controller once it has caught up), or None."""
        return self.metadata.active_controller_id

    def advertised_endpoint(self) -> tuple[str, int]:
        """``(host, port)`` clients should use to reach this broker."""
        if self._advertised_endpoint is None:
            raise RuntimeError("this registry was built without an advertised endpoint")
        return self._advertised_endpoint()

    def partition_leader_endpoint(self, topic: str, index: int) -> tuple[int, str, int] | None:
        """``(node_id, host, port)`` of the unfenced broker leading ``topic-index``, if another one does.

        None when the partition has no leader, when this broker leads it, or
        when the leader is fenced or has no listener.
        """
        image = self.metadata.image
        topic_image = image.topic(topic)
        registration = topic_image.partitions.get(index) if topic_image is not None else None
        if registration is None or registration.leader < 0 or registration.leader == self.node_id:
            return None
        leader = image.brokers.get(registration.leader)
        if leader is None or leader.fenced or not leader.end_points:
            return None
        endpoint = leader.end_points[0]
        return registration.leader, endpoint.host, endpoint.port

    @property
    def num_brokers(self) -> int:
        """Brokers that can take replicas now (registered, unfenced, not stopping)."""
        return len(self.metadata.image.active_broker_ids())

    # -- reading --------------------------------------------------------------

    def _info(self, topic) -> TopicInfo:
        partitions = topic.partitions
        replication_factor = len(partitions[min(partitions)].replicas) if partitions else 0
        return TopicInfo(topic.name, topic.topic_id, len(partitions), replication_factor,
                         dict(self.metadata.image.topic_config(topic.name)))

    def get(self, name: str) -> TopicInfo | None:
        topic = self.metadata.image.topic(name)
        return None if topic is None else self._info(topic)

    def get_by_id(self, topic_id: bytes) -> TopicInfo | None:
        topic = self.metadata.image.topics.get(bytes(topic_id))
        return None if topic is None else self._info(topic)

    def topic_name_by_id(self, topic_id: bytes) -> str | None:
        """Resolve a topic id (Fetch v13+, Metadata v10+) to its name, or None."""
        info = self.get_by_id(topic_id)
        return info.name if info is not None else None

    def names(self) -> list[str]:
        return sorted(self.metadata.image.topic_ids)

    def __contains__(self, name: str) -> bool:
        return name in self.metadata.image.topic_ids

    def require(self, name: str) -> TopicInfo:
        """The topic, or ``KafkaError(UNKNOWN_TOPIC_OR_PARTITION)``."""
        info = self.get(name)
        if info is None:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The topic '{name}' does not exist.")
        return info

    def typed_overrides(self, name: str) -> dict:
        """The topic's overrides converted to their types."""
        return validate_topic_configs(self.require(name).configs)

    def effective_config(self, name: str) -> dict:
        """Every topic key's typed value for this topic (overrides, then broker layers)."""
        return self.config.effective_topic_config(self.typed_overrides(name))

    def log_config(self, name: str):
        """The ``LogConfig`` the topic's partitions run with."""
        from minikafka.storage.config import LogConfig  # storage is built alongside; import late

        return LogConfig.from_topic_config(self.effective_config(name))

    def dynamic_broker_configs(self, per_broker: bool) -> dict[str, str]:
        """A dynamic broker layer as strings (what IncrementalAlterConfigs edits)."""
        return {k: format_value(v) for k, v in self.config.dynamic_layer(per_broker).items()}

    # -- client quotas ---------------------------------------------------------

    def client_quotas(self) -> dict:
        """``{entity: {key: value}}`` of the committed image, as an independent copy.

        An entity is ``((entity_type, entity_name), ...)`` sorted by type, a
        name of None being the default entity (see ``metadata.quota_control``).
        """
        return {entity: dict(values) for entity, values in self.metadata.image.client_quotas.items()}

    def add_client_quota_listener(self, listener: Callable[[dict], None]) -> None:
        """Call ``listener(entries)`` now, and again whenever the committed quotas change.

        ``entries`` is a fresh :meth:`client_quotas` copy for each call. The
        first listener hooks :meth:`publish_client_quotas` onto the metadata runtime's
        ``on_publish`` (after whatever it already calls), so a change reaches
        the listeners right after the records that made it were replayed,
        whether they came one by one or in a snapshot.
        """
        if not self._quota_listeners:
            self._published_quotas = self.client_quotas()
            previous = getattr(self.metadata, "on_publish", None)
            if previous is not None:
                def publish_then_quotas(image, previous=previous) -> None:
                    previous(image)
                    self.publish_client_quotas(image)
                self.metadata.on_publish = publish_then_quotas
        self._quota_listeners.append(listener)
        listener(self.client_quotas())

    def publish_client_quotas(self, image: MetadataImage) -> None:
        """A newly applied image: call the quota listeners if its client quotas changed."""
        if not self._quota_listeners or image.client_quotas == self._published_quotas:
            return
        self._published_quotas = {entity: dict(values) for entity, values in image.client_quotas.items()}
        for listener in self._quota_listeners:
            listener({entity: dict(values) for entity, values in self._published_quotas.items()})

    # -- validation before a request goes to the controller -----------------

    def validate_new_topic(self, name: str, num_partitions: int, configs: dict | None,
                           replication_factor: int = -1) -> tuple[int, int, dict[str, str]]:
        """Check a CreateTopics entry without creating anything.

        ``-1`` for partitions or replication factor means the broker default
        (``num.partitions``, ``default.replication.factor``), as in Kafka.

        Returns:
            ``(num_partitions, replication_factor, configs as strings)``.

        Raises:
            KafkaError: INVALID_TOPIC_EXCEPTION, TOPIC_ALREADY_EXISTS,
                INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR, INVALID_CONFIG.
        """
        validate_topic_name(name)
        if name in self:
            raise KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
        self._check_collision(name)
        if num_partitions == -1:
            num_partitions = self.config["num.partitions"]
        if num_partitions <= 0:
            raise KafkaError(ErrorCode.INVALID_PARTITIONS,
                             "Number of partitions was set to an invalid non-positive value.")
        replication_factor = self.check_replication_factor(replication_factor)
        configs = dict(configs or {})
        validate_topic_configs(configs)
        return num_partitions, replication_factor, configs

    def check_replication_factor(self, replication_factor: int) -> int:
        """Resolve ``-1`` to the default and check it against the brokers we have."""
        if replication_factor == -1:
            replication_factor = self.config["default.replication.factor"]
        if replication_factor <= 0:
            raise KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR,
                             "Replication factor must be larger than 0, or -1 to use the default value.")
        if replication_factor > self.num_brokers:
            raise KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR,
                             f"Unable to replicate the partition {replication_factor} time(s): The target "
                             f"replication factor of {replication_factor} cannot be reached because only "
                             f"{self.num_brokers} broker(s) are registered.")
        return replication_factor

    def _check_collision(self, name: str) -> None:
        # '.' and '_' both become '_' in metric names, so Kafka refuses names
        # that differ only there.
        canonical = name.replace(".", "_")
        for other in self.names():
            if other.replace(".", "_") == canonical:
                raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION,
                                 f"Topic '{name}' collides with existing topic: {other}")

    def validate_new_partition_count(self, name: str, total: int) -> TopicInfo:
        """Check a CreatePartitions entry; partitions can only be added."""
        info = self.require(name)
        if total < info.num_partitions:
            raise KafkaError(ErrorCode.INVALID_PARTITIONS,
                             f"The topic {name} currently has {info.num_partitions} partition(s); "
                             f"{total} would not be an increase.")
        if total == info.num_partitions:
            raise KafkaError(ErrorCode.INVALID_PARTITIONS,
                             f"Topic already has {info.num_partitions} partition(s).")
        return info

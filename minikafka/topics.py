"""The topic registry: every topic's name, id, partition count and config overrides.

In Apache Kafka 4.0 this is cluster metadata: the active controller appends
``TopicRecord``, ``PartitionRecord`` and ``ConfigRecord`` entries to the KRaft
metadata log (``__cluster_metadata``) and every broker replays them. Until
minikafka has that log (a later issue brings the Raft quorum), one broker
keeps the same facts in one small file in its first log dir::

    <log dir>/__minikafka_topics.msgpack
    {"version": 1,
     "topics": [{"name", "topic_id" (16 bytes), "num_partitions",
                 "replication_factor", "configs" {key: string}}],
     "dynamic_broker": {key: string},    # BROKER "<node.id>" (per broker)
     "dynamic_default": {key: string}}   # BROKER "" (cluster-wide default)

Every change rewrites the whole file atomically (temp file, fsync, rename,
fsync the directory), so a crash leaves either the old or the new registry.
The file is tiny (a few hundred bytes per topic), so rewriting it is cheap.

Invariants: names follow Kafka's rules (1-249 of ``[a-zA-Z0-9._-]``, not
``.``/``..``, and no two names equal once ``.`` is read as ``_``, because
metric names cannot tell them apart); a topic id is 16 random bytes and never
the all-zero uuid (which means "no id" on the wire); partition counts only
grow; stored overrides are strings that passed validation.

Owned by one ``Broker``; synchronous and not task-safe (no method awaits, so
under Trio each call runs to completion).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re

import msgpack

from minikafka.config import (
    BrokerConfig,
    ConfigError,
    format_value,
    random_uuid,
    validate_topic_configs,
)
from minikafka.errors import ErrorCode, KafkaError
from minikafka.fileutil import atomic_write

log = logging.getLogger("minikafka.topics")

REGISTRY_FILE = "__minikafka_topics.msgpack"
MAX_NAME_LENGTH = 249
_LEGAL_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")


@dataclasses.dataclass
class TopicInfo:
    """What the registry knows about one topic.

    Attributes:
        name: the topic name.
        topic_id: 16 random bytes (Kafka's topic Uuid), never all zero.
        num_partitions: partitions 0 .. num_partitions-1 exist.
        replication_factor: always 1 on a lone broker.
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
    """The broker's topics and dynamic broker configs, persisted in one file.

    Args:
        config: the broker's ``BrokerConfig``; its first log dir holds the
            registry file, and its dynamic layers are restored from it.
        num_brokers: how many brokers could hold replicas (1 until
            replication exists).
    """

    def __init__(self, config: BrokerConfig, num_brokers: int = 1):
        self.config = config
        self.num_brokers = num_brokers
        self._path = os.path.join(config.log_dirs[0], REGISTRY_FILE)
        self._topics: dict[str, TopicInfo] = {}
        self._load()

    # -- reading --------------------------------------------------------------

    def get(self, name: str) -> TopicInfo | None:
        return self._topics.get(name)

    def get_by_id(self, topic_id: bytes) -> TopicInfo | None:
        return next((t for t in self._topics.values() if t.topic_id == topic_id), None)

    def names(self) -> list[str]:
        return sorted(self._topics)

    def __contains__(self, name: str) -> bool:
        return name in self._topics

    def require(self, name: str) -> TopicInfo:
        """The topic, or ``KafkaError(UNKNOWN_TOPIC_OR_PARTITION)``."""
        info = self._topics.get(name)
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
        from minikafka.log.config import LogConfig  # storage is built alongside; import late

        return LogConfig.from_topic_config(self.effective_config(name))

    # -- validation (also used alone by validate_only requests) --------------

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
        if name in self._topics:
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
        for other in self._topics:
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

    # -- changes (each one persisted before it returns) -----------------------

    def create(self, name: str, num_partitions: int, configs: dict | None = None,
               replication_factor: int = -1) -> TopicInfo:
        """Create a topic with a fresh random id; see ``validate_new_topic`` for errors."""
        num_partitions, replication_factor, configs = self.validate_new_topic(
            name, num_partitions, configs, replication_factor)
        info = TopicInfo(name, random_uuid(), num_partitions, replication_factor, configs)
        self._topics[name] = info
        self._save()
        return info

    def delete(self, name: str) -> TopicInfo:
        """Forget a topic; raises UNKNOWN_TOPIC_OR_PARTITION. Its logs are the broker's job."""
        info = self.require(name)
        del self._topics[name]
        self._save()
        return info

    def set_partitions(self, name: str, total: int) -> TopicInfo:
        """Grow a topic to ``total`` partitions (never shrink: INVALID_PARTITIONS)."""
        info = self.validate_new_partition_count(name, total)
        info.num_partitions = total
        self._save()
        return info

    def alter_configs(self, name: str, overrides: dict[str, str], validate_only: bool = False) -> None:
        """Replace the topic's overrides with ``overrides`` (strings).

        AlterConfigs replaces the whole set; IncrementalAlterConfigs computes
        the new set from the old one and then calls this.
        """
        info = self.require(name)
        validate_topic_configs(overrides)
        if validate_only:
            return
        info.configs = dict(overrides)
        self._save()

    def set_dynamic_broker_configs(self, per_broker: bool, configs: dict[str, str],
                                   validate_only: bool = False) -> None:
        """Replace a dynamic broker layer (``per_broker``: BROKER "<node.id>", else BROKER "").

        Values are strings; they are type-checked and must be dynamic keys.
        """
        typed = self.config.validate_dynamic(configs)
        if validate_only:
            return
        layer = self.config.dynamic_layer(per_broker)
        layer.clear()
        layer.update({name: value for name, value in typed.items() if value is not None})
        self._save()

    def dynamic_broker_configs(self, per_broker: bool) -> dict[str, str]:
        """A dynamic broker layer as strings (what IncrementalAlterConfigs edits)."""
        return {k: format_value(v) for k, v in self.config.dynamic_layer(per_broker).items()}

    # -- persistence -----------------------------------------------------------

    def _save(self) -> None:
        state = {
            "version": 1,
            "topics": [dataclasses.asdict(info) for info in self._topics.values()],
            "dynamic_broker": self.dynamic_broker_configs(per_broker=True),
            "dynamic_default": self.dynamic_broker_configs(per_broker=False),
        }
        os.makedirs(os.path.dirname(self._path), exist_ok=True)
        atomic_write(self._path, msgpack.packb(state, use_bin_type=True))

    def _load(self) -> None:
        if not os.path.exists(self._path):
            return
        with open(self._path, "rb") as f:
            state = msgpack.unpackb(f.read(), raw=False)
        for fields in state.get("topics", []):
            info = TopicInfo(**fields)
            self._topics[info.name] = info
        for per_broker, key in ((True, "dynamic_broker"), (False, "dynamic_default")):
            try:
                typed = self.config.validate_dynamic(state.get(key, {}))
            except (KafkaError, ConfigError) as exc:
                # A key this version no longer accepts must not stop the broker.
                log.warning("ignoring stored dynamic broker configs %s: %s", key, exc)
                continue
            self.config.dynamic_layer(per_broker).update(typed)

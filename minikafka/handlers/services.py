"""The services a request handler may use (in Kafka: what ``KafkaApis`` is built with).

A handler never sees "the broker". It receives one ``BrokerServices``: a frozen
record of the few services the API handlers use, each typed by a
``typing.Protocol`` below that names exactly the methods handlers call. A reader
(or a type checker) follows ``services.group_coordinator.execute(...)`` to the
protocol, and from there to the one class that implements it:

========================  =================================  ===========================================
field                     type                               implemented by
========================  =================================  ===========================================
``config``                ``BrokerConfig``                   the broker's configuration
``clock``                 ``Clock``                          ``Broker`` (injected wall clock, Trio)
``metadata``              ``MetadataCache``                  ``TopicRegistry`` (the committed image)
``partitions``            ``Partitions``                     ``Broker`` (its hosted partitions)
``replicas``              ``FollowerFetches``                ``ReplicaManager``
``group_coordinator``     ``GroupCoordinatorService``        ``GroupCoordinatorRuntime``
``topic_admin``           ``TopicAdmin``                     ``Broker`` (controller operations)
``forwarding``            ``ControllerForwarding``           ``ControllerChannel``
``controller``            ``LocalController``                ``MetadataRuntime``
``quorum``                ``QuorumRuntime``                  the KRaft replica of ``__cluster_metadata``
``fetch_sessions``        ``FetchSessionCache``              the broker's fetch sessions (KIP-227)
``producer_ids``          ``ProducerIdSource``               ``ProducerIdManager``
``api_keys``              ``frozenset[int]``                 the keys of the broker's handler table
``transactions``          ``TransactionCoordinatorService``  ``TransactionCoordinatorRuntime``
``transaction_verifier``  ``TransactionVerification``        ``TransactionVerifier`` (KIP-890)
``quotas``                ``QuotaServices``                  ``BrokerQuotas`` (client and replication quotas)
``telemetry``             ``ClientMetricsManager``           client metrics pushed by clients (KIP-714)
``topic_stats``           ``TopicStats``                     ``BrokerTopicStats`` (``BrokerTopicMetrics``)
``schema_ids``            ``SchemaIds``                      ``SchemaIdLookup`` (the schema registry's answers)
``validated_topics``      ``Mapping[str, TopicValidation]``  ``Broker`` (topics with schema validation on)
========================  =================================  ===========================================

``transactions``, ``transaction_verifier``, ``quotas``, ``telemetry``,
``topic_stats`` and ``schema_ids`` default to None, and ``validated_topics``
to an empty mapping, for handler tests that build a ``BrokerServices``
without them (no quotas: nothing is recorded and nothing is throttled; no
topic stats: no ``BrokerTopicMetrics`` are marked; no validated topics: no
schema validation). ``schema_ids`` is None on a broker without
``confluent.schema.registry.url``.

The rule is one hop: a handler reads a field, then calls a method or reads a
property of it. Where a handler needs something deeper, the service gets a
method that says what the handler wants.

The ``Broker`` builds its ``BrokerServices`` once, in ``open()``; the server
passes it to every handler as ``handle(services, request, ctx)``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, Mapping, Protocol

if TYPE_CHECKING:
    from minikafka.config import BrokerConfig
    from minikafka.coordinator.producer_id_blocks import ProducerIdAndEpoch
    from minikafka.coordinator.result import CoordinatorResult
    from minikafka.errors import ErrorCode
    from minikafka.handlers import RequestContext
    from minikafka.metadata.image import MetadataImage
    from minikafka.quotas.client import ClientQuotaManager
    from minikafka.quotas.controller_mutation import ControllerMutationQuotaManager
    from minikafka.quotas.replication import ReplicationQuotaManager
    from minikafka.replication.fetch_session import FetchSessionCache
    from minikafka.telemetry.manager import ClientMetricsManager
    from minikafka.replication.partition import Partition
    from minikafka.quorum.runtime import QuorumRuntime
    from minikafka.metadata.topics import TopicInfo


class Clock(Protocol):
    """The broker's two clocks.

    ``now_ms`` is the wall clock of record timestamps and retention (injected,
    ``time.time`` by default); ``monotonic_ms`` is Trio's clock, for timeouts
    and deadlines (a ``MockClock`` in tests).
    """

    def now_ms(self) -> int: ...

    def monotonic_ms(self) -> float: ...


class MetadataCache(Protocol):
    """This broker's read view of the committed cluster metadata (Kafka's ``MetadataCache``).

    Topics (names, ids, partition counts, configs) and the checks a request
    gets before it goes to the controller; the committed ``MetadataImage``
    itself; who this node and the active controller are.
    """

    @property
    def node_id(self) -> int: ...

    @property
    def cluster_id(self) -> str | None: ...

    @property
    def image(self) -> MetadataImage: ...

    @property
    def active_controller_id(self) -> int | None: ...

    def advertised_endpoint(self) -> tuple[str, int]: ...

    def get(self, name: str) -> TopicInfo | None: ...

    def get_by_id(self, topic_id: bytes) -> TopicInfo | None: ...

    def topic_name_by_id(self, topic_id: bytes) -> str | None: ...

    def names(self) -> list[str]: ...

    def require(self, name: str) -> TopicInfo: ...

    def typed_overrides(self, name: str) -> dict: ...

    def dynamic_broker_configs(self, per_broker: bool) -> dict[str, str]: ...

    def validate_new_topic(self, name: str, num_partitions: int, configs: dict | None,
                           replication_factor: int = -1) -> tuple[int, int, dict[str, str]]: ...

    def validate_new_partition_count(self, name: str, total: int) -> TopicInfo: ...

    def partition_leader_endpoint(self, topic: str, index: int) -> tuple[int, str, int] | None: ...


class Partitions(Protocol):
    """The partitions this broker hosts, and the waits of long polls and acks=all."""

    def partition(self, topic: str, index: int) -> Partition: ...

    def leader_partition(self, topic: str, index: int) -> Partition: ...

    def hosted_partitions(self) -> list[tuple[str, int]]: ...

    def log_dir_of(self, topic: str, index: int) -> str: ...

    async def wait_for_appends(self, partitions: Iterable[Partition], timeout_ms: float) -> bool: ...

    async def wait_for_commits(self, partitions: Iterable[Partition], timeout_ms: float) -> bool: ...

    async def wait_for_isr(self, partition: Partition, required_offset: int,
                           deadline_ms: float) -> ErrorCode: ...


class FollowerFetches(Protocol):
    """Where a follower's fetch reports the ISR expansion it may propose."""

    def on_follower_fetch(self, partition: Partition, update) -> None: ...


class GroupCoordinatorService(Protocol):
    """Consumer groups and committed offsets, one shard per ``__consumer_offsets`` partition.

    ``execute`` runs an operation that writes records (then answers);
    ``read`` runs one that only looks. The ``_both`` variants hand the
    operation the classic and the consumer-protocol (KIP-848) coordinators.
    ``execute_transactional`` writes a TxnOffsetCommit's records as a
    transactional batch of the producer; ``complete_transaction`` writes a
    transaction marker (WriteTxnMarkers) to an offsets partition.
    """

    async def ensure_offsets_topic(self) -> None: ...

    def partition_for(self, group_id: str) -> int: ...

    def is_coordinator_for(self, group_id: str) -> bool: ...

    async def execute(self, group_id: str, operation: Callable[..., CoordinatorResult]) -> dict: ...

    async def execute_both(self, group_id: str, operation: Callable[..., CoordinatorResult]) -> dict: ...

    def read_both(self, group_id: str, operation: Callable[..., object]): ...

    def shards_for_listing(self) -> tuple[list, bool]: ...

    def consumer_groups_for_listing(self) -> list: ...

    async def execute_transactional(self, group_id: str, operation: Callable[..., CoordinatorResult], *,
                                    transactional_id: str, producer_id: int, producer_epoch: int,
                                    verify: Callable[..., Awaitable[dict]] | None = None,
                                    api_version: int = 4) -> dict: ...

    async def complete_transaction(self, offsets_partition: int, producer_id: int, producer_epoch: int,
                                   coordinator_epoch: int, commit: bool) -> ErrorCode: ...


class TopicAdmin(Protocol):
    """Topic and config changes, made by the active controller.

    Each call returns once the change is committed *and* this broker's image
    has applied it.
    """

    async def create_topic(self, name: str, num_partitions: int, configs: dict,
                           replication_factor: int = -1,
                           assignments: list[list[int]] | None = None) -> TopicInfo: ...

    async def auto_create_topic(self, name: str) -> TopicInfo: ...

    async def delete_topic(self, name: str) -> None: ...

    async def add_partitions(self, name: str, total: int) -> None: ...

    async def set_resource_configs(self, resource_type: int, resource_name: str,
                                   overrides: dict[str, str]) -> None: ...


class ControllerForwarding(Protocol):
    """Runs a controller operation on the active controller, wherever it is (Kafka's forwarding)."""

    async def call(self, operation: str, request, *, timeout_s: float = ...) -> dict: ...


class LocalController(Protocol):
    """This node's controller: runs an operation here if it is the active controller."""

    async def submit(self, operation: str, request, **kwargs) -> dict | None: ...


class ProducerIdSource(Protocol):
    """Producer ids for idempotent producers (blocks from the controller, KIP-730)."""

    async def init_producer_id(self, producer_id: int = -1, producer_epoch: int = -1) -> ProducerIdAndEpoch: ...


class TransactionCoordinatorService(Protocol):
    """Transactions (KIP-98), one shard per ``__transaction_state`` partition this broker leads.

    ``execute`` runs a ``TransactionCoordinator`` operation that writes
    records (the answer comes once they are replicated; markers follow in
    the background); ``read`` runs one that only looks. Errors of the shard
    (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, INVALID_REQUEST for an
    empty id, a failed write) are raised as ``KafkaError``.
    """

    async def ensure_transaction_topic(self) -> None: ...

    def partition_for(self, transactional_id: str) -> int: ...

    def is_coordinator_for(self, transactional_id: str) -> bool: ...

    async def init_producer_id(self, transactional_id: str, transaction_timeout_ms: int,
                               producer_id: int, producer_epoch: int) -> dict: ...

    async def execute(self, transactional_id: str, operation: Callable[..., Any]) -> Any: ...

    def read(self, transactional_id: str, operation: Callable[..., Any]) -> Any: ...

    def verify_partitions(self, transactional_id: str, producer_id: int, producer_epoch: int,
                          partitions: list[tuple[str, int]]) -> dict[tuple[str, int], ErrorCode]: ...

    def describe(self, transactional_id: str) -> dict: ...

    def list_transactions(self, state_filters: list[str], producer_id_filters: list[int],
                          duration_filter_ms: int) -> list[dict]: ...


class TransactionVerification(Protocol):
    """KIP-890: a partition leader asks the coordinator whether partitions are in a transaction."""

    async def verify(self, transactional_id: str, producer_id: int, producer_epoch: int,
                     partitions: list[tuple[str, int]]) -> dict[tuple[str, int], ErrorCode]: ...


class TopicStats(Protocol):
    """Kafka's ``BrokerTopicMetrics``, per topic and for all topics, marked one partition at a time."""

    def produced(self, topic: str, size: int, records: int) -> None: ...

    def produce_failed(self, topic: str | None, error_code: int) -> None: ...

    def fetched(self, topic: str, size: int, consumer: bool) -> None: ...

    def fetch_failed(self, topic: str | None, error_code: int) -> None: ...


class QuotaServices(Protocol):
    """The broker's quota managers (Kafka's ``QuotaManagers``), sans-I/O.

    ``produce``, ``fetch`` and ``request`` are ``ClientQuotaManager`` objects
    (bytes per second, and the percentage of a request thread's time);
    ``controller_mutation`` limits partition mutations (KIP-599);
    ``leader_replication`` and ``follower_replication`` are the replication
    throttles (``ReplicationQuotaManager``). Each manager's ``enabled`` is
    False while no quota of its type is configured, and then callers skip it.
    """

    @property
    def produce(self) -> ClientQuotaManager: ...

    @property
    def fetch(self) -> ClientQuotaManager: ...

    @property
    def request(self) -> ClientQuotaManager: ...

    @property
    def controller_mutation(self) -> ControllerMutationQuotaManager: ...

    @property
    def leader_replication(self) -> ReplicationQuotaManager: ...

    @property
    def follower_replication(self) -> ReplicationQuotaManager: ...


class SchemaRegistryUnavailable(Exception):
    """No schema registry URL answered a lookup (down, unreachable, timed out, or failing)."""


@dataclasses.dataclass(frozen=True)
class TopicValidation:
    """What a topic with schema validation checks (``handlers.schema_validation``).

    Attributes:
        key_strategy: the subject name strategy of keys; None: keys are not checked.
        value_strategy: the same for values.
    """

    key_strategy: str | None
    value_strategy: str | None


class SchemaIds(Protocol):
    """The schema registry's answers about schema ids (broker-side schema validation).

    Both raise ``SchemaRegistryUnavailable`` when the registry cannot be asked.
    """

    async def is_registered(self, schema_id: int, subject: str) -> bool: ...

    async def schema(self, schema_id: int) -> dict | None: ...


@dataclasses.dataclass(frozen=True)
class BrokerServices:
    """What every request handler receives; built once by the ``Broker``.

    Immutable; the services themselves are owned by the broker and run in its
    Trio loop (see each protocol).
    """

    config: BrokerConfig
    clock: Clock
    metadata: MetadataCache
    partitions: Partitions
    replicas: FollowerFetches
    group_coordinator: GroupCoordinatorService
    topic_admin: TopicAdmin
    forwarding: ControllerForwarding
    controller: LocalController
    quorum: QuorumRuntime
    fetch_sessions: FetchSessionCache
    producer_ids: ProducerIdSource
    api_keys: frozenset[int]
    transactions: TransactionCoordinatorService | None = None
    transaction_verifier: TransactionVerification | None = None
    quotas: QuotaServices | None = None
    telemetry: ClientMetricsManager | None = None
    topic_stats: TopicStats | None = None
    schema_ids: SchemaIds | None = None
    validated_topics: Mapping[str, TopicValidation] = dataclasses.field(default_factory=dict)


Handler = Callable[[BrokerServices, Any, "RequestContext"], Awaitable[dict | None]]
"""``handle(services, request, ctx)`` of a handler module."""

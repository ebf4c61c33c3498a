"""The Admin client: Kafka's ``Admin`` interface, async (Trio) and blocking.

``Admin`` is one object over one ``Cluster``: it is configured with a
Kafka-style dict (``bootstrap.servers``, ``client.id``, ``request.timeout.ms``,
``default.api.timeout.ms``, ``retry.backoff.ms``, ``retry.backoff.max.ms``,
``metadata.max.age.ms``, ``socket.connection.setup.timeout.ms``; any other
key is an error unless ``client_config`` lists it as accepted and ignored) and offers
the operations of Java's ``Admin`` with their names in snake_case::

    async with Admin({"bootstrap.servers": "127.0.0.1:9092"}) as admin:
        await admin.create_topics([NewTopic("events", num_partitions=3)])
        print(await admin.list_topics())

Each method is one call of ``admin.py``, ``groups.py``, ``client_quotas.py`` or
``transactions_admin.py`` (which say which
request goes where), run under ``Cluster.retry``: a broken connection, a
broker restarting, a moved controller, leader or coordinator are retried
with KIP-580 backoff until ``default.api.timeout.ms``; an error that will not
go away by itself (``TOPIC_ALREADY_EXISTS``, ``UNKNOWN_TOPIC_OR_PARTITION``,
``NON_EMPTY_GROUP``, ...) is raised at once as ``KafkaError``.

Unlike Java's, the methods return their results directly rather than
futures: in Trio, concurrency is the caller's nursery, not the API's.
``SyncAdmin`` is the same client behind blocking methods (``sync.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping

from minikafka.errors import ErrorCode

from . import admin, client_quotas, groups, transactions_admin
from .client_config import CONNECTION_KEYS, IGNORED_ADMIN, check_keys
from .cluster import Cluster, TopicMetadata, open_cluster
from .retry import ADMIN_RETRIABLE
from .sync import SyncFace, blocking

TopicPartition = tuple[str, int]


class Admin:
    """Kafka's admin client, Trio-native. Use ``async with Admin(config) as admin``.

    Owned by the Trio run that entered it; its methods may run concurrently
    as tasks of that run.

    Args:
        config: ``bootstrap.servers`` (required) and the connection settings
            of ``cluster.CONNECTION_CONFIG``; ``client.id`` defaults to
            ``minikafka-admin``.

    Raises:
        ValueError: an unknown or refused config key.

    Attributes:
        cluster: the ``Cluster`` (metadata, connections), once entered.
    """

    def __init__(self, config: Mapping[str, object]):
        check_keys(config, client="admin", used=CONNECTION_KEYS, ignored=IGNORED_ADMIN)
        self.config = {"client.id": "minikafka-admin", **config}
        self.cluster: Cluster | None = None
        self._exit_stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> "Admin":
        self.cluster = await self._exit_stack.enter_async_context(open_cluster(config=self.config))
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self._exit_stack.aclose()

    async def _retry(self, function, *args, **kwargs):
        """``function(cluster, *args, **kwargs)``, retried as the module docstring says."""
        return await self.cluster.retry(lambda: function(self.cluster, *args, **kwargs),
                                        retriable=ADMIN_RETRIABLE)

    # -- topics ---------------------------------------------------------------

    async def create_topics(self, new_topics: list[admin.NewTopic], *,
                            operation_timeout_ms: int = 30_000,
                            validate_only: bool = False) -> dict[str, bytes]:
        """Create topics; return ``{name: topic_id}``."""
        return await self._retry(admin.create_topics, new_topics,
                                 timeout_ms=operation_timeout_ms, validate_only=validate_only)

    async def delete_topics(self, names: list[str], *, operation_timeout_ms: int = 30_000) -> None:
        """Delete topics by name."""
        await self._retry(admin.delete_topics, names, timeout_ms=operation_timeout_ms)

    async def list_topics(self, *, list_internal: bool = False) -> list[str]:
        """Every topic name, sorted (``__consumer_offsets`` only if ``list_internal``)."""
        return await self._retry(admin.list_topics, include_internal=list_internal)

    async def describe_topics(self, names: list[str]) -> dict[str, TopicMetadata]:
        """Partitions, leaders, replicas and ISR of each topic."""
        described = await self._retry(admin.describe_topics, names)
        return {topic.name: topic for topic in described}

    async def create_partitions(self, new_totals: Mapping[str, int], *,
                                validate_only: bool = False) -> None:
        """Grow topics: ``{topic: new total partition count}``."""
        for topic, total_count in new_totals.items():
            await self._retry(admin.create_partitions, topic, total_count,
                              validate_only=validate_only)

    # -- configs --------------------------------------------------------------

    async def describe_configs(self, name: str, keys: list[str] | None = None, *,
                               resource_type: int = admin.TOPIC_RESOURCE,
                               include_synonyms: bool = False) -> dict[str, admin.ConfigEntry]:
        """A topic's (or, with ``resource_type=BROKER_RESOURCE``, a broker's: ``"1"``,
        or ``""`` for the cluster-wide default) effective configs, ``{name: ConfigEntry}``."""
        return await self._retry(admin.describe_configs, name, keys, resource_type=resource_type,
                                 include_synonyms=include_synonyms)

    async def incremental_alter_configs(self, name: str, *,
                                        set_configs: Mapping[str, str] | None = None,
                                        delete_configs: list[str] = (),
                                        validate_only: bool = False,
                                        resource_type: int = admin.TOPIC_RESOURCE) -> None:
        """Set and/or delete config overrides (KIP-339) of a topic or broker, leaving the rest."""
        await self._retry(admin.alter_configs, name, set_configs=dict(set_configs or {}),
                          delete_configs=list(delete_configs), validate_only=validate_only,
                          resource_type=resource_type)

    # -- consumer groups ------------------------------------------------------

    async def list_consumer_groups(self, states: list[str] | None = None
                                   ) -> list[groups.ListedGroup]:
        """Every group of the cluster (each broker lists those it coordinates)."""
        return await self._retry(groups.list_groups, states)

    async def describe_consumer_groups(self, group_ids: list[str]
                                       ) -> dict[str, groups.GroupDescription]:
        """State, assignor and members of each group (state ``Dead``: no such group)."""
        return await self._retry(groups.describe_groups, group_ids)

    async def delete_consumer_groups(self, group_ids: list[str]) -> None:
        """Delete empty groups and their committed offsets."""
        await self._retry(groups.delete_groups, group_ids)

    async def list_consumer_group_offsets(
            self, group_id: str, partitions: list[TopicPartition] | None = None,
    ) -> dict[TopicPartition, groups.OffsetAndMetadata]:
        """The group's committed offsets (partitions without one are left out)."""
        return await self._retry(groups.fetch_offsets, group_id, partitions)

    async def alter_consumer_group_offsets(self, group_id: str,
                                           offsets: Mapping[TopicPartition, int]) -> None:
        """Set the group's committed offsets; the group must have no members."""
        await self._retry(groups.commit_offsets, group_id, dict(offsets))

    # -- partitions and the cluster ---------------------------------------------

    async def list_offsets(self, specs: Mapping[TopicPartition, int], *,
                           isolation_level: int = admin.READ_UNCOMMITTED
                           ) -> dict[TopicPartition, admin.ListOffsetsResultInfo]:
        """Offsets by spec: ``admin.EARLIEST``, ``LATEST``, ``MAX_TIMESTAMP`` or a time in ms."""
        return await self._retry(admin.list_offsets, dict(specs), isolation_level=isolation_level)

    async def delete_records(self, before_offsets: Mapping[TopicPartition, int]
                             ) -> dict[TopicPartition, int]:
        """Delete records below each offset; return the new low watermarks."""
        return await self._retry(admin.delete_records, dict(before_offsets))

    async def describe_cluster(self) -> admin.ClusterDescription:
        """The cluster id, the controller and the brokers."""
        return await self._retry(admin.describe_cluster)

    async def elect_leaders(self, partitions: list[TopicPartition] | None = None, *,
                            election_type: int = admin.PREFERRED_ELECTION
                            ) -> dict[TopicPartition, ErrorCode]:
        """Elect preferred (or, unclean, any live) leaders; outcome per partition."""
        return await self._retry(admin.elect_leaders, partitions, election_type=election_type)

    async def alter_partition_reassignments(
            self, reassignments: Mapping[TopicPartition, list[int] | None]
    ) -> dict[TopicPartition, ErrorCode]:
        """Move partitions to new replica lists (None: cancel the move); outcome per partition."""
        return await self._retry(admin.alter_partition_reassignments, dict(reassignments))

    async def list_partition_reassignments(
            self, partitions: list[TopicPartition] | None = None
    ) -> dict[TopicPartition, admin.PartitionReassignment]:
        """The reassignments in progress (of ``partitions``, or all of them)."""
        return await self._retry(admin.list_partition_reassignments, partitions)
    # -- client quotas (KIP-546) ---------------------------------------------------

    async def describe_client_quotas(
            self,
            components: Iterable[client_quotas.ClientQuotaFilterComponent]
            | client_quotas.ClientQuotaFilter = (),
            strict: bool = False,
    ) -> dict[client_quotas.ClientQuotaEntity, dict[str, float]]:
        """The quotas of the matching entities, ``{ClientQuotaEntity: {key: value}}``.

        Args:
            components: the filter's components (every one must match; none:
                every entity), or a whole ``ClientQuotaFilter``.
            strict: leave out entities carrying a type no component names
                (``ClientQuotaFilter.contains_only``).
        """
        if isinstance(components, client_quotas.ClientQuotaFilter):
            quota_filter = components
        else:
            quota_filter = client_quotas.ClientQuotaFilter(tuple(components), strict)
        return await self._retry(client_quotas.describe_client_quotas, quota_filter)

    async def alter_client_quotas(self, alterations: Iterable[client_quotas.ClientQuotaAlteration],
                                  validate_only: bool = False) -> None:
        """Set (or, with a value of None, remove) quota values per entity.

        Raises:
            KafkaError: an entity's alteration was refused (the broker's code
                and message); the others were applied.
        """
        await self._retry(client_quotas.alter_client_quotas, list(alterations),
                          validate_only=validate_only)

    # -- transactions (KIP-664) ----------------------------------------------------

    async def list_transactions(self, *, states: list[str] | None = None,
                                producer_ids: list[int] | None = None,
                                duration_filter_ms: int = -1
                                ) -> list[transactions_admin.TransactionListing]:
        """Every transactional id (each broker lists those it coordinates), filtered."""
        return await self._retry(transactions_admin.list_transactions, states=states or (),
                                 producer_ids=producer_ids or (),
                                 duration_filter_ms=duration_filter_ms)

    async def describe_transactions(self, transactional_ids: list[str]
                                    ) -> dict[str, transactions_admin.TransactionDescription]:
        """Each id's state, producer id and epoch and partitions at its coordinator."""
        return await self._retry(transactions_admin.describe_transactions, transactional_ids)

    async def describe_producers(self, partitions: list[TopicPartition], *,
                                 broker_id: int | None = None
                                 ) -> dict[TopicPartition, list[transactions_admin.ProducerState]]:
        """The active producers (and open transactions) of partitions, from their leaders."""
        return await self._retry(transactions_admin.describe_producers, partitions,
                                 broker_id=broker_id)

    async def abort_transaction(self, topic_partition: TopicPartition, *, producer_id: int,
                                producer_epoch: int, coordinator_epoch: int) -> None:
        """Write the ABORT marker of a hanging transaction on one partition."""
        await self._retry(transactions_admin.abort_transaction, topic_partition,
                          producer_id=producer_id, producer_epoch=producer_epoch,
                          coordinator_epoch=coordinator_epoch)


class SyncAdmin(SyncFace):
    """``Admin`` with blocking methods, for scripts and notebooks::

        with SyncAdmin({"bootstrap.servers": "127.0.0.1:9092"}) as admin:
            admin.create_topics([NewTopic("events", num_partitions=3)])

    The ``Admin`` runs in a background Trio thread; see ``sync.py``.
    """

    async_class = Admin

    create_topics = blocking(Admin.create_topics)
    delete_topics = blocking(Admin.delete_topics)
    list_topics = blocking(Admin.list_topics)
    describe_topics = blocking(Admin.describe_topics)
    create_partitions = blocking(Admin.create_partitions)
    describe_configs = blocking(Admin.describe_configs)
    incremental_alter_configs = blocking(Admin.incremental_alter_configs)
    list_consumer_groups = blocking(Admin.list_consumer_groups)
    describe_consumer_groups = blocking(Admin.describe_consumer_groups)
    delete_consumer_groups = blocking(Admin.delete_consumer_groups)
    list_consumer_group_offsets = blocking(Admin.list_consumer_group_offsets)
    alter_consumer_group_offsets = blocking(Admin.alter_consumer_group_offsets)
    list_offsets = blocking(Admin.list_offsets)
    delete_records = blocking(Admin.delete_records)
    describe_cluster = blocking(Admin.describe_cluster)
    elect_leaders = blocking(Admin.elect_leaders)
    alter_partition_reassignments = blocking(Admin.alter_partition_reassignments)
    list_partition_reassignments = blocking(Admin.list_partition_reassignments)
    list_transactions = blocking(Admin.list_transactions)
    describe_transactions = blocking(Admin.describe_transactions)
    describe_producers = blocking(Admin.describe_producers)
    abort_transaction = blocking(Admin.abort_transaction)
    describe_client_quotas = blocking(Admin.describe_client_quotas)
    alter_client_quotas = blocking(Admin.alter_client_quotas)

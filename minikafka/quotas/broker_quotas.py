"""All the quota managers of one broker (Kafka's QuotaFactory.QuotaManagers).

``BrokerQuotas`` builds, from the broker's config, one shared ``QuotaTable``
and the managers that read it:

=========================  =================================  =====================================
attribute                  class                              enforces
=========================  =================================  =====================================
``produce``                ``ClientQuotaManager(PRODUCE)``    ``producer_byte_rate``
``fetch``                  ``ClientQuotaManager(FETCH)``      ``consumer_byte_rate``
``request``                ``ClientQuotaManager(REQUEST)``    ``request_percentage``
``controller_mutation``    ``ControllerMutationQuotaManager``  ``controller_mutation_rate``
``leader_replication``     ``ReplicationQuotaManager``        ``leader.replication.throttled.rate``
``follower_replication``   ``ReplicationQuotaManager``        ``follower.replication.throttled.rate``
``connections``            ``ConnectionQuotas``               ``max.connections*``, IP quotas
=========================  =================================  =====================================

The client quotas come from the metadata log: the broker registers
``update_client_quotas`` as a listener of the image's client quotas. The
replication rates and the connection limits are dynamic broker configs:
``update_replication_rates`` and ``connections.update``.

Owned by one ``Broker``; sans-I/O and not task-safe, like its managers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minikafka.quotas.client import ClientMetric, ClientQuotaManager, QuotaType
from minikafka.quotas.connection import INT_MAX, ConnectionQuotas
from minikafka.quotas.controller_mutation import ControllerMutationQuotaManager
from minikafka.quotas.entity import QuotaEntries, QuotaTable
from minikafka.quotas.replication import UNLIMITED_RATE, ReplicationQuotaManager

#: The broker config keys ``from_config`` reads, with Kafka's defaults.
CONFIG_DEFAULTS = {
    "quota.window.num": 11,
    "quota.window.size.seconds": 1,
    "replication.quota.window.num": 11,
    "replication.quota.window.size.seconds": 1,
    "controller.quota.window.num": 11,
    "controller.quota.window.size.seconds": 1,
    "max.connections": INT_MAX,
    "max.connections.per.ip": INT_MAX,
    "max.connections.per.ip.overrides": "",
    "max.connection.creation.rate": INT_MAX,
    "leader.replication.throttled.rate": UNLIMITED_RATE,
    "follower.replication.throttled.rate": UNLIMITED_RATE,
}


class BrokerQuotas:
    """One broker's quota managers over one shared quota table.

    All arguments are Kafka's broker configs in snake_case (seconds as in Kafka).
    """

    def __init__(
        self,
        *,
        quota_window_num: int = 11,
        quota_window_size_seconds: int = 1,
        replication_quota_window_num: int = 11,
        replication_quota_window_size_seconds: int = 1,
        controller_quota_window_num: int = 11,
        controller_quota_window_size_seconds: int = 1,
        max_connections: int = INT_MAX,
        max_connections_per_ip: int = INT_MAX,
        max_connections_per_ip_overrides: str | Mapping[str, int] = "",
        max_connection_creation_rate: float = INT_MAX,
        leader_replication_throttled_rate: float = UNLIMITED_RATE,
        follower_replication_throttled_rate: float = UNLIMITED_RATE,
        host_resolver=None,
    ):
        self.table = QuotaTable()
        client_window_ms = quota_window_size_seconds * 1000
        self.produce = ClientQuotaManager(QuotaType.PRODUCE, self.table, quota_window_num, client_window_ms)
        self.fetch = ClientQuotaManager(QuotaType.FETCH, self.table, quota_window_num, client_window_ms)
        self.request = ClientQuotaManager(QuotaType.REQUEST, self.table, quota_window_num, client_window_ms)
        self.controller_mutation = ControllerMutationQuotaManager(
            self.table, controller_quota_window_num, controller_quota_window_size_seconds * 1000
        )
        replication_window_ms = replication_quota_window_size_seconds * 1000
        self.leader_replication = ReplicationQuotaManager(
            leader_replication_throttled_rate, replication_quota_window_num, replication_window_ms, "LeaderReplication"
        )
        self.follower_replication = ReplicationQuotaManager(
            follower_replication_throttled_rate,
            replication_quota_window_num,
            replication_window_ms,
            "FollowerReplication",
        )
        self.connections = ConnectionQuotas(
            self.table,
            max_connections=max_connections,
            max_connections_per_ip=max_connections_per_ip,
            max_connections_per_ip_overrides=max_connections_per_ip_overrides,
            max_connection_creation_rate=max_connection_creation_rate,
            num_samples=quota_window_num,
            window_ms=client_window_ms,
            host_resolver=host_resolver,
        )

    @classmethod
    def from_config(cls, config: Any, host_resolver=None) -> "BrokerQuotas":
        """Build from anything indexable by Kafka's config names (``BrokerConfig``, a dict).

        A key the mapping lacks takes Kafka's default.
        """
        values = {}
        for name, default in CONFIG_DEFAULTS.items():
            try:
                value = config[name]
            except KeyError:
                value = default
            values[name.replace(".", "_")] = default if value is None else value
        return cls(**values, host_resolver=host_resolver)

    def update_client_quotas(self, entries: QuotaEntries) -> None:
        """Install the cluster's client and IP quotas (``{entity: {key: value}}``) in every manager."""
        self.table.replace(entries)

    def update_replication_rates(self, leader: float | None = None, follower: float | None = None) -> None:
        """Apply new ``leader/follower.replication.throttled.rate`` values (None: unchanged)."""
        if leader is not None:
            self.leader_replication.update_rate(leader)
        if follower is not None:
            self.follower_replication.update_rate(follower)

    def update_dynamic_config(self, values: Mapping[str, object]) -> None:
        """Apply changed dynamic broker configs by Kafka name (connection limits, replication rates).

        Keys this object does not use are ignored; a value of None restores Kafka's default.
        """

        def pick(name: str):
            if name not in values:
                return None
            value = values[name]
            return CONFIG_DEFAULTS[name] if value is None else value

        self.update_replication_rates(
            leader=pick("leader.replication.throttled.rate"),
            follower=pick("follower.replication.throttled.rate"),
        )
        self.connections.update(
            max_connections=pick("max.connections"),
            max_connections_per_ip=pick("max.connections.per.ip"),
            max_connections_per_ip_overrides=pick("max.connections.per.ip.overrides"),
            max_connection_creation_rate=pick("max.connection.creation.rate"),
        )

    def client_metrics(self, now_ms: int) -> dict[QuotaType, list[ClientMetric]]:
        """Every client sensor of every client quota type, for the metrics endpoint."""
        return {
            QuotaType.PRODUCE: self.produce.client_metrics(now_ms),
            QuotaType.FETCH: self.fetch.client_metrics(now_ms),
            QuotaType.REQUEST: self.request.client_metrics(now_ms),
            QuotaType.CONTROLLER_MUTATION: self.controller_mutation.client_metrics(now_ms),
        }

    def throttled_clients(self, now_ms: int) -> list[tuple[QuotaType, ClientMetric]]:
        """The clients throttled in the last minute (for ``cluster status``)."""
        return [
            (quota_type, metric)
            for quota_type, metrics in self.client_metrics(now_ms).items()
            for metric in metrics
            if metric.throttle_time_ms > 0
        ]

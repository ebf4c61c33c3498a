"""BrokerQuotas: built from the broker config, one table feeding every manager."""

from minikafka.config import BrokerConfig
from minikafka.quotas.broker_quotas import BrokerQuotas
from minikafka.quotas.client import QuotaType
from minikafka.quotas.connection import AcceptAction
from minikafka.quotas.entity import (
    CONNECTION_CREATION_RATE,
    CONTROLLER_MUTATION_RATE,
    PRODUCER_BYTE_RATE,
    make_entity,
)

U = "ANONYMOUS"


def test_defaults_enable_nothing():
    quotas = BrokerQuotas.from_config(BrokerConfig({"node.id": 1}))
    assert not (quotas.produce.enabled or quotas.fetch.enabled or quotas.request.enabled)
    assert not quotas.controller_mutation.enabled
    assert not quotas.leader_replication.is_quota_exceeded(0)
    assert quotas.connections.on_accept("10.0.0.1", 0).action is AcceptAction.ACCEPT


def test_config_values_reach_the_managers():
    config = {
        "quota.window.num": 5,
        "quota.window.size.seconds": 2,
        "controller.quota.window.num": 3,
        "max.connections.per.ip": 1,
        "leader.replication.throttled.rate": 100,
    }
    quotas = BrokerQuotas.from_config(config)
    assert (quotas.produce.num_samples, quotas.produce.window_ms) == (5, 2000)
    assert quotas.controller_mutation.num_samples == 3
    assert quotas.leader_replication.upper_bound == 100
    assert quotas.connections.on_accept("10.0.0.1", 0).action is AcceptAction.ACCEPT
    assert quotas.connections.on_accept("10.0.0.1", 0).action is AcceptAction.REFUSE


def test_client_quotas_reach_every_manager():
    quotas = BrokerQuotas()
    quotas.update_client_quotas({
        make_entity(client_id=None): {PRODUCER_BYTE_RATE: 1000, CONTROLLER_MUTATION_RATE: 1},
        make_entity(ip="10.0.0.1"): {CONNECTION_CREATION_RATE: 1},
    })
    assert quotas.produce.enabled and quotas.controller_mutation.enabled and not quotas.fetch.enabled
    throttle = quotas.produce.record_and_get_throttle_ms(U, "c", 12_000, 0)
    assert throttle == 2000
    quotas.produce.record_throttle_time(U, "c", throttle, 0)
    [(quota_type, metric)] = quotas.throttled_clients(0)
    assert quota_type is QuotaType.PRODUCE and metric.client_id == "c" and metric.throttle_time_ms == 2000
    assert quotas.connections.table.ip_limit("10.0.0.1") == 1


def test_dynamic_updates():
    quotas = BrokerQuotas()
    quotas.update_replication_rates(leader=10, follower=20)
    assert (quotas.leader_replication.upper_bound, quotas.follower_replication.upper_bound) == (10, 20)
    quotas.update_dynamic_config({"max.connections": 1, "follower.replication.throttled.rate": None})
    assert quotas.connections.max_connections == 1
    assert quotas.follower_replication.upper_bound == 2**63 - 1
    assert quotas.leader_replication.upper_bound == 10

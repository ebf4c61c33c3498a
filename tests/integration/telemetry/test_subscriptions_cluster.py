"""Client-metrics subscriptions are cluster metadata: set through one broker, every broker
(and a restarted one, from its own metadata log) gives clients the same subscription."""

from __future__ import annotations

from minikafka.config import ResourceType
from minikafka.errors import ErrorCode
from minikafka.telemetry.manager import ZERO_UUID
from minikafka.testing import open_cluster
from minikafka_clients import Admin

CLIENT = {"client_id": "orders-app", "client_software_name": "confluent-kafka-python"}
SUBSCRIPTION = {"metrics": "org.apache.kafka.producer.", "interval.ms": "2000", "match": "client_id=orders-.*"}


def subscription_of(broker) -> dict:
    broker.telemetry.refresh(broker.metadata.image.configs)
    return broker.telemetry.get_subscriptions(ZERO_UUID, CLIENT, 0)


async def test_a_subscription_reaches_every_broker(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        via = next(b for b in cluster.brokers.values() if not b.metadata.is_active)
        async with Admin({"bootstrap.servers": f"127.0.0.1:{via.bound_ports[0]}"}) as admin:
            await admin.incremental_alter_configs("orders", set_configs=SUBSCRIPTION,
                                                  resource_type=int(ResourceType.CLIENT_METRICS))
        key = (int(ResourceType.CLIENT_METRICS), "orders")
        await cluster.wait_for(lambda: all(b.metadata.image.configs.get(key) == SUBSCRIPTION
                                           for b in cluster.brokers.values()))
        for broker in cluster.brokers.values():
            got = subscription_of(broker)
            assert got["error_code"] == ErrorCode.NONE
            assert (got["requested_metrics"], got["push_interval_ms"]) == (["org.apache.kafka.producer."], 2000)

        await cluster.stop(via.node_id)
        restarted = await cluster.start(via.node_id)
        await cluster.wait_for(lambda: restarted.metadata.image.configs.get(key) == SUBSCRIPTION)
        assert subscription_of(restarted)["push_interval_ms"] == 2000

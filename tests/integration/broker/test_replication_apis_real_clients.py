"""ElectLeaders and the reassignment APIs from unmodified real clients, and from our bundled Admin."""

from __future__ import annotations

import confluent_kafka
import kafka
import trio
from confluent_kafka import ElectionType
from confluent_kafka.admin import AdminClient
from kafka.errors import ElectionNotNeededError

from minikafka.errors import ErrorCode
from minikafka.testing import BrokerThread, open_cluster
from minikafka_clients.admin_client import Admin
from tests.handlers.replication_apis_wire import create_topic, join_isr, partition_state


def bootstrap(cluster) -> str:
    return ",".join(f"127.0.0.1:{b.bound_ports[0]}" for b in cluster.brokers.values())


async def test_bundled_admin_elect_leaders(tmp_path, autojump_clock):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        await create_topic(cluster, "t", 2, 3)
        async with Admin({"bootstrap.servers": bootstrap(cluster)}) as admin:
            outcome = await admin.elect_leaders([("t", 0), ("t", 1)])
            assert outcome == {("t", 0): ErrorCode.ELECTION_NOT_NEEDED, ("t", 1): ErrorCode.ELECTION_NOT_NEEDED}
            assert await admin.elect_leaders() == {}  # every partition: only those that changed


def test_confluent_kafka_elect_leaders(tmp_path):
    with BrokerThread(tmp_path) as broker:
        broker.call(broker.broker.create_topic, "t", 1, {})
        client = AdminClient({"bootstrap.servers": broker.bootstrap})
        partition = confluent_kafka.TopicPartition("t", 0)
        result = client.elect_leaders(ElectionType.PREFERRED, [partition]).result(timeout=10)
        [(got, error)] = result.items()
        assert (got.topic, got.partition) == ("t", 0)
        assert error.code() == confluent_kafka.KafkaError.ELECTION_NOT_NEEDED


async def test_kafka_python_reassigns_and_elects_on_a_cluster(tmp_path):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        await create_topic(cluster, "t", 1, 1)
        source = partition_state(cluster.brokers[1], "t").leader
        target = next(b for b in cluster.brokers if b != source)
        tp = kafka.TopicPartition("t", 0)
        admin = await trio.to_thread.run_sync(lambda: kafka.KafkaAdminClient(bootstrap_servers=bootstrap(cluster)))
        try:
            moved = await trio.to_thread.run_sync(admin.alter_partition_reassignments, {tp: [target]})
            assert moved == {tp: None}
            listed = await trio.to_thread.run_sync(admin.list_partition_reassignments)
            assert listed in ({}, {tp: {"replicas": [target, source], "adding_replicas": [target],
                                        "removing_replicas": [source]}})
            await join_isr(cluster, "t", target)
            await cluster.wait_for(lambda: partition_state(cluster.brokers[1], "t").replicas == (target,))
            assert await trio.to_thread.run_sync(admin.list_partition_reassignments) == {}
            response = await trio.to_thread.run_sync(
                lambda: admin.elect_leaders(0, {"t": [0]}, raise_errors=False))
            [(topic, [(index, code, _)])] = [(r[0], r[1]) for r in response.replica_election_results]
            assert (topic, index, code) == ("t", 0, ElectionNotNeededError.errno)
        finally:
            await trio.to_thread.run_sync(admin.close)

"""Replication, controller and consumer-lag metrics on an in-process 3-broker cluster.

Each broker's ``broker.metrics`` registry is read the way a scrape reads it:
gauges are computed when read, meters count events. A stopped broker is a
crash as far as the others can tell (no controlled shutdown).
"""

from __future__ import annotations

import pytest
import trio

from minikafka.metrics import MetricName
from minikafka.metrics.prometheus import RegistryCollector
from minikafka.testing import bootstrap_servers, open_broker, open_cluster
from minikafka_clients import Consumer, Producer


def replica_manager(broker, name: str):
    return broker.metrics.get(MetricName("kafka.server", "ReplicaManager", name))


def controller_gauge(broker, name: str) -> float:
    return broker.metrics.get(MetricName("kafka.controller", "KafkaController", name)).value


def kafka_metric(broker, group: str, name: str, tags=()) -> float:
    return broker.metrics.get(MetricName("kafka.server", group, name, tags, kafka_metric=True)).value


def registration(broker, topic: str, index: int = 0):
    return broker.metadata.image.topic(topic).partitions[index]


@pytest.mark.trio
async def test_a_stopped_follower_shrinks_the_isr_and_its_return_expands_it(tmp_path):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        first = cluster.brokers[1]
        await first.create_topic("orders", 2, {}, 3)
        await cluster.wait_for(lambda: all(len(registration(first, "orders", i).isr) == 3 for i in (0, 1)))
        leader_id = registration(first, "orders").leader
        leader = cluster.brokers[leader_id]
        follower_id = next(b for b in cluster.node_ids if b != leader_id)
        # Every broker applies the image on its own: wait until all have taken their roles.
        await cluster.wait_for(lambda: sum(replica_manager(b, "LeaderCount").value
                                           for b in cluster.brokers.values()) == 2
                               and all(replica_manager(b, "PartitionCount").value == 2
                                       for b in cluster.brokers.values()))
        assert replica_manager(leader, "UnderReplicatedPartitions").value == 0
        shrinks = replica_manager(leader, "IsrShrinksPerSec").count
        expands = replica_manager(leader, "IsrExpandsPerSec").count

        await cluster.stop(follower_id)
        await cluster.wait_for(lambda: replica_manager(leader, "UnderReplicatedPartitions").value > 0, 15)
        assert replica_manager(leader, "IsrShrinksPerSec").count > shrinks
        under_replicated = MetricName("kafka.cluster", "Partition", "UnderReplicated",
                                      (("topic", "orders"), ("partition", "0")))
        in_sync = MetricName("kafka.cluster", "Partition", "InSyncReplicasCount",
                             (("topic", "orders"), ("partition", "0")))
        assert leader.metrics.get(under_replicated).value == 1
        assert leader.metrics.get(in_sync).value == 2
        # min.insync.replicas is 1: two of three replicas are above it, not at or under it.
        assert replica_manager(leader, "UnderMinIsrPartitionCount").value == 0

        await cluster.start(follower_id)
        await cluster.wait_for(lambda: all(replica_manager(b, "UnderReplicatedPartitions").value == 0
                                           for b in cluster.brokers.values())
                               and len(registration(leader, "orders").isr) == 3, 15)
        assert replica_manager(leader, "IsrExpandsPerSec").count > expands
        assert leader.metrics.get(under_replicated).value == 0
        assert leader.metrics.get(in_sync).value == 3

        await leader.delete_topic("orders")  # ("first" may be the broker that was restarted)
        await cluster.wait_for(lambda: all(b.metrics.get(under_replicated) is None for b in cluster.brokers.values()))


@pytest.mark.trio
async def test_min_isr_gauges_follow_the_isr(tmp_path):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        first = cluster.brokers[1]
        await first.create_topic("payments", 1, {"min.insync.replicas": "3"}, 3)
        await cluster.wait_for(lambda: len(registration(first, "payments").isr) == 3)
        leader = cluster.brokers[registration(first, "payments").leader]
        await cluster.wait_for(lambda: replica_manager(leader, "AtMinIsrPartitionCount").value == 1)
        assert replica_manager(leader, "UnderMinIsrPartitionCount").value == 0

        await cluster.stop(next(b for b in cluster.node_ids if b != leader.node_id))
        await cluster.wait_for(lambda: replica_manager(leader, "UnderMinIsrPartitionCount").value == 1, 15)
        assert replica_manager(leader, "AtMinIsrPartitionCount").value == 0
        assert replica_manager(leader, "UnderReplicatedPartitions").value == 1


@pytest.mark.trio
async def test_one_active_controller_and_offline_partitions(tmp_path):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        first = cluster.brokers[1]
        await first.create_topic("solo", 1, {}, 1)
        await first.create_topic("wide", 3, {}, 3)
        for broker in cluster.brokers.values():
            await cluster.wait_for(lambda: broker.metadata.image.topic("wide") is not None)
        assert sum(controller_gauge(b, "ActiveControllerCount") for b in cluster.brokers.values()) == 1
        for broker in cluster.brokers.values():  # every controller node reads its image, as Kafka's do
            assert controller_gauge(broker, "GlobalTopicCount") == 2
            assert controller_gauge(broker, "GlobalPartitionCount") == 4
            assert controller_gauge(broker, "OfflinePartitionsCount") == 0
            assert controller_gauge(broker, "ActiveBrokerCount") == 3
            assert controller_gauge(broker, "FencedBrokerCount") == 0

        await cluster.stop(registration(first, "solo").replicas[0])  # its only replica
        await cluster.wait_for(lambda: cluster.active_controller() is not None and all(
            controller_gauge(b, "OfflinePartitionsCount") == 1 for b in cluster.brokers.values()), 15)
        assert sum(controller_gauge(b, "ActiveControllerCount") for b in cluster.brokers.values()) == 1
        survivor = next(iter(cluster.brokers.values()))
        assert controller_gauge(survivor, "FencedBrokerCount") == 1
        assert controller_gauge(survivor, "ActiveBrokerCount") == 2
        assert controller_gauge(survivor, "PreferredReplicaImbalanceCount") >= 1  # solo has no leader


@pytest.mark.trio
async def test_raft_metrics_agree_on_the_quorum_leader(tmp_path):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        first = cluster.brokers[1]
        await first.create_topic("events", 1, {}, 3)
        brokers = list(cluster.brokers.values())

        def raft(broker, name, tags=()):
            return kafka_metric(broker, "raft-metrics", name, tags)
        leaders = [b for b in brokers if raft(b, "current-state", (("state", "leader"),)) == 1]
        assert len(leaders) == 1 and leaders[0].metadata.is_active
        leader = leaders[0]
        await cluster.wait_for(lambda: len({(raft(b, "current-leader"), raft(b, "current-epoch"))
                                            for b in brokers}) == 1)
        assert raft(brokers[0], "current-leader") == leader.node_id
        assert sum(raft(b, "current-state", (("state", "follower"),)) for b in brokers) == 2
        assert raft(leader, "high-watermark") > 0
        assert raft(leader, "log-end-offset") >= raft(leader, "high-watermark")
        # The topic's records were proposed and committed by the leader: a latency was measured.
        assert 0 <= raft(leader, "commit-latency-avg") <= raft(leader, "commit-latency-max")
        assert raft(leader, "append-records-rate") > 0


@pytest.mark.trio
async def test_consumer_lag_is_end_minus_committed_on_the_coordinator_only(tmp_path):
    async with open_cluster(tmp_path, brokers=3) as cluster:
        first = cluster.brokers[1]
        await first.create_topic("clicks", 3, {}, 2)
        bootstrap = bootstrap_servers(*cluster.brokers.values())
        async with Producer({"bootstrap.servers": bootstrap}) as producer:
            for partition, count in ((0, 5), (1, 8), (2, 3)):
                for n in range(count):
                    await (await producer.send("clicks", b"v%d" % n, partition=partition))
        async with Consumer({"bootstrap.servers": bootstrap, "group.id": "dashboard",
                             "enable.auto.commit": False}) as consumer:
            await consumer.commit({("clicks", 0): 2, ("clicks", 1): 8,
                                   ("clicks", 2): 0})

        expected = {0: (2, 5, 3), 1: (8, 8, 0), 2: (0, 3, 3)}

        def lag_rows():
            return {b.node_id: [r for r in b.consumer_lag.rows() if r.group_id == "dashboard"]
                    for b in cluster.brokers.values()}

        def reported() -> bool:
            rows = [r for per_broker in lag_rows().values() for r in per_broker]
            return {r.partition: (r.committed, r.end, r.lag) for r in rows} == expected and len(rows) == 3

        await cluster.wait_for(reported, 10)  # end offsets of partitions led elsewhere come from their leaders
        assert sum(1 for rows in lag_rows().values() if rows) == 1  # one coordinator reports the group
        coordinator = next(b for b in cluster.brokers.values() if b.consumer_lag.rows())
        # Leaders are spread over the brokers: some ends came from other leaders (ListOffsets).
        assert any(registration(first, "clicks", i).leader != coordinator.node_id for i in range(3))
        samples = coordinator.consumer_lag.samples()
        lags = {labels["partition"]: value for name, labels, value in samples
                if name == "kafka_consumergroup_lag" and labels["consumergroup"] == "dashboard"}
        assert lags == {"0": 3, "1": 0, "2": 3}
        assert ("kafka_consumergroup_lag_sum", {"consumergroup": "dashboard", "topic": "clicks"}, 6) in samples

        # What a Prometheus scrape of the coordinator shows, and of the other brokers: nothing for the group.
        def scraped_lag(broker):
            families = {f.name: f for f in RegistryCollector(broker.metrics).collect()}
            family = families.get("kafka_consumergroup_lag")
            return {} if family is None else {s.labels["partition"]: s.value for s in family.samples
                                              if s.labels["consumergroup"] == "dashboard"}
        assert scraped_lag(coordinator) == {"0": 3, "1": 0, "2": 3}
        assert all(scraped_lag(b) == {} for b in cluster.brokers.values() if b is not coordinator)

        # The group coordinator's own metrics count the group and its three offsets once, on its coordinator.
        def on_each(name, tags=()):
            return {b.node_id: kafka_metric(b, "group-coordinator-metrics", name, tags)
                    for b in cluster.brokers.values()}
        assert sum(on_each("offset-commit-count").values()) == 3
        assert on_each("offset-commit-count")[coordinator.node_id] == 3
        assert sum(on_each("group-count", (("protocol", "classic"),)).values()) == 1
        num_offsets = MetricName("kafka.coordinator.group", "GroupMetadataManager", "NumOffsets")
        assert coordinator.metrics.get(num_offsets).value == 3


@pytest.mark.trio
async def test_transaction_coordinator_metrics(tmp_path):
    async with open_broker(tmp_path, transaction_state_log_num_partitions=2, num_partitions=1) as broker:
        async with Producer({"bootstrap.servers": bootstrap_servers(broker),
                             "transactional.id": "billing"}) as producer:
            await producer.init_transactions()
            producer.begin_transaction()
            await (await producer.send("invoices", b"42"))
            await producer.commit_transaction()

        def txn(name, tags=()):
            return kafka_metric(broker, "transaction-coordinator-metrics", name, tags)
        await _wait(lambda: txn("transaction-count", (("state", "COMPLETE_COMMIT"),)) == 1)
        assert txn("transaction-count", (("state", "ONGOING"),)) == 0
        # Both __transaction_state partitions were loaded when the topic appeared.
        assert 0 <= txn("partition-load-time-avg") <= txn("partition-load-time-max")


async def _wait(condition, timeout_s: float = 10.0) -> None:
    with trio.fail_after(timeout_s):
        while not condition():
            await trio.sleep(0.01)

"""The values a Prometheus scrape reads from real broker processes, checked against what happened.

- One broker: a raw Produce of batches whose sizes the test knows moves
  ``BytesInPerSec``'s count (per topic and for all topics) by exactly those
  bytes, ``MessagesInPerSec`` by the records, and the partition's ``Size``
  gauge to the same bytes; fetching them back moves ``BytesOutPerSec`` by them.
- One broker: a group's committed offsets give ``kafka_consumergroup_lag``
  per partition (kafka_exporter's name), log end less committed.
- Three brokers: killing a follower makes the partition under-replicated on
  its leader (``UnderReplicatedPartitions`` 1, ``IsrShrinksPerSec`` +1);
  restarting it brings ``UnderReplicatedPartitions`` back to 0 with an
  ``IsrExpandsPerSec``.

Everything is read over HTTP from ``GET /metrics``, as Prometheus would.
"""

from __future__ import annotations

import urllib.request

import pytest
import trio
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

from minikafka.chaos import Cluster
from tests.broker.broker_rawclient import RawClient, batch, fetch_body, produce_body
from tests.integration.harness import BrokerProcess, free_port, wait_until

PRODUCE, FETCH = 0, 1
PRODUCE_VERSION, FETCH_VERSION = 9, 12
URP = "kafka_server_replicamanager_underreplicatedpartitions"
SHRINKS = "kafka_server_replicamanager_isrshrinks_total"
EXPANDS = "kafka_server_replicamanager_isrexpands_total"


def scrape(metrics_port: int) -> dict[tuple[str, tuple], float]:
    """Every sample of a broker's ``/metrics``: ``{(name, sorted labels): value}``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    """A sample's value; 0 for a counter not yet created (Kafka's meters appear on first use)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# -- bytes in, bytes out, log size (one broker) ---------------------------------------------

async def produce_and_fetch(port: int, topic: str, batches: list[bytes]) -> bytes:
    """Produce ``batches`` one request each (acks=1), then fetch the partition from offset 0."""
    client = await RawClient.connect(port)
    try:
        for records in batches:
            response = await client.request(PRODUCE, PRODUCE_VERSION, produce_body(topic, 0, records, acks=1))
            assert response.responses[0].partition_responses[0].error_code == 0
        response = await client.request(FETCH, FETCH_VERSION, fetch_body(topic, 0, 0))
        return bytes(response.responses[0].partitions[0].records)
    finally:
        await client.aclose()


def test_bytes_in_messages_in_log_size_and_bytes_out_move_by_what_was_produced(tmp_path):
    metrics_port = free_port()
    with BrokerProcess(tmp_path / "data", metrics_http_listener=f"127.0.0.1:{metrics_port}") as broker:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic("orders", 1, 1)])["orders"].result(30)
        batches = [batch([b"v" * size] * count) for size, count in ((100, 3), (1000, 5), (10, 40))]
        produced = sum(len(records) for records in batches)
        before = scrape(metrics_port)

        fetched = trio.run(produce_and_fetch, broker.port, "orders", batches)

        assert len(fetched) == produced  # the log holds the batches as sent
        after = wait_until(lambda: (s := scrape(metrics_port)) and value(
            s, "kafka_server_brokertopicmetrics_bytesout_total", topic="orders") > 0 and s,
            5, "the fetch recorded")  # a request is recorded once its response is sent
        for labels in ({"topic": "orders"}, {}):
            moved = {name: value(after, name, **labels) - value(before, name, **labels) for name in (
                "kafka_server_brokertopicmetrics_bytesin_total",
                "kafka_server_brokertopicmetrics_messagesin_total",
                "kafka_server_brokertopicmetrics_bytesout_total")}
            assert moved == {"kafka_server_brokertopicmetrics_bytesin_total": produced,
                             "kafka_server_brokertopicmetrics_messagesin_total": 3 + 5 + 40,
                             "kafka_server_brokertopicmetrics_bytesout_total": produced}, labels
        assert value(after, "kafka_log_log_size", topic="orders", partition="0") == produced
        assert value(after, "kafka_log_log_logendoffset", topic="orders", partition="0") == 48


# -- consumer lag (one broker) ----------------------------------------------------------------

def test_consumer_lag_is_the_log_end_less_the_committed_offset_per_partition(tmp_path):
    metrics_port = free_port()
    with BrokerProcess(tmp_path / "data", metrics_http_listener=f"127.0.0.1:{metrics_port}") as broker:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic("orders", 2, 1)])["orders"].result(30)
        producer = Producer({"bootstrap.servers": broker.bootstrap})
        for partition, records in ((0, 10), (1, 3)):
            for _ in range(records):
                producer.produce("orders", b"v", partition=partition)
        assert producer.flush(10) == 0
        consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "billing"})
        consumer.commit(offsets=[TopicPartition("orders", 0, 4), TopicPartition("orders", 1, 3)],
                        asynchronous=False)
        consumer.close()

        def lag(partition: str) -> float | None:  # None: no such series
            labels = (("consumergroup", "billing"), ("partition", partition), ("topic", "orders"))
            return scrape(metrics_port).get(("kafka_consumergroup_lag", labels))

        wait_until(lambda: lag("0") == 6, 5, "a lag of 6 on orders-0")
        assert lag("1") == 0


# -- under-replicated partitions, ISR shrinks and expands (three brokers) -------------------

LAB_TIMEOUTS = {
    "replica.lag.time.max.ms": 2000,
    "broker.session.timeout.ms": 3000,
    "broker.heartbeat.interval.ms": 500,
    "controller.quorum.election.timeout.ms": 1000,
    "controller.quorum.fetch.timeout.ms": 2000,
}


@pytest.mark.cluster
@pytest.mark.slow
def test_killing_a_follower_shows_on_the_leader_and_the_restart_undoes_it(tmp_path):
    with Cluster(tmp_path / "cluster", brokers=3, overrides=LAB_TIMEOUTS) as cluster:
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        admin.create_topics([NewTopic("orders", 1, 3)])["orders"].result(30)
        leader = cluster.leader_of("orders", 0, timeout_ms=15_000)
        follower = next(node for node in cluster.layout.node_ids if node != leader)
        port = cluster.layout.broker(leader).metrics_port
        healthy = wait_until(lambda: (s := scrape(port)) and value(s, URP) == 0 and s, 15,
                             "no under-replicated partition on the leader")

        cluster.kill(follower)
        shrunk = wait_until(lambda: (s := scrape(port)) and value(s, URP) == 1 and s, 20,
                            f"orders-0 under-replicated on leader {leader}")
        assert value(shrunk, SHRINKS) == value(healthy, SHRINKS) + 1

        cluster.restart(follower)
        expanded = wait_until(lambda: (s := scrape(port)) and value(s, URP) == 0 and s, 30,
                              f"orders-0 fully replicated again on leader {leader}")
        assert value(expanded, EXPANDS) == value(healthy, EXPANDS) + 1
        assert value(expanded, SHRINKS) == value(shrunk, SHRINKS)

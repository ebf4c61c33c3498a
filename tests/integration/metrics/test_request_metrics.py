"""Request, topic, purgatory, idle and log metrics of a broker serving real sockets.

A broker runs in-process (``open_broker``) and a bare wire client
(``RawClient``) sends it Produce and Fetch requests; the test reads the
broker's metrics registry (``broker.metrics``) by Kafka's JMX names.
"""

from __future__ import annotations

import pytest
import trio

from minikafka.metrics import MetricName
from minikafka.testing import open_broker
from minikafka_core.records import Record, build_batch
from tests.broker.broker_rawclient import RawClient, fetch_body, produce_body

PRODUCE, FETCH = 0, 1
PRODUCE_VERSION, FETCH_VERSION = 9, 12
RECORDS_PER_BATCH = 3


def request_metric(name: str, request: str, **tags) -> MetricName:
    return MetricName("kafka.network", "RequestMetrics", name,
                      (("request", request), *((k, str(v)) for k, v in tags.items())))


def topic_metric(name: str, topic: str | None = None) -> MetricName:
    return MetricName("kafka.server", "BrokerTopicMetrics", name, () if topic is None else (("topic", topic),))


def log_metric(name: str, topic: str, partition: int) -> MetricName:
    return MetricName("kafka.log", "Log", name, (("topic", topic), ("partition", str(partition))))


def count(broker, name: MetricName) -> int:
    metric = broker.metrics.get(name)
    return 0 if metric is None else metric.count


def gauge(broker, name: MetricName):
    return broker.metrics.get(name).value


async def settled(broker, name: MetricName, expected: int) -> None:
    """Wait until ``name`` counts ``expected``: a request is recorded once its response is sent."""
    with trio.fail_after(2):
        while count(broker, name) != expected:
            await trio.sleep(0.001)


def a_batch(n: int = RECORDS_PER_BATCH) -> bytes:
    return build_batch([Record(i, 1_700_000_000_000, b"k", b"v" * 100) for i in range(n)])


@pytest.fixture
async def broker(tmp_path):
    async with open_broker(tmp_path) as broker:
        await broker.create_topic("orders", 1, {})
        yield broker


@pytest.fixture
async def client(broker):
    client = await RawClient.connect(broker.bound_ports[0], "metrics-test")
    try:
        yield client
    finally:
        await client.aclose()


async def produce(client, n: int) -> int:
    """Send ``n`` acks=1 produce requests of one batch each; return the bytes of records sent."""
    sent = 0
    for _ in range(n):
        records = a_batch()
        response = await client.request(PRODUCE, PRODUCE_VERSION, produce_body("orders", 0, records, acks=1))
        assert response.responses[0].partition_responses[0].error_code == 0
        sent += len(records)
    return sent


async def test_produce_requests_are_counted_per_version_with_their_stage_times(broker, client):
    requests = request_metric("RequestsPerSec", "Produce", version=PRODUCE_VERSION)
    before = count(broker, requests)
    await produce(client, 7)
    await settled(broker, requests, before + 7)
    total = broker.metrics.get(request_metric("TotalTimeMs", "Produce"))
    assert total.count >= 7
    assert total.max > 0
    for stage in ("RequestQueueTimeMs", "LocalTimeMs", "RemoteTimeMs", "ResponseSendTimeMs", "ThrottleTimeMs"):
        histogram = broker.metrics.get(request_metric(stage, "Produce"))
        assert histogram.count == total.count, stage
        assert histogram.min >= 0, stage
    local = broker.metrics.get(request_metric("LocalTimeMs", "Produce"))
    assert local.max <= total.max


async def test_bytes_and_messages_in_count_what_was_appended(broker, client):
    before = {name: (count(broker, topic_metric(name, "orders")), count(broker, topic_metric(name)))
              for name in ("BytesInPerSec", "MessagesInPerSec", "TotalProduceRequestsPerSec")}
    sent = await produce(client, 5)
    expected = {"BytesInPerSec": sent, "MessagesInPerSec": 5 * RECORDS_PER_BATCH, "TotalProduceRequestsPerSec": 5}
    for name, moved in expected.items():
        topic_before, all_before = before[name]
        assert count(broker, topic_metric(name, "orders")) == topic_before + moved, name
        assert count(broker, topic_metric(name)) == all_before + moved, name


async def test_a_produce_to_an_unknown_topic_is_not_a_failure_and_grows_no_topic_metrics(broker, client):
    await client.request(PRODUCE, PRODUCE_VERSION, produce_body("nowhere", 0, a_batch(), acks=1))
    assert count(broker, topic_metric("TotalProduceRequestsPerSec")) == 1
    assert count(broker, topic_metric("FailedProduceRequestsPerSec")) == 0
    assert broker.metrics.get(topic_metric("TotalProduceRequestsPerSec", "nowhere")) is None


async def test_a_refused_produce_is_a_failed_produce_request_of_its_topic(broker, client):
    response = await client.request(PRODUCE, PRODUCE_VERSION, produce_body("orders", 0, a_batch(), acks=5))
    assert response.responses[0].partition_responses[0].error_code != 0
    for tags in ("orders", None):
        assert count(broker, topic_metric("FailedProduceRequestsPerSec", tags)) == 1
        assert count(broker, topic_metric("TotalProduceRequestsPerSec", tags)) == 1
        assert count(broker, topic_metric("BytesInPerSec", tags)) == 0


async def test_a_consumer_fetch_counts_bytes_out(broker, client):
    sent = await produce(client, 2)
    response = await client.request(FETCH, FETCH_VERSION, fetch_body("orders", 0, 0))
    records = response.responses[0].partitions[0].records
    assert len(records) == sent
    assert count(broker, topic_metric("BytesOutPerSec", "orders")) == sent
    assert count(broker, topic_metric("TotalFetchRequestsPerSec", "orders")) == 1
    await settled(broker, request_metric("RequestsPerSec", "Fetch", version=FETCH_VERSION), 1)
    assert count(broker, request_metric("RequestsPerSec", "FetchConsumer", version=FETCH_VERSION)) == 1
    assert broker.metrics.get(request_metric("RequestsPerSec", "FetchFollower", version=FETCH_VERSION)) is None


async def test_log_gauges_follow_the_log(broker, client):
    partition = broker.partitions[("orders", 0)]
    assert gauge(broker, log_metric("LogEndOffset", "orders", 0)) == 0
    sent = await produce(client, 4)
    assert gauge(broker, log_metric("LogEndOffset", "orders", 0)) == 4 * RECORDS_PER_BATCH == partition.log_end_offset
    assert gauge(broker, log_metric("LogStartOffset", "orders", 0)) == 0
    assert gauge(broker, log_metric("Size", "orders", 0)) == sent == partition.log.local_log.size_in_bytes
    assert gauge(broker, log_metric("NumLogSegments", "orders", 0)) == 1


async def test_log_and_topic_metrics_go_with_the_topic(broker, client):
    await produce(client, 1)
    await broker.delete_topic("orders")
    with trio.fail_after(5):
        while ("orders", 0) in broker.partitions:
            await trio.sleep(0.01)
    assert broker.metrics.get(log_metric("Size", "orders", 0)) is None
    assert broker.metrics.get(topic_metric("BytesInPerSec", "orders")) is None
    assert count(broker, topic_metric("BytesInPerSec")) > 0  # the all-topics meters stay


async def test_a_waiting_long_poll_is_in_the_fetch_purgatory_and_its_wait_is_remote_time(broker, client):
    purgatory = MetricName("kafka.server", "DelayedOperationPurgatory", "PurgatorySize",
                           (("delayedOperation", "Fetch"),))
    assert gauge(broker, purgatory) == 0
    async with trio.open_nursery() as nursery:
        nursery.start_soon(client.request, FETCH, FETCH_VERSION, fetch_body("orders", 0, 0, max_wait_ms=400))
        with trio.fail_after(2):
            while gauge(broker, purgatory) != 1:
                await trio.sleep(0.01)
    assert gauge(broker, purgatory) == 0
    await settled(broker, request_metric("RequestsPerSec", "Fetch", version=FETCH_VERSION), 1)
    remote = broker.metrics.get(request_metric("RemoteTimeMs", "Fetch"))
    total = broker.metrics.get(request_metric("TotalTimeMs", "Fetch"))
    assert remote.max >= 300  # the long poll waited out its max_wait_ms
    assert total.max >= remote.max
    produce_purgatory = MetricName("kafka.server", "DelayedOperationPurgatory", "PurgatorySize",
                                   (("delayedOperation", "Produce"),))
    assert gauge(broker, produce_purgatory) == 0


async def test_idle_percent_is_a_fraction_and_near_one_for_a_broker_with_nothing_to_do(broker, client):
    names = (MetricName("kafka.server", "KafkaRequestHandlerPool", "RequestHandlerAvgIdlePercent"),
             MetricName("kafka.network", "SocketServer", "NetworkProcessorAvgIdlePercent"))
    await produce(client, 3)
    for name in names:  # since the broker started: start-up, then a few requests
        assert 0.0 <= gauge(broker, name) <= 1.0, name
    await trio.sleep(1.1)  # a window (at least 1 s) in which nothing happens
    for name in names:
        assert 0.5 < gauge(broker, name) <= 1.0, name

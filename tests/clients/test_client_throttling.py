"""Client-side throttling (KIP-219) and the throttle-time metrics.

The bookkeeping (``throttle.py``, ``metrics.py``) is checked with a fake
clock (``now_ms`` passed in). The clients' behaviour is checked against
``ThrottlingBroker``: a stand-in broker on a real socket whose responses
carry the throttle times each test chooses and which never delays anything
itself, so every wait measured here is the client's.
"""

from __future__ import annotations

import math

import pytest
import trio

from minikafka_clients import Admin, Consumer, NewTopic, Producer
from minikafka_clients.metrics import Avg, Max, ThrottleTimeSensor
from minikafka_clients.throttle import NodeThrottle, should_client_throttle

from throttling_broker import CREATE_TOPICS, FETCH, PRODUCE, ThrottlingBroker

# -- which versions oblige the client (Kafka's shouldClientThrottle) ------------------


@pytest.mark.parametrize("api_key,version,expected", [
    (0, 5, False), (0, 6, True), (0, 11, True),        # Produce
    (1, 7, False), (1, 8, True),                       # Fetch
    (3, 5, False), (3, 6, True),                       # Metadata
    (19, 2, False), (19, 3, True),                     # CreateTopics
    (44, 0, True),                                     # IncrementalAlterConfigs: always
    (48, 1, False), (49, 1, False),                    # Describe/AlterClientQuotas: never
    (60, 1, False), (68, 0, False),                    # DescribeCluster, ConsumerGroupHeartbeat
])
def test_the_versions_after_which_the_broker_throttles_after_answering(api_key, version, expected):
    assert should_client_throttle(api_key, version) is expected


# -- NodeThrottle (fake clock) ------------------------------------------------------------


class _Response:
    def __init__(self, throttle_time_ms):
        self.throttle_time_ms = throttle_time_ms


def test_a_throttled_response_holds_the_node_back_until_its_time_has_passed():
    throttle = NodeThrottle()
    assert throttle.delay_ms(1_000) == 0
    assert throttle.on_response(0, 9, _Response(250), now_ms=1_000) == 250
    assert throttle.delay_ms(1_000) == 250
    assert throttle.delay_ms(1_200) == 50
    assert throttle.delay_ms(1_250) == 0
    assert throttle.delay_ms(5_000) == 0


def test_the_deadline_never_moves_back():
    throttle = NodeThrottle()
    throttle.on_response(0, 9, _Response(1_000), now_ms=0)
    throttle.on_response(0, 9, _Response(100), now_ms=10)  # shorter: the longer one still runs
    assert throttle.delay_ms(500) == 500
    throttle.on_response(0, 9, _Response(800), now_ms=600)  # ends later: extends it
    assert throttle.delay_ms(1_000) == 400


def test_an_old_version_reports_its_throttle_time_but_the_client_does_not_wait():
    # The broker delayed the response itself: waiting again would double the penalty.
    throttle = NodeThrottle()
    assert throttle.on_response(0, 5, _Response(300), now_ms=0) == 300
    assert throttle.delay_ms(0) == 0
    assert throttle.on_response(3, 12, object(), now_ms=0) == 0  # a response without the field


# -- sampled Avg / Max (fake clock) ----------------------------------------------------------


def test_avg_and_max_are_nan_before_any_event():
    assert math.isnan(Avg().measure(0)) and math.isnan(Max().measure(0))


def test_avg_and_max_combine_the_samples_in_the_window():
    avg, maximum = Avg(num_samples=2, window_ms=1_000), Max(num_samples=2, window_ms=1_000)
    for value, now_ms in [(100, 0), (300, 10), (0, 1_500)]:  # the third starts a second sample
        avg.record(value, now_ms)
        maximum.record(value, now_ms)
    assert avg.measure(1_600) == pytest.approx(400 / 3)
    assert maximum.measure(1_600) == 300
    # A sample leaves the window once its last event is num_samples * window_ms old.
    assert avg.measure(2_010) == 0 and maximum.measure(2_010) == 0
    assert math.isnan(avg.measure(3_500)) and math.isnan(maximum.measure(3_500))


def test_the_ring_reuses_its_samples():
    maximum = Max(num_samples=2, window_ms=100)
    for i in range(20):
        maximum.record(i, now_ms=i * 100)
    assert len(maximum._samples) == 3  # num_samples + the overlapping one
    assert maximum.measure(1_950) == 19


def test_the_sensor_names_its_metrics_as_kafka_does():
    sensor = ThrottleTimeSensor()
    sensor.record(0, 0)
    sensor.record(200, 5)
    assert sensor.metrics("produce", 10) == {"produce-throttle-time-avg": 100,
                                             "produce-throttle-time-max": 200}


# -- the clients against a broker that throttles them ----------------------------------


@pytest.fixture
async def broker(nursery):
    fake = ThrottlingBroker()
    await nursery.start(fake.serve)
    return fake


@pytest.fixture
async def old_broker(nursery):
    fake = ThrottlingBroker(max_versions={PRODUCE: 5, FETCH: 7})
    await nursery.start(fake.serve)
    return fake


def _producer_config(bootstrap: str) -> dict:
    return {"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": 1,
            "enable.idempotence": False}


async def _produce_two(producer: Producer) -> None:
    await (await producer.send("t", b"first", partition=0))
    await (await producer.send("t", b"second", partition=0))


async def test_the_producer_sends_nothing_to_a_broker_while_it_throttles_us(broker):
    broker.throttles[PRODUCE] = [400]
    async with Producer(_producer_config(broker.bootstrap)) as producer:
        await _produce_two(producer)
        metrics = producer.metrics()
    first, second = broker.arrivals(PRODUCE)
    assert second - first >= 0.4
    assert metrics["produce-throttle-time-max"] == 400
    assert 0 < metrics["produce-throttle-time-avg"] <= 400
    assert metrics["record-retry-total"] == 0


async def test_the_producer_does_not_wait_again_when_the_broker_delayed_the_answer(old_broker):
    old_broker.throttles[PRODUCE] = [3_000]
    async with Producer(_producer_config(old_broker.bootstrap)) as producer:
        await _produce_two(producer)
        assert producer.metrics()["produce-throttle-time-max"] == 3_000  # reported all the same
    assert old_broker.versions(PRODUCE) == [5, 5]
    first, second = old_broker.arrivals(PRODUCE)
    assert second - first < 1.5


async def test_the_consumer_fetches_nothing_from_a_broker_while_it_throttles_us(broker):
    broker.throttles[FETCH] = [1_500]
    async with Consumer({"bootstrap.servers": broker.bootstrap}) as consumer:
        consumer.assign([("t", 0)])
        consumer.seek(("t", 0), 0)
        assert await consumer.poll(timeout=0.05) == []  # the first Fetch: throttled 1.5 s
        start = trio.current_time()
        assert await consumer.poll(timeout=0.3) == []
        assert trio.current_time() - start < 1.0  # poll keeps its timeout while throttled
        assert len(broker.arrivals(FETCH)) == 1
        with trio.move_on_after(1.5):
            while len(broker.arrivals(FETCH)) < 2:
                await consumer.poll(timeout=0.2)
        metrics = consumer.metrics()
    first, second = broker.arrivals(FETCH)[:2]
    assert second - first >= 1.5
    assert metrics["fetch-throttle-time-max"] == 1_500


async def test_admin_requests_wait_for_the_throttle_too(broker):
    broker.throttles[CREATE_TOPICS] = [400]
    async with Admin({"bootstrap.servers": broker.bootstrap}) as admin:
        await admin.create_topics([NewTopic("a", 1, 1)])
        await admin.create_topics([NewTopic("b", 1, 1)])
    first, second = broker.arrivals(CREATE_TOPICS)
    assert second - first >= 0.4


async def test_the_throttle_outlives_a_reconnect(broker):
    broker.throttles[PRODUCE] = [500]
    async with Producer(_producer_config(broker.bootstrap)) as producer:
        await (await producer.send("t", b"first", partition=0))
        for connection in list(producer.cluster._connections.values()):
            await connection.aclose()  # a new connection must not escape the throttle
        await (await producer.send("t", b"second", partition=0))
    first, second = broker.arrivals(PRODUCE)
    assert second - first >= 0.5

"""A consumer over its ``consumer_byte_rate`` quota is held to it.

The broker sizes each Fetch response so that it does not overshoot the quota
window, and when the client is over its quota answers an empty response with
the throttle time (Kafka's way: the bytes of a throttled fetch are not sent,
and not counted). The test fills a topic, then lets a consumer with client id
``greedy`` (quota 1 MiB/s) read it flat out: after a warm-up of two windows
(the broker's window is 2 samples of 1 s here) the bytes it receives in 6 s
are within -30%/+25% of the quota. A consumer without a quota reads the same
topic at tens of MB/s.

Why that much: the broker keeps the rate over the last two samples at the
quota, but the client's bytes bunch up (after a sample that got little, the
next may take nearly two samples' worth, then the client waits about a
second), so a measurement that does not start and end on the broker's sample
boundaries is off by up to one sample's worth, a sixth of 6 s. And a
consumer tends to get a little less than its quota: a fetch that would go
over it is answered empty, and the client waits the whole throttle time
before it asks again (measured: 0.82-1.06 times the quota, about 0.93 on
average).
"""

from __future__ import annotations

import pytest

from tests.integration.quotas.quota_clients import (
    MB,
    confluent_drain,
    create_topic,
    fill,
    kafka_python_drain,
    set_quota,
)

pytestmark = pytest.mark.slow

QUOTA = 1048576
WARMUP_S = 2.0
RUN_S = 6.0
LOWEST, HIGHEST = 0.70, 1.25
FILL_MB = 32


def greedy_topic(bootstrap: str) -> str:
    topic = create_topic(bootstrap)
    fill(bootstrap, topic, FILL_MB)  # more than the quota lets through in the whole run
    set_quota(bootstrap, {"client-id": "greedy"}, {"consumer_byte_rate": QUOTA})
    return topic


def assert_held_to_quota(flood) -> None:
    ratio = flood.rate / QUOTA
    assert LOWEST <= ratio <= HIGHEST, (
        f"{flood.rate / MB:.3f} MiB/s received, {ratio:.2f}x the quota "
        f"(largest throttle seen {flood.max_throttle_ms} ms)")


def test_confluent_kafka_consumer_is_held_to_its_quota(short_window_broker):
    topic = greedy_topic(short_window_broker.bootstrap)

    flood = confluent_drain(short_window_broker.bootstrap, topic, "greedy", RUN_S, warmup_s=WARMUP_S)

    assert_held_to_quota(flood)
    assert flood.max_throttle_ms > 0, "librdkafka's statistics never showed a throttle"


def test_kafka_python_consumer_is_held_to_its_quota(short_window_broker):
    topic = greedy_topic(short_window_broker.bootstrap)

    flood = kafka_python_drain(short_window_broker.bootstrap, topic, "greedy", RUN_S, warmup_s=WARMUP_S)

    assert_held_to_quota(flood)
    assert flood.max_throttle_ms > 0, f"kafka-python's throttle-time-max: {flood.max_throttle_ms}"


def test_a_consumer_without_a_quota_is_not_held_back(short_window_broker):
    topic = greedy_topic(short_window_broker.bootstrap)

    flood = confluent_drain(short_window_broker.bootstrap, topic, "modest", 3.0)

    # The whole topic in 3 s, where the quota would let about 4 MiB through.
    assert flood.acked_bytes == FILL_MB * MB, f"an unquoted consumer read only {flood.acked_bytes / MB:.2f} MiB"
    assert flood.max_throttle_ms == 0

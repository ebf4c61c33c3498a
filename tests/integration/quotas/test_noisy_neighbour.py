"""A quota on a noisy producer protects a well-behaved one on the same broker.

A noisy client (confluent-kafka in a child process, client id ``noisy``)
produces 1 KiB values flat out to its own topic; meanwhile a well-behaved
client sends one 1 KiB value every 5 ms to another topic and waits for each
acknowledgement. On two shared cores the flood takes most of the broker's
time, so the well-behaved client's produce latency suffers. Then the same
flood runs again with a ``producer_byte_rate`` quota of 1 MiB/s on ``noisy``:
its connection is muted most of the time, and the well-behaved client's p99
latency must be better than without the quota.

The broker's quota window is 2 samples of 1 s, so the throttled flood is in
its steady state (held to the quota) after its first second, not after eleven.
"""

from __future__ import annotations

import time

import pytest

from tests.integration.child_call import finish_child
from tests.integration.quotas.quota_clients import (
    MB,
    create_topic,
    percentile,
    produce_latencies,
    set_quota,
    start_child,
)

pytestmark = pytest.mark.slow

QUOTA = 1048576
FLOOD_S = 5.0
WARMUP_S = 1.5
MEASURE_S = 3.0
FLOOD_BATCH = 1_000_000  # librdkafka's default batch.size: the broker appends 1 MB at a time


def well_behaved_p99_during_a_flood(bootstrap: str) -> tuple[float, float]:
    """(p99 latency in ms of the well-behaved producer, MiB/s the flood got through)."""
    noisy_topic, polite_topic = create_topic(bootstrap), create_topic(bootstrap)
    flood = start_child("_confluent_flood", bootstrap, noisy_topic, "noisy", FLOOD_S, FLOOD_BATCH)
    try:
        time.sleep(WARMUP_S)  # the child starts up and the flood is under way
        latencies = produce_latencies(bootstrap, polite_topic, "polite", MEASURE_S)
    finally:
        flooded = finish_child(flood)
    return percentile(latencies, 0.99), flooded["acked_bytes"] / flooded["seconds"] / MB


def test_a_quota_on_the_noisy_producer_improves_the_well_behaved_p99(short_window_broker):
    bootstrap = short_window_broker.bootstrap
    p99_unthrottled, flood_unthrottled = well_behaved_p99_during_a_flood(bootstrap)

    set_quota(bootstrap, {"client-id": "noisy"}, {"producer_byte_rate": QUOTA})
    p99_throttled, flood_throttled = well_behaved_p99_during_a_flood(bootstrap)

    report = (f"well-behaved p99: {p99_unthrottled:.1f} ms during a {flood_unthrottled:.1f} MiB/s flood, "
              f"{p99_throttled:.1f} ms with the flood held to {flood_throttled:.2f} MiB/s")
    print(report)
    assert flood_throttled < 2 * QUOTA / MB < flood_unthrottled, report
    assert p99_throttled < p99_unthrottled, report

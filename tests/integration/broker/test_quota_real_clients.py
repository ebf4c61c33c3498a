"""A real Kafka producer (librdkafka) under a produce quota on a broker process.

The quota is set over the wire with AlterClientQuotas. librdkafka honours
``throttle_time_ms`` (its ``throttle_cb`` reports each throttled response),
and the broker's muting backs it up: the producer's throughput falls to
about its quota.
"""

from __future__ import annotations

import time

import confluent_kafka
import trio

from ..harness import BrokerProcess
from .clients import create_topic
from .quota_wire import set_client_quota

QUOTA_BYTES_PER_S = 200_000.0
VALUE = b"v" * 1000


def test_a_producer_over_its_quota_is_throttled_to_about_its_rate(tmp_path):
    with BrokerProcess(tmp_path / "data", quota_window_num=2, quota_window_size_seconds=1) as broker:
        create_topic(broker.bootstrap, "limited")
        trio.run(set_client_quota, broker.port, {"client-id": "rk-limited"}, "producer_byte_rate",
                 QUOTA_BYTES_PER_S)
        throttles = []
        producer = confluent_kafka.Producer({
            "bootstrap.servers": broker.bootstrap, "client.id": "rk-limited", "linger.ms": 5,
            "batch.size": 16_384,  # many small requests, so the throttle is seen between them
            "throttle_cb": lambda event: throttles.append(event.throttle_time),
        })
        started = time.monotonic()
        for _ in range(600):  # 600 kB: a second's burst, then two more seconds at the quota
            producer.produce("limited", VALUE)
        assert producer.flush(30) == 0
        elapsed = time.monotonic() - started
        producer.poll(0)
        assert throttles and max(throttles) > 0
        assert elapsed >= 1.5, f"600 kB at a 200 kB/s quota took only {elapsed:.2f} s"

"""``kill -9`` the broker in the middle of a steady produce: nothing acknowledged is lost.

A confluent-kafka producer sends numbered messages; the delivery reports
tell which ones the broker acknowledged. The broker is killed with SIGKILL
(no flush, no shutdown hook) while requests are in flight, then restarted
on the same data directory. Every acknowledged message must be readable, and
``minikafka dump-log`` must find every batch on disk valid.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
from confluent_kafka import Producer

from .clients import confluent_consume, create_topic
from tests.integration.harness import BrokerProcess


def produce_until_killed(bootstrap, topic, acks, stop: threading.Event, acked: list):
    producer = Producer({
        "bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 2,
        "message.timeout.ms": 3000, "retries": 0,
    })

    def on_delivery(err, msg):
        if err is None:
            acked.append(msg.value())

    i = 0
    while not stop.is_set():
        try:
            producer.produce(topic, value=b"msg-%08d" % i, on_delivery=on_delivery)
            i += 1
        except BufferError:
            pass
        producer.poll(0.0005 if i % 50 else 0.01)
    producer.flush(10)


@pytest.mark.slow
@pytest.mark.parametrize("acks", ["1", "all"])
def test_kill_9_loses_nothing_acknowledged(tmp_path, acks):
    broker = BrokerProcess(tmp_path / "data").start()
    try:
        topic = "crash"
        create_topic(broker.bootstrap, topic)
        stop, acked = threading.Event(), []
        producer = threading.Thread(target=produce_until_killed,
                                    args=(broker.bootstrap, topic, acks, stop, acked))
        producer.start()
        deadline = time.monotonic() + 20
        while len(acked) < 5000 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(acked) >= 5000, "the producer made no progress"
        broker.kill()  # mid-stream: requests are in flight
        stop.set()
        producer.join(30)
        acknowledged = list(acked)

        broker.start()
        consumed = confluent_consume(broker.bootstrap, topic, 0, len(acknowledged), timeout_s=30)
        values = [m.value() for m in consumed]
        assert set(acknowledged) <= set(values), "an acknowledged message was lost"
        assert values == sorted(values), "the log is out of order"
    finally:
        broker.stop()

    segments = sorted((tmp_path / "data" / f"{topic}-0").glob("*.log"))
    dump = subprocess.run([sys.executable, "-m", "minikafka", "dump-log", *map(str, segments)],
                          capture_output=True, text=True)
    assert dump.returncode == 0, dump.stdout[-2000:] + dump.stderr
    assert "isvalid: false" not in dump.stdout

"""Real consumers (confluent-kafka / librdkafka 2.x, Debian's kcat / librdkafka 2.0.2)
read a multi-segment log that the broker sends with sendfile."""

import os
import subprocess
import threading

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from minikafka.testing import BrokerThread

COUNT = 5_000  # 1 KiB values: about 5 MB, five 1 MiB segments


def value(i: int) -> bytes:
    return f"{i:08d}".encode() + b"." * 1016


@pytest.fixture
def loaded(tmp_path, monkeypatch):
    """A broker with 1 MiB segments holding COUNT values; counts its sendfile calls."""
    monkeypatch.setenv("MINIKAFKA_ZERO_COPY", "1")
    calls, lock = [0], threading.Lock()
    real_sendfile = os.sendfile

    def counting_sendfile(*args):
        with lock:
            calls[0] += 1
        return real_sendfile(*args)

    monkeypatch.setattr(os, "sendfile", counting_sendfile)
    with BrokerThread(tmp_path, log_segment_bytes=1_048_576, num_partitions=1) as broker:
        producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5,
                             "batch.size": 65536})
        for i in range(COUNT):
            producer.produce("zc", value(i), partition=0)
            if i % 1000 == 0:
                producer.poll(0)
        assert producer.flush(30) == 0
        segments = [n for n in os.listdir(tmp_path / "zc-0") if n.endswith(".log")]
        assert len(segments) >= 5, segments
        yield broker, calls


def test_confluent_kafka_reads_every_segment(loaded):
    broker, calls = loaded
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "zc",
                         "enable.auto.commit": False, "max.partition.fetch.bytes": 1_048_576})
    consumer.assign([TopicPartition("zc", 0, 0)])
    seen = []
    try:
        while len(seen) < COUNT:
            messages = consumer.consume(num_messages=1000, timeout=10)
            assert messages, f"stalled after {len(seen)} messages"
            for message in messages:
                assert message.error() is None, message.error()
                seen.append((message.offset(), message.value()))
    finally:
        consumer.close()
    assert seen == [(i, value(i)) for i in range(COUNT)]
    assert calls[0] > 0  # the records went out by sendfile


def test_kcat_reads_every_segment(loaded):
    broker, calls = loaded
    result = subprocess.run(
        ["kcat", "-C", "-b", broker.bootstrap, "-t", "zc", "-p", "0", "-o", "beginning",
         "-c", str(COUNT), "-q", "-f", "%o %s\n"],
        capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines == [f"{i} {value(i).decode()}" for i in range(COUNT)]
    assert calls[0] > 0

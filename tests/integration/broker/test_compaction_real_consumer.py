"""A real confluent-kafka consumer reads a compacted topic across offset gaps.

The broker's own maintenance timer rolls the segments (``segment.ms``) and
runs the cleaner (``min.cleanable.dirty.ratio`` low), as in production.
"""

from __future__ import annotations

import time

import pytest

from minikafka.testing import BrokerThread

KEYS = [b"user-%d" % i for i in range(8)]


def produce_rounds(bootstrap, confluent_kafka, rounds):
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                                         "linger.ms": 5})
    errors = []
    for messages in rounds:
        for key, value in messages:
            producer.produce("profiles", value, key, on_delivery=lambda err, msg: err and errors.append(err))
        assert producer.flush(10) == 0
        time.sleep(0.15)  # next round's timestamps are > segment.ms later: a new segment
    assert errors == []


def wait_until_cleaned(broker_thread, timeout_s=10.0):
    log = broker_thread.call(lambda: broker_thread.broker.partition("profiles", 0).log.local_log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done = broker_thread.call(lambda: (log.last_clean_offset, log.log_end_offset))
        if done[0] == done[1]:
            return done[1]
        time.sleep(0.1)
    raise AssertionError(f"not cleaned in time: {done}")


@pytest.mark.slow
def test_confluent_consumer_reads_a_compacted_topic_across_gaps(tmp_path):
    import confluent_kafka  # a test dependency: missing means a broken install, not a skip
    rounds = [[(key, b"v%d-%s" % (r, key)) for key in KEYS] for r in range(4)]
    rounds.append([(KEYS[0], None), (KEYS[1], b"final")])  # a tombstone and a last update
    expected = {}
    for messages in rounds:
        expected.update(messages)
    with BrokerThread(tmp_path) as broker_thread:
        broker_thread.call(broker_thread.broker.create_topic, "profiles", 1, {
            "cleanup.policy": "compact", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.01"})
        produce_rounds(broker_thread.bootstrap, confluent_kafka, rounds)
        log_end_offset = wait_until_cleaned(broker_thread)
        assert log_end_offset == sum(len(m) for m in rounds)

        consumer = confluent_kafka.Consumer({"bootstrap.servers": broker_thread.bootstrap,
                                             "group.id": "unused", "enable.auto.commit": False})
        consumer.assign([confluent_kafka.TopicPartition("profiles", 0, 0)])
        received = []
        try:
            while not received or received[-1][0] < log_end_offset - 1:
                message = consumer.poll(10)
                assert message is not None, f"timed out after {received}"
                assert message.error() is None, message.error()
                received.append((message.offset(), message.key(), message.value()))
        finally:
            consumer.close()
    offsets = [offset for offset, _, _ in received]
    assert offsets == sorted(set(offsets)) and offsets[0] > 0  # gaps, never renumbered
    assert len(received) == len(KEYS)  # one record per key survived
    assert {key: value for _, key, value in received} == expected  # the tombstone is still there

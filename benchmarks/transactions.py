"""What transactions cost: transactional vs idempotent producer, read_committed vs read_uncommitted.

Measured with confluent-kafka (librdkafka) against one fresh minikafka broker
process, alternating the two sides of each comparison round after round so
that machine drift cancels out; the medians and their ratio are printed as
one JSON line.

  produce   1 KiB values to a one-partition topic, acks=all, idempotent,
            linger.ms=5; each producer's start-up (metadata, InitProducerId,
            init_transactions) happens before the clock starts. The transactional side runs ``begin_transaction``,
            produces for 100 ms, then ``commit_transaction`` (which waits for
            every record of the transaction, the markers and the coordinator's
            CompleteCommit), over and over. ``overhead`` is
            ``1 - transactional / idempotent`` throughput; a third side,
            idempotent with a ``flush()`` every 100 ms, shows how much of it
            is the commit draining the client's queue.
  consume   a topic filled by transactions of 1,000 records each (every
            tenth one aborted) read from the start with
            ``isolation.level=read_committed`` and ``read_uncommitted``.
            read_committed reads up to the last stable offset and skips the
            aborted records and the markers; read_uncommitted returns
            everything, so the ratio compares records *delivered* per second
            and bytes *read* per second separately.

Usage:
  python benchmarks/transactions.py [produce|consume] [--rounds 3] [--messages 200000]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parent))
from produce_consume import MB, create_topic, run_sections  # noqa: E402

VALUE_1K = os.urandom(1024)
CHUNK = [{"value": VALUE_1K} for _ in range(1000)]
COMMIT_INTERVAL_S = 0.1


def _producer(bootstrap: str, transactional_id: str | None) -> Producer:
    config = {
        "bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5,
        "queue.buffering.max.messages": 500_000, "queue.buffering.max.kbytes": 1_048_576,
        "delivery.report.only.error": True,
    }
    if transactional_id is not None:
        config["transactional.id"] = transactional_id
    return Producer(config)


def _produce_for(producer: Producer, topic: str, count: int, until: float, errors: list) -> int:
    """Hand 1,000-message chunks to librdkafka until ``count`` or the clock says stop."""
    sent = 0
    while sent < count and time.perf_counter() < until:
        batch = CHUNK[: count - sent]
        accepted = producer.produce_batch(topic, batch, partition=0, on_delivery=lambda err, _m: err and errors.append(err))
        sent += accepted
        producer.poll(0 if accepted == len(batch) else 0.001)
    return sent


def produce_idempotent(bootstrap: str, topic: str, count: int) -> float:
    """Messages per second of the idempotent producer (no transactions)."""
    producer, errors = _producer(bootstrap, None), []
    # Start-up (metadata, InitProducerId, connection) is outside the timing, as
    # init_transactions() is on the transactional side.
    producer.produce(topic, VALUE_1K, partition=0)
    producer.flush(30)
    started = time.perf_counter()
    _produce_for(producer, topic, count, float("inf"), errors)
    producer.flush(120)
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} delivery errors, first: {errors[0]}")
    return count / elapsed


def produce_idempotent_flushing(bootstrap: str, topic: str, count: int) -> float:
    """The idempotent producer, but ``flush()`` every 100 ms, as a commit does.

    It separates what a transaction costs the *client's pipeline* (every
    commit first drains the producer's queue, so the broker briefly waits for
    the next records) from what the transaction protocol itself costs
    (AddPartitionsToTxn, EndTxn, the markers).
    """
    producer, errors = _producer(bootstrap, None), []
    producer.produce(topic, VALUE_1K, partition=0)
    producer.flush(30)
    sent = 0
    started = time.perf_counter()
    while sent < count:
        sent += _produce_for(producer, topic, count - sent, time.perf_counter() + COMMIT_INTERVAL_S, errors)
        producer.flush(60)
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} delivery errors, first: {errors[0]}")
    return count / elapsed


def produce_transactional(bootstrap: str, topic: str, count: int) -> tuple[float, int]:
    """Messages per second with a commit every 100 ms; also how many transactions ran."""
    producer, errors = _producer(bootstrap, f"bench-{uuid.uuid4().hex[:8]}"), []
    producer.init_transactions(30)
    sent = transactions = 0
    started = time.perf_counter()
    while sent < count:
        producer.begin_transaction()
        sent += _produce_for(producer, topic, count - sent, time.perf_counter() + COMMIT_INTERVAL_S, errors)
        producer.commit_transaction(60)
        transactions += 1
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} delivery errors, first: {errors[0]}")
    return count / elapsed, transactions


def produce_section(bootstrap: str, rounds: int, count: int) -> dict:
    sides = {
        "idempotent": produce_idempotent,
        "idempotent_flush_every_100ms": produce_idempotent_flushing,
        "transactional": lambda b, t, n: produce_transactional(b, t, n)[0],
    }
    rates = {name: [] for name in sides}
    for round_no in range(rounds):
        order = list(sides) if round_no % 2 == 0 else list(reversed(sides))
        for name in order:
            rates[name].append(sides[name](bootstrap, create_topic(bootstrap), count))
    median = {name: statistics.median(values) for name, values in rates.items()}
    return {
        "section": "produce", "rounds": rounds, "messages": count, "value_bytes": 1024,
        "commit_interval_ms": int(COMMIT_INTERVAL_S * 1000),
        "median_mb_per_s": {name: round(rate * 1024 / MB, 1) for name, rate in median.items()},
        "overhead": round(1 - median["transactional"] / median["idempotent"], 3),
        "overhead_vs_flushing": round(1 - median["transactional"] / median["idempotent_flush_every_100ms"], 3),
        "all_rounds_msgs_per_s": {name: [round(r) for r in values] for name, values in rates.items()},
    }


def fill_with_transactions(bootstrap: str, count: int, per_txn: int = 1000) -> tuple[str, int]:
    """A topic of ``count`` records in transactions of ``per_txn``, every tenth aborted.

    Returns the topic and the number of committed records.
    """
    topic = create_topic(bootstrap)
    producer, errors = _producer(bootstrap, f"fill-{uuid.uuid4().hex[:8]}"), []
    producer.init_transactions(30)
    committed = 0
    for number in range(max(1, count // per_txn)):
        producer.begin_transaction()
        producer.produce_batch(topic, CHUNK[:per_txn], partition=0)
        producer.poll(0)
        if number % 10 == 9:
            producer.flush(60)  # librdkafka's abort drops records not yet sent: put them in the log first
            producer.abort_transaction(60)
        else:
            producer.commit_transaction(60)
            committed += per_txn
    return topic, committed


def consume(bootstrap: str, topic: str, isolation: str, expected: int) -> float:
    """Seconds to read ``expected`` records of partition 0 from the start."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:6]}",
        "enable.auto.commit": False, "isolation.level": isolation,
        "fetch.max.bytes": 52_428_800, "max.partition.fetch.bytes": 1_048_576,
        "queued.min.messages": 200_000, "queued.max.messages.kbytes": 1_048_576,  # no fetch back-off
        "enable.partition.eof": False,
    })
    consumer.assign([TopicPartition(topic, 0, 0)])
    seen, started = 0, time.perf_counter()
    deadline = started + 120
    while seen < expected and time.perf_counter() < deadline:
        messages = consumer.consume(num_messages=10_000, timeout=1.0)
        seen += sum(1 for m in messages if m.error() is None)
    elapsed = time.perf_counter() - started
    consumer.close()
    if seen < expected:
        raise RuntimeError(f"{isolation}: read {seen} of {expected}")
    return elapsed


def consume_section(bootstrap: str, rounds: int, count: int) -> dict:
    topic, committed = fill_with_transactions(bootstrap, count)
    total = max(1, count // 1000) * 1000
    seconds = {"read_committed": [], "read_uncommitted": []}
    for round_no in range(rounds):
        order = list(seconds) if round_no % 2 == 0 else list(reversed(seconds))
        for isolation in order:
            expected = committed if isolation == "read_committed" else total
            seconds[isolation].append(consume(bootstrap, topic, isolation, expected))
    committed_s = statistics.median(seconds["read_committed"])
    uncommitted_s = statistics.median(seconds["read_uncommitted"])
    return {
        "section": "consume", "rounds": rounds, "records_in_log": total, "committed_records": committed,
        "read_committed_msgs_per_s": round(committed / committed_s),
        "read_uncommitted_msgs_per_s": round(total / uncommitted_s),
        "read_committed_log_mb_per_s": round(total * 1024 / committed_s / MB, 1),
        "read_uncommitted_log_mb_per_s": round(total * 1024 / uncommitted_s / MB, 1),
        "log_read_ratio": round(uncommitted_s / committed_s, 3),
    }


SECTIONS = {"produce": produce_section, "consume": consume_section}


def main() -> None:
    run_sections(__doc__, SECTIONS, rounds=3, messages=200_000, tmp_prefix="minikafka-txn-bench-",
                 broker_arg=lambda proc, bootstrap: bootstrap)


if __name__ == "__main__":
    main()

"""Bundled clients vs confluent-kafka (librdkafka) against the same broker, same run.

Sections (run one or all; each prints one JSON line):
  producer   1 KiB values to a one-partition topic: the bundled async
             ``Producer`` (Kafka 4.0 defaults: acks=all, idempotent,
             linger.ms=5, batch.size=16384), its ``SyncProducer`` face, and
             confluent-kafka's ``Producer`` with the same settings; messages/s,
             MB/s, the client's CPU time per message, and the
             bundled/confluent ratio.
  consumer   the same for reading 1 KiB records from one partition in assign
             mode: the bundled async ``Consumer`` and confluent-kafka's.

Usage:
  python benchmarks/clients.py [producer] [--messages 100000] [--bootstrap HOST:PORT]
  python benchmarks/clients.py producer --profile    # cProfile the bundled async producer

Without ``--bootstrap`` a fresh minikafka broker process is started in a temp
dir and stopped at the end. Other sections (consumer, ...) add themselves to
``SECTIONS``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import trio

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "clients")]

VALUE_1K = b"x" * 1024


@contextlib.contextmanager
def minikafka_broker():
    """A broker process on a free port (``listening on`` line), stopped on exit."""
    with tempfile.TemporaryDirectory() as data_dir:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "clients")]))
        process = subprocess.Popen(
            [sys.executable, "-m", "minikafka.cli.main", "broker", "--override",
             "listeners=PLAINTEXT://127.0.0.1:0", "--override", f"log.dirs={data_dir}",
             "--override", "node.id=1", "--log-level", "WARNING"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=REPO)
        try:
            match = re.search(r"listening on \w+://([\w.\-]+):(\d+)", process.stdout.readline())
            if not match:
                raise RuntimeError("the broker did not start")
            yield f"{match.group(1)}:{match.group(2)}"
        finally:
            process.terminate()
            process.wait(timeout=20)


# -- producer ------------------------------------------------------------------


async def _bundled_async(bootstrap: str, topic: str, count: int) -> float:
    from minikafka_clients.producer import Producer

    async with Producer({"bootstrap.servers": bootstrap}) as producer:
        await (await producer.send(topic, VALUE_1K))  # metadata, producer id, connection
        started = time.perf_counter()
        for _ in range(count):
            await producer.send(topic, VALUE_1K)
        assert await producer.flush() == 0
        return time.perf_counter() - started


def bundled_async(bootstrap: str, count: int) -> float:
    return trio.run(_bundled_async, bootstrap, f"bench-{uuid.uuid4().hex[:8]}", count)


def bundled_sync(bootstrap: str, count: int) -> float:
    from minikafka_clients.sync_producer import SyncProducer

    topic = f"bench-{uuid.uuid4().hex[:8]}"
    with SyncProducer({"bootstrap.servers": bootstrap}) as producer:
        producer.produce(topic, VALUE_1K).result(timeout=30)
        started = time.perf_counter()
        for _ in range(count):
            producer.produce(topic, VALUE_1K)
        assert producer.flush() == 0
        return time.perf_counter() - started


def confluent(bootstrap: str, count: int) -> float:
    import confluent_kafka

    topic = f"bench-{uuid.uuid4().hex[:8]}"
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "acks": "all",
                                         "enable.idempotence": True, "linger.ms": 5,
                                         "batch.size": 16384})
    producer.produce(topic, VALUE_1K)
    producer.flush(30)
    started = time.perf_counter()
    for i in range(count):
        while True:
            try:
                producer.produce(topic, VALUE_1K)
                break
            except BufferError:  # its queue is full: let it drain
                producer.poll(0.001)
        if i % 1000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0
    return time.perf_counter() - started


def _cpu_seconds() -> float:
    """CPU time of this process, every thread (librdkafka's included), user + system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def producer_section(bootstrap: str, count: int) -> dict:
    """Each producer in turn; ``cpu_us_per_msg`` is the client's CPU per record
    over its whole run (connecting included, importing not): steadier than
    msg/s on a busy machine."""
    import confluent_kafka  # noqa: F401  (imported here: not counted as a client's CPU)
    import minikafka_clients.producer  # noqa: F401
    import minikafka_clients.sync_producer  # noqa: F401

    results = {}
    for name, run, n in (("bundled_async", bundled_async, count),
                         ("bundled_sync", bundled_sync, count // 4),
                         ("confluent_kafka", confluent, count)):
        cpu_before = _cpu_seconds()
        seconds = run(bootstrap, n)
        results[name] = {"messages": n, "msg_per_s": round(n / seconds),
                         "mb_per_s": round(n * len(VALUE_1K) / seconds / 1e6, 1),
                         "cpu_us_per_msg": round((_cpu_seconds() - cpu_before) / n * 1e6, 1)}
    results["bundled_async_over_confluent"] = round(
        results["bundled_async"]["msg_per_s"] / results["confluent_kafka"]["msg_per_s"], 3)
    return {"section": "producer", "value_bytes": len(VALUE_1K), **results}


def profile_producer(bootstrap: str, count: int) -> None:
    """The top costs by own time (the producer and the Trio loop share one thread)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(bundled_async, bootstrap, count)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


# -- consumer ------------------------------------------------------------------


def fill_topic(bootstrap: str, count: int) -> str:
    """A one-partition topic holding ``count`` 1 KiB records (written by librdkafka)."""
    import confluent_kafka

    topic = f"bench-{uuid.uuid4().hex[:8]}"
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(count):
        while True:
            try:
                producer.produce(topic, VALUE_1K, partition=0)
                break
            except BufferError:
                producer.poll(0.001)
    assert producer.flush(60) == 0
    return topic


async def _bundled_consume(bootstrap: str, topic: str, count: int) -> float:
    from minikafka_clients.consumer import Consumer

    async with Consumer({"bootstrap.servers": bootstrap, "auto.offset.reset": "earliest",
                         "max.poll.records": 10_000}) as consumer:
        consumer.assign([(topic, 0)])
        seen, started = 0, time.perf_counter()
        while seen < count:
            seen += len(await consumer.poll(1.0))
        return time.perf_counter() - started


def bundled_consume(bootstrap: str, topic: str, count: int) -> float:
    return trio.run(_bundled_consume, bootstrap, topic, count)


def confluent_consume(bootstrap: str, topic: str, count: int) -> float:
    import confluent_kafka

    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": "bench",
                                         "enable.auto.commit": False,
                                         "auto.offset.reset": "earliest"})
    consumer.assign([confluent_kafka.TopicPartition(topic, 0, 0)])
    seen, started = 0, time.perf_counter()
    while seen < count:
        seen += len(consumer.consume(num_messages=10_000, timeout=1.0))
    elapsed = time.perf_counter() - started
    consumer.close()
    return elapsed


def consumer_section(bootstrap: str, count: int) -> dict:
    """Read the same ``count`` records with each consumer, in assign mode."""
    topic = fill_topic(bootstrap, count)
    results = {}
    for name, run in (("bundled_async", bundled_consume), ("confluent_kafka", confluent_consume)):
        seconds = run(bootstrap, topic, count)
        results[name] = {"messages": count, "msg_per_s": round(count / seconds),
                         "mb_per_s": round(count * len(VALUE_1K) / seconds / 1e6, 1)}
    results["bundled_async_over_confluent"] = round(
        results["bundled_async"]["msg_per_s"] / results["confluent_kafka"]["msg_per_s"], 3)
    return {"section": "consumer", "value_bytes": len(VALUE_1K), **results}


SECTIONS = {"producer": producer_section, "consumer": consumer_section}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", default=list(SECTIONS))
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--bootstrap")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        bootstrap = args.bootstrap or stack.enter_context(minikafka_broker())
        if args.profile:
            profile_producer(bootstrap, args.messages)
            return
        for section in args.sections:
            print(json.dumps(SECTIONS[section](bootstrap, args.messages)), flush=True)


if __name__ == "__main__":
    main()

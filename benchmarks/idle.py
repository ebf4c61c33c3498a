"""What an idle three-broker cluster costs: CPU per broker process while nothing happens.

A laptop tool should cost next to nothing when nobody uses it. Kafka's
brokers idle on long polls: a follower's Fetch is parked by its leader until
there are new records or ``replica.fetch.wait.max.ms`` passes, a quorum
follower's Fetch likewise, and the brokers heartbeat the controller every
``broker.heartbeat.interval.ms``.

Each round starts a cluster as a user does (``minikafka cluster start
--detach``, Kafka's default timeouts, front proxies unless ``--no-proxies``),
brings it to an ordinary settled state (one topic with 3 partitions and
replication factor 3; a consumer group that joined, consumed and committed,
so ``__consumer_offsets`` exists with its 50 partitions, unless
``--no-group``; every ISR full),
waits ``--settle-s``, then reads utime + stime of every broker process and of
the supervisor (which runs the proxies) from ``/proc/<pid>/stat`` over
``--seconds``.

``--python`` (repeatable) names the interpreters whose installed minikafka
runs the cluster, so two source trees can be compared in alternating rounds
on the same machine; the default is this interpreter.

Usage:
  python benchmarks/idle.py [--rounds 2] [--seconds 15] [--settle-s 5] [--no-proxies]
                            [--no-group] [--python PATH ...]
prints one JSON line per round (% of one core per broker, the supervisor's,
the total, and the load average before and after), then one with the lowest
total per interpreter (the machine is shared: the least disturbed round is
the closest to the truth).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from cluster import DetachedCluster, emit, wait_until
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from produce_consume import cpu_seconds, machine

PARTITIONS = 3
REPLICATION_FACTOR = 3


class ClusterOf(DetachedCluster):
    """A ``DetachedCluster`` started by another interpreter's ``minikafka``."""

    def __init__(self, python: str, data_dir: Path, proxies: bool):
        super().__init__(data_dir, proxies)
        self.python = python

    def _cli(self, *args: str) -> None:
        # Run outside any source tree: ``python -m`` looks in the working
        # directory first, which would shadow the interpreter's own minikafka.
        subprocess.run([self.python, "-m", "minikafka", "cluster", *args, "--dir", os.fspath(self.data_dir)],
                       check=True, capture_output=True, timeout=180, cwd=self.data_dir.parent)


def settle(cluster: DetachedCluster, group: bool = True) -> str:
    """Create a topic, run a consumer group once over it (if ``group``), wait for every ISR to be full."""
    topic = f"idle-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, REPLICATION_FACTOR)])[topic].result(timeout=30)
    producer = Producer({"bootstrap.servers": cluster.bootstrap})
    for i in range(30):
        producer.produce(topic, f"value-{i}".encode(), partition=i % PARTITIONS)
    producer.flush(30)
    if group:
        consume_as_a_group(cluster, topic)
    wait_until(lambda: all_isrs_full(cluster, group), 60, "every ISR to be full")
    return topic


def consume_as_a_group(cluster: DetachedCluster, topic: str) -> None:
    """Join a group, read the topic, commit: what creates ``__consumer_offsets``."""
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": f"idle-group-{topic}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    consumed = 0
    deadline = time.monotonic() + 60
    while consumed < 30 and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            consumed += 1
    consumer.commit(asynchronous=False)
    consumer.close()


def all_isrs_full(cluster: DetachedCluster, group: bool) -> bool:
    topics = cluster.health().topics
    if group and "__consumer_offsets" not in topics:
        return False
    return all(len(p.isr) == len(p.replicas) for t in topics.values() for p in t.partitions.values())


def percent_of_a_core(pids: dict[str, int], seconds: float) -> dict[str, float]:
    """CPU time each process spent over ``seconds`` of wall time, as % of one core."""
    start = {name: cpu_seconds(pid) for name, pid in pids.items()}
    wall_start = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - wall_start
    return {name: round((cpu_seconds(pid) - start[name]) / wall * 100, 2) for name, pid in pids.items()}


def one_round(python: str, proxies: bool, group: bool, seconds: float, settle_s: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="minikafka-idle-bench-") as data_dir, \
            ClusterOf(python, Path(data_dir) / "cluster", proxies) as cluster:
        settle(cluster, group)
        time.sleep(settle_s)
        pids = {f"broker_{n}": cluster.pid_of(n) for n in (1, 2, 3)}
        pids["supervisor"] = cluster.supervisor_pid
        load_before = os.getloadavg()[0]
        usage = percent_of_a_core(pids, seconds)
        brokers = [usage[f"broker_{n}"] for n in (1, 2, 3)]
        return {"python": python, "proxies": proxies, "group": group, "seconds": seconds,
                "percent_of_a_core": usage, "brokers_max": max(brokers),
                "total": round(sum(usage.values()), 2),
                "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2, help="rounds per interpreter (default 2)")
    parser.add_argument("--seconds", type=float, default=15.0, help="measuring window (default 15 s)")
    parser.add_argument("--settle-s", type=float, default=5.0, help="wait after settling (default 5 s)")
    parser.add_argument("--no-proxies", action="store_true", help="a direct cluster (no front proxies)")
    parser.add_argument("--no-group", action="store_true",
                        help="no consumer group, so no __consumer_offsets (3 partitions in all)")
    parser.add_argument("--python", action="append", help="an interpreter with minikafka installed "
                        "(repeat to alternate trees; default: this one)")
    args = parser.parse_args()
    pythons = args.python or [sys.executable]
    runs = []
    for round_no in range(args.rounds):
        for python in pythons if round_no % 2 == 0 else reversed(pythons):
            result = one_round(python, not args.no_proxies, not args.no_group, args.seconds, args.settle_s)
            emit({"round": round_no, **result})
            runs.append(result)
    best = {python: min((r for r in runs if r["python"] == python), key=lambda r: r["total"])
            for python in pythons}
    emit({"machine": machine(), "lowest_total": best})


if __name__ == "__main__":
    main()

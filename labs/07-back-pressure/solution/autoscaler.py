"""A small lag-based autoscaler for the consumer group ``jobs-workers``.

The reference solution of lab 07, part 2. Three things run in this process:

- a *load*: a producer writes ``--rate`` records per second to ``jobs``
  (6 partitions) for ``--load-seconds``, then stops;
- *workers*: each one a consumer of the group ``jobs-workers`` that spends
  ``WORK_MS`` per record (about 200 records/s each) and commits after each
  poll. They are threads here; in production they are processes or pods;
- the *autoscaler*: every ``--interval`` seconds it measures the group's lag
  (the sum over partitions of log end offset minus committed offset, what
  ``kafka-consumer-groups.sh --describe`` shows) and its trend (the change
  per second since the last measure), and adds or removes one worker.

The rule (``decide``) scales up when the lag is high and not shrinking
(the workers do not keep up, or only just), scales down when the lag is low and not
growing, never beyond one worker per partition (a partition has at most one
consumer in a group: more would sit idle), and waits ``COOLDOWN_TICKS``
after each change, because every change is a rebalance that pauses the
group. Every decision is written as one JSON line to ``--out``.

Run::

    python autoscaler.py --bootstrap-server localhost:9092 --out lab-data/work/07/autoscaler.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from minikafka_clients import SyncAdmin, SyncConsumer, SyncProducer
from minikafka.errors import KafkaError
from minikafka_clients.admin import LATEST

TOPIC, GROUP = "jobs", "jobs-workers"
WORK_MS = 5
HIGH_LAG, LOW_LAG = 300, 50
COOLDOWN_TICKS = 2
MIN_WORKERS = 1


def decide(lag: int, trend: float, workers: int, max_workers: int) -> int:
    """+1 to add a worker, -1 to remove one, 0 to keep the group as it is."""
    # LAB 07: the scaling rule: from the lag, its trend (records/s) and the bounds.
    if lag > HIGH_LAG and trend >= 0 and workers < max_workers:
        return +1
    if lag < LOW_LAG and trend <= 0 and workers > MIN_WORKERS:
        return -1
    return 0


class Worker(threading.Thread):
    """One consumer of the group: poll, work on each record, commit."""

    def __init__(self, bootstrap: str, number: int):
        super().__init__(name=f"worker-{number}", daemon=True)
        self.stopping = threading.Event()
        self.processed = 0
        self.config = {"bootstrap.servers": bootstrap, "group.id": GROUP,
                       "client.id": f"worker-{number}", "enable.auto.commit": False,
                       "auto.offset.reset": "earliest", "max.poll.records": 50,
                       "heartbeat.interval.ms": 300,  # learn of rebalances quickly
                       "session.timeout.ms": 6000}    # a lost worker leaves within 6 s

    def run(self) -> None:
        with SyncConsumer(self.config) as consumer:
            consumer.subscribe([TOPIC])
            while not self.stopping.is_set():
                records = consumer.poll(0.2)
                for _ in records:
                    time.sleep(WORK_MS / 1000)  # the "work"
                if records:
                    self.processed += len(records)
                    commit(consumer)
        # leaving the with block closes the consumer: LeaveGroup, a quick rebalance


def commit(consumer: SyncConsumer) -> None:
    """Commit what was processed; a rebalance may refuse it (the records go to the new owner)."""
    try:
        consumer.commit()
    except KafkaError as exc:  # ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, ...: Java's CommitFailedException
        print(f"commit refused ({exc}); the partitions' new owner will process those records again",
              flush=True)


def produce_load(bootstrap: str, rate: int, seconds: float) -> None:
    """``rate`` records per second to ``jobs`` for ``seconds``."""
    with SyncProducer({"bootstrap.servers": bootstrap, "linger.ms": 20}) as producer:
        started = time.monotonic()
        sent = 0
        while time.monotonic() - started < seconds:
            due = int((time.monotonic() - started) * rate)
            for n in range(sent, due):
                producer.produce(TOPIC, b"job", key=str(n).encode())
            sent = max(sent, due)
            time.sleep(0.05)
        producer.flush()


def group_lag(admin: SyncAdmin, partitions: list[int]) -> int:
    """Sum over partitions of (log end offset - committed offset)."""
    ends = admin.list_offsets({(TOPIC, p): LATEST for p in partitions})
    committed = admin.list_consumer_group_offsets(GROUP)
    return sum(info.offset - (committed[tp].offset if tp in committed else 0)
               for tp, info in ends.items())


def autoscale(bootstrap: str, out: Path, rate: int, load_seconds: float, interval: float,
              timeout_s: float = 90) -> int:
    load = threading.Thread(target=produce_load, args=(bootstrap, rate, load_seconds), daemon=True)
    workers = [Worker(bootstrap, 1)]
    workers[0].start()
    retired: list[Worker] = []
    load.start()
    out.parent.mkdir(parents=True, exist_ok=True)
    with SyncAdmin({"bootstrap.servers": bootstrap}) as admin, out.open("w") as log:
        partitions = sorted(admin.describe_topics([TOPIC])[TOPIC].partitions)
        previous, cooldown, started = None, 0, time.monotonic()
        while time.monotonic() - started < timeout_s:
            time.sleep(interval)
            lag = group_lag(admin, partitions)
            trend = 0.0 if previous is None else (lag - previous) / interval
            previous = lag
            change = 0 if cooldown else decide(lag, trend, len(workers), len(partitions))
            cooldown = COOLDOWN_TICKS if change else max(0, cooldown - 1)
            if change > 0:
                workers.append(Worker(bootstrap, len(workers) + 1))
                workers[-1].start()
            elif change < 0:
                retired.append(workers.pop())
                retired[-1].stopping.set()
            action = {1: "scale-up", -1: "scale-down", 0: "keep"}[change]
            entry = {"t": round(time.monotonic() - started, 1), "lag": lag, "trend": round(trend, 1),
                     "workers": len(workers), "action": action}
            log.write(json.dumps(entry) + "\n")
            log.flush()
            print(f"t={entry['t']:5.1f}s lag={lag:5d} trend={trend:+7.1f}/s "
                  f"workers={len(workers)} {action:10} processed per worker: "
                  f"{[w.processed for w in workers]}", flush=True)
            if not load.is_alive() and lag == 0 and len(workers) == MIN_WORKERS:
                break
    for worker in workers:
        worker.stopping.set()
    for worker in workers + retired:
        worker.join(timeout=30)  # each one leaves the group (LeaveGroup) as it closes
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-server", required=True)
    parser.add_argument("--out", required=True, help="the decision log (JSON lines)")
    parser.add_argument("--rate", type=int, default=400, help="records/s of the load")
    parser.add_argument("--load-seconds", type=float, default=5)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between measures")
    args = parser.parse_args()
    return autoscale(args.bootstrap_server, Path(args.out), args.rate, args.load_seconds,
                     args.interval)


if __name__ == "__main__":
    sys.exit(main())

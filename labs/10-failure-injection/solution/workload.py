"""Run a payments workload under faults and record its history.

The reference solution of lab 10, part 1. For about 12 seconds, against the
topic ``--topic`` (3 partitions, 3 replicas, ``min.insync.replicas=2``):

- a *writer* sends unique values (``<run>-w-0001``, ...) with ``acks=all`` and
  ``enable.idempotence`` as ``--idempotence`` says, and records for each one
  whether it was acknowledged (and at which partition and offset) or failed;
- a *transactional writer* sends transactions of four values (``<run>-t-0001-0`` ...)
  and aborts every third one on purpose; it records each outcome: committed,
  aborted, or unknown (an error before the commit's answer);
- a *reader* consumes the topic with ``--isolation-level`` while it is written;
- the *nemesis* breaks the local cluster on a schedule with its fault
  toolkit: kill -9 the leader of partition 0 and restart it, pause a
  follower (SIGSTOP) and resume it, make the clients' link to a leader slow
  (a 700 ms delay each way, longer than the writer's ``request.timeout.ms``
  of 1000 ms, so requests time out and are retried) and heal it, cut the
  clients off a broker and heal it.

Once every fault is healed, a *final read* takes the whole topic
(read_committed) as the truth. Every operation goes to ``--out`` as one JSON
line, for ``checker.py``. Run::

    python workload.py --bootstrap-server localhost:9092 --cluster-dir lab-data/cluster \\
        --topic accounts-safe --idempotence true --out lab-data/work/10/history-safe.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from minikafka.labs import ClusterFaults
from minikafka_clients import SyncAdmin, SyncConsumer, SyncProducer


class History:
    """The operations of every thread, in the order they completed (thread-safe).

    ``run_id`` prefixes every value of this run, so a second run on the same
    topic has values of its own, and reads of older runs' values are left out.
    """

    def __init__(self):
        self.ops: list[dict] = []
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.run_id = f"r{int(time.time() * 1000) % 10**8}"

    def add_read(self, reader: str, record) -> None:
        value = record.value.decode(errors="replace")
        if value.startswith(self.run_id):
            self.add(type="read", reader=reader, value=value, partition=record.partition,
                     offset=record.offset)

    def add(self, **op) -> None:
        op["t"] = round(time.monotonic() - self.started, 3)
        with self.lock:
            self.ops.append(op)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(op) + "\n" for op in self.ops))


def write_plain(bootstrap: str, topic: str, idempotence: bool, history: History,
                stop: threading.Event) -> None:
    """Unique values, 40 a second; each one's outcome once known."""
    config = {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": idempotence,
              "request.timeout.ms": 1000, "delivery.timeout.ms": 30_000, "linger.ms": 5,
              "max.in.flight.requests.per.connection": 1 if not idempotence else 5}
    pending = []
    with SyncProducer(config) as producer:
        n = 0
        while not stop.is_set():
            n += 1
            value = f"{history.run_id}-w-{n:04d}"
            pending.append((value, producer.produce(topic, value.encode(), key=value.encode())))
            time.sleep(0.025)
        producer.flush(35_000)
    for value, future in pending:
        try:
            metadata = future.result(timeout=0)
            history.add(type="write", value=value, status="ok", partition=metadata.partition,
                        offset=metadata.offset)
        except Exception as exc:  # noqa: BLE001 - any failure is a failed write for the checker
            history.add(type="write", value=value, status="fail", error=type(exc).__name__)


def write_transactions(bootstrap: str, topic: str, history: History, stop: threading.Event) -> None:
    """Transactions of four values; every third one aborted on purpose."""
    n = 0
    while not stop.is_set():
        config = {"bootstrap.servers": bootstrap, "transactional.id": "bank-transfers",
                  "transaction.timeout.ms": 10_000, "request.timeout.ms": 5_000,
                  "delivery.timeout.ms": 20_000}
        try:
            with SyncProducer(config) as producer:
                producer.init_transactions()
                while not stop.is_set():
                    n += 1
                    values = [f"{history.run_id}-t-{n:04d}-{i}" for i in range(4)]
                    status = "unknown"
                    try:
                        producer.begin_transaction()
                        for value in values:
                            producer.produce(topic, value.encode(), key=value.encode())
                        if n % 3 == 0:
                            producer.flush()  # the records reach the log before the abort
                            producer.abort_transaction()
                            status = "aborted"
                        else:
                            producer.commit_transaction()
                            status = "committed"
                    finally:
                        history.add(type="txn", values=values, status=status)
                    time.sleep(0.1)
        except Exception:  # noqa: BLE001 - a fault broke the producer: start a new one
            time.sleep(0.5)


def read_live(bootstrap: str, topic: str, isolation_level: str, history: History,
              stop: threading.Event) -> None:
    """Read the topic while it is written; record every value returned."""
    config = {"bootstrap.servers": bootstrap, "isolation.level": isolation_level,
              "auto.offset.reset": "earliest", "enable.auto.commit": False}
    with SyncConsumer(config) as consumer:
        consumer.assign([(topic, p) for p in consumer.partitions_for(topic)])
        while not stop.is_set():
            for record in consumer.poll(0.5):
                history.add_read("live", record)


def read_final(bootstrap: str, topic: str, history: History) -> None:
    """After the faults: the whole topic, read_committed, until nothing more comes."""
    config = {"bootstrap.servers": bootstrap, "isolation.level": "read_committed",
              "auto.offset.reset": "earliest", "enable.auto.commit": False}
    with SyncConsumer(config) as consumer:
        consumer.assign([(topic, p) for p in consumer.partitions_for(topic)])
        while records := consumer.poll(3.0):
            for record in records:
                history.add_read("final", record)


def leader_of(bootstrap: str, topic: str, partition: int) -> int:
    with SyncAdmin({"bootstrap.servers": bootstrap}) as admin:
        return admin.describe_topics([topic])[topic].partitions[partition].leader_id


def nemesis(bootstrap: str, topic: str, faults: ClusterFaults, history: History) -> None:
    """The schedule of faults; each one healed before the next."""
    def fault(what: str, action, *args) -> None:
        history.add(type="nemesis", what=what)
        print(f"nemesis: {what}", flush=True)
        action(*args)

    time.sleep(1.5)
    leader = leader_of(bootstrap, topic, 0)
    fault(f"kill {leader}", faults.kill, leader)
    time.sleep(2)
    fault(f"restart {leader}", faults.restart, leader)
    follower = 1 + leader % 3
    fault(f"pause {follower}", faults.pause, follower)
    time.sleep(3.5)  # longer than replica.lag.time.max.ms: it leaves the ISR
    fault(f"resume {follower}", faults.resume, follower)
    slow = leader_of(bootstrap, topic, 1)
    fault(f"slow-client {slow} 700ms", faults.slow_client, slow, 700)
    time.sleep(2)
    fault(f"slow-client {slow} 0ms (healed)", faults.slow_client, slow, 0)
    cut = leader_of(bootstrap, topic, 2)
    fault(f"cut-client {cut}", faults.cut_client, cut)
    time.sleep(1.5)
    fault(f"heal-client {cut}", faults.heal_client, cut)


def run(args) -> None:
    history, stop = History(), threading.Event()
    threads = [
        threading.Thread(target=write_plain, args=(args.bootstrap_server, args.topic,
                                                   args.idempotence == "true", history, stop)),
        threading.Thread(target=write_transactions, args=(args.bootstrap_server, args.topic, history, stop)),
        threading.Thread(target=read_live, args=(args.bootstrap_server, args.topic, args.isolation_level,
                                                 history, stop)),
    ]
    for thread in threads:
        thread.start()
    try:
        if args.cluster_dir:
            nemesis(args.bootstrap_server, args.topic, ClusterFaults(Path(args.cluster_dir)), history)
        else:
            time.sleep(15)  # no fault toolkit: a quiet run
        time.sleep(1)
    finally:
        if args.cluster_dir:
            ClusterFaults(Path(args.cluster_dir)).heal_all()
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    read_final(args.bootstrap_server, args.topic, history)
    history.write(Path(args.out))
    counts = {kind: sum(1 for op in history.ops if op["type"] == kind)
              for kind in ("write", "txn", "read", "nemesis")}
    print(f"history: {counts['write']} writes, {counts['txn']} transactions, {counts['read']} reads, "
          f"{counts['nemesis']} faults -> {args.out}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-server", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--out", required=True, help="the history (JSON lines)")
    parser.add_argument("--idempotence", choices=["true", "false"], default="true")
    parser.add_argument("--isolation-level", choices=["read_committed", "read_uncommitted"],
                        default="read_committed", help="the live reader's")
    parser.add_argument("--cluster-dir", help="the local cluster's directory (the faults); "
                        "without it the workload runs without faults")
    run(parser.parse_args())
    return 0


if __name__ == "__main__":
    sys.exit(main())

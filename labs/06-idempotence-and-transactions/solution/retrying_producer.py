"""Send numbered records while the client link flaps; count what landed twice.

The reference solution of lab 06, part 1. The producer waits only
``request.timeout.ms`` = 1000 ms for an answer. The script then makes the link
between clients and the partition's leader slow (700 ms each way) for a second and a
half, twice, with the local cluster's fault toolkit
(``minikafka cluster slow-client``). A Produce request sent in a slow spell
reaches the broker after 700 ms and is appended, but its answer comes back
after 1400 ms: the client has given up at 1000 ms, closes the connection and
sends the same batch again. Without idempotence the broker cannot tell that
second copy from new data and appends it again: a duplicate. With
``enable.idempotence=true`` the batch carries a producer id and a sequence
number, the broker recognises the retry and answers with the first copy's
offset.

Run::

    python retrying_producer.py --bootstrap-server localhost:9092 \\
        --cluster-dir lab-data/cluster --topic retries-plain --idempotence false
"""

from __future__ import annotations

import argparse
import collections
import sys
import threading
import time
from pathlib import Path

from minikafka.labs import ClusterFaults
from minikafka_clients import SyncAdmin, SyncConsumer, SyncProducer

MIN_COUNT = 40
SLOW_MS = 700


def producer_config(bootstrap: str, idempotence: bool) -> dict:
    """The producer's settings: short timeouts so a slow link causes retries."""
    # LAB 06: the one setting that turns retries from "at least once" into "exactly once per partition".
    return {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": idempotence,
        "acks": "all",                      # idempotence requires acks=all
        "retries": 2**31 - 1,               # retry until delivery.timeout.ms
        "request.timeout.ms": 1000,         # give up waiting for an answer after 1 s ...
        "delivery.timeout.ms": 60_000,      # ... but keep retrying the record for a minute
        "max.in.flight.requests.per.connection": 1,
        "linger.ms": 0,
    }


def set_client_delay(cluster_dir: str, broker: int, delay_ms: int) -> None:
    """``minikafka cluster slow-client --dir DIR BROKER --delay-ms N``, from Python."""
    ClusterFaults(Path(cluster_dir)).slow_client(broker, delay_ms)


def flap_link(cluster_dir: str, broker: int, rounds: int = 2) -> None:
    """Make the client link of ``broker`` slow, then fast again, ``rounds`` times."""
    try:
        for _ in range(rounds):
            set_client_delay(cluster_dir, broker, SLOW_MS)
            time.sleep(1.5)
            set_client_delay(cluster_dir, broker, 0)
            time.sleep(0.5)
    finally:
        set_client_delay(cluster_dir, broker, 0)


def leader_of(bootstrap: str, topic: str) -> int:
    with SyncAdmin({"bootstrap.servers": bootstrap}) as admin:
        return admin.describe_topics([topic])[topic].partitions[0].leader_id


def count_copies(bootstrap: str, topic: str, run_id: str) -> collections.Counter:
    """How many times each value of this run is stored in partition 0."""
    copies: collections.Counter = collections.Counter()
    config = {"bootstrap.servers": bootstrap, "auto.offset.reset": "earliest",
              "enable.auto.commit": False}
    with SyncConsumer(config) as consumer:
        consumer.assign([(topic, 0)])
        idle_since = time.monotonic()
        while time.monotonic() - idle_since < 1:
            records = consumer.poll(0.5)
            if records:
                idle_since = time.monotonic()
            for record in records:
                if record.value.startswith(run_id.encode()):
                    copies[record.value] += 1
    return copies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-server", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--idempotence", choices=["true", "false"], required=True)
    parser.add_argument("--cluster-dir", help="the local cluster's directory (for the faults); "
                        "without it no fault is injected")
    args = parser.parse_args()
    bootstrap = args.bootstrap_server
    run_id = f"run-{int(time.time() * 1000)}"
    config = producer_config(bootstrap, args.idempotence == "true")
    with SyncProducer(config) as producer:
        producer.produce(args.topic, b"warm-up", partition=0)  # connections and producer id first
        producer.flush()
        flapper = None
        if args.cluster_dir:
            broker = leader_of(bootstrap, args.topic)
            flapper = threading.Thread(target=flap_link, args=(args.cluster_dir, broker))
            flapper.start()
        sent = 0
        while sent < MIN_COUNT or (flapper and flapper.is_alive()):
            producer.produce(args.topic, f"{run_id}-{sent:03d}".encode(), partition=0)
            sent += 1
            time.sleep(0.05)
        unsent = producer.flush(60_000)
        if flapper:
            flapper.join()
        retries = producer.metrics().get("record-retry-total", 0)
    copies = count_copies(bootstrap, args.topic, run_id)
    duplicates = sum(n - 1 for n in copies.values())
    print(f"enable.idempotence={args.idempotence}: sent {sent} records, {int(retries)} retried "
          f"batches, {unsent} undelivered")
    print(f"stored: {sum(copies.values())} records, {len(copies)} distinct, {duplicates} duplicates")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""(Starter) Watch a cluster's early-warning signals once a second, while a producer writes.

The reference solution of lab 09. Every second it scrapes each broker's
Prometheus endpoint (``/metrics``) and prints, summed over the brokers:

- ``urp``: under-replicated partitions (``kafka_server_replicamanager_underreplicatedpartitions``,
  reported by each partition's leader);
- ``under_min_isr``: partitions whose ISR is below ``min.insync.replicas``;
- ``offline``: partitions without a leader (the active controller reports them);
- ``controllers``: the active controller count (healthy: exactly 1);
- ``shrinks`` / ``expands``: the ISR shrink and expand counters;
- ``produce_ms``: the slowest ``acks=all`` write of the last second, from a
  producer this script runs (10 records per second to ``--topic``): an
  ``acks=all`` write waits for every replica in the ISR, so a slow follower
  shows here first, until the leader drops it from the ISR.

Each sample is also written as one JSON line to ``--out``.

Run::

    python watch_signals.py --bootstrap-server localhost:9092 \\
        --metrics-url http://127.0.0.1:9492/metrics,http://127.0.0.1:9493/metrics,http://127.0.0.1:9494/metrics \\
        --seconds 20 --out lab-data/work/09/signals.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import urllib.request
from pathlib import Path

from minikafka_clients import SyncProducer

SIGNALS = {  # our name -> the Prometheus JMX exporter's name for Kafka's metric
    "urp": "kafka_server_replicamanager_underreplicatedpartitions",
    "under_min_isr": "kafka_server_replicamanager_underminisrpartitioncount",
    "offline": "kafka_controller_kafkacontroller_offlinepartitionscount",
    "controllers": "kafka_controller_kafkacontroller_activecontrollercount",
    "shrinks": "kafka_server_replicamanager_isrshrinks_total",
    "expands": "kafka_server_replicamanager_isrexpands_total",
}


def parse_metrics(text: str) -> dict[str, float]:
    """The Prometheus text format's samples without labels: ``{name: value}``."""
    # LAB 09: one sample per line, "name value" or "name{labels} value"; lines starting
    # with "#" are comments (HELP, TYPE). Keep the samples without labels, as floats.
    return {}


def scrape(url: str) -> dict[str, float]:
    """One broker's signals; a broker that does not answer counts as nothing (and is reported)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            values = parse_metrics(response.read().decode())
    except OSError:
        return {"down": 1}
    return {signal: values.get(name, 0.0) for signal, name in SIGNALS.items()}


class Writer(threading.Thread):
    """Writes 10 records/s with acks=all; remembers the slowest acknowledgement since the last read."""

    def __init__(self, bootstrap: str, topic: str):
        super().__init__(daemon=True)
        self.bootstrap, self.topic = bootstrap, topic
        self.slowest_ms = 0.0
        self.stopping = threading.Event()

    def run(self) -> None:
        config = {"bootstrap.servers": self.bootstrap, "acks": "all", "linger.ms": 0}
        with SyncProducer(config) as producer:
            while not self.stopping.is_set():
                sent = time.monotonic()
                producer.produce(self.topic, b"payment").result(timeout=60)
                self.slowest_ms = max(self.slowest_ms, (time.monotonic() - sent) * 1000)
                time.sleep(0.1)

    def take_slowest(self) -> float:
        slowest, self.slowest_ms = self.slowest_ms, 0.0
        return slowest


def watch(bootstrap: str, urls: list[str], seconds: float, out: Path, topic: str) -> None:
    writer = Writer(bootstrap, topic)
    writer.start()
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(" time  urp  under_min_isr  offline  controllers  shrinks  expands  produce_ms  down")
    with out.open("w") as log:
        while time.monotonic() - started < seconds:
            time.sleep(1)
            per_broker = [scrape(url) for url in urls]
            sample = {signal: sum(b.get(signal, 0.0) for b in per_broker) for signal in SIGNALS}
            sample["down"] = sum(b.get("down", 0) for b in per_broker)
            sample["produce_ms"] = round(writer.take_slowest(), 1)
            sample["t"] = round(time.monotonic() - started, 1)
            log.write(json.dumps(sample) + "\n")
            log.flush()
            print(f"{sample['t']:5.1f} {sample['urp']:4.0f} {sample['under_min_isr']:14.0f} "
                  f"{sample['offline']:8.0f} {sample['controllers']:12.0f} {sample['shrinks']:8.0f} "
                  f"{sample['expands']:8.0f} {sample['produce_ms']:11.1f} {sample['down']:5d}",
                  flush=True)
    writer.stopping.set()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-server", required=True)
    parser.add_argument("--metrics-url", required=True, help="the brokers' /metrics URLs, comma-separated")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--topic", default="payments", help="where the acks=all writer writes")
    parser.add_argument("--out", required=True, help="the samples, as JSON lines")
    args = parser.parse_args()
    watch(args.bootstrap_server, args.metrics_url.split(","), args.seconds, Path(args.out), args.topic)
    return 0


if __name__ == "__main__":
    sys.exit(main())

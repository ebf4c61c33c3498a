"""What recording metrics costs: one broker with metrics on against one with ``MINIKAFKA_METRICS=0``.

Two single-broker processes run side by side, identical but for
``MINIKAFKA_METRICS`` (unset: every meter, counter and histogram records;
``0``: recording is a no-op, the registry stays empty). Round after round,
alternating which broker goes first, each gets:

  produce   ``--scale-mb`` of 1 KiB values to a fresh one-partition topic,
            confluent-kafka, acks=1, linger.ms=5 (``produce_consume.py``'s
            ``produce_throughput``), deleted after the round;
  consume   that partition read from the start by kcat (C, so the client's
            per-message cost does not hide the broker's), or by
            confluent-kafka with ``--consumer python``.

Both brokers' ``/metrics`` endpoints are scraped every ``--scrape-interval``
seconds throughout (15, Prometheus' default, unless told), so the on side
pays for its scrapes too; ``--scrape-interval 1`` shows what a scrape costs. Besides throughput, each broker's CPU seconds per GB moved (from
``/proc/<pid>/stat``) are printed: on a shared machine they are steadier than
MB/s. The result is one JSON line with the medians and ``slowdown``
(``1 - on / off``; the target is at most 0.03) for each measure.

Usage:
  python benchmarks/metrics.py [--rounds 7] [--scale-mb 1000] [--scrape-interval 15]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path

from confluent_kafka.admin import AdminClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from produce_consume import (MB, consume_kcat, consume_throughput, cpu_seconds, create_topic,  # noqa: E402
                             free_port, machine, produce_throughput, wait_port)

VALUE_SIZE = 1024
SIDES = ("metrics_on", "metrics_off")


class BrokerUnderTest:
    """One broker process with its client and metrics ports, metrics on or off."""

    def __init__(self, data_dir: Path, metrics_on: bool):
        self.port, self.metrics_port = free_port(), free_port()
        env = dict(os.environ)
        if metrics_on:
            env.pop("MINIKAFKA_METRICS", None)
        else:
            env["MINIKAFKA_METRICS"] = "0"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "minikafka", "broker",
             "--override", f"listeners=PLAINTEXT://127.0.0.1:{self.port}",
             "--override", f"metrics.http.listener=127.0.0.1:{self.metrics_port}",
             "--override", f"log.dirs={data_dir}"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        wait_port(self.metrics_port)
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.scrapes = 0

    def scrape(self) -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as response:
            response.read()
        self.scrapes += 1

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def scrape_forever(brokers: list[BrokerUnderTest], interval_s: float, stop: threading.Event) -> None:
    """Scrape every broker every ``interval_s`` until ``stop`` is set."""
    while not stop.wait(interval_s):
        for broker in brokers:
            try:
                broker.scrape()
            except OSError:
                pass  # a slow answer under load is not what is measured


def delete_topic(bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until the result
    admin.delete_topics([topic])[topic].result(30)


def one_round(broker: BrokerUnderTest, scale_mb: int, consumer: str) -> dict:
    """Produce then consume ``scale_mb`` on ``broker``; throughput and broker CPU per GB."""
    topic = create_topic(broker.bootstrap)
    count = scale_mb * MB // VALUE_SIZE
    cpu_before = cpu_seconds(broker.proc.pid)
    produced = produce_throughput(broker.bootstrap, topic, VALUE_SIZE, "1", count * VALUE_SIZE)
    cpu_produced = cpu_seconds(broker.proc.pid)
    read = consume_kcat if consumer == "kcat" else consume_throughput
    consumed = read(broker.bootstrap, topic, count, VALUE_SIZE)
    cpu_consumed = cpu_seconds(broker.proc.pid)
    delete_topic(broker.bootstrap, topic)  # rounds of a gigabyte would fill the disk
    gigabytes = count * VALUE_SIZE / 1e9
    return {
        "produce_mb_per_s": produced["mb_per_s"],
        "consume_mb_per_s": consumed["mb_per_s"],
        "produce_cpu_s_per_gb": (cpu_produced - cpu_before) / gigabytes,
        "consume_cpu_s_per_gb": (cpu_consumed - cpu_produced) / gigabytes,
    }


def compare(rounds: int, scale_mb: int, consumer: str, scrape_interval_s: float) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="minikafka-metrics-bench-"))
    brokers = {side: BrokerUnderTest(workdir / side, side == "metrics_on") for side in SIDES}
    stop = threading.Event()
    scraper = threading.Thread(target=scrape_forever, args=(list(brokers.values()), scrape_interval_s, stop),
                               daemon=True)
    scraper.start()
    results = {side: [] for side in SIDES}
    load = [os.getloadavg()[0]]
    try:
        for round_no in range(rounds):
            order = SIDES if round_no % 2 == 0 else tuple(reversed(SIDES))
            for side in order:
                results[side].append(one_round(brokers[side], scale_mb, consumer))
            load.append(os.getloadavg()[0])
    finally:
        stop.set()
        scraper.join()
        for broker in brokers.values():
            broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return summary(results, rounds, scale_mb, consumer, load, {s: b.scrapes for s, b in brokers.items()})


def summary(results: dict, rounds: int, scale_mb: int, consumer: str, load: list, scrapes: dict) -> dict:
    measures = results["metrics_on"][0].keys()
    median = {side: {m: statistics.median(r[m] for r in results[side]) for m in measures} for side in SIDES}
    slowdown = {m: round(1 - median["metrics_on"][m] / median["metrics_off"][m], 3)
                for m in measures if m.endswith("mb_per_s")}
    extra_cpu = {m: round(median["metrics_on"][m] / median["metrics_off"][m] - 1, 3)
                 for m in measures if m.endswith("cpu_s_per_gb")}
    return {
        "benchmark": "metrics", "rounds": rounds, "scale_mb": scale_mb, "value_bytes": VALUE_SIZE,
        "consumer": consumer, "machine": machine(),
        "load_avg_1m": [round(x, 2) for x in load], "scrapes": scrapes,
        "median": {side: {m: round(v, 2) for m, v in values.items()} for side, values in median.items()},
        "slowdown": slowdown, "extra_cpu": extra_cpu,
        "all_rounds": {side: [{m: round(v, 2) for m, v in r.items()} for r in rs] for side, rs in results.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--scale-mb", type=int, default=1000, help="MB produced and consumed per round")
    parser.add_argument("--consumer", choices=("kcat", "python"), default="kcat")
    parser.add_argument("--scrape-interval", type=float, default=15.0,
                        help="seconds between scrapes (default: Prometheus' scrape_interval)")
    args = parser.parse_args()
    print(json.dumps(compare(args.rounds, args.scale_mb, args.consumer, args.scrape_interval)), flush=True)


if __name__ == "__main__":
    main()

"""A noisy producer and a quiet one share a broker: what does the quiet one see?

The reference solution of lab 07, part 1. Two producers run side by side for
``--seconds``:

- ``noisy`` (``client.id=noisy``) writes 10 KiB records to ``telemetry`` as
  fast as it can;
- ``quiet`` (``client.id=quiet``) writes one small record to ``orders`` every
  20 ms and times each one from ``produce()`` to its acknowledgement.

It prints the noisy producer's throughput and its ``produce-throttle-time``
metrics (the throttle time the broker asked for, KIP-219), and the quiet
producer's latency percentiles, and writes them as JSON to ``--out``. Run it
once without a quota and once with ``producer_byte_rate`` set for the client
id ``noisy``.

Run::

    python noisy_neighbour.py --bootstrap-server localhost:9092 --seconds 4 \\
        --out lab-data/work/07/before.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

from minikafka_clients import SyncProducer

RECORD = b"x" * 10_240


def run_noisy(bootstrap: str, seconds: float, results: multiprocessing.Queue) -> None:
    """Write as fast as the broker (and its quota) lets us; count the bytes acknowledged.

    Runs in a process of its own, so that it does not slow the quiet producer
    down in this one (Python runs one thread at a time per process).
    """
    config = {"bootstrap.servers": bootstrap, "client.id": "noisy", "acks": 1, "linger.ms": 5}
    acknowledged = 0
    with SyncProducer(config) as producer:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            for _ in range(10):
                producer.produce("telemetry", RECORD)
            producer.flush()  # 100 KiB at a time: a throttled broker slows us down
            acknowledged += 10 * len(RECORD)
        elapsed = time.monotonic() - started
        result = producer.metrics()
    result["bytes_per_second"] = acknowledged / elapsed
    results.put(result)


def run_quiet(bootstrap: str, seconds: float, result: dict) -> None:
    """One small record every 20 ms; the time from produce() to the acknowledgement of each."""
    config = {"bootstrap.servers": bootstrap, "client.id": "quiet", "acks": 1, "linger.ms": 0}
    latencies_ms = []
    with SyncProducer(config) as producer:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            sent = time.monotonic()
            producer.produce("orders", b"order").result(timeout=30)
            latencies_ms.append((time.monotonic() - sent) * 1000)
            time.sleep(0.02)
    latencies_ms.sort()
    result["p50_ms"] = statistics.median(latencies_ms)
    result["p99_ms"] = latencies_ms[int(0.99 * (len(latencies_ms) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-server", required=True)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--out", required=True, help="where to write the measurements (JSON)")
    args = parser.parse_args()
    results: multiprocessing.Queue = multiprocessing.Queue()
    noisy_process = multiprocessing.Process(target=run_noisy,
                                            args=(args.bootstrap_server, args.seconds, results))
    noisy_process.start()
    quiet: dict = {}
    run_quiet(args.bootstrap_server, args.seconds, quiet)
    noisy = results.get(timeout=60)
    noisy_process.join()
    result = {"noisy_bytes_per_second": round(noisy["bytes_per_second"]),
              "noisy_produce_throttle_time_avg_ms": noisy.get("produce-throttle-time-avg", 0.0),
              "noisy_produce_throttle_time_max_ms": noisy.get("produce-throttle-time-max", 0.0),
              "quiet_p50_ms": round(quiet["p50_ms"], 2), "quiet_p99_ms": round(quiet["p99_ms"], 2)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"noisy: {result['noisy_bytes_per_second'] / 2**20:.2f} MiB/s, produce-throttle-time "
          f"avg {result['noisy_produce_throttle_time_avg_ms']:.0f} ms, "
          f"max {result['noisy_produce_throttle_time_max_ms']:.0f} ms")
    print(f"quiet: latency p50 {result['quiet_p50_ms']} ms, p99 {result['quiet_p99_ms']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Storage core throughput: validate + append, and 1 MiB fetch reads, in MB/s.

Runs each case with the compiled core in this process and with the
uncompiled sources (``MINIKAFKA_PURE=1``) in a subprocess, then prints ONE
JSON line. Cases: batches of ~1 MiB holding 1 KiB values, and batches of
~1 MiB holding 100-byte values (ten times the records to walk).

Usage: ``python benchmarks/storage_core.py [--mb 256]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

FETCH_BYTES = 1024 * 1024
NOW = 1_700_000_000_000


def run_case(value_bytes: int, total_mb: int) -> dict:
    """Append ``total_mb`` of ~1 MiB batches, then read it all back in 1 MiB fetches."""
    from minikafka.storage import Log, LogConfig
    from minikafka_core.records import build_batch_of_values as build_batch

    records_per_batch = (FETCH_BYTES - 4096) // (value_bytes + 10)
    batch = build_batch([b"v" * value_bytes] * records_per_batch, base_timestamp=NOW)
    count = max(1, total_mb * 1024 * 1024 // len(batch))
    root = tempfile.mkdtemp(prefix="minikafka-bench-")
    try:
        log = Log(os.path.join(root, "bench-0"), LogConfig(), NOW)
        started = time.perf_counter()
        for _ in range(count):
            log.append(batch, log.validate(batch, now_ms=NOW), NOW)
        append_s = time.perf_counter() - started
        started, offset, read_bytes = time.perf_counter(), 0, 0
        while offset < log.log_end_offset:
            data = log.read(offset, FETCH_BYTES)
            read_bytes += len(data)
            offset += records_per_batch * (len(data) // len(batch))
        read_s = time.perf_counter() - started
        log.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    mb = count * len(batch) / 1e6
    return {"append_MBps": round(mb / append_s, 1), "read_MBps": round(read_bytes / 1e6 / read_s, 1),
            "batch_bytes": len(batch), "batches": count}


def run_all(total_mb: int) -> dict:
    import minikafka_core

    return {"compiled": minikafka_core.COMPILED,
            "value_1KiB": run_case(1024, total_mb),
            "value_100B": run_case(100, total_mb)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=256, help="MB appended per case")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_all(args.mb)))
        return
    compiled = run_all(args.mb)
    env = dict(os.environ, MINIKAFKA_PURE="1")
    pure = json.loads(subprocess.run([sys.executable, __file__, "--child", "--mb", str(args.mb)],
                                     env=env, capture_output=True, text=True, check=True).stdout)
    print(json.dumps({"benchmark": "storage_core", "fetch_bytes": FETCH_BYTES,
                      "compiled": compiled, "pure": pure}))


if __name__ == "__main__":
    main()

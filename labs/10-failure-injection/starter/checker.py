"""(Starter) Check a workload's history for lost, duplicated and aborted-read records.

The reference solution of lab 10, part 2: a small checker in the spirit of
Jepsen's. It does no I/O but reading the history file (JSON lines written by
``workload.py``) and decides, after the fact, whether what the clients saw is
allowed:

- ``lost``: a value whose write was acknowledged (a plain write that got its
  offset, or a transaction whose commit returned) is missing from the final
  read of the topic;
- ``duplicate``: a value stored at two offsets (in the final read): the same
  write appended twice;
- ``aborted-read``: a value of an aborted transaction returned by a read
  (live or final): a read_committed consumer must never return one.

A write that failed or whose outcome is unknown may be present or not: both
are allowed (the client could not tell). Run::

    python checker.py lab-data/work/10/history-safe.jsonl --verdict lab-data/work/10/verdict-safe.json

It prints the anomalies, writes the verdict as JSON, and exits 1 when the
history is not valid.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def acknowledged(history: list[dict]) -> set[str]:
    """Values the clients were told are written."""
    values = {op["value"] for op in history if op["type"] == "write" and op["status"] == "ok"}
    for op in history:
        if op["type"] == "txn" and op["status"] == "committed":
            values.update(op["values"])
    return values


def final_read(history: list[dict]) -> list[dict]:
    return [op for op in history if op["type"] == "read" and op["reader"] == "final"]


def find_lost(history: list[dict]) -> list[str]:
    # LAB 10: acknowledged values that the final read does not hold.
    return []


def find_duplicates(history: list[dict]) -> list[str]:
    # LAB 10: values the final read found at more than one (partition, offset)
    # (collections.defaultdict(set) maps each value to its places).
    return []


def find_aborted_reads(history: list[dict]) -> list[str]:
    # LAB 10: values of aborted transactions that any read returned (live or final).
    return []


def check(history: list[dict]) -> dict:
    """The verdict: counts and a few examples of each anomaly, and ``valid``."""
    anomalies = {"lost": find_lost(history), "duplicate": find_duplicates(history),
                 "aborted-read": find_aborted_reads(history)}
    return {
        "valid": not any(anomalies.values()),
        "writes": sum(1 for op in history if op["type"] == "write"),
        "acknowledged": len(acknowledged(history)),
        "transactions": sum(1 for op in history if op["type"] == "txn"),
        "nemeses": [op["what"] for op in history if op["type"] == "nemesis"],
        **{kind: len(values) for kind, values in anomalies.items()},
        "examples": {kind: values[:5] for kind, values in anomalies.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("history", type=Path)
    parser.add_argument("--verdict", type=Path, help="write the verdict here (JSON)")
    args = parser.parse_args()
    verdict = check(load(args.history))
    if args.verdict:
        args.verdict.write_text(json.dumps(verdict, indent=2) + "\n")
    print(f"{verdict['writes']} writes ({verdict['acknowledged']} values acknowledged), "
          f"{verdict['transactions']} transactions, nemeses: {', '.join(verdict['nemeses']) or 'none'}")
    for kind in ("lost", "duplicate", "aborted-read"):
        print(f"{kind:13} {verdict[kind]:5d}  {' '.join(verdict['examples'][kind])}")
    print("VALID" if verdict["valid"] else "INVALID")
    return 0 if verdict["valid"] else 1


if __name__ == "__main__":
    sys.exit(main())

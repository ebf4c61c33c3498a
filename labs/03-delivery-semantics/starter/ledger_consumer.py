"""Apply payment events to a ledger database, committing offsets before or after.

Starter: complete the places marked ``# LAB 03:`` (``solution/`` has the answer).

The consumer reads ``payments`` in group ``--group`` and applies each event to
a SQLite ledger (``--db``). Where the offset commit sits decides what a crash
does:

- ``--mode at-most-once``: commit the record's offset, *then* apply it. A crash
  between the two loses the record: the group has moved past it.
- ``--mode at-least-once``: apply the record, *then* commit. A crash between the
  two re-delivers the record to whoever takes the partition next.

``--crash-after N`` kills the process (``os._exit``: no commit, no LeaveGroup,
as a power cut or ``kill -9`` would) in that window, right after the N-th
record's first step. ``--write insert`` appends a row per delivery (a naive
downstream); ``--write upsert`` makes the write idempotent: the event's unique
id is the table's primary key, so a re-delivered event is counted
(``deliveries``) but applied once. At-least-once delivery plus an idempotent
write gives each event's effect exactly once.

The consumer assigns itself every partition of the topic (``assign``, no
group membership: consumer groups are the next lab) and commits its offsets
under ``group.id``, so a restarted consumer goes on from the committed
offsets at once. It stops once it has caught up (no lag on any partition).

    python labs/03-delivery-semantics/starter/ledger_consumer.py --bootstrap-server 127.0.0.1:9092 \\
        --mode at-least-once --write upsert --crash-after 20
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sqlite3
import time

from minikafka_clients import SyncConsumer

TOPIC = "payments"
CRASH_EXIT_STATUS = 3
CATCH_UP_TIMEOUT_S = 60.0


def open_ledger(path: pathlib.Path, write: str) -> sqlite3.Connection:
    """The ledger database; its table has a primary key only for idempotent writes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None)  # autocommit: each write is durable at once
    # LAB 03: for write == "upsert", make event_id the table's PRIMARY KEY, so the
    # database itself refuses a second row for one event.
    db.execute("CREATE TABLE IF NOT EXISTS ledger (event_id TEXT, account TEXT, "
               "amount_cents INTEGER, deliveries INTEGER NOT NULL DEFAULT 1)")
    return db


def apply(db: sqlite3.Connection, event: dict, write: str) -> None:
    """Write one event to the ledger: a plain INSERT, or an idempotent upsert by event id."""
    row = (event["event_id"], event["account"], event["amount_cents"])
    # LAB 03: for write == "upsert", write idempotently: a second delivery of the
    # same event_id must not add a row; count it instead
    # (INSERT ... ON CONFLICT (event_id) DO UPDATE SET deliveries = deliveries + 1).
    db.execute("INSERT INTO ledger (event_id, account, amount_cents) VALUES (?, ?, ?)", row)


def crash() -> None:
    """Die at once, as ``kill -9`` would: no commit, no close, no goodbye to the group."""
    print("crash! (exiting without committing or leaving the group)", flush=True)
    os._exit(CRASH_EXIT_STATUS)


def caught_up(consumer: SyncConsumer) -> bool:
    """True once every assigned partition has been fetched and has no lag left."""
    assignment = consumer.assignment()
    return bool(assignment) and all(consumer.lag(tp) == 0 for tp in assignment)


def consume(bootstrap_server: str, group: str, mode: str, write: str, db_path: pathlib.Path,
            crash_after: int | None) -> int:
    """Apply events until caught up (or crash); return how many this run applied."""
    db = open_ledger(db_path, write)
    config = {"bootstrap.servers": bootstrap_server, "group.id": group,
              "enable.auto.commit": False,  # we decide where the commit goes
              "auto.offset.reset": "earliest", "fetch.max.wait.ms": 100}
    processed = 0
    with SyncConsumer(config) as consumer:
        consumer.assign([(TOPIC, p) for p in consumer.partitions_for(TOPIC)])
        deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
        while not caught_up(consumer) and time.monotonic() < deadline:
            for record in consumer.poll(0.5):
                event = json.loads(record.value)
                next_offset = {(record.topic, record.partition): record.offset + 1}
                if mode == "at-most-once":
                    consumer.commit(next_offset)
                    if processed + 1 == crash_after:
                        crash()  # committed, never applied: lost
                    apply(db, event, write)
                else:
                    apply(db, event, write)
                    if processed + 1 == crash_after:
                        crash()  # applied, never committed: delivered again
                    consumer.commit(next_offset)
                processed += 1
    return processed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-server", required=True)
    parser.add_argument("--group", default="ledger-writer")
    parser.add_argument("--mode", choices=["at-most-once", "at-least-once"], default="at-least-once")
    parser.add_argument("--write", choices=["insert", "upsert"], default="upsert")
    parser.add_argument("--db", type=pathlib.Path, default=pathlib.Path("lab-data/work/03/ledger.db"))
    parser.add_argument("--crash-after", type=int, help="crash after the N-th record's first step")
    args = parser.parse_args()
    processed = consume(args.bootstrap_server, args.group, args.mode, args.write, args.db,
                        args.crash_after)
    print(f"caught up: {processed} records processed by this run ({args.mode}, {args.write})")


if __name__ == "__main__":
    main()

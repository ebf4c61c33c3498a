"""Compare a ledger database with the events of ``payments``: lost, duplicated, re-delivered.

Reads every event of the topic (from the start, without a consumer group) and the ledger's rows, and counts:

- **lost**: events of the topic with no row in the ledger;
- **duplicated**: extra rows for an event (a naive INSERT applied a re-delivery);
- **re-delivered**: events delivered more than once (``deliveries > 1``, counted
  by an idempotent upsert, which applied them once).

    python labs/03-delivery-semantics/solution/ledger_audit.py --bootstrap-server 127.0.0.1:9092 \\
        --db lab-data/work/03/ledger.db
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import pathlib
import sqlite3
import time

from minikafka_clients import SyncConsumer

TOPIC = "payments"
READ_TIMEOUT_S = 30.0
IDLE_S = 1.0


@dataclasses.dataclass(frozen=True)
class Audit:
    """What the ledger holds against what the topic holds."""

    events: int
    rows: int
    lost: list[str]
    duplicated: list[str]
    redelivered: list[str]

    def summary(self) -> str:
        return (f"{self.events} events in '{TOPIC}', {self.rows} rows in the ledger: "
                f"{len(self.lost)} lost, {len(self.duplicated)} duplicated, "
                f"{len(self.redelivered)} re-delivered and applied once")


def topic_event_ids(bootstrap_server: str) -> list[str]:
    """Every event id in the topic, read from the start until no record comes for a second.

    Reading rather than asking ListOffsets for the end offsets holds on every
    Kafka-compatible broker.
    """
    ids = []
    config = {"bootstrap.servers": bootstrap_server, "enable.auto.commit": False,
              "fetch.max.wait.ms": 100}
    with SyncConsumer(config) as consumer:
        consumer.assign([(TOPIC, p) for p in consumer.partitions_for(TOPIC)])
        consumer.seek_to_beginning()
        deadline = time.monotonic() + READ_TIMEOUT_S
        while time.monotonic() < deadline:
            records = consumer.poll(IDLE_S)
            if not records:
                break
            ids.extend(json.loads(record.value)["event_id"] for record in records)
    return ids


def ledger_rows(db_path: pathlib.Path) -> list[tuple[str, int]]:
    """``(event_id, deliveries)`` of every row (none if the database does not exist)."""
    if not db_path.exists():
        return []
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT event_id, deliveries FROM ledger").fetchall()


def audit(bootstrap_server: str, db_path: pathlib.Path) -> Audit:
    """Count lost, duplicated and re-delivered events of one ledger."""
    events = topic_event_ids(bootstrap_server)
    rows = ledger_rows(db_path)
    per_event = collections.Counter(event_id for event_id, _ in rows)
    return Audit(
        events=len(events), rows=len(rows),
        lost=sorted(set(events) - set(per_event)),
        duplicated=sorted(event_id for event_id, count in per_event.items() if count > 1),
        redelivered=sorted(event_id for event_id, deliveries in rows if deliveries > 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-server", required=True)
    parser.add_argument("--db", type=pathlib.Path, default=pathlib.Path("lab-data/work/03/ledger.db"))
    args = parser.parse_args()
    result = audit(args.bootstrap_server, args.db)
    print(result.summary())
    for label, ids in (("lost", result.lost), ("duplicated", result.duplicated),
                       ("re-delivered", result.redelivered)):
        if ids:
            print(f"  {label}: {', '.join(ids)}")


if __name__ == "__main__":
    main()

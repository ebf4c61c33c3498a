"""Compare a ledger database with the events of ``payments``: lost, duplicated, re-delivered.

Reads every event of the topic (from the start to the end offset of each
partition, without a consumer group) and the ledger's rows, and counts:

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

from minikafka_clients import SyncAdmin, SyncConsumer
from minikafka_clients import admin as admin_ops

TOPIC = "payments"
READ_TIMEOUT_S = 30.0


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
    """Every event id in the topic, read up to each partition's end offset."""
    with SyncAdmin({"bootstrap.servers": bootstrap_server}) as admin:
        partitions = sorted(admin.describe_topics([TOPIC])[TOPIC].partitions)
        ends = admin.list_offsets({(TOPIC, p): admin_ops.LATEST for p in partitions})
    remaining = {tp: info.offset for tp, info in ends.items() if info.offset > 0}
    ids = []
    config = {"bootstrap.servers": bootstrap_server, "enable.auto.commit": False,
              "fetch.max.wait.ms": 100}
    with SyncConsumer(config) as consumer:
        consumer.assign(list(remaining))
        consumer.seek_to_beginning()
        deadline = time.monotonic() + READ_TIMEOUT_S
        while remaining and time.monotonic() < deadline:
            for record in consumer.poll(0.5):
                ids.append(json.loads(record.value)["event_id"])
                tp = (record.topic, record.partition)
                if tp in remaining and record.offset + 1 >= remaining[tp]:
                    del remaining[tp]
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

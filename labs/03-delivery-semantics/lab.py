"""Lab 3: delivery semantics: where the offset commit sits, and an idempotent downstream write.

``start`` creates ``payments`` (3 partitions) with 60 payment events, each
with a unique ``event_id``. The student's consumer applies them to a SQLite
ledger (``work/03/ledger.db``), crashes once between applying a record and
committing its offset, runs again, and must end with every event applied
exactly once: an idempotent write (the event id as the table's primary key)
absorbs the re-delivery that at-least-once delivery causes.

The check audits the ledger against the topic (``solution/ledger_audit.py``)
and the group's committed offsets against the end offsets.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import sys
from pathlib import Path

from minikafka.labs import Lab, LabContext, Report

LAB = Lab(number=3, slug="delivery-semantics", title="Delivery semantics", brokers=1,
          protocol_only=True)

TOPIC = "payments"
GROUP = "ledger-writer"
EVENTS = 60
PARTITIONS = 3
CRASH_AFTER = 20


def event(n: int) -> dict:
    """The n-th payment event (deterministic, so every run of the lab sees the same ones)."""
    return {"event_id": f"pay-{n:05d}", "account": f"acct-{n % 7}", "amount_cents": 100 * (n % 13 + 1)}


def start(ctx: LabContext) -> None:
    """Create ``payments`` and write the events, keyed by account."""
    from minikafka_clients import NewTopic

    with ctx.admin() as admin:
        admin.create_topics([NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=1)])
    with ctx.producer({"acks": "all"}) as producer:
        for n in range(1, EVENTS + 1):
            payment = event(n)
            producer.produce(TOPIC, json.dumps(payment).encode(), key=payment["account"].encode())
        producer.flush()


def check(ctx: LabContext, report: Report) -> None:
    """The ledger is keyed by event id, holds each event once, absorbed a re-delivery; offsets at the end."""
    db_path = ctx.work_dir / "ledger.db"
    check_offsets(ctx, report)
    if not db_path.exists():
        report.missing(f"no ledger database at {db_path}",
                       hint="step 4: run the consumer with --mode at-least-once --write upsert")
        return
    report.expect(event_id_is_unique(db_path), "the ledger's event_id is its primary key (or unique)",
                  "the ledger's event_id is not unique: a re-delivered event is applied twice",
                  hint="the # LAB 03 places of starter/ledger_consumer.py")
    result = load_audit(ctx).audit(ctx.bootstrap_server, db_path)
    report.expect(not result.lost and not result.duplicated and result.rows == result.events,
                  f"every one of the {result.events} events is in the ledger exactly once",
                  f"the ledger is wrong: {result.summary()}",
                  hint="delete ledger.db and the group's offsets, then run step 4 again")
    report.expect(bool(result.redelivered),
                  f"{len(result.redelivered)} event(s) delivered twice and applied once "
                  f"({', '.join(result.redelivered[:3])})",
                  "no event was delivered twice: the consumer never crashed between applying and committing",
                  hint="step 4: --crash-after 20, then run it again")


def check_offsets(ctx: LabContext, report: Report) -> None:
    """Group ``ledger-writer`` committed the end offset of every partition.

    The end offset is the last record's offset + 1, found by reading the
    partition (which holds on every Kafka-compatible broker).
    """
    ends = {(TOPIC, p): 0 for p in range(PARTITIONS)}
    for record in ctx.read_records(TOPIC):
        ends[(TOPIC, record.partition)] = max(ends[(TOPIC, record.partition)], record.offset + 1)
    with ctx.admin() as admin:
        committed = {tp: meta.offset for tp, meta in admin.list_consumer_group_offsets(GROUP, list(ends)).items()}
    behind = [f"{t}-{p} at {committed.get((t, p), 'none')} of {end}" for (t, p), end in sorted(ends.items())
              if committed.get((t, p)) != end]
    report.expect(not behind, f"group '{GROUP}' committed the end offset of every partition",
                  f"group '{GROUP}' has not committed every partition's end offset ({'; '.join(behind)})",
                  hint="step 4: run the consumer until it catches up")


def event_id_is_unique(db_path: Path) -> bool:
    """True if ``ledger.event_id`` is the primary key or has a unique index of its own."""
    with sqlite3.connect(db_path) as db:
        columns = db.execute("PRAGMA table_info(ledger)").fetchall()  # (cid, name, type, notnull, default, pk)
        if [c[1] for c in columns if c[5]] == ["event_id"]:
            return True
        for index in db.execute("PRAGMA index_list(ledger)").fetchall():  # (seq, name, unique, ...)
            if index[2] and [c[2] for c in db.execute(f"PRAGMA index_info('{index[1]}')")] == ["event_id"]:
                return True
    return False


def load_audit(ctx: LabContext):
    """The reference audit module, ``solution/ledger_audit.py``."""
    spec = importlib.util.spec_from_file_location("lab03_ledger_audit", ctx.lab_dir / "solution" / "ledger_audit.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def solve(ctx: LabContext) -> None:
    """From an empty ledger and no offsets: crash once mid-way, then run to the end."""
    (ctx.work_dir / "ledger.db").unlink(missing_ok=True)
    with ctx.admin() as admin:
        if any(g.group_id == GROUP for g in admin.list_consumer_groups()):
            admin.delete_consumer_groups([GROUP])
    args = ["--group", GROUP, "--mode", "at-least-once", "--write", "upsert",
            "--db", str(ctx.work_dir / "ledger.db")]
    crashed = ctx.run_solution("ledger_consumer", *args, "--crash-after", str(CRASH_AFTER), check=False)
    if crashed.returncode != 3:
        raise RuntimeError(f"the consumer should have crashed (exit 3), it exited {crashed.returncode}: "
                           f"{crashed.stderr.strip()}")
    ctx.run_solution("ledger_consumer", *args)

"""(Starter) Consume-transform-produce with a transaction: ``payments`` -> ``ledger``, exactly once.

The reference solution of lab 06, part 2. Each poll's records become one
transaction: the ledger entries are produced and the consumer group's new
offsets are sent to the transaction (``send_offsets_to_transaction``), then
the transaction commits, so the outputs and the input offsets become visible
together or not at all. A crash between the two can no longer lose or double
an entry.

To show what an abort leaves behind, the ``--abort-at`` transaction (the 2nd
by default) is aborted after its ledger entries were sent: those records stay
in the log, followed by an abort marker. The pipeline then rewinds the
consumer to where that transaction started and processes the same payments
again, in a new transaction that commits. A ``read_committed`` consumer of
``ledger`` sees every payment once; a ``read_uncommitted`` one also sees the
aborted entries.

Run::

    python pipeline.py --bootstrap-server localhost:9092
"""

from __future__ import annotations

import argparse
import sys
import time

from minikafka_clients import SyncAdmin, SyncConsumer, SyncProducer
from minikafka_clients.admin import LATEST

GROUP = "ledger-pipeline"
TRANSACTIONAL_ID = "ledger-pipeline-1"


def transform(value: bytes) -> bytes:
    """``payment-0042:1999`` -> ``ledger payment-0042 credit 1999``."""
    payment, _, amount = value.decode().partition(":")
    return f"ledger {payment} credit {amount}".encode()


def input_positions(bootstrap: str) -> tuple[dict, dict]:
    """The end offsets of ``payments`` and the group's committed offsets (where it resumes)."""
    with SyncAdmin({"bootstrap.servers": bootstrap}) as admin:
        partitions = admin.describe_topics(["payments"])["payments"].partitions
        ends = admin.list_offsets({("payments", p): LATEST for p in partitions})
        committed = admin.list_consumer_group_offsets(GROUP)
    return ({tp: info.offset for tp, info in ends.items()},
            {tp: meta.offset for tp, meta in committed.items()})


def rewind(consumer: SyncConsumer, records) -> None:
    """Seek each partition back to the first record of ``records`` (an aborted batch)."""
    first: dict[tuple[str, int], int] = {}
    for record in records:
        tp = (record.topic, record.partition)
        first[tp] = min(first.get(tp, record.offset), record.offset)
    for tp, offset in first.items():
        consumer.seek(tp, offset)


def run(bootstrap: str, abort_at: int, timeout_s: float = 60) -> int:
    ends, committed = input_positions(bootstrap)
    consumer = SyncConsumer({"bootstrap.servers": bootstrap, "group.id": GROUP,
                             "isolation.level": "read_committed", "enable.auto.commit": False,
                             "auto.offset.reset": "earliest",
                             "max.poll.records": 50})  # small transactions, to see several
    # LAB 06: give the producer its transactional.id (TRANSACTIONAL_ID): that makes it
    # transactional (and idempotent).
    producer = SyncProducer({"bootstrap.servers": bootstrap})
    transactions = 0
    deadline = time.monotonic() + timeout_s
    with consumer, producer:
        consumer.subscribe(["payments"])
        # LAB 06: init_transactions() first: it fences an older instance with the same id.
        while any(committed.get(tp, 0) < end for tp, end in ends.items()):
            if time.monotonic() > deadline:
                raise SystemExit("timed out before reaching the end of payments")
            records = consumer.poll(1.0)
            if not records:
                continue
            transactions += 1
            # LAB 06: make this poll's records one transaction:
            #   begin_transaction(); produce transform(record.value) to "ledger" for each record;
            #   if transactions == abort_at: flush(), abort_transaction(), rewind(consumer, records)
            #   and continue; else send_offsets_to_transaction({tp: last offset + 1, ...},
            #   consumer.group_metadata()), commit_transaction() and committed.update(offsets).
            raise NotImplementedError("LAB 06: the transaction")
    print(f"done: payments consumed up to {sum(committed.values())} records, group {GROUP} committed")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-server", required=True)
    parser.add_argument("--abort-at", type=int, default=2,
                        help="abort this transaction (1-based) once, then redo its records")
    args = parser.parse_args()
    return run(args.bootstrap_server, args.abort_at)


if __name__ == "__main__":
    sys.exit(main())

"""Lab 06: idempotence and transactions.

``start`` creates the lab's topics and seeds ``payments`` with 300 payments
(``payment-0000:100`` ... keyed by customer). ``check`` reads what the
student's programs left in the topics:

- ``retries-plain``: some value stored twice (retries without idempotence);
- ``retries-idempotent``: the run's values, none twice, written by an
  idempotent producer (the partition's leader knows its producer id:
  DescribeProducers, as ``kafka-transactions.sh describe-producers`` shows);
- ``ledger`` read with ``read_committed``: every payment exactly once;
- ``ledger`` read with ``read_uncommitted``: more records than that (an aborted
  transaction's records are still in the log);
- the group ``ledger-pipeline``: its committed offsets at the end of ``payments``.
"""

from __future__ import annotations

import collections
import time

from minikafka.labs import Lab, LabContext, Report

LAB = Lab(number=6, slug="idempotence-and-transactions", title="Idempotence and transactions",
          brokers=1, needs_fault_toolkit=True)

PLAIN, IDEMPOTENT, PAYMENTS, LEDGER = "retries-plain", "retries-idempotent", "payments", "ledger"
GROUP = "ledger-pipeline"
PAYMENT_COUNT = 300
CUSTOMERS = 17


def start(ctx: LabContext) -> None:
    from minikafka_clients import NewTopic

    with ctx.admin() as admin:
        admin.create_topics([NewTopic(PLAIN, 1, 1), NewTopic(IDEMPOTENT, 1, 1),
                             NewTopic(PAYMENTS, 3, 1), NewTopic(LEDGER, 3, 1)])
    with ctx.producer({"acks": "all"}) as producer:
        for n in range(PAYMENT_COUNT):
            producer.produce(PAYMENTS, f"payment-{n:04d}:{100 + 7 * n}".encode(),
                             key=f"customer-{n % CUSTOMERS}".encode())
        producer.flush()


def read_values(ctx: LabContext, topics: list[str], isolation_level: str = "read_uncommitted"
                ) -> dict[str, list[bytes]]:
    """Every value of each topic, read from the beginning under ``isolation_level``."""
    config = {"enable.auto.commit": False, "isolation.level": isolation_level,
              "auto.offset.reset": "earliest"}
    values: dict[str, list[bytes]] = {topic: [] for topic in topics}
    with ctx.consumer(config) as consumer:
        consumer.assign([(t, p) for t in topics for p in consumer.partitions_for(t)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            records = consumer.poll(1.0)
            if not records:
                break
            for record in records:
                values[record.topic].append(record.value)
    return values


def duplicates(values: list[bytes]) -> int:
    """How many values are extra copies of another one (the warm-up records aside)."""
    counts = collections.Counter(v for v in values if v != b"warm-up")
    return sum(n - 1 for n in counts.values())


def check(ctx: LabContext, report: Report) -> None:
    everything = read_values(ctx, [PLAIN, IDEMPOTENT, LEDGER])
    check_retries(ctx, report, everything[PLAIN], everything[IDEMPOTENT])
    check_pipeline(ctx, report, everything[LEDGER])


def check_retries(ctx: LabContext, report: Report, plain: list[bytes], idempotent: list[bytes]
                  ) -> None:
    report.expect(duplicates(plain) > 0,
                  f"'{PLAIN}' holds {duplicates(plain)} duplicates written by retries",
                  f"no duplicates in '{PLAIN}' yet",
                  hint="steps 1-2: run retrying_producer.py with --idempotence false while the link flaps")
    idempotent = [v for v in idempotent if v != b"warm-up"]
    if not idempotent:
        report.missing(f"'{IDEMPOTENT}' holds no records yet", hint="step 3: --idempotence true")
        return
    report.expect(duplicates(idempotent) == 0,
                  f"'{IDEMPOTENT}' holds {len(idempotent)} records, none twice",
                  f"'{IDEMPOTENT}' holds {duplicates(idempotent)} duplicates",
                  hint="step 3: was enable.idempotence really true?")
    with ctx.admin() as admin:
        producers = admin.describe_producers([(IDEMPOTENT, 0)]).get((IDEMPOTENT, 0), [])
    report.expect(bool(producers),
                  f"the leader of '{IDEMPOTENT}' knows {len(producers)} idempotent producer(s)",
                  f"no idempotent producer ever wrote to '{IDEMPOTENT}' (describe-producers is empty)",
                  hint="step 3: set enable.idempotence in producer_config()")


def check_pipeline(ctx: LabContext, report: Report, everything: list[bytes]) -> None:
    committed = read_values(ctx, [LEDGER], "read_committed")[LEDGER]
    payments = {v.split()[1] for v in committed if v.startswith(b"ledger ")}
    exactly_once = len(committed) == PAYMENT_COUNT and len(payments) == PAYMENT_COUNT
    report.expect(exactly_once,
                  f"read_committed: '{LEDGER}' has each of the {PAYMENT_COUNT} payments exactly once",
                  f"read_committed: '{LEDGER}' has {len(committed)} entries for {len(payments)} "
                  f"payments, not each of the {PAYMENT_COUNT} exactly once",
                  hint="steps 4-5: run pipeline.py")
    report.expect(len(everything) > len(committed) > 0,
                  f"read_uncommitted: '{LEDGER}' also shows {len(everything) - len(committed)} "
                  "records of an aborted transaction",
                  f"read_uncommitted shows no aborted record in '{LEDGER}'",
                  hint="step 5: the pipeline aborts its --abort-at transaction once")
    check_group(ctx, report)


def check_group(ctx: LabContext, report: Report) -> None:
    from minikafka_clients.admin import LATEST

    with ctx.admin() as admin:
        partitions = admin.describe_topics([PAYMENTS])[PAYMENTS].partitions
        ends = admin.list_offsets({(PAYMENTS, p): LATEST for p in partitions})
        offsets = admin.list_consumer_group_offsets(GROUP)
    behind = {tp: info.offset - (offsets[tp].offset if tp in offsets else 0)
              for tp, info in ends.items()}
    report.expect(all(lag == 0 for lag in behind.values()),
                  f"group '{GROUP}' committed the end of '{PAYMENTS}' (in its transactions)",
                  f"group '{GROUP}' is {sum(behind.values())} records short of the end of '{PAYMENTS}'",
                  hint="send_offsets_to_transaction() before each commit_transaction()")


def solve(ctx: LabContext) -> None:
    cluster_dir = str(ctx.cluster.cluster_dir) if ctx.cluster else None
    for topic, idempotence in ((PLAIN, "false"), (IDEMPOTENT, "true")):
        args = ["--topic", topic, "--idempotence", idempotence]
        ctx.run_solution("retrying_producer", *args,
                         *(["--cluster-dir", cluster_dir] if cluster_dir else []))
    ctx.run_solution("pipeline")

"""Lab 2: keys, partitions and ordering.

``start`` creates, on a one-broker cluster (placement is the producer's
business, so one broker shows it as well as many):

- ``orders``: 6 partitions, for the student's keyed records and murmur2
  predictions (steps 2-3);
- ``payments``: 6 partitions, for payment events keyed by the student's
  choice (step 4);
- ``carts``: 3 partitions, seeded with two events for each of cart-1..cart-20,
  which the student grows to 6 partitions (step 5).

``check`` compares the student's murmur2 predictions with where the records
really are, checks that each account's payment events share one partition
in order, and that the keys the student reports as moved are exactly those
whose records are now in two partitions of ``carts``.

Only Kafka's protocol is used (the partitioner runs in the client), so the
lab's solution and check run against any Kafka-compatible broker.
"""

from __future__ import annotations

import json

from minikafka.labs import Lab, LabContext, Report

LAB = Lab(number=2, slug="keys-and-partitions", title="Keys, partitions and ordering", brokers=1,
          protocol_only=True)

ORDERS, PAYMENTS, CARTS = "orders", "payments", "carts"
CARTS_BEFORE, CARTS_AFTER = 3, 6
CART_KEYS = [f"cart-{n}" for n in range(1, 21)]
MIN_ACCOUNTS = 8
MIN_PREDICTED_KEYS = 5


def start(ctx: LabContext) -> None:
    from minikafka_clients import NewTopic

    with ctx.admin() as admin:
        admin.create_topics([NewTopic(ORDERS, 6, 1), NewTopic(PAYMENTS, 6, 1),
                             NewTopic(CARTS, CARTS_BEFORE, 1)])
    with ctx.producer() as producer:
        for step in ("created", "item added"):
            for key in CART_KEYS:
                producer.produce(CARTS, f"{key} {step}".encode(), key=key.encode())
        producer.flush()


# -- check --------------------------------------------------------------------

def check(ctx: LabContext, report: Report) -> None:
    records = ctx.read_topics([ORDERS, PAYMENTS, CARTS])
    check_predictions(ctx, records[ORDERS], report)
    check_payments(records[PAYMENTS], report)
    check_added_partitions(ctx, records[CARTS], report)


def _placement(records: list) -> dict[str, set[int]]:
    """Key -> the partitions its records are in."""
    where: dict[str, set[int]] = {}
    for record in records:
        if record.key is not None:
            where.setdefault(record.key.decode(), set()).add(record.partition)
    return where


def check_predictions(ctx: LabContext, records: list, report: Report) -> None:
    where = _placement(records)
    if len(where) < MIN_PREDICTED_KEYS:
        report.missing(f"'{ORDERS}' has records for {len(where)} keys, not {MIN_PREDICTED_KEYS} or more",
                       hint="step 2: produce keyed orders")
        return
    spread = {key: sorted(p) for key, p in where.items() if len(p) > 1}
    report.expect(not spread, f"'{ORDERS}' has records for {len(where)} keys, each key in one partition",
                  f"keys of '{ORDERS}' in several partitions: {spread}",
                  hint="step 2: produce with keys (--key-separator :), never with --partition")
    path = ctx.work_dir / "predictions.json"
    if not path.exists():
        report.missing(f"no {path}", hint="step 3: partitioner.py --out lab-data/work/02/predictions.json")
        return
    predictions = json.loads(path.read_text()).get("predictions", {})
    wrong = {key: (predicted, sorted(where.get(key, ())))
             for key, predicted in predictions.items() if where.get(key) != {predicted}}
    report.expect(len(predictions) >= MIN_PREDICTED_KEYS and not wrong,
                  f"murmur2 predicted the partition of all {len(predictions)} keys",
                  f"predictions differ from the records' partitions (key: predicted, actual): {wrong}"
                  if wrong else f"only {len(predictions)} predictions",
                  hint="step 3: murmur2 as Java's Utils.murmur2, masked to 32 bits; h & 0x7fffffff, not abs")


def check_payments(records: list, report: Report) -> None:
    accounts: dict[str, list[tuple[int, int, int]]] = {}
    for record in records:
        event = json.loads(record.value)
        accounts.setdefault(event["account_id"], []).append((record.partition, record.offset, event["seq"]))
    if len(accounts) < MIN_ACCOUNTS:
        report.missing(f"'{PAYMENTS}' has events of {len(accounts)} accounts, not {MIN_ACCOUNTS}",
                       hint="step 4: run payments.py")
        return
    split = {a: sorted({p for p, _, _ in events}) for a, events in accounts.items()
             if len({p for p, _, _ in events}) > 1}
    if not report.expect(not split, f"each account's payment events are in one partition "
                                    f"({len(accounts)} accounts)",
                         f"accounts with events in several partitions, which consumers may apply out of "
                         f"order: {dict(sorted(split.items())[:3])}",
                         hint="step 4: key by the business entity whose events must stay in order; "
                              "`minikafka lab reset 2` empties the topic"):
        return
    disordered = sorted(a for a, events in accounts.items()
                        if [seq for _, _, seq in sorted(events)] != sorted(seq for _, _, seq in events))
    report.expect(not disordered, "each account's events are in the order they happened (seq)",
                  f"accounts whose events are out of order in their partition: {disordered[:3]}",
                  hint="step 4: one producer, records sent in order")


def check_added_partitions(ctx: LabContext, records: list, report: Report) -> None:
    with ctx.admin() as admin:
        count = len(admin.describe_topics([CARTS])[CARTS].partitions)
    if not report.expect(count == CARTS_AFTER, f"'{CARTS}' has {CARTS_AFTER} partitions",
                         f"'{CARTS}' has {count} partitions, not {CARTS_AFTER}",
                         hint="step 5: alter the topic to 6 partitions"):
        return
    where = _placement(records)
    moved = sorted(key for key, partitions in where.items() if len(partitions) > 1)
    report.expect(bool(moved), f"{len(moved)} of {len(where)} cart keys now have records in two partitions",
                  "no cart key has records in two partitions yet",
                  hint="step 5: produce events for cart-1..cart-20 again after adding partitions")
    path = ctx.work_dir / "moved.json"
    if not path.exists():
        report.missing(f"no {path}", hint="step 5: key_moves.py --out lab-data/work/02/moved.json")
        return
    reported = sorted(json.loads(path.read_text()).get("moved", []))
    report.expect(bool(moved) and reported == moved, f"moved.json names the {len(moved)} keys that moved",
                  f"moved.json names {reported}, the topic says {moved}", hint="step 5: run key_moves.py again")


# -- solve --------------------------------------------------------------------

def solve(ctx: LabContext) -> None:
    with ctx.producer() as producer:
        for n in range(1, 31):
            producer.produce(ORDERS, f"order {n}".encode(), key=f"customer-{n % 10}".encode())
        producer.flush()
    ctx.run_solution("partitioner", "--topic", ORDERS, "--out", str(ctx.work_dir / "predictions.json"))
    ctx.run_solution("payments")
    if not _add_partitions(ctx):
        return
    with ctx.producer() as producer:  # a new producer: it sees the 6 partitions at once
        for key in CART_KEYS:
            producer.produce(CARTS, f"{key} checked out".encode(), key=key.encode())
        producer.flush()
    ctx.run_solution("key_moves", "--topic", CARTS, "--out", str(ctx.work_dir / "moved.json"))


def _add_partitions(ctx: LabContext) -> bool:
    """Grow ``carts`` to 6 partitions; False on a broker without CreatePartitions (Tansu)."""
    from minikafka.errors import ErrorCode, KafkaError

    try:
        with ctx.admin() as admin:
            admin.create_partitions({CARTS: CARTS_AFTER})
    except KafkaError as exc:
        if exc.code != ErrorCode.UNSUPPORTED_VERSION:
            raise
        print(f"this broker does not support CreatePartitions: step 5 cannot be done here ({exc})")
        return False
    return True

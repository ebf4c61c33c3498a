"""Write ledger entries with a chosen ``acks`` and keep the producer's receipts.

A write is *acknowledged* when the producer's future completes without an
error: for ``acks=1`` the leader has it in its log, for ``acks=all`` every
replica of the in-sync replica set (ISR) has it, and the ISR had at least
``min.insync.replicas`` members. Only an acknowledged write is a promise; a
refused one (``NOT_ENOUGH_REPLICAS``, a timeout) the caller must retry or
report.

Each run appends one line per record to ``<work-dir>/acked-<topic>.txt`` or
``<work-dir>/refused-<topic>.txt`` (the value and the error); ``lab check``
compares the acknowledged ones with what the topic still holds.

    python labs/05-replication-and-isr/solution/ledger_writer.py \
        --bootstrap-server 127.0.0.1:9092 --topic ledger-fast --acks 1 --prefix after-kill --count 5
"""

from __future__ import annotations

import argparse
import pathlib

from minikafka_clients import SyncProducer


def producer_config(bootstrap_server: str, acks: str) -> dict:
    """The producer's settings: the chosen acks and a short delivery timeout.

    Kafka's default ``delivery.timeout.ms`` is two minutes: a producer keeps
    retrying a retriable error such as NOT_ENOUGH_REPLICAS that long. Three
    seconds is enough here (it must be >= linger.ms + request.timeout.ms).
    """
    return {
        "bootstrap.servers": bootstrap_server,
        "acks": acks,
        # acks=1 and acks=0 cannot be idempotent: say so rather than rely on the default.
        "enable.idempotence": acks == "all",
        "request.timeout.ms": 2_000,
        "delivery.timeout.ms": 3_000,
    }


def write(bootstrap_server: str, topic: str, acks: str, prefix: str, count: int,
          work_dir: pathlib.Path) -> tuple[int, int]:
    """Send ``count`` records, wait for every receipt, log them; returns (acked, refused)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    values = [f"{prefix}-{n}" for n in range(1, count + 1)]
    with SyncProducer(producer_config(bootstrap_server, acks)) as producer:
        futures = [producer.produce(topic, value.encode(), key=b"account-7") for value in values]
        producer.flush()
        acked, refused = [], []
        for value, future in zip(values, futures):
            error = future.exception()
            if error is None:
                acked.append(f"{value}\n")
            else:
                refused.append(f"{value}\t{error}\n")
    with open(work_dir / f"acked-{topic}.txt", "a") as file:
        file.writelines(acked)
    with open(work_dir / f"refused-{topic}.txt", "a") as file:
        file.writelines(refused)
    return len(acked), len(refused)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-server", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--acks", choices=["0", "1", "all"], required=True)
    parser.add_argument("--prefix", default="entry", help="values are PREFIX-1, PREFIX-2, ...")
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--work-dir", type=pathlib.Path, default=pathlib.Path("lab-data/work/05"))
    args = parser.parse_args()
    acked, refused = write(args.bootstrap_server, args.topic, args.acks, args.prefix, args.count,
                           args.work_dir)
    print(f"{args.topic}: {acked} acknowledged, {refused} refused (acks={args.acks})")


if __name__ == "__main__":
    main()

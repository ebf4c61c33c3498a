"""Payment events keyed by account: each account's events stay in order.

Reference solution of lab 2. An account's balance is only right if its
events are applied in the order they happened: a withdrawal processed before
the deposit that covers it bounces. Kafka orders records *per partition*
only, and a consumer group gives each partition to one consumer, so the
events that must stay in order must share a partition: the same key. The key
is the business entity whose events must stay ordered: here the account, not
the payment (unique per event: it spreads an account over every partition)
and not nothing (a null key goes to any partition).

    python solution/payments.py --bootstrap-server 127.0.0.1:9092
"""

from __future__ import annotations

import argparse
import json

from minikafka_clients import SyncProducer

TOPIC = "payments"
ACCOUNTS = [f"acct-{n}" for n in range(1, 9)]
EVENTS_PER_ACCOUNT = 5


def events():
    """Each account's events in the order they happen, accounts interleaved."""
    for seq in range(1, EVENTS_PER_ACCOUNT + 1):
        for account in ACCOUNTS:
            kind = "deposit" if seq % 2 else "withdrawal"
            yield {"payment_id": f"pay-{account}-{seq}", "account_id": account, "seq": seq,
                   "type": kind, "amount": 10 * seq}


def key_for(event: dict) -> bytes:
    """The record key: the entity whose events must stay in order, the account."""
    return event["account_id"].encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap-server", default="127.0.0.1:9092")
    args = parser.parse_args()
    # acks=all with idempotence (the default): a retry can neither reorder nor duplicate.
    with SyncProducer({"bootstrap.servers": args.bootstrap_server, "acks": "all"}) as producer:
        count = 0
        for event in events():
            producer.produce(TOPIC, json.dumps(event).encode(), key=key_for(event))
            count += 1
        producer.flush()
    print(f"{count} payment events for {len(ACCOUNTS)} accounts written to {TOPIC}")


if __name__ == "__main__":
    main()

"""Customer profiles on a compacted topic: the key is the customer, a null value deletes.

Reference solution of lab 1. ``customer-profiles`` has
``cleanup.policy=compact``: the log cleaner keeps, for every key, the latest
record, so the topic is a table "customer id -> latest profile" that a new
service can load by reading from the beginning. Deleting a customer is a
*tombstone*: a record with the key and a null value. The cleaner keeps the
tombstone for ``delete.retention.ms`` (so consumers that are behind still
see the delete), then removes it too.

    python solution/profiles.py --bootstrap-server 127.0.0.1:9092
"""

from __future__ import annotations

import argparse
import json

from minikafka_clients import SyncProducer

TOPIC = "customer-profiles"

# Each customer's profile changes several times; the table keeps only the last.
UPDATES = [
    ("customer-1", {"name": "Ada", "tier": "bronze"}),
    ("customer-2", {"name": "Grace", "tier": "bronze"}),
    ("customer-3", {"name": "Linus", "tier": "bronze"}),
    ("customer-1", {"name": "Ada", "tier": "silver"}),
    ("customer-2", {"name": "Grace", "tier": "gold"}),
    ("customer-1", {"name": "Ada", "tier": "gold"}),
    ("customer-3", {"name": "Linus", "tier": "silver"}),
]
DELETED = "customer-3"


def update_profile(producer: SyncProducer, customer_id: str, profile: dict) -> None:
    """Write the customer's new profile: key = the customer id, value = the whole profile."""
    producer.produce(TOPIC, json.dumps(profile).encode(), key=customer_id.encode())


def delete_profile(producer: SyncProducer, customer_id: str) -> None:
    """Delete the customer: a tombstone, the key with a null value."""
    producer.produce(TOPIC, None, key=customer_id.encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap-server", default="127.0.0.1:9092")
    args = parser.parse_args()
    with SyncProducer({"bootstrap.servers": args.bootstrap_server}) as producer:
        for customer_id, profile in UPDATES:
            update_profile(producer, customer_id, profile)
        delete_profile(producer, DELETED)
        producer.flush()
    print(f"{len(UPDATES)} profile updates and 1 tombstone ({DELETED}) written to {TOPIC}")


if __name__ == "__main__":
    main()

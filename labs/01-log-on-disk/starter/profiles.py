"""Customer profiles on a compacted topic: the key is the customer, a null value deletes.

Lab 1 starter: complete the two functions marked ``# LAB 01:``.

``customer-profiles`` has
``cleanup.policy=compact``: the log cleaner keeps, for every key, the latest
record, so the topic is a table "customer id -> latest profile" that a new
service can load by reading from the beginning. Deleting a customer is a
*tombstone*: a record with the key and a null value. The cleaner keeps the
tombstone for ``delete.retention.ms`` (so consumers that are behind still
see the delete), then removes it too.

    python starter/profiles.py --bootstrap-server 127.0.0.1:9092
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
    # LAB 01: produce to TOPIC with the customer id as the key (bytes) and the
    # profile as JSON (bytes): producer.produce(topic, value, key=key).
    raise NotImplementedError("LAB 01: update_profile")


def delete_profile(producer: SyncProducer, customer_id: str) -> None:
    """Delete the customer: a tombstone, the key with a null value."""
    # LAB 01: a tombstone is the key with a null value.
    raise NotImplementedError("LAB 01: delete_profile")


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

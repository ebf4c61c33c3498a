"""Predict where a keyed record goes, and check it against where it went.

Lab 2 starter: complete ``murmur2`` and ``partition_for``, marked ``# LAB 02:``.

A Kafka producer that sends a record with a key
and no explicit partition computes, in the client (the broker has no say)::

    partition = to_positive(murmur2(key)) % number_of_partitions

``murmur2`` is the 32-bit MurmurHash2 of Java's ``Utils.murmur2``: seed
``0x9747b28c``, ``m = 0x5bd1e995``, ``r = 24``, the key read four bytes at a
time little-endian, the last 1-3 bytes folded in, Java's 32-bit wrapping
arithmetic. ``to_positive(h)`` is ``h & 0x7fffffff``. Every client that wants
the Java client's placement must compute exactly this (librdkafka, and so
confluent-kafka, defaults to ``consistent_random`` (CRC32) instead: set
``partitioner=murmur2_random`` there).

This script reads the topic, and for each key prints the partition murmur2
predicts and the partitions its records are really in::

    python starter/partitioner.py --bootstrap-server 127.0.0.1:9092 --topic orders \\
        --out lab-data/work/02/predictions.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from minikafka_clients import SyncConsumer

SEED = 0x9747B28C
M = 0x5BD1E995
R = 24
MASK32 = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Java's ``Utils.murmur2(data)``, as an unsigned 32-bit value."""
    # LAB 02: port Java's Utils.murmur2 (the module docstring gives the
    # constants). Start with h = (SEED ^ len(data)); for each 4-byte block k
    # (little-endian): k *= M; k ^= k >> R; k *= M; h *= M; h ^= k. Then the
    # 1-3 trailing bytes: h ^= byte2 << 16, h ^= byte1 << 8, h ^= byte0 and
    # h *= M (each only if present, Java's switch falls through). Finally
    # h ^= h >> 13; h *= M; h ^= h >> 15. Mask with MASK32 after every
    # multiplication: Java's int wraps at 32 bits.
    raise NotImplementedError("LAB 02: murmur2")


def partition_for(key: bytes, num_partitions: int) -> int:
    """Kafka's default partition for a keyed record."""
    # LAB 02: to_positive (h & 0x7fffffff, not abs()) of murmur2, modulo the partition count.
    raise NotImplementedError("LAB 02: partition_for")


def placement(bootstrap_server: str, topic: str) -> tuple[int, dict[str, set[int]]]:
    """The topic's partition count, and the partitions each key's records are in."""
    where: dict[str, set[int]] = {}
    with SyncConsumer({"bootstrap.servers": bootstrap_server, "enable.auto.commit": False}) as consumer:
        partitions = consumer.partitions_for(topic)
        consumer.assign([(topic, p) for p in partitions])
        consumer.seek_to_beginning()
        while records := consumer.poll(1.0):
            for record in records:
                if record.key is not None:
                    where.setdefault(record.key.decode(), set()).add(record.partition)
    return len(partitions), where


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap-server", default="127.0.0.1:9092")
    parser.add_argument("--topic", default="orders")
    parser.add_argument("--out", type=Path, help="write the predictions here, as JSON")
    args = parser.parse_args()
    num_partitions, where = placement(args.bootstrap_server, args.topic)
    predictions = {}
    for key in sorted(where):
        predicted = partition_for(key.encode(), num_partitions)
        predictions[key] = predicted
        verdict = "ok" if where[key] == {predicted} else "DIFFERENT"
        print(f"{key:<16} murmur2 -> partition {predicted}   records in {sorted(where[key])}   {verdict}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"topic": args.topic, "partitions": num_partitions,
                                        "predictions": predictions}, indent=2) + "\n")


if __name__ == "__main__":
    main()

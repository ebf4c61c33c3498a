"""``minikafka consume``: print the records of a topic (kafka-console-consumer.sh).

No consumer group: the bundled ``SyncConsumer`` (``minikafka_clients``) is
*assigned* the partitions (Kafka's ``--partition`` mode, or all of them) and
commits nothing. It starts at

- the end (default: only records produced from now on),
- ``--from-beginning`` (each partition's log start offset),
- ``--offset N`` (needs ``--partition``), or
- ``--from-timestamp MS`` (the first record with timestamp >= MS, KIP-79).

Each record prints as one line, fields separated by a tab in Kafka's
DefaultMessageFormatter order: ``CreateTime:ts`` (``--print-timestamp``),
``Partition:p`` (``--print-partition``), ``Offset:o`` (``--print-offset``),
headers ``k:v,k2:v2`` or ``NO_HEADERS`` (``--print-headers``), the key
(``--print-key``), then the value. A null key or value prints as ``null``.

``--isolation-level read_committed`` shows only records of committed
transactions (and stops at the last stable offset); the default,
``read_uncommitted``, shows every record, aborted ones included.

It stops after ``--max-messages`` records, or when nothing arrived for
``--timeout-ms``, or on Ctrl-C; then "Processed a total of N messages" goes
to stderr, as Kafka's tool reports it.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

TIMESTAMP_TYPE_NAMES = {0: "CreateTime", 1: "LogAppendTime"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bootstrap-server", required=True, metavar="HOST:PORT",
                        help="a broker to connect to (several: comma-separated)")
    parser.add_argument("--topic", required=True, help="the topic to read")
    parser.add_argument("--partition", type=int, metavar="P",
                        help="read only this partition (default: all)")
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--from-beginning", action="store_true",
                       help="start at the oldest record instead of the end")
    start.add_argument("--offset", type=int, metavar="N",
                       help="start at offset N (needs --partition)")
    start.add_argument("--from-timestamp", type=int, metavar="MS",
                       help="start at the first record whose timestamp is >= MS")
    parser.add_argument("--isolation-level", choices=["read_uncommitted", "read_committed"],
                        default="read_uncommitted",
                        help="read_committed: only records of committed transactions "
                        "(default: read_uncommitted, every record)")
    parser.add_argument("--max-messages", type=int, metavar="N",
                        help="exit after N records")
    parser.add_argument("--timeout-ms", type=int, metavar="T",
                        help="exit when no record arrived for T ms")
    for field in ("key", "headers", "offset", "partition", "timestamp"):
        parser.add_argument(f"--print-{field}", action="store_true",
                            help=f"print each record's {field}")


def check_start(args) -> None:
    """Refuse start options that do not go together (before connecting)."""
    if args.offset is not None:
        if args.partition is None:
            raise ValueError("--offset needs --partition")
        if args.offset < 0:
            raise ValueError("--offset must be 0 or more")


def consumer_config(args) -> dict:
    """Kafka consumer settings: no group, so nothing is committed."""
    return {"bootstrap.servers": args.bootstrap_server, "client.id": "minikafka-console-consumer",
            "auto.offset.reset": "earliest" if args.from_beginning else "latest",
            "isolation.level": args.isolation_level}


def assign_and_seek(consumer, args) -> None:
    """Assign the partitions and move to where the options say to start.

    Without ``--offset`` or ``--from-timestamp``, ``auto.offset.reset`` (earliest
    or latest) gives the first position. A timestamp past every record of a
    partition starts it at the end, as Kafka's console consumer does.
    """
    from minikafka.errors import ErrorCode, KafkaError

    partitions = consumer.partitions_for(args.topic)
    if not partitions:
        raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"topic '{args.topic}' does not exist")
    if args.partition is not None:
        if args.partition not in partitions:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                             f"topic '{args.topic}' has no partition {args.partition}")
        partitions = [args.partition]
    assigned = [(args.topic, p) for p in partitions]
    consumer.assign(assigned)
    if args.offset is not None:
        consumer.seek(assigned[0], args.offset)
    elif args.from_timestamp is not None:
        found = consumer.offsets_for_times({tp: args.from_timestamp for tp in assigned})
        consumer.seek_to_end([tp for tp, offset in found.items() if offset is None])
        for tp, offset in found.items():
            if offset is not None:
                consumer.seek(tp, offset)


def records_of(consumer, args):
    """Yield records until ``--max-messages``, or ``--timeout-ms`` without a record."""
    count = 0
    timeout_s = math.inf if args.timeout_ms is None else args.timeout_ms / 1000
    deadline = time.monotonic() + timeout_s
    while count != args.max_messages and time.monotonic() < deadline:
        records = consumer.poll(deadline - time.monotonic())
        if records:
            deadline = time.monotonic() + timeout_s
        for record in records[: None if args.max_messages is None else args.max_messages - count]:
            count += 1
            yield record


def format_record(record, args) -> bytes:
    """One output line (without newline), fields in Kafka's formatter order."""
    fields = []
    if args.print_timestamp:
        name = TIMESTAMP_TYPE_NAMES.get(record.timestamp_type, "NoTimestampType")
        fields.append(f"{name}:{record.timestamp_ms}".encode())
    if args.print_partition:
        fields.append(b"Partition:%d" % record.partition)
    if args.print_offset:
        fields.append(b"Offset:%d" % record.offset)
    if args.print_headers:
        fields.append(b",".join(key.encode() + b":" + _or_null(value)
                                for key, value in record.headers) or b"NO_HEADERS")
    if args.print_key:
        fields.append(_or_null(record.key))
    fields.append(_or_null(record.value))
    return b"\t".join(fields)


def _or_null(data: bytes | None) -> bytes:
    return b"null" if data is None else bytes(data)


def run(args: argparse.Namespace) -> int:
    from minikafka_clients import SyncConsumer

    check_start(args)
    out = sys.stdout.buffer
    count = 0
    with SyncConsumer(consumer_config(args)) as consumer:
        assign_and_seek(consumer, args)
        try:
            for record in records_of(consumer, args):
                out.write(format_record(record, args) + b"\n")
                out.flush()
                count += 1
        except KeyboardInterrupt:
            print(f"Processed a total of {count} messages", file=sys.stderr)
            raise
    print(f"Processed a total of {count} messages", file=sys.stderr)
    return 0

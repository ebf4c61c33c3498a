"""``minikafka consume``: print the records of a topic (kafka-console-consumer.sh).

No consumer group: this reads partitions directly (Kafka's ``--partition`` mode,
or all partitions), starting at

- the end (default: only records produced from now on),
- ``--from-beginning`` (each partition's log start offset),
- ``--offset N`` (needs ``--partition``), or
- ``--from-timestamp MS`` (the first record with timestamp >= MS, KIP-79).

Each record prints as one line, fields separated by a tab in Kafka's
DefaultMessageFormatter order: ``CreateTime:ts`` (``--print-timestamp``),
``Partition:p`` (``--print-partition``), ``Offset:o`` (``--print-offset``),
headers ``k:v,k2:v2`` or ``NO_HEADERS`` (``--print-headers``), the key
(``--print-key``), then the value. A null key or value prints as ``null``.

It stops after ``--max-messages`` records, or when nothing arrived for
``--timeout-ms``, or on Ctrl-C; then "Processed a total of N messages" goes
to stderr, as Kafka's tool reports it.
"""

from __future__ import annotations

import argparse
import sys

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
    parser.add_argument("--max-messages", type=int, metavar="N",
                        help="exit after N records")
    parser.add_argument("--timeout-ms", type=int, metavar="T",
                        help="exit when no record arrived for T ms")
    for field in ("key", "headers", "offset", "partition", "timestamp"):
        parser.add_argument(f"--print-{field}", action="store_true",
                            help=f"print each record's {field}")


def start_of(args):
    """The ``Start`` the options ask for."""
    from minikafka_clients import Start

    if args.offset is not None:
        if args.partition is None:
            raise ValueError("--offset needs --partition")
        if args.offset < 0:
            raise ValueError("--offset must be 0 or more")
        return Start.at_offset(args.offset)
    if args.from_timestamp is not None:
        return Start.at_timestamp(args.from_timestamp)
    return Start.earliest() if args.from_beginning else Start.latest()


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
    from minikafka_clients import SyncClient

    start = start_of(args)
    partitions = None if args.partition is None else [args.partition]
    out = sys.stdout.buffer
    count = 0
    with SyncClient(args.bootstrap_server, client_id="minikafka-console-consumer") as client:
        try:
            for record in client.consume(args.topic, partitions=partitions, start=start,
                                         max_records=args.max_messages,
                                         timeout_ms=args.timeout_ms):
                out.write(format_record(record, args) + b"\n")
                out.flush()
                count += 1
        except KeyboardInterrupt:
            print(f"Processed a total of {count} messages", file=sys.stderr)
            raise
    print(f"Processed a total of {count} messages", file=sys.stderr)
    return 0

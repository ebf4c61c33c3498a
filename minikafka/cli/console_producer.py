"""``minikafka produce``: send lines from stdin as records (kafka-console-producer.sh).

Each line (without its newline) is one record's value. With
``--key-separator SEP`` a line is ``key SEP value``, split at the first SEP,
and a line without SEP is an error, as Kafka's ``parse.key=true`` makes it.
``--header k=v`` adds the same header to every record.

The lines go to the bundled ``SyncProducer`` (``minikafka_clients``), which
batches them as any Kafka producer does (``linger.ms``, ``batch.size``).
Every ``--batch-lines`` lines, or after each line when stdin is a terminal
(so each line typed is sent at once), the command flushes the producer and
stops at the first record that failed, with its error. Keyed records go to
``murmur2(key) % partitions``, keyless ones to a sticky partition that moves
with each new batch (KIP-480), unless ``--partition`` says where.
"""

from __future__ import annotations

import argparse
import sys

from minikafka.config import parse_override


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bootstrap-server", required=True, metavar="HOST:PORT",
                        help="a broker to connect to (several: comma-separated)")
    parser.add_argument("--topic", required=True, help="the topic to write to")
    parser.add_argument("--key-separator", metavar="SEP",
                        help="each line is KEY<SEP>VALUE (split at the first SEP)")
    parser.add_argument("--header", metavar="KEY=VALUE", type=parse_override, action="append",
                        default=[], help="a header added to every record; repeatable")
    parser.add_argument("--partition", type=int, metavar="P",
                        help="send every record to this partition")
    parser.add_argument("--acks", default="1", choices=["0", "1", "-1", "all"],
                        help="0: don't wait; 1: the leader has it; all: every in-sync "
                        "replica has it (default 1)")
    parser.add_argument("--compression", default="none",
                        choices=["none", "gzip", "snappy", "lz4", "zstd"],
                        help="compress each batch with this codec (default none)")
    parser.add_argument("--batch-lines", type=int, default=1000, metavar="N",
                        help="lines sent before waiting for their acknowledgements, when "
                        "stdin is not a terminal")


def parse_line(line: bytes, separator: bytes | None, line_number: int) -> tuple[bytes | None, bytes]:
    """Split one input line into (key, value)."""
    if separator is None:
        return None, line
    key, found, value = line.partition(separator)
    if not found:
        raise ValueError(f"no key separator {separator.decode()!r} on line {line_number}")
    return key, value


def read_chunks(stream, size: int):
    """Yield lists of lines (newline stripped), ``size`` at a time."""
    chunk = []
    for line in stream:
        chunk.append(line.rstrip(b"\r\n") if line.endswith(b"\n") else line)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def producer_config(args: argparse.Namespace) -> dict:
    """The Kafka producer settings the options ask for."""
    return {"bootstrap.servers": args.bootstrap_server, "client.id": "minikafka-console-producer",
            "acks": args.acks, "compression.type": args.compression}


def run(args: argparse.Namespace) -> int:
    from minikafka_clients import SyncProducer

    separator = args.key_separator.encode() if args.key_separator else None
    headers = [(key, value.encode()) for key, value in args.header]
    chunk_lines = 1 if sys.stdin.isatty() else max(1, args.batch_lines)
    line_number = 0
    with SyncProducer(producer_config(args)) as producer:
        for lines in read_chunks(sys.stdin.buffer, chunk_lines):
            futures = []
            for line in lines:
                line_number += 1
                key, value = parse_line(line, separator, line_number)
                futures.append(producer.produce(args.topic, value, key, partition=args.partition,
                                                headers=headers))
            producer.flush()
            for future in futures:
                future.result()  # raises the first record's failure
    return 0

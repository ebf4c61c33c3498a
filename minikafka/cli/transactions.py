"""``minikafka transactions``: inspect transactions and recover from hanging ones.

The actions, options and tables are ``kafka-transactions.sh``'s (KIP-664)::

    minikafka transactions --bootstrap-server HOST:PORT list [--duration-filter MS]
    minikafka transactions --bootstrap-server HOST:PORT describe --transactional-id ID
    minikafka transactions --bootstrap-server HOST:PORT describe-producers --topic T --partition P \
        [--broker-id N]
    minikafka transactions --bootstrap-server HOST:PORT abort --topic T --partition P --start-offset O
    minikafka transactions --bootstrap-server HOST:PORT abort --topic T --partition P \\
        --producer-id I --producer-epoch E --coordinator-epoch C
    minikafka transactions --bootstrap-server HOST:PORT find-hanging --broker-id N \
        [--max-transaction-timeout MINUTES]

(``--bootstrap-server`` may also follow the action.)

``list`` and ``describe`` show the transaction coordinators' view: each
transactional id's state (``Ongoing``, ``PrepareCommit``, ``CompleteAbort``,
...), producer id and epoch, and the partitions of its open transaction.
``describe-producers`` shows a partition's view: the producers it knows and,
for one with an open transaction, the offset where it began
(*CurrentTransactionStartOffset*); the partition's last stable offset cannot
pass the earliest of those.

A transaction is *hanging* when a partition holds it open but its
coordinator does not (the coordinator never added the partition, or has
finished the transaction): no marker will come, and read_committed
consumers are stuck at its start offset. ``find-hanging`` looks for them
as Kafka does: on every partition of the broker (or topic), the open
transactions older than ``--max-transaction-timeout`` minutes (15: longer
than any transaction may live, ``transaction.max.timeout.ms``) whose
producer id either has no transactional id at any coordinator, or whose
transaction there does not include the partition. ``abort`` ends one by
writing the ABORT marker on that partition (WriteTxnMarkers to its leader);
``--start-offset`` finds the producer, epoch and coordinator epoch with
DescribeProducers first.

The work is done by the bundled ``Admin`` client inside one ``trio.run``.
"""

from __future__ import annotations

import argparse
import time

from minikafka.config import parse_properties

ACTIONS = ["list", "describe", "describe-producers", "abort", "find-hanging"]
DEFAULT_MAX_TRANSACTION_TIMEOUT_MIN = 15


class TransactionsCommandError(Exception):
    """A request the tool refuses, with the one-line reason Kafka's tool prints."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bootstrap-server", metavar="HOST:PORT",
                        help="a broker to connect to (several: comma-separated)")
    parser.add_argument("--command-config", metavar="FILE",
                        help="a properties file of admin client settings")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, summary, add in [
        ("list", "list transactions", _add_list),
        ("describe", "describe the state of an active transactional-id", _add_describe),
        ("describe-producers", "describe the states of active producers for a topic partition",
         _add_describe_producers),
        ("abort", "abort a hanging transaction (requires administrative privileges)", _add_abort),
        ("find-hanging", "find hanging transactions", _add_find_hanging),
    ]:
        sub = actions.add_parser(name, help=summary, description=summary)
        sub.add_argument("--bootstrap-server", metavar="HOST:PORT", default=argparse.SUPPRESS,
                         help="a broker to connect to (several: comma-separated)")
        add(sub)


def _add_list(parser) -> None:
    parser.add_argument("--duration-filter", type=int, default=-1, metavar="MS",
                        help="only transactions open longer than this many ms (< 0: all)")


def _add_describe(parser) -> None:
    parser.add_argument("--transactional-id", required=True, help="transactional id")


def _add_describe_producers(parser) -> None:
    parser.add_argument("--broker-id", type=int,
                        help="describe the producer state on this replica (default: the leader)")
    parser.add_argument("--topic", required=True, help="topic name")
    parser.add_argument("--partition", type=int, required=True, help="partition number")


def _add_abort(parser) -> None:
    parser.add_argument("--topic", required=True, help="topic name")
    parser.add_argument("--partition", type=int, required=True, help="partition number")
    parser.add_argument("--start-offset", type=int, help="start offset of the transaction to abort")
    parser.add_argument("--producer-id", type=int, help="producer id")
    parser.add_argument("--producer-epoch", type=int, help="producer epoch")
    parser.add_argument("--coordinator-epoch", type=int, help="coordinator epoch")


def _add_find_hanging(parser) -> None:
    parser.add_argument("--broker-id", type=int, help="broker id to search for hanging transactions")
    parser.add_argument("--max-transaction-timeout", type=int,
                        default=DEFAULT_MAX_TRANSACTION_TIMEOUT_MIN, metavar="MINUTES",
                        help="maximum transaction timeout in minutes to limit the scope of the "
                        "search (15 minutes by default)")
    parser.add_argument("--topic", help="topic name to limit search to (required if --partition "
                        "is specified)")
    parser.add_argument("--partition", type=int, help="partition number")


def run(args: argparse.Namespace) -> int:
    import trio

    if not args.bootstrap_server:
        raise TransactionsCommandError("missing required argument --bootstrap-server")
    return trio.run(_run, args)


async def _run(args: argparse.Namespace) -> int:
    from minikafka_clients import Admin

    config = {**read_properties(args.command_config),
              "bootstrap.servers": args.bootstrap_server, "client.id": "minikafka-transactions"}
    async with Admin(config) as admin:
        return await _ACTIONS[args.action](admin, args)


def read_properties(path: str | None) -> dict[str, str]:
    """The settings of a Java properties file (``--command-config``), parsed as
    the broker parses its own (``minikafka.config.parse_properties``)."""
    if path is None:
        return {}
    with open(path, encoding="utf-8") as file:
        return parse_properties(file.read())


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """Kafka's ``prettyPrintTable``: every cell padded to its column's width, then a tab."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    for cells in [headers] + rows:
        print("".join(cell.ljust(width) + "\t" for cell, width in zip(cells, widths)))


def _now_ms() -> int:
    return int(time.time() * 1000)


# -- list, describe, describe-producers -------------------------------------------------

async def _list(admin, args) -> int:
    listings = await admin.list_transactions(duration_filter_ms=args.duration_filter)
    print_table(["TransactionalId", "Coordinator", "ProducerId", "TransactionState"],
                [[t.transactional_id, str(t.coordinator_id), str(t.producer_id), t.state]
                 for t in sorted(listings, key=lambda t: (t.coordinator_id, t.transactional_id))])
    return 0


async def _describe(admin, args) -> int:
    tid = args.transactional_id
    description = (await admin.describe_transactions([tid]))[tid]
    start = description.transaction_start_time_ms
    print_table(
        ["CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState",
         "TransactionTimeoutMs", "CurrentTransactionStartTimeMs", "TransactionDurationMs",
         "TopicPartitions"],
        [[str(description.coordinator_id), tid, str(description.producer_id),
          str(description.producer_epoch), description.state,
          str(description.transaction_timeout_ms),
          "None" if start is None else str(start),
          "None" if start is None else str(_now_ms() - start),
          ",".join(f"{t}-{p}" for t, p in sorted(description.topic_partitions))]])
    return 0


async def _describe_producers(admin, args) -> int:
    tp = (args.topic, args.partition)
    producers = (await admin.describe_producers([tp], broker_id=args.broker_id))[tp]
    print_table(
        ["ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp",
         "CurrentTransactionStartOffset"],
        [[str(p.producer_id), str(p.producer_epoch),
          str(-1 if p.coordinator_epoch is None else p.coordinator_epoch),
          str(p.last_sequence), str(p.last_timestamp),
          "None" if p.current_transaction_start_offset is None
          else str(p.current_transaction_start_offset)]
         for p in producers])
    return 0


# -- abort ------------------------------------------------------------------------------

async def _abort(admin, args) -> int:
    tp = (args.topic, args.partition)
    if args.start_offset is None and args.producer_id is None:
        raise TransactionsCommandError(
            "The transaction to abort must be identified either with --start-offset or with "
            "--producer-id, --producer-epoch, and --coordinator-epoch")
    if args.start_offset is not None:
        producer_id, producer_epoch, coordinator_epoch = await _find_by_start_offset(
            admin, tp, args.start_offset)
    else:
        for option in ("producer_epoch", "coordinator_epoch"):
            if getattr(args, option) is None:
                raise TransactionsCommandError(
                    f"Missing required argument --{option.replace('_', '-')}")
        producer_id, producer_epoch = args.producer_id, args.producer_epoch
        coordinator_epoch = max(args.coordinator_epoch, 0)  # -1: no marker seen yet
    await admin.abort_transaction(tp, producer_id=producer_id, producer_epoch=producer_epoch,
                                  coordinator_epoch=coordinator_epoch)
    return 0


async def _find_by_start_offset(admin, tp, start_offset: int) -> tuple[int, int, int]:
    """The producer whose open transaction on ``tp`` began at ``start_offset``."""
    for p in (await admin.describe_producers([tp]))[tp]:
        if p.current_transaction_start_offset == start_offset:
            return p.producer_id, p.producer_epoch, p.coordinator_epoch or 0
    raise TransactionsCommandError(f"Could not find any open transactions starting at offset "
                                   f"{start_offset} on partition {tp[0]}-{tp[1]}")


# -- find-hanging ---------------------------------------------------------------------

async def _find_hanging(admin, args) -> int:
    if args.topic is None and args.broker_id is None:
        raise TransactionsCommandError("The `find-hanging` command requires either --topic or "
                                       "--broker-id to limit the scope of the search")
    if args.partition is not None and args.topic is None:
        raise TransactionsCommandError("The --partition argument requires --topic to be provided")
    partitions = await _partitions_to_search(admin, args)
    candidates = await _open_transactions(admin, partitions, args.broker_id,
                                          args.max_transaction_timeout * 60_000)
    hanging = await _hanging(admin, candidates) if candidates else []
    now_ms = _now_ms()
    print_table(
        ["Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch", "StartOffset",
         "LastTimestamp", "Duration(min)"],
        [[t, str(p), str(s.producer_id), str(s.producer_epoch),
          str(-1 if s.coordinator_epoch is None else s.coordinator_epoch),
          str(s.current_transaction_start_offset), str(s.last_timestamp),
          str((now_ms - s.last_timestamp) // 60_000)]
         for (t, p), s in hanging])
    return 0


async def _partitions_to_search(admin, args) -> list[tuple[str, int]]:
    """The partitions of ``--topic`` (or every topic) with a replica on ``--broker-id``."""
    if args.topic is not None and args.partition is not None:
        return [(args.topic, args.partition)]
    topics = [args.topic] if args.topic is not None else await admin.list_topics(list_internal=True)
    described = await admin.describe_topics(topics)
    return [(name, index) for name, topic in sorted(described.items())
            for index, partition in sorted(topic.partitions.items())
            if args.broker_id is None or args.broker_id in partition.replicas]


async def _open_transactions(admin, partitions, broker_id, max_transaction_timeout_ms: int):
    """``[((topic, partition), ProducerState)]`` of transactions open longer than the timeout."""
    if not partitions:
        return []
    now_ms = _now_ms()
    found = await admin.describe_producers(partitions, broker_id=broker_id)
    return [(tp, state) for tp, states in sorted(found.items()) for state in states
            if state.current_transaction_start_offset is not None
            and now_ms - state.last_timestamp > max_transaction_timeout_ms]


async def _hanging(admin, candidates):
    """The candidates whose coordinator does not hold their partition in the transaction."""
    from minikafka.errors import ErrorCode, KafkaError

    producer_ids = sorted({state.producer_id for _, state in candidates})
    transactional_ids = {t.producer_id: t.transactional_id
                         for t in await admin.list_transactions(producer_ids=producer_ids)
                         if t.producer_id in producer_ids}
    descriptions = {}
    for tid in sorted(set(transactional_ids.values())):
        try:
            descriptions[tid] = (await admin.describe_transactions([tid]))[tid]
        except KafkaError as exc:
            if exc.code != ErrorCode.TRANSACTIONAL_ID_NOT_FOUND:
                raise
    hanging = []
    for tp, state in candidates:
        description = descriptions.get(transactional_ids.get(state.producer_id))
        if description is None or tp not in description.topic_partitions:
            hanging.append((tp, state))
    return hanging


_ACTIONS = {"list": _list, "describe": _describe, "describe-producers": _describe_producers,
            "abort": _abort, "find-hanging": _find_hanging}

"""The ``minikafka`` command: one entry point, one subcommand per tool.

Apache Kafka ships a shell script per tool (``kafka-server-start.sh``,
``kafka-topics.sh``, ``kafka-console-producer.sh``, ``kafka-dump-log.sh``);
minikafka has one command with subcommands that take the same options:

    minikafka broker --config server.properties --override node.id=1
    minikafka topics create --bootstrap-server 127.0.0.1:9092 --topic t --partitions 3
    minikafka produce --bootstrap-server 127.0.0.1:9092 --topic t --key-separator :
    minikafka consume --bootstrap-server 127.0.0.1:9092 --topic t --from-beginning
    minikafka dump-log 00000000000000000000.log
    minikafka groups describe my-group --bootstrap-server 127.0.0.1:9092
    minikafka configs --bootstrap-server 127.0.0.1:9092 --alter --entity-type clients \
        --entity-name billing --add-config producer_byte_rate=1048576
    minikafka transactions --bootstrap-server 127.0.0.1:9092 describe --transactional-id tx-1
    minikafka console --bootstrap-server 127.0.0.1:9092 --listen 127.0.0.1:8080

Each subcommand module provides ``add_arguments(parser)`` and ``run(args) ->
exit status``. This module builds the parser and turns failures into one
readable line on stderr (``minikafka: error: topic 'x' does not exist
(UNKNOWN_TOPIC_OR_PARTITION)``) and exit status 1; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import pathlib
import sys

from minikafka import __version__

# (name, module, one-line help). Every module is imported to build the
# parser, so each keeps its heavy imports (trio, the clients) inside run().
SUBCOMMANDS = [
    ("broker", "minikafka.cli.broker_command", "run a broker until SIGINT/SIGTERM"),
    ("topics", "minikafka.cli.topics", "create, list, describe, alter or delete topics"),
    ("produce", "minikafka.cli.console_producer", "send lines from stdin as records"),
    ("consume", "minikafka.cli.console_consumer", "print records of a topic"),
    ("dump-log", "minikafka.cli.dump_log", "print the batches of log segment files"),
    ("groups", "minikafka.cli.groups", "list, describe, reset offsets of or delete consumer groups"),
    ("configs", "minikafka.cli.configs", "describe or alter topic/broker configs and client quotas"),
    ("transactions", "minikafka.cli.transactions", "list, describe, abort and find hanging transactions"),
    ("cluster", "minikafka.cli.cluster", "start, inspect, break and stop a local N-broker cluster"),
    ("elect-leaders", "minikafka.cli.leader_election", "move partition leadership back to preferred replicas"),
    ("console", "minikafka.cli.console", "serve a live web view of a cluster (and its failure toolkit)"),
    ("schema-registry", "minikafka.cli.schema_registry", "serve Confluent's schema registry API, schemas kept in Kafka"),
    ("schemas", "minikafka.cli.schemas", "register, list, get, check, configure and delete schemas"),
    ("lab", "minikafka.cli.lab", "list, start, check, solve and reset the teaching labs"),
]


def ensure_clients_importable() -> None:
    """Let a source checkout find ``minikafka_clients`` (installed, it lives in clients/)."""
    try:
        import minikafka_clients  # noqa: F401
    except ImportError:
        clients = pathlib.Path(__file__).resolve().parents[2] / "clients"
        sys.path.insert(0, str(clients))


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: global options, then one subparser per tool."""
    parser = argparse.ArgumentParser(
        prog="minikafka",
        description="minikafka: an educational, Kafka-compatible log broker and its tools.",
    )
    parser.add_argument("--version", action="version", version=f"minikafka {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show a full traceback when a command fails")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name, summary in SUBCOMMANDS:
        sub = commands.add_parser(name, help=summary, description=summary)
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help="show a full traceback when the command fails")
        importlib.import_module(module_name).add_arguments(sub)
        sub.set_defaults(module_name=module_name)
    return parser


def describe_error(exc: BaseException) -> str:
    """One line for a failure, naming Kafka's error code where there is one."""
    from minikafka.errors import KafkaError

    while getattr(exc, "exceptions", None):  # a trio MultiError / ExceptionGroup
        exc = exc.exceptions[0]
    if isinstance(exc, KafkaError):
        return f"{exc.message} ({exc.code.name})" if exc.message else exc.code.name
    if isinstance(exc, OSError) and exc.strerror:
        name = f"{exc.filename}: " if exc.filename else ""
        return f"{name}{exc.strerror}"
    return str(exc) or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Run ``minikafka`` with ``argv`` (default ``sys.argv[1:]``) and exit."""
    ensure_clients_importable()
    parser = build_parser()
    args = parser.parse_args(argv)
    module = importlib.import_module(args.module_name)
    try:
        status = module.run(args)
    except KeyboardInterrupt:
        status = 130  # 128 + SIGINT, as a shell reports it
    except BrokenPipeError:
        status = 0  # `minikafka consume ... | head`: the reader went away
    except Exception as exc:
        if args.debug:
            raise
        print(f"minikafka: error: {describe_error(exc)}", file=sys.stderr)
        status = 1
    sys.exit(status)


if __name__ == "__main__":
    main()

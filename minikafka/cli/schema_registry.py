"""``minikafka schema-registry``: Confluent's schema registry API, its schemas kept in Kafka.
::

    minikafka schema-registry --bootstrap-server 127.0.0.1:9092 [--listen 127.0.0.1:8081]
                              [--config schema-registry.properties]

Serves http://127.0.0.1:8081 (Confluent's port) until Ctrl-C or SIGTERM. The
schemas live in the cluster's ``_schemas`` topic, so a restarted instance, or
a second one (``--listen`` another port), serves the same subjects and ids;
the instances elect one writer and forward writes to it. ``--config`` reads
Confluent's keys (``listeners``, ``kafkastore.bootstrap.servers``,
``kafkastore.topic``, ``schema.registry.group.id``, ``leader.eligibility``,
``host.name``, ...); the command-line options win over the file.
``minikafka.registry.server`` lists every key.
"""

from __future__ import annotations

import argparse
import signal
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bootstrap-server", default=None, metavar="HOST:PORT[,...]",
                        help="the Kafka cluster that keeps the schemas "
                             "(kafkastore.bootstrap.servers)")
    parser.add_argument("--listen", default=None, metavar="HOST:PORT",
                        help="where the API listens (listeners; default 127.0.0.1:8081)")
    parser.add_argument("--config", default=None, metavar="FILE",
                        help="a schema-registry.properties file with Confluent's keys")


def run(args: argparse.Namespace) -> int:
    import logging

    import trio

    from minikafka.registry.kafka_log import KafkaStoreError
    from minikafka.registry.server import RegistryConfigError, read_properties, serve_registry

    # Elections and topic creation are worth a line each; the clients' chatter is not.
    logging.basicConfig(level=logging.WARNING, format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
    logging.getLogger("minikafka.registry").setLevel(logging.INFO)
    properties = read_properties(args.config) if args.config else {}
    if args.bootstrap_server:
        properties["kafkastore.bootstrap.servers"] = args.bootstrap_server
    if args.listen:
        properties["listeners"] = args.listen if "://" in args.listen else f"http://{args.listen}"

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stop_on_signal, nursery.cancel_scope)
            url = await nursery.start(serve_registry, properties)
            print(f"schema registry: {url}", flush=True)

    failures: list[BaseException] = []
    try:
        trio.run(main)
    except* (KafkaStoreError, RegistryConfigError) as group:  # raised inside the nursery
        failures.extend(_leaves(group))
    for exc in failures:
        print(f"schema registry: cannot start: {exc}", file=sys.stderr, flush=True)
    return 1 if failures else 0


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


async def _stop_on_signal(cancel_scope) -> None:
    """SIGINT or SIGTERM: stop serving, leave the group (the next leader takes over at once)."""
    import trio

    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            cancel_scope.cancel()
            return

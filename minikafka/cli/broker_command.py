"""``minikafka broker``: run one broker in the foreground (kafka-server-start.sh).

Reads ``server.properties`` (``--config``) and applies ``--override key=value``
on top, as ``kafka-server-start.sh server.properties --override k=v`` does.
Logs go to stderr. Once every listener is bound, one line goes to stdout::

    minikafka broker 1 listening on PLAINTEXT://127.0.0.1:40123

so a script that asked for port 0 (``listeners=PLAINTEXT://127.0.0.1:0``)
can read the port the operating system chose. SIGINT or SIGTERM start
Kafka's *controlled shutdown*: the broker asks the active controller to move
its partition leaderships to other in-sync replicas and waits (up to 10 s)
until it may go, then cancels ``Broker.serve()``, which flushes and closes
every log before returning; the exit status is 0. A second signal skips the
wait.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from minikafka.config import parse_override

LOG_FORMAT = "[%(asctime)s] %(levelname)s %(name)s: %(message)s"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE",
                        help="a server.properties file (Kafka's broker settings)")
    parser.add_argument("--override", metavar="KEY=VALUE", type=parse_override, action="append",
                        default=[], help="set one broker property; repeatable "
                        "(e.g. --override listeners=PLAINTEXT://127.0.0.1:0)")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="how much to log to stderr (default INFO)")


def run(args: argparse.Namespace) -> int:
    import trio

    from minikafka.broker import Broker
    from minikafka.config import BrokerConfig

    logging.basicConfig(level=args.log_level, format=LOG_FORMAT, stream=sys.stderr)
    config = BrokerConfig.load(args.config, dict(args.override))
    broker = Broker(config)
    trio.run(_serve_until_signalled, broker)
    logging.getLogger("minikafka.broker").info("broker %s shut down cleanly", broker.node_id)
    return 0


async def _serve_until_signalled(broker) -> None:
    import trio

    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            # Signals count from the start: a broker still waiting for its
            # quorum (or its controller) must stop cleanly too.
            nursery.start_soon(_shut_down_on_signal, signals, broker, nursery.cancel_scope)
            await nursery.start(broker.serve)
            print(f"minikafka broker {broker.node_id} listening on {_addresses(broker)}", flush=True)


async def _shut_down_on_signal(signals, broker, cancel_scope) -> None:
    """First signal: controlled shutdown, then stop; a second signal stops at once."""
    import trio

    log = logging.getLogger("minikafka.broker")
    async for signum in signals:
        log.info("received %s; shutting down", signal.Signals(signum).name)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_cancel_on_next_signal, signals, nursery.cancel_scope)
            await broker.controlled_shutdown()  # leaderships move to other replicas first
            nursery.cancel_scope.cancel()
        cancel_scope.cancel()  # serve() flushes and closes on the way out
        return


async def _cancel_on_next_signal(signals, cancel_scope) -> None:
    async for signum in signals:
        logging.getLogger("minikafka.broker").info("received %s again; stopping now", signal.Signals(signum).name)
        cancel_scope.cancel()
        return


def _addresses(broker) -> str:
    """Each listener with the port actually bound (differs from the config for port 0)."""
    parts = []
    for endpoint, port in zip(broker.listeners, broker.bound_ports):
        name = getattr(endpoint, "name", "PLAINTEXT")
        parts.append(f"{name}://{endpoint.host or '0.0.0.0'}:{port}")
    return ", ".join(parts)

"""``minikafka console``: a live web view of a cluster, with the failure toolkit's buttons.

::

    minikafka console --bootstrap-server 127.0.0.1:9092 [--listen 127.0.0.1:8080] [--cluster-dir D]

Serves http://127.0.0.1:8080 until Ctrl-C: brokers, topics and partitions
(leader, replicas, ISR; under-replicated ones highlighted), throughput per
topic, consumer groups with their lag, and a feed of what changed (ISR
shrinks and expansions, leader elections, rebalances, brokers going down or
coming back). With ``--cluster-dir`` (the directory of ``minikafka cluster
start``) the page also kills, pauses, resumes and restarts brokers and cuts
or heals the links between them. ``minikafka.console`` has the details.
"""

from __future__ import annotations

import argparse

DEFAULT_LISTEN = "127.0.0.1:8080"  # as minikafka.console.app (imported lazily: Quart is heavy)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bootstrap-server", required=True, metavar="HOST:PORT[,...]",
                        help="the cluster to show")
    parser.add_argument("--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT",
                        help=f"where the console serves its page (default {DEFAULT_LISTEN})")
    parser.add_argument("--cluster-dir", default=None, metavar="DIR",
                        help="the local cluster's directory (`minikafka cluster start --dir`): "
                             "enables kill/pause/resume/restart and cut/heal")


def run(args: argparse.Namespace) -> int:
    import trio

    from minikafka.console.app import serve_console

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            url = await nursery.start(serve_console, args.bootstrap_server, args.listen, args.cluster_dir)
            print(f"console: {url}", flush=True)

    trio.run(main)
    return 0

"""``minikafka elect-leaders``: move partition leadership (kafka-leader-election.sh).

A partition's *preferred* leader is the first replica of its assignment.
After a broker restarts it follows for every partition it led before (its
leaderships went to other in-sync replicas while it was away), so the load
is lopsided until the controller's periodic leader balance
(``auto.leader.rebalance.enable``, every
``leader.imbalance.check.interval.seconds``) or this command moves them back:

    minikafka elect-leaders --bootstrap-server localhost:9092 --election-type preferred --all-topic-partitions

``--election-type unclean`` elects any live replica for a partition that has
no leader, even one that is not in sync: it brings the partition back
online at the price of losing the records only the dead replicas had.

The output is kafka-leader-election.sh's: the partitions whose leader
changed, the ones that already had the wanted leader, and the failures.
The request goes to the active controller through ElectLeaders (API 43),
sent by the bundled ``SyncAdmin``.
"""

from __future__ import annotations

import argparse

ELECTION_TYPES = {"preferred": 0, "unclean": 1}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bootstrap-server", required=True, metavar="HOST:PORT",
                        help="a broker to connect to (several: comma-separated)")
    parser.add_argument("--election-type", required=True, choices=sorted(ELECTION_TYPES),
                        type=str.lower, help="preferred: the first replica; unclean: any live replica")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--all-topic-partitions", action="store_true", help="every partition of every topic")
    which.add_argument("--topic", metavar="NAME", help="one topic (with --partition: one partition)")
    parser.add_argument("--partition", type=int, metavar="N", help="with --topic: only this partition")


def run(args: argparse.Namespace) -> int:
    from minikafka.errors import ErrorCode
    from minikafka_clients import SyncAdmin

    config = {"bootstrap.servers": args.bootstrap_server, "client.id": "minikafka-elect-leaders"}
    with SyncAdmin(config) as admin:
        partitions = None
        if args.topic is not None:
            indexes = ([args.partition] if args.partition is not None
                       else sorted(admin.describe_topics([args.topic])[args.topic].partitions))
            partitions = [(args.topic, i) for i in indexes]
        results = admin.elect_leaders(partitions, election_type=ELECTION_TYPES[args.election_type])
    elected = sorted(str_of(tp) for tp, code in results.items() if code == ErrorCode.NONE)
    unchanged = sorted(str_of(tp) for tp, code in results.items() if code == ErrorCode.ELECTION_NOT_NEEDED)
    failed = {str_of(tp): code for tp, code in results.items()
              if code not in (ErrorCode.NONE, ErrorCode.ELECTION_NOT_NEEDED)}
    kind = args.election_type.upper()
    if elected:
        print(f"Successfully completed leader election ({kind}) for partitions {', '.join(elected)}")
    if unchanged:
        print(f"Valid replica already elected for partitions {', '.join(unchanged)}")
    if not results:
        print("No partition needed a new leader.")
    for name, code in sorted(failed.items()):
        print(f"Error completing leader election ({kind}) for partition: {name}: {ErrorCode(code).name}")
    return 1 if failed else 0


def str_of(tp: tuple[str, int]) -> str:
    return f"{tp[0]}-{tp[1]}"

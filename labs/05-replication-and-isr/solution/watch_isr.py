"""Watch a partition's leader and in-sync replicas until they look as expected.

``kafka-topics.sh --describe`` shows a snapshot; the ISR changes a few seconds
after a broker dies (the leader drops a follower that has not caught up for
``replica.lag.time.max.ms``, or the controller fences a broker whose
heartbeats stop for ``broker.session.timeout.ms``). This tool asks Metadata
every half second, prints every change, and exits 0 once the partition
matches ``--until-isr`` / ``--until-leader`` (1 on timeout); with several
``--topic``, once partition ``--partition`` of each one does.

    python labs/05-replication-and-isr/solution/watch_isr.py \
        --bootstrap-server 127.0.0.1:9092 --topic ledger-fast --until-isr 1
"""

from __future__ import annotations

import argparse
import sys
import time

from minikafka_clients import SyncAdmin

POLL_S = 0.5


def describe(admin: SyncAdmin, topic: str, partition: int) -> tuple[str, str]:
    """(leader, isr) of one partition as text: ``"1"``, ``"1,2"``; ``"none"`` without a leader."""
    metadata = admin.describe_topics([topic])[topic].partitions[partition]
    leader = "none" if metadata.leader_id < 0 else str(metadata.leader_id)
    return leader, ",".join(str(broker) for broker in sorted(metadata.isr))


def watch(bootstrap_server: str, topics: list[str], partition: int, until_isr: str | None,
          until_leader: str | None, timeout_s: float) -> bool:
    """Print each change of (leader, isr); True once every topic's partition matches."""
    deadline = time.monotonic() + timeout_s
    last: dict[str, tuple[str, str]] = {}
    with SyncAdmin({"bootstrap.servers": bootstrap_server}) as admin:
        while time.monotonic() < deadline:
            matched = True
            for topic in topics:
                try:
                    leader, isr = describe(admin, topic, partition)
                except Exception as error:  # a broker may be down mid-election: ask again
                    leader, isr = "?", f"? ({error})"
                if (leader, isr) != last.get(topic):
                    print(f"{topic}-{partition}: leader {leader}, isr {isr}", flush=True)
                    last[topic] = (leader, isr)
                matched &= (until_isr is None or isr == until_isr) and \
                    (until_leader is None or leader == until_leader)
            if matched:
                return True
            time.sleep(POLL_S)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-server", required=True)
    parser.add_argument("--topic", action="append", required=True, help="repeatable")
    parser.add_argument("--partition", type=int, default=0)
    parser.add_argument("--until-isr", help="comma-separated broker ids, e.g. 1 or 1,2")
    parser.add_argument("--until-leader", help="a broker id, or none")
    parser.add_argument("--timeout-s", type=float, default=30.0)
    args = parser.parse_args()
    matched = watch(args.bootstrap_server, args.topic, args.partition, args.until_isr,
                    args.until_leader, args.timeout_s)
    if not matched:
        print(f"timed out after {args.timeout_s:g} s", file=sys.stderr)
    sys.exit(0 if matched else 1)


if __name__ == "__main__":
    main()

"""A consumer group's lag, per partition and for the topic, and the partitions that hold most of it.

Starter: complete the places marked ``# LAB 04:`` (``solution/`` has the answer).

Lag is measured the way ``kafka-consumer-groups.sh --describe`` measures it:
for each partition, the log end offset (ListOffsets, latest) minus the
group's committed offset (OffsetFetch); a partition without a committed
offset counts from the log start offset. The topic's lag is the sum, and a
partition holding more than half of it is *hot*: the sum (or an average
over partitions) looks harmless while one partition's consumer is stuck.

Writes ``<work-dir>/lag.json``: ``{"group", "topic", "partitions": {"0": lag, ...},
"total": lag, "hot": [partition, ...]}``.

    python labs/04-consumer-groups-and-lag/starter/lag_report.py --bootstrap-server 127.0.0.1:9092 \\
        --group order-audit --topic orders
"""

from __future__ import annotations

import argparse
import json
import pathlib

from minikafka_clients import SyncAdmin
from minikafka_clients import admin as admin_ops


def partition_lag(bootstrap_server: str, group: str, topic: str) -> dict[int, int]:
    """Partition -> log end offset minus the group's committed offset."""
    with SyncAdmin({"bootstrap.servers": bootstrap_server}) as admin:
        partitions = [(topic, p) for p in sorted(admin.describe_topics([topic])[topic].partitions)]
        ends = admin.list_offsets({tp: admin_ops.LATEST for tp in partitions})
        starts = admin.list_offsets({tp: admin_ops.EARLIEST for tp in partitions})
        committed = admin.list_consumer_group_offsets(group, partitions)
    lag = {}
    for tp in partitions:
        # LAB 04: the lag of partition tp[1]: its log end offset (ends[tp].offset)
        # minus the group's committed offset (committed[tp].offset), or minus the
        # log start offset (starts[tp].offset) when the group committed none.
        lag[tp[1]] = 0
    return lag


def hot_partitions(lag: dict[int, int]) -> list[int]:
    """The partitions holding more than half of the topic's lag."""
    # LAB 04: the partitions whose lag is more than half of the total, in order.
    return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-server", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--work-dir", type=pathlib.Path, default=pathlib.Path("lab-data/work/04"))
    args = parser.parse_args()
    lag = partition_lag(args.bootstrap_server, args.group, args.topic)
    total, hot = sum(lag.values()), hot_partitions(lag)
    print("PARTITION LAG")
    for partition, value in lag.items():
        print(f"{partition:<9} {value}{'   <- hot' if partition in hot else ''}")
    print(f"topic '{args.topic}': total lag {total}, average {total / len(lag):.0f} per partition")
    args.work_dir.mkdir(parents=True, exist_ok=True)
    report = {"group": args.group, "topic": args.topic, "partitions": {str(p): v for p, v in lag.items()},
              "total": total, "hot": hot}
    (args.work_dir / "lag.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()

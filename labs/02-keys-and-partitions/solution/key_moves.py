"""Which keys have records in more than one partition (after adding partitions).

Adding partitions to a topic does not move a single record: the old records
stay where they are. But the producers now compute ``murmur2(key) % 6``
instead of ``% 3``, so a key whose result changes writes its new records to
another partition. A consumer of that key now sees its history split over
two partitions, read by possibly different consumers at different speeds:
ordering per key is lost across the change. (About half the keys move from 3
to 6 partitions; from N to N+1, most of them.) This is why keyed topics are
created with enough partitions up front.

    python solution/key_moves.py --bootstrap-server 127.0.0.1:9092 --topic carts \\
        --out lab-data/work/02/moved.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from partitioner import partition_for, placement


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap-server", default="127.0.0.1:9092")
    parser.add_argument("--topic", default="carts")
    parser.add_argument("--before", type=int, default=3, help="the partition count before the change")
    parser.add_argument("--out", type=Path, help="write the keys that moved here, as JSON")
    args = parser.parse_args()
    num_partitions, where = placement(args.bootstrap_server, args.topic)
    moved = sorted((key for key, partitions in where.items() if len(partitions) > 1),
                   key=lambda k: (len(k), k))
    for key in sorted(where, key=lambda k: (len(k), k)):
        old, new = partition_for(key.encode(), args.before), partition_for(key.encode(), num_partitions)
        note = "MOVED" if key in moved else ""
        print(f"{key:<10} % {args.before} -> {old}   % {num_partitions} -> {new}   "
              f"records in {sorted(where[key])}   {note}")
    print(f"{len(moved)} of {len(where)} keys have records in two partitions")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"topic": args.topic, "partitions": num_partitions, "moved": moved},
                                       indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Delete the records of a partition below an offset (Kafka's DeleteRecords).

The same request as Kafka's ``kafka-delete-records.sh --offset-json-file``,
through the bundled admin client: the partition's *log start offset* moves
up to ``--offset``. Nothing is rewritten: consumers simply cannot read below
the new log start offset any more, and a segment file is deleted once every
offset it holds is below it.

    python solution/delete_records.py --bootstrap-server 127.0.0.1:9092 \\
        --topic clicks --partition 0 --offset 100
"""

from __future__ import annotations

import argparse

from minikafka_clients import SyncAdmin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap-server", default="127.0.0.1:9092")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partition", type=int, default=0)
    parser.add_argument("--offset", type=int, required=True, help="delete every record below this offset")
    args = parser.parse_args()
    with SyncAdmin({"bootstrap.servers": args.bootstrap_server}) as admin:
        low_watermarks = admin.delete_records({(args.topic, args.partition): args.offset})
    for (topic, partition), low_watermark in sorted(low_watermarks.items()):
        print(f"{topic}-{partition}: log start offset (low watermark) is now {low_watermark}")


if __name__ == "__main__":
    main()

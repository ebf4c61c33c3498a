"""Restart one member of a two-member group and see whether the group rebalances.

A *dynamic* member (no ``group.instance.id``) sends LeaveGroup when it
closes and gets a new member id when it comes back: two rebalances, and with
eager rebalancing (``range``, used here) the other member gives up and gets
back all of its partitions twice. A *static* member (``--static``: a
``group.instance.id``, KIP-345) sends no LeaveGroup; the coordinator keeps its
place until ``session.timeout.ms`` passes, and when it rejoins with the same
instance id it gets its old assignment back: no rebalance, same generation,
nothing revoked from the other member.

Writes ``<work-dir>/bounce-static.json`` or ``bounce-dynamic.json``.

    python labs/04-consumer-groups-and-lag/solution/bounce_member.py --bootstrap-server 127.0.0.1:9092 --static
"""

from __future__ import annotations

import argparse
import json
import pathlib

from minikafka_clients import SyncAdmin

from members import TOPIC, Journal, Member, member_config, wait_settled  # beside this script


def bounce(bootstrap_server: str, static: bool) -> dict:
    """Start two members, restart the second, report what the first saw."""
    with SyncAdmin({"bootstrap.servers": bootstrap_server}) as admin:
        partitions = len(admin.describe_topics([TOPIC])[TOPIC].partitions)
    kind = "static" if static else "dynamic"
    group = f"order-bounce-{kind}"

    def new_member(n: int) -> Member:
        instance_id = f"order-bouncer-{n}" if static else None
        return Member(f"member-{n}", member_config(bootstrap_server, group, "range", instance_id), journal)

    journal = Journal()
    first, second = new_member(1), new_member(2)
    first.start()
    second.start()
    wait_settled([first, second], partitions, journal)
    before = first.generation_id
    journal.take()
    second.stop()
    second = new_member(2)  # the same instance id, if static
    second.start()
    wait_settled([first, second], partitions, journal)
    events = journal.take()
    result = {"kind": kind, "generation_before": before, "generation_after": first.generation_id,
              "other_revoked": [p for e in events if e["member"] == "member-1" and e["event"] == "revoked"
                                for p in e["partitions"]],
              "owners": {"member-1": sorted(first.owned), "member-2": sorted(second.owned)}}
    first.stop()
    second.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-server", required=True)
    parser.add_argument("--static", action="store_true", help="give the members a group.instance.id")
    parser.add_argument("--work-dir", type=pathlib.Path, default=pathlib.Path("lab-data/work/04"))
    args = parser.parse_args()
    result = bounce(args.bootstrap_server, args.static)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    out = args.work_dir / f"bounce-{result['kind']}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{result['kind']} member restarted: generation {result['generation_before']} -> "
          f"{result['generation_after']}, member-1 had {result['other_revoked'] or 'nothing'} revoked "
          f"(written to {out})")


if __name__ == "__main__":
    main()

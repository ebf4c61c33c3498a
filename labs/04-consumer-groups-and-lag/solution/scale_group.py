"""Scale a consumer group 1 -> 2 -> 3 -> 2 members and count what each rebalance revoked.

Runs the members in threads of this process (``members.py``), one step at a
time, waits for the group to settle after each, and prints, per step, which
partitions each member had revoked and assigned. The same steps with
``--strategy range`` (eager rebalancing) and ``--strategy cooperative-sticky``
(incremental, KIP-429) show the difference: eager revokes every partition of
every member at each step; cooperative revokes only those that move.

Writes ``<work-dir>/rebalance-<strategy>.json``.

    python labs/04-consumer-groups-and-lag/solution/scale_group.py --bootstrap-server 127.0.0.1:9092 \\
        --strategy cooperative-sticky
"""

from __future__ import annotations

import argparse
import json
import pathlib

from minikafka_clients import SyncAdmin

from members import TOPIC, Journal, Member, member_config, wait_settled  # beside this script


def summarize(step: str, events: list[dict], members: list[Member]) -> dict:
    """One step: the partitions each member had revoked and assigned, and who owns what now."""
    revoked: dict[str, list[int]] = {}
    assigned: dict[str, list[int]] = {}
    for event in events:
        target = revoked if event["event"] in ("revoked", "lost") else assigned
        target.setdefault(event["member"], []).extend(event["partitions"])
    return {"step": step, "revoked": revoked, "assigned": assigned,
            "revoked_count": sum(len(p) for p in revoked.values()),
            "owners": {m.name: sorted(m.owned) for m in members}}


def scale(bootstrap_server: str, strategy: str) -> list[dict]:
    """Run the steps; return one summary per step."""
    with SyncAdmin({"bootstrap.servers": bootstrap_server}) as admin:
        partitions = len(admin.describe_topics([TOPIC])[TOPIC].partitions)
    group = f"order-scaling-{strategy}"
    journal = Journal()
    live: list[Member] = []
    steps = []

    def step(name: str) -> None:
        wait_settled(live, partitions, journal)
        summary = summarize(name, journal.take(), live)
        steps.append(summary)
        print(f"{name}: revoked {summary['revoked'] or 'nothing'}, assigned {summary['assigned'] or 'nothing'}"
              f" -> owners {summary['owners']}", flush=True)

    for n in (1, 2, 3):
        member = Member(f"member-{n}", member_config(bootstrap_server, group, strategy), journal)
        live.append(member)
        member.start()
        step(f"member-{n} joins")
    leaving = live.pop()
    leaving.stop()
    step(f"{leaving.name} leaves")
    for member in live:
        member.stop()
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-server", required=True)
    parser.add_argument("--strategy", choices=["range", "roundrobin", "cooperative-sticky"], required=True)
    parser.add_argument("--work-dir", type=pathlib.Path, default=pathlib.Path("lab-data/work/04"))
    args = parser.parse_args()
    steps = scale(args.bootstrap_server, args.strategy)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    out = args.work_dir / f"rebalance-{args.strategy}.json"
    out.write_text(json.dumps({"strategy": args.strategy, "steps": steps}, indent=2) + "\n")
    print(f"partitions revoked in all: {sum(s['revoked_count'] for s in steps)} (written to {out})")


if __name__ == "__main__":
    main()

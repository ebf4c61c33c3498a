"""Lab 4: consumer groups and lag: rebalances (eager, cooperative, static) and lag per partition.

``start`` creates ``orders`` (6 partitions): 20 records on each partition
and 300 more on partition 3 (a hot key), and commits offsets for group
``order-audit`` as a consumer would have left them: 5 records behind on every
partition but partition 3, where it is stuck 300 behind.

The student writes a lag report (``work/04/lag.json``), scales a group with
eager and cooperative rebalancing (``rebalance-<strategy>.json``) and bounces
a static and a dynamic member (``bounce-static.json``, ``bounce-dynamic.json``).
The check compares the report with the cluster and reads what the
rebalances did.
"""

from __future__ import annotations

import json
import time

from minikafka.labs import Lab, LabContext, Report

# Only Kafka's protocol and client settings, but not marked protocol_only: the
# second broker CI runs labs on (Tansu) answers ListOffsets with other end
# offsets than Kafka's and does not keep static members (group.instance.id),
# both of which this lab is about.
LAB = Lab(number=4, slug="consumer-groups-and-lag", title="Consumer groups and lag", brokers=1,
          protocol_only=False)

TOPIC = "orders"
GROUP = "order-audit"
PARTITIONS = 6
HOT = 3
PER_PARTITION = 20
HOT_EXTRA = 300
BEHIND = 5
GROUP_PREFIX = "order-"  # every group of the lab: order-audit, order-scaling-*, order-bounce-*
RESET_TIMEOUT_S = 30.0


def start(ctx: LabContext) -> None:
    """Create ``orders``, fill it (partition 3 hot), commit ``order-audit``'s offsets."""
    from minikafka_clients import NewTopic

    with ctx.admin() as admin:
        admin.create_topics([NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=1)])
    with ctx.producer({"acks": "all", "linger.ms": 5}) as producer:
        for partition in range(PARTITIONS):
            count = PER_PARTITION + (HOT_EXTRA if partition == HOT else 0)
            key = b"customer-big" if partition == HOT else f"customer-{partition}".encode()
            for n in range(count):
                producer.produce(TOPIC, f"order-{partition}-{n}".encode(), key=key, partition=partition)
        producer.flush()
    committed = {(TOPIC, p): PER_PARTITION if p == HOT else PER_PARTITION - BEHIND for p in range(PARTITIONS)}
    with ctx.admin() as admin:
        admin.alter_consumer_group_offsets(GROUP, committed)


def expected_lag() -> dict[str, int]:
    """What ``start`` left: partition -> lag of ``order-audit``."""
    return {str(p): HOT_EXTRA if p == HOT else BEHIND for p in range(PARTITIONS)}


def check(ctx: LabContext, report: Report) -> None:
    """The lag report, the two scaling runs and the two bounces."""
    check_lag_report(ctx, report)
    check_scaling(ctx, report)
    check_bounces(ctx, report)


def read_json(ctx: LabContext, name: str) -> dict | None:
    path = ctx.work_dir / name
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def check_lag_report(ctx: LabContext, report: Report) -> None:
    lag = read_json(ctx, "lag.json")
    if lag is None:
        report.missing("no lag report in work/04/lag.json", hint="step 2: starter/lag_report.py")
        return
    report.expect(lag.get("partitions") == expected_lag(),
                  "lag.json has the lag of every partition of 'orders' for 'order-audit'",
                  f"lag.json's partitions {lag.get('partitions')} are not the group's lag per partition",
                  hint="lag = log end offset - committed offset, per partition (# LAB 04)")
    report.expect(lag.get("total") == sum(expected_lag().values()), "lag.json has the topic's total lag",
                  f"lag.json's total {lag.get('total')} is not the sum of the partitions' lag")
    report.expect(lag.get("hot") == [HOT], f"lag.json names partition {HOT} as the hot one",
                  f"lag.json's hot partitions are {lag.get('hot')}, not [{HOT}]",
                  hint="a partition holding more than half of the topic's lag (# LAB 04)")


def check_scaling(ctx: LabContext, report: Report) -> None:
    eager = read_json(ctx, "rebalance-range.json")
    cooperative = read_json(ctx, "rebalance-cooperative-sticky.json")
    if eager is None or cooperative is None:
        report.missing("no scaling runs in work/04/rebalance-range.json and rebalance-cooperative-sticky.json",
                       hint="step 4: scale_group.py with --strategy range, then cooperative-sticky")
        return
    joins = {s["step"]: s for s in eager["steps"]}
    second = joins.get("member-2 joins", {})
    report.expect(second.get("revoked", {}).get("member-1") == list(range(PARTITIONS)),
                  "eager: when member-2 joined, member-1 had all 6 partitions revoked",
                  f"eager: member-1's revocations when member-2 joined were {second.get('revoked')}")
    eager_total = sum(s["revoked_count"] for s in eager["steps"])
    cooperative_total = sum(s["revoked_count"] for s in cooperative["steps"])
    report.expect(cooperative_total < eager_total,
                  f"cooperative-sticky revoked {cooperative_total} partitions in all, eager {eager_total}",
                  f"cooperative-sticky revoked {cooperative_total} partitions, not fewer than eager's {eager_total}")


def check_bounces(ctx: LabContext, report: Report) -> None:
    static, dynamic = read_json(ctx, "bounce-static.json"), read_json(ctx, "bounce-dynamic.json")
    if static is None or dynamic is None:
        report.missing("no bounces in work/04/bounce-static.json and bounce-dynamic.json",
                       hint="step 5: bounce_member.py with and without --static")
        return
    report.expect(static["generation_before"] == static["generation_after"] and not static["other_revoked"],
                  "a static member (group.instance.id) came back without a rebalance",
                  f"the static bounce changed the group: {static}")
    report.expect(dynamic["generation_after"] > dynamic["generation_before"] and dynamic["other_revoked"],
                  "a dynamic member's restart rebalanced the group",
                  f"the dynamic bounce did not rebalance the group: {dynamic}")


def solve(ctx: LabContext) -> None:
    """Run the reference bounces, both scaling runs and the lag report.

    The static bounce goes first: its members stay in their group for
    ``session.timeout.ms`` after the script ends, and have expired by the time
    the rest is done (``reset`` can then delete the group at once).
    """
    work = ["--work-dir", str(ctx.work_dir)]
    ctx.run_solution("bounce_member", "--static", *work)
    ctx.run_solution("bounce_member", *work)
    for strategy in ("range", "cooperative-sticky"):
        ctx.run_solution("scale_group", "--strategy", strategy, *work)
    ctx.run_solution("lag_report", "--group", GROUP, "--topic", TOPIC, *work)


def reset(ctx: LabContext) -> None:
    """Delete the lab's groups and ``orders`` (``start`` then runs again).

    Static members stay in their group for ``session.timeout.ms`` after their
    process exits, and Kafka deletes only empty groups: wait for them to expire.
    """
    deadline = time.monotonic() + RESET_TIMEOUT_S
    with ctx.admin() as admin:
        while True:
            groups = [g.group_id for g in admin.list_consumer_groups() if g.group_id.startswith(GROUP_PREFIX)]
            busy = [g for g, d in admin.describe_consumer_groups(groups).items() if d.members] if groups else []
            if not busy or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if groups:
            admin.delete_consumer_groups(groups)
        if TOPIC in admin.list_topics():
            admin.delete_topics([TOPIC])
        while TOPIC in admin.list_topics() and time.monotonic() < deadline:
            time.sleep(0.2)

"""Lab 07: back-pressure (a quota on a noisy producer) and a lag-based autoscaler.

``start`` creates ``telemetry`` (where the noisy producer writes), ``orders``
(the quiet one) and ``jobs`` (6 partitions, the autoscaler's). ``check``
looks at:

- the client quota of client id ``noisy`` (``producer_byte_rate``);
- ``before.json`` and ``after.json`` in the lab's work directory, written by
  ``noisy_neighbour.py``: unthrottled before, throttled (the client saw a
  throttle time, its rate came down near the quota) after;
- ``autoscaler.jsonl``: at least one scale-up and one scale-down, never more
  workers than partitions; and the group ``jobs-workers`` with no lag left.

``reset`` removes the quota as well as the topics and groups.
"""

from __future__ import annotations

import json
import time

from minikafka.labs import Lab, LabContext, Report

LAB = Lab(number=7, slug="back-pressure", title="Back-pressure: quotas and a lag-based autoscaler",
          brokers=1,
          # Kafka's default is 11 windows of 1 s: a new client may burst about 10 s of
          # its quota before the throttle starts. 2 windows show the throttle in a 4 s run.
          overrides={"quota.window.num": "2"})

TELEMETRY, ORDERS, JOBS, GROUP = "telemetry", "orders", "jobs", "jobs-workers"
NOISY = "noisy"
JOBS_PARTITIONS = 6
QUOTA_BYTES_PER_S = 1048576


def start(ctx: LabContext) -> None:
    from minikafka_clients import NewTopic

    with ctx.admin() as admin:
        admin.create_topics([NewTopic(TELEMETRY, 1, 1), NewTopic(ORDERS, 1, 1),
                             NewTopic(JOBS, JOBS_PARTITIONS, 1)])


def noisy_quota(ctx: LabContext) -> float | None:
    """The ``producer_byte_rate`` quota of client id ``noisy``, or None."""
    from minikafka_clients import ClientQuotaFilterComponent

    with ctx.admin() as admin:
        quotas = admin.describe_client_quotas(
            [ClientQuotaFilterComponent.of_entity("client-id", NOISY)], strict=True)
    for values in quotas.values():
        if "producer_byte_rate" in values:
            return values["producer_byte_rate"]
    return None


def read_json(ctx: LabContext, name: str) -> dict | None:
    path = ctx.work_dir / name
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def check(ctx: LabContext, report: Report) -> None:
    check_quota(ctx, report)
    check_autoscaler(ctx, report)


def check_quota(ctx: LabContext, report: Report) -> None:
    before = read_json(ctx, "before.json")
    report.expect(before is not None and before["noisy_produce_throttle_time_max_ms"] == 0,
                  f"before.json: noisy wrote {mib(before)} MiB/s, never throttled",
                  "no before.json from an unthrottled run" if before is None
                  else "before.json shows a throttled run: run step 2 before setting the quota",
                  hint="step 2: noisy_neighbour.py --out lab-data/work/07/before.json, before the quota")
    quota = noisy_quota(ctx)
    if not report.expect(quota is not None, f"client id '{NOISY}' has producer_byte_rate={quota}",
                         f"client id '{NOISY}' has no producer_byte_rate quota",
                         hint="step 3: minikafka configs --alter --entity-type clients ..."):
        return
    after = read_json(ctx, "after.json")
    throttle_ms = after["noisy_produce_throttle_time_max_ms"] if after else 0
    throttled = throttle_ms > 0
    report.expect(throttled,
                  f"after.json: the broker throttled noisy (produce-throttle-time-max {throttle_ms:.0f} ms)",
                  "no after.json showing noisy throttled",
                  hint="step 4: noisy_neighbour.py --out lab-data/work/07/after.json, with the quota")
    if throttled:
        # Kafka's quota is an average over its windows (11 x 1 s): a short run may
        # burst above it at first, so allow up to twice the quota on average.
        report.expect(after["noisy_bytes_per_second"] <= 2 * quota,
                      f"after.json: noisy came down to {mib(after)} MiB/s (quota "
                      f"{quota / 2**20:.2f} MiB/s)",
                      f"after.json: noisy still wrote {mib(after)} MiB/s, over twice its quota")


def mib(result: dict | None) -> str:
    return "?" if result is None else f"{result['noisy_bytes_per_second'] / 2**20:.2f}"


def check_autoscaler(ctx: LabContext, report: Report) -> None:
    path = ctx.work_dir / "autoscaler.jsonl"
    decisions = []
    if path.exists():
        decisions = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    actions = [d["action"] for d in decisions]
    report.expect("scale-up" in actions and "scale-down" in actions,
                  f"autoscaler.jsonl: {actions.count('scale-up')} scale-up(s) as the lag grew, "
                  f"{actions.count('scale-down')} scale-down(s) once it was gone",
                  "no autoscaler.jsonl with both a scale-up and a scale-down",
                  hint="step 6: autoscaler.py --out lab-data/work/07/autoscaler.jsonl")
    if decisions:
        most = max(d["workers"] for d in decisions)
        report.expect(most <= JOBS_PARTITIONS,
                      f"at most {most} workers for {JOBS_PARTITIONS} partitions",
                      f"{most} workers for {JOBS_PARTITIONS} partitions: the extra ones sit idle",
                      hint="cap the workers at the partition count")
    lag = group_lag(ctx)
    report.expect(lag == 0, f"group '{GROUP}' has consumed every job (lag 0)",
                  f"group '{GROUP}' has lag {lag}" if lag is not None else f"no group '{GROUP}'",
                  hint="step 6")


def group_lag(ctx: LabContext) -> int | None:
    from minikafka_clients.admin import LATEST

    with ctx.admin() as admin:
        committed = admin.list_consumer_group_offsets(GROUP)
        if not committed:
            return None
        ends = admin.list_offsets({(JOBS, p): LATEST for p in range(JOBS_PARTITIONS)})
    return sum(info.offset - (committed[tp].offset if tp in committed else 0)
               for tp, info in ends.items())


def solve(ctx: LabContext) -> None:
    remove_quota(ctx)  # step 2 runs without it
    ctx.run_solution("noisy_neighbour", "--seconds", "4", "--out", str(ctx.work_dir / "before.json"))
    ctx.run("configs", "--alter", "--entity-type", "clients", "--entity-name", NOISY,
            "--add-config", f"producer_byte_rate={QUOTA_BYTES_PER_S}")
    ctx.run_solution("noisy_neighbour", "--seconds", "4", "--out", str(ctx.work_dir / "after.json"))
    ctx.run_solution("autoscaler", "--out", str(ctx.work_dir / "autoscaler.jsonl"))


def remove_quota(ctx: LabContext) -> None:
    """Remove the ``producer_byte_rate`` of client id ``noisy`` (nothing happens if none)."""
    from minikafka_clients import ClientQuotaAlteration, ClientQuotaEntity

    entity = ClientQuotaEntity({"client-id": NOISY})
    with ctx.admin() as admin:
        admin.alter_client_quotas([ClientQuotaAlteration(
            entity, [ClientQuotaAlteration.Op("producer_byte_rate", None)])])


def delete_groups(admin, timeout_s: float = 30) -> None:
    """Delete every group; a member that left without LeaveGroup keeps its group
    non-empty until its session times out (6 s for the workers), so retry."""
    from minikafka.errors import KafkaError

    deadline = time.monotonic() + timeout_s
    while groups := [g.group_id for g in admin.list_consumer_groups()]:
        try:
            admin.delete_consumer_groups(groups)
            return
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def reset(ctx: LabContext) -> None:
    """Remove the quota, the groups and the lab's topics (``start`` runs again after)."""
    remove_quota(ctx)
    with ctx.admin() as admin:
        delete_groups(admin)
        topics = [t for t in (TELEMETRY, ORDERS, JOBS) if t in admin.list_topics()]
        admin.delete_topics(topics)
        deadline = time.monotonic() + 30
        while set(topics) & set(admin.list_topics()) and time.monotonic() < deadline:
            time.sleep(0.2)

"""Lab 5: replication and the ISR: lose an acknowledged write, then make it impossible.

Two topics, one partition each, replicas on brokers 1 and 2 (1 the
preferred leader), broker 3 holding no copy (it keeps the KRaft quorum at
two of three voters while 1 or 2 is down):

- ``ledger-fast``: ``min.insync.replicas=1`` (Kafka's default), written with acks=1;
- ``ledger-safe``: the student sets ``min.insync.replicas=2``, written with acks=all.

The scenario: kill follower 2 (the ISR shrinks to [1]), write to both
topics (acks=1 is acknowledged, acks=all is refused with
NOT_ENOUGH_REPLICAS), kill leader 1 (no ISR member is alive: both
partitions are offline), bring 2 back, elect it uncleanly for
``ledger-fast``, restart 1 (it truncates to the new leader's log).

The check compares the writer's receipts (``work/05/acked-*.txt``,
``refused-*.txt``) with what the topics hold.
"""

from __future__ import annotations

import time

from minikafka.labs import Lab, LabContext, Report

LAB = Lab(
    number=5, slug="replication-and-isr", title="Replication and the ISR", brokers=3,
    # Faster than Kafka's defaults (30000, 9000, 2000 ms) so the ISR shrinks and
    # a dead broker is fenced within seconds; everything else is Kafka's default.
    overrides={"replica.lag.time.max.ms": 2000, "broker.session.timeout.ms": 2000,
               "broker.heartbeat.interval.ms": 250},
    needs_fault_toolkit=True, protocol_only=False)

FAST, SAFE = "ledger-fast", "ledger-safe"
REPLICAS = [1, 2]  # the preferred leader first
WAIT_S = 30.0


def start(ctx: LabContext) -> None:
    """Create both topics on brokers 1 and 2 and write five opening entries to each."""
    from minikafka_clients import NewTopic

    with ctx.admin() as admin:
        admin.create_topics([NewTopic(topic, replicas_assignments={0: list(REPLICAS)})
                             for topic in (FAST, SAFE)])
        for topic in (FAST, SAFE):
            wait_for(admin, topic, isr=",".join(map(str, REPLICAS)))
    with ctx.producer({"acks": "all"}) as producer:
        for topic in (FAST, SAFE):
            for n in range(1, 6):
                producer.produce(topic, f"opening-{n}".encode(), key=b"account-7")
        producer.flush()


def check(ctx: LabContext, report: Report) -> None:
    """min.insync.replicas on ledger-safe, an acks=1 write lost, every acks=all write kept."""
    with ctx.admin() as admin:
        min_isr = admin.describe_configs(SAFE, ["min.insync.replicas"])["min.insync.replicas"].value
    report.expect(min_isr == "2", f"'{SAFE}' has min.insync.replicas=2",
                  f"'{SAFE}' has min.insync.replicas={min_isr}, not 2",
                  hint="step 2: minikafka configs --alter --entity-type topics ...")

    fast_acked = receipts(ctx, f"acked-{FAST}.txt")
    fast_kept = read_values(ctx, FAST)
    lost = [value for value in fast_acked if value not in fast_kept]
    report.expect(bool(lost), f"{len(lost)} write(s) to '{FAST}' acknowledged with acks=1 are gone "
                  f"({', '.join(lost[:3])}{', ...' if len(lost) > 3 else ''})",
                  f"no acknowledged write to '{FAST}' was lost yet",
                  hint="steps 3-8: kill the follower, write with acks=1, kill the leader, "
                       "elect the follower uncleanly")

    refused = [line for line in receipts(ctx, f"refused-{SAFE}.txt") if "NOT_ENOUGH_REPLICAS" in line]
    report.expect(bool(refused), f"{len(refused)} acks=all write(s) to '{SAFE}' refused with NOT_ENOUGH_REPLICAS",
                  f"no acks=all write to '{SAFE}' was refused with NOT_ENOUGH_REPLICAS",
                  hint="step 5: write to ledger-safe with acks=all while its ISR is [1]")

    safe_acked = receipts(ctx, f"acked-{SAFE}.txt")
    safe_kept = read_values(ctx, SAFE)
    safe_lost = [value for value in safe_acked if value not in safe_kept]
    report.expect(bool(safe_acked) and not safe_lost,
                  f"all {len(safe_acked)} acknowledged acks=all writes to '{SAFE}' are still there",
                  f"'{SAFE}' lost {len(safe_lost)} acknowledged write(s)" if safe_lost
                  else f"no acknowledged write to '{SAFE}' recorded",
                  hint="step 3: write to ledger-safe with acks=all while both replicas are in sync")


def solve(ctx: LabContext) -> None:
    """The README's scenario from a fresh start, faults through ``ctx.cluster``."""
    for path in ctx.work_dir.glob("*.txt"):
        path.unlink()
    with ctx.admin() as admin:
        admin.incremental_alter_configs(SAFE, set_configs={"min.insync.replicas": "2"})
        write(ctx, SAFE, "all", "before")
        ctx.cluster.kill(2)
        for topic in (FAST, SAFE):
            wait_for(admin, topic, isr="1")
        write(ctx, FAST, "1", "while-alone")
        write(ctx, SAFE, "all", "while-alone")
        ctx.cluster.kill(1)
        ctx.cluster.restart(2)
        wait_for(admin, FAST, leader="none")
        ctx.run("elect-leaders", "--election-type", "unclean", "--topic", FAST, "--partition", "0")
        wait_for(admin, FAST, leader="2")
        ctx.cluster.restart(1)
        for topic in (FAST, SAFE):
            wait_for(admin, topic, isr="1,2")


def write(ctx: LabContext, topic: str, acks: str, prefix: str) -> None:
    """Run the reference writer: five entries, receipts in the work directory."""
    ctx.run_solution("ledger_writer", "--topic", topic, "--acks", acks, "--prefix", prefix,
                     "--work-dir", str(ctx.work_dir))


def receipts(ctx: LabContext, name: str) -> list[str]:
    """The lines of one of the writer's receipt files (none yet: empty)."""
    path = ctx.work_dir / name
    return [line for line in path.read_text().splitlines() if line] if path.exists() else []


def read_values(ctx: LabContext, topic: str) -> set[str]:
    """The values partition 0 of ``topic`` holds, read from its start to its end offset."""
    from minikafka_clients import admin as admin_ops

    partition = (topic, 0)
    with ctx.admin() as admin:
        end = admin.list_offsets({partition: admin_ops.LATEST})[partition].offset
    values = set()
    with ctx.consumer({"enable.auto.commit": False, "fetch.max.wait.ms": 100}) as consumer:
        consumer.assign([partition])
        consumer.seek_to_beginning()
        deadline = time.monotonic() + WAIT_S
        while consumer.position(partition) < end and time.monotonic() < deadline:
            values.update(record.value.decode() for record in consumer.poll(0.5))
    return values


def wait_for(admin, topic: str, *, leader: str | None = None, isr: str | None = None) -> None:
    """Wait until partition 0 of ``topic`` has this leader (``"none"``) and ISR (``"1,2"``)."""
    deadline = time.monotonic() + WAIT_S
    seen = None
    while time.monotonic() < deadline:
        try:
            metadata = admin.describe_topics([topic])[topic].partitions[0]
            seen = ("none" if metadata.leader_id < 0 else str(metadata.leader_id),
                    ",".join(str(b) for b in sorted(metadata.isr)))
            if (leader is None or seen[0] == leader) and (isr is None or seen[1] == isr):
                return
        except Exception:  # metadata is briefly unavailable while brokers die and elect
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{topic}-0 did not reach leader={leader} isr={isr} (last seen {seen})")

"""Lab 10: failure injection and checking.

``start`` creates ``accounts-safe`` and ``accounts-unsafe`` (3 partitions,
3 replicas, ``min.insync.replicas=2``) on the three-broker cluster. The
student runs ``workload.py`` on each under the same faults: the safe run with
the idempotent producer and a read_committed reader, the unsafe one with
idempotence off and a read_uncommitted reader; then checks both histories
with their checker. ``check`` runs the reference checker on the histories in
the lab's work directory and compares its verdicts with the student's:

- the safe history has faults of several kinds, writes and transactions
  (some aborted), and no anomaly;
- the unsafe history has at least one anomaly (duplicates or aborted reads);
- ``verdict-safe.json`` and ``verdict-unsafe.json`` (the student's checker)
  found the same counts.
"""

from __future__ import annotations

import importlib.util
import json

from minikafka.labs import Lab, LabContext, LabError, Report

LAB = Lab(number=10, slug="failure-injection", title="Failure injection and checking", brokers=3,
          needs_fault_toolkit=True,
          # Faster than Kafka's defaults (30000, 9000 and 2000 ms): a lagging follower
          # leaves the ISR after 3 s, a killed broker is fenced after 2 s.
          overrides={"replica.lag.time.max.ms": "3000", "broker.session.timeout.ms": "2000",
                     "broker.heartbeat.interval.ms": "250"})

SAFE, UNSAFE = "accounts-safe", "accounts-unsafe"
ANOMALIES = ("lost", "duplicate", "aborted-read")


def start(ctx: LabContext) -> None:
    from minikafka_clients import NewTopic

    with ctx.admin() as admin:
        admin.create_topics([NewTopic(topic, 3, 3, configs={"min.insync.replicas": "2"})
                             for topic in (SAFE, UNSAFE)])


def reference_checker(ctx: LabContext):
    """The lab's own ``solution/checker.py``, imported from its file."""
    path = ctx.lab_dir / "solution" / "checker.py"
    spec = importlib.util.spec_from_file_location("minikafka_lab_10_checker", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def verdict_of(ctx: LabContext, run: str) -> dict | None:
    """The reference checker's verdict on ``history-<run>.jsonl``, or None without one."""
    path = ctx.work_dir / f"history-{run}.jsonl"
    if not path.exists():
        return None
    checker = reference_checker(ctx)
    return checker.check(checker.load(path))


def counts(verdict: dict) -> str:
    return ", ".join(f"{verdict[kind]} {kind}" for kind in ANOMALIES)


def check(ctx: LabContext, report: Report) -> None:
    safe, unsafe = verdict_of(ctx, "safe"), verdict_of(ctx, "unsafe")
    check_safe(report, safe)
    if unsafe is None:
        report.missing("no history-unsafe.jsonl yet", hint="step 4: the workload with the safety off")
    else:
        report.expect(not unsafe["valid"],
                      f"the unsafe run broke a guarantee: {counts(unsafe)}",
                      "the unsafe run shows no anomaly", hint="step 4: --idempotence false and "
                      "--isolation-level read_uncommitted, with the faults")
    for run, reference in (("safe", safe), ("unsafe", unsafe)):
        if reference is not None:
            check_student_verdict(ctx, report, run, reference)


def check_safe(report: Report, safe: dict | None) -> None:
    if safe is None:
        report.missing("no history-safe.jsonl yet", hint="step 2: workload.py on accounts-safe")
        return
    kinds = {what.split()[0] for what in safe["nemeses"]}
    faulted = {"kill", "pause"} <= kinds and ({"slow-client", "cut-client"} & kinds)
    report.expect(bool(faulted) and safe["writes"] > 0 and safe["transactions"] > 0,
                  f"the safe run: {safe['writes']} writes and {safe['transactions']} transactions "
                  f"under {len(safe['nemeses'])} faults ({', '.join(sorted(kinds))})",
                  "the safe run had no writes, transactions or faults of each kind",
                  hint="step 2: run workload.py with --cluster-dir")
    report.expect(safe["valid"], "the safe run's history is valid: nothing lost, duplicated or "
                  "read from an aborted transaction", f"the safe run shows {counts(safe)}")


def check_student_verdict(ctx: LabContext, report: Report, run: str, reference: dict) -> None:
    path = ctx.work_dir / f"verdict-{run}.json"
    try:
        mine = json.loads(path.read_text())
    except (OSError, ValueError):
        report.missing(f"no verdict-{run}.json from your checker",
                       hint=f"checker.py history-{run}.jsonl --verdict verdict-{run}.json")
        return
    same = all(mine.get(kind) == reference[kind] for kind in ANOMALIES)
    report.expect(same, f"your checker agrees on the {run} run ({counts(reference)})",
                  f"your checker found {counts({k: mine.get(k) for k in ANOMALIES})} in the {run} "
                  f"run; the reference finds {counts(reference)}",
                  hint="the # LAB 10: functions of checker.py")


def solve(ctx: LabContext) -> None:
    if ctx.cluster is None:
        raise LabError("the solution breaks brokers with the local cluster's fault toolkit: "
                       "run it on the cluster `minikafka lab start` starts")
    runs = (("safe", SAFE, "true", "read_committed"), ("unsafe", UNSAFE, "false", "read_uncommitted"))
    for run, topic, idempotence, isolation in runs:
        history = ctx.work_dir / f"history-{run}.jsonl"
        ctx.run_solution("workload", "--cluster-dir", str(ctx.cluster.cluster_dir), "--topic", topic,
                         "--idempotence", idempotence, "--isolation-level", isolation,
                         "--out", str(history))
        verdict = verdict_of(ctx, run)  # checker.py history-RUN.jsonl --verdict verdict-RUN.json
        (ctx.work_dir / f"verdict-{run}.json").write_text(json.dumps(verdict, indent=2) + "\n")

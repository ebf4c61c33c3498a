"""Lab 09: operations: the early-warning signals while a follower is slow.

``start`` creates ``payments`` (1 partition, replicas 1, 2, 3 with 1 the
leader, ``min.insync.replicas=2``) on the three-broker cluster, whose brokers
run with ``replica.lag.time.max.ms=3000``. ``check`` looks at:

- ``signals.jsonl`` (written by ``watch_signals.py``): a sample with an
  under-replicated partition, then one without (the ISR shrank and recovered);
- the brokers' ``/metrics`` now: ISR shrinks and expands counted, nothing
  under-replicated any more;
- ``alerts.txt``: the alert of ``monitoring/minikafka-alerts.yml`` that a
  follower staying slow would fire.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

from minikafka.labs import Lab, LabContext, LabError, Report

LAB = Lab(number=9, slug="operations", title="Operations: early-warning signals and alerts",
          brokers=3, needs_fault_toolkit=True,
          # Kafka's default is 30 s: the leader drops a lagging follower after 3 s here.
          overrides={"replica.lag.time.max.ms": "3000"})

TOPIC = "payments"
ALERT = "KafkaUnderReplicatedPartitions"
NOT_FIRING = ("KafkaUnderMinIsrPartitions", "KafkaOfflinePartitions", "KafkaBrokerDown")


def start(ctx: LabContext) -> None:
    from minikafka_clients import NewTopic

    with ctx.admin() as admin:
        admin.create_topics([NewTopic(TOPIC, replicas_assignments={0: [1, 2, 3]},
                                      configs={"min.insync.replicas": "2"})])


def scrape_sum(ctx: LabContext, name: str) -> float:
    """``name`` (a sample without labels) summed over the brokers' /metrics."""
    total = 0.0
    for url in ctx.metrics_urls:
        with urllib.request.urlopen(url, timeout=5) as response:
            for line in response.read().decode().splitlines():
                if line.startswith(name + " "):
                    total += float(line.split()[-1])
    return total


def check(ctx: LabContext, report: Report) -> None:
    check_signals(ctx, report)
    if ctx.metrics_urls:
        shrinks = scrape_sum(ctx, "kafka_server_replicamanager_isrshrinks_total")
        expands = scrape_sum(ctx, "kafka_server_replicamanager_isrexpands_total")
        report.expect(shrinks > 0 and expands > 0,
                      f"the brokers counted {shrinks:.0f} ISR shrink(s) and {expands:.0f} expand(s)",
                      "no ISR shrink and expand counted yet",
                      hint="step 3: slow the follower, then heal it")
        urp = scrape_sum(ctx, "kafka_server_replicamanager_underreplicatedpartitions")
        report.expect(urp == 0, "nothing is under-replicated now",
                      f"{urp:.0f} partition(s) still under-replicated",
                      hint="minikafka cluster slow --dir lab-data/cluster --delay-ms 0 1 3")
    check_alerts(ctx, report)


def check_signals(ctx: LabContext, report: Report) -> None:
    path = ctx.work_dir / "signals.jsonl"
    samples = []
    if path.exists():
        samples = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    shrunk = [s["t"] for s in samples if s.get("urp", 0) > 0]
    recovered = [s["t"] for s in samples if shrunk and s["t"] > shrunk[0] and s.get("urp", 0) == 0]
    report.expect(bool(shrunk) and bool(recovered),
                  f"signals.jsonl: under-replicated from t={shrunk[0] if shrunk else 0}s, "
                  f"recovered at t={recovered[0] if recovered else 0}s",
                  "no signals.jsonl that saw the partition under-replicated, then recover",
                  hint="step 3: watch_signals.py while the follower is slowed")


def check_alerts(ctx: LabContext, report: Report) -> None:
    path = ctx.work_dir / "alerts.txt"
    named = set(path.read_text().split()) if path.exists() else set()
    right = ALERT in named and not named & set(NOT_FIRING)
    report.expect(right, f"alerts.txt: {ALERT}",
                  "no alerts.txt naming the alert that would fire" if not named
                  else f"alerts.txt names {', '.join(sorted(named))}: not the one(s) that would fire",
                  hint="step 5: read monitoring/minikafka-alerts.yml")


def solve(ctx: LabContext) -> None:
    if ctx.cluster is None:
        raise LabError("the solution breaks brokers with the local cluster's fault toolkit: "
                       "run it on the cluster `minikafka lab start` starts")
    watcher = subprocess.Popen(
        [sys.executable, str(ctx.lab_dir / "solution" / "watch_signals.py"),
         "--bootstrap-server", ctx.bootstrap_server, "--metrics-url", ",".join(ctx.metrics_urls),
         "--seconds", "24", "--out", str(ctx.work_dir / "signals.jsonl")],
        env=ctx.environment(), stdout=subprocess.DEVNULL)
    try:
        time.sleep(3)
        ctx.cluster.slow(1, 3, 2000)
        time.sleep(12)
    finally:
        ctx.cluster.slow(1, 3, 0)
        watcher.wait(timeout=60)
    (ctx.work_dir / "alerts.txt").write_text(ALERT + "\n")

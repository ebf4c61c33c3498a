"""Real Kafka clients in consumer groups against a real broker.

Members run in child processes (``group_member.py``) so that one can be
SIGKILLed: no LeaveGroup, no last commit; only the coordinator's session
timeout notices. Each member processes a record (writes it down) and then
commits its offset synchronously, so with a correct coordinator every record
is processed exactly once, even across joins, a kill and the rebalances they
cause, provided the kill happens while the member is idle (a kill between
processing and commit would legitimately repeat one record). The one other
legitimate repeat: a record whose commit the group refused because a
rebalance had begun (the member then puts the rest of its batch back).

The broker runs with ``group.initial.rebalance.delay.ms=0`` and members use
``session.timeout.ms=6000`` (the broker's minimum) to keep the tests short.
"""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from .group_processes import Member, consumed, stderr_of, wait_until
from minikafka.testing import BrokerThread

PARTITIONS = 6
PER_PHASE = 120


@pytest.fixture
def broker(tmp_path):
    with BrokerThread(tmp_path / "data", group_initial_rebalance_delay_ms=0) as broker_thread:
        yield broker_thread


def create_topic(bootstrap: str, partitions: int = PARTITIONS) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})  # must outlive the future
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(15)
    return name


def produce(bootstrap: str, topic: str, values, partitions: int = PARTITIONS) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for value in values:
        producer.produce(topic, str(value).encode(), partition=value % partitions)
    assert producer.flush(15) == 0


def wait_consumed(members, values, timeout_s: float = 30) -> None:
    wanted = {str(v) for v in values}
    wait_until(lambda: wanted <= set(consumed(members)), timeout_s,
               f"{len(wanted)} records to be consumed; members' stderr:\n{stderr_of(members)}")


def committed_and_end(bootstrap: str, group: str, topic: str, partitions: int = PARTITIONS):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        committed = {tp.partition: tp.offset for tp in consumer.committed(tps, timeout=10)}
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in range(partitions)}
    finally:
        consumer.close()
    return committed, ends


def resume_reads(bootstrap: str, group: str, topic: str, count: int) -> list[str]:
    """A fresh member of ``group`` reads ``count`` records (from the committed offsets)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    values = []
    try:
        wait_until(lambda: _poll_into(consumer, values) or len(values) >= count, 30,
                   f"{count} records for a resuming member", interval_s=0)
        extra = consumer.poll(1.0)
        assert extra is None or extra.error(), f"read past the new records: {extra.value()}"
    finally:
        consumer.close()
    return values


def _poll_into(consumer, values) -> bool:
    msg = consumer.poll(0.2)
    if msg is not None and not msg.error():
        values.append(msg.value().decode())
    return False


def scale_kill_and_resume(tmp_path, bootstrap: str, client: str, **extra) -> None:
    """Three members share six partitions; a fourth joins; one is killed; a new one resumes."""
    topic, group = create_topic(bootstrap), f"g-{uuid.uuid4().hex[:8]}"
    members = [Member(client, bootstrap, group, topic, tmp_path / f"m{i}.out", **extra) for i in range(3)]
    everyone = list(members)
    try:
        phase1 = range(0, PER_PHASE)
        produce(bootstrap, topic, phase1)
        wait_consumed(everyone, phase1)

        fourth = Member(client, bootstrap, group, topic, tmp_path / "m3.out", **extra)
        everyone.append(fourth)
        wait_until(lambda: any(fourth.assignments()), 30, "the fourth member's assignment")
        phase2 = range(PER_PHASE, 2 * PER_PHASE)
        produce(bootstrap, topic, phase2)
        wait_consumed(everyone, phase2)
        assert fourth.values(), "the fourth member got partitions but no records"

        members[0].kill()  # idle: everything so far is processed and committed
        phase3 = range(2 * PER_PHASE, 3 * PER_PHASE)
        produce(bootstrap, topic, phase3)
        wait_consumed(everyone, phase3, timeout_s=45)  # after the 6 s session timeout
    finally:
        for member in everyone:
            member.stop()

    counts = consumed(everyone)
    assert set(counts) == {str(v) for v in range(3 * PER_PHASE)}
    refused = set().union(*(member.refused_values() for member in everyone))
    twice = {value: n for value, n in counts.items() if n > 1 and value not in refused}
    assert not twice, f"processed more than once after a successful commit: {twice}"

    committed, ends = committed_and_end(bootstrap, group, topic)
    assert committed == ends  # every record's offset was committed
    phase4 = range(3 * PER_PHASE, 3 * PER_PHASE + 12)
    produce(bootstrap, topic, phase4)
    assert sorted(resume_reads(bootstrap, group, topic, len(phase4))) == sorted(str(v) for v in phase4)


@pytest.mark.slow
def test_confluent_group_scales_survives_a_kill_and_resumes(tmp_path, broker):
    scale_kill_and_resume(tmp_path, broker.bootstrap, "confluent")


@pytest.mark.slow
def test_confluent_cooperative_sticky_group(tmp_path, broker):
    scale_kill_and_resume(tmp_path, broker.bootstrap, "confluent",
                          **{"partition.assignment.strategy": "cooperative-sticky"})


@pytest.mark.slow
def test_kafka_python_group(tmp_path, broker):
    scale_kill_and_resume(tmp_path, broker.bootstrap, "kafka-python")


@pytest.mark.slow
def test_aiokafka_group(tmp_path, broker):
    scale_kill_and_resume(tmp_path, broker.bootstrap, "aiokafka")

"""Static membership, kcat -G, the admin API and a broker restart, with real clients."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from .group_processes import Member, consumed, wait_until
from minikafka.testing import BrokerThread
from .test_groups_real_clients import committed_and_end, create_topic, produce, resume_reads, wait_consumed

KCAT = "kcat"


def start_broker(path) -> BrokerThread:
    """A broker for a ``with`` block (which starts it and stops it)."""
    return BrokerThread(path, group_initial_rebalance_delay_ms=0)


def shared_by(members, partitions: int) -> bool:
    """Each member holds some partitions, and together exactly all of them."""
    latest = [m.assignments()[-1] if m.assignments() else [] for m in members]
    return all(latest) and sorted(sum(latest, [])) == list(range(partitions))


@pytest.mark.slow
def test_static_member_restarted_within_the_session_gets_its_assignment_back(tmp_path):
    with start_broker(tmp_path / "data") as broker:
        bootstrap = broker.bootstrap
        topic, group = create_topic(bootstrap, 4), f"g-{uuid.uuid4().hex[:8]}"
        a = Member("confluent", bootstrap, group, topic, tmp_path / "a.out", **{"group.instance.id": "a"})
        b = Member("confluent", bootstrap, group, topic, tmp_path / "b.out", **{"group.instance.id": "b"})
        members = [a, b]
        try:
            wait_until(lambda: shared_by(members, 4), 30, "both static members to share the partitions")
            produce(bootstrap, topic, range(40), partitions=4)
            wait_consumed(members, range(40))
            before = a.assignments()[-1]
            b_rebalances = len(b.assignments())

            a.kill()  # and back within session.timeout.ms, under the same group.instance.id
            a2 = Member("confluent", bootstrap, group, topic, tmp_path / "a2.out", **{"group.instance.id": "a"})
            members.append(a2)
            wait_until(lambda: a2.assignments(), 20, "the restarted static member's assignment")
            assert a2.assignments()[-1] == before
            produce(bootstrap, topic, range(40, 80), partitions=4)
            wait_consumed(members, range(40, 80))
            assert len(b.assignments()) == b_rebalances  # b never rebalanced
        finally:
            for member in members:
                member.stop()
        assert max(consumed(members).values()) == 1


@pytest.mark.slow
def test_kcat_consumes_as_a_group_and_commits(tmp_path):
    with start_broker(tmp_path / "data") as broker:
        topic, group = create_topic(broker.bootstrap, 2), f"kcat-{uuid.uuid4().hex[:8]}"
        produce(broker.bootstrap, topic, range(20), partitions=2)
        result = subprocess.run(
            [KCAT, "-b", broker.bootstrap, "-G", group, "-o", "beginning", "-e", "-f", "%s\\n",
             "-X", "session.timeout.ms=6000", topic],
            capture_output=True, timeout=60, text=True)
        assert sorted(result.stdout.split(), key=int) == [str(v) for v in range(20)], result.stderr
        committed, ends = committed_and_end(broker.bootstrap, group, topic, partitions=2)
        assert committed == ends  # kcat commits what it consumed when it leaves


@pytest.mark.slow
def test_restart_brings_back_groups_offsets_and_lag(tmp_path):
    data = tmp_path / "data"
    with start_broker(data) as broker:
        topic, group = create_topic(broker.bootstrap, 3), "survivor"
        produce(broker.bootstrap, topic, range(30), partitions=3)
        assert len(resume_reads(broker.bootstrap, group, topic, 30)) == 30
        # Commit a partial position so the group has lag: 10 of 10, 4 of 10, none of 10.
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(
            group, [TopicPartition(topic, 0, 10), TopicPartition(topic, 1, 4)])])[group].result(15)
        before = committed_and_end(broker.bootstrap, group, topic, partitions=3)
    with start_broker(data) as broker:
        committed, ends = committed_and_end(broker.bootstrap, group, topic, partitions=3)
        assert (committed, ends) == before
        assert {p: ends[p] - committed[p] for p in (0, 1)} == {0: 0, 1: 6}  # lag
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        listed = admin.list_consumer_groups().result(15)
        assert group in {g.group_id for g in listed.valid}
        described = admin.describe_consumer_groups([group])[group].result(15)
        assert described.members == []  # the group is EMPTY: only its offsets remain
        admin.delete_consumer_groups([group])[group].result(15)
        listed = admin.list_consumer_groups().result(15)
        assert group not in {g.group_id for g in listed.valid}

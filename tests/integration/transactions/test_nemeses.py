"""Transactions under faults: a recorded workload, a nemesis, then the history checker.

Each test starts three broker processes (``minikafka.chaos.Cluster``), runs
three confluent-kafka transactional producers and two read_committed
consumers on a six-partition topic (replication factor 3, min ISR 2),
breaks the cluster while they run (kill -9 or SIGSTOP of a partition leader
or a transaction coordinator, a leader cut off), heals it, waits for more
commits, takes a final read and asks ``history.check`` for anomalies: lost
writes, duplicates, aborted reads, torn transactions, non-monotonic or
divergent reads. A clean history is the only pass.

The coordinator nemeses aim at one transaction of their own (the *victim*),
run beside the workload so that its moment is known: the coordinator is
killed after the victim's AddPartitionsToTxn and produce, before EndTxn; or
after EndTxn while the commit markers cannot reach the partitions
(``PrepareCommit``).
"""

from __future__ import annotations

import time

import pytest

from minikafka.chaos import Cluster
from tests.integration.transactions.history import Outcome, check, summary
from tests.integration.transactions.txn_cluster import (CLUSTER_OVERRIDES, create_topic, leaders,
                                                        transaction_coordinator, transaction_state, wait_until)
from tests.integration.transactions.workload import TxnProducer, Workload

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

TOPIC, PARTITIONS = "ledger", 6


@pytest.fixture
def cluster(tmp_path):
    with Cluster(tmp_path / "cluster", brokers=3, overrides=CLUSTER_OVERRIDES) as running:
        create_topic(running, TOPIC, PARTITIONS)
        yield running


def assert_clean(workload: Workload, victim_producer: TxnProducer | None = None) -> None:
    history = workload.history()
    if victim_producer is not None:
        victim_producer.close()
        history.txns += victim_producer.txns
    anomalies = check(history)
    assert anomalies == [], summary(history, anomalies) + f"\nclient errors: {workload.errors()[-10:]}"
    aborted = {value for t in history.txns if t.outcome is Outcome.ABORTED for value in t.values()}
    in_log = {value for records in workload.raw.values() for _, value in records}
    assert aborted & in_log, "no aborted record reached the log: read_committed had nothing to hide"
    assert all(any(records.values()) for records in history.reads.values()), "a reader read nothing"


def progress_after_healing(workload: Workload, commits: int = 5) -> None:
    workload.wait_for_commits(workload.committed() + commits, timeout_s=45)


def test_no_fault(cluster):
    with Workload(cluster.bootstrap, TOPIC, PARTITIONS) as workload:
        workload.wait_for_commits(20)
    assert_clean(workload)


def test_kill_the_partition_leader(cluster):
    with Workload(cluster.bootstrap, TOPIC, PARTITIONS) as workload:
        workload.wait_for_commits(5)
        leader = cluster.leader_of(TOPIC, 0)
        cluster.kill(leader)
        wait_until(lambda: cluster.leader_of(TOPIC, 0) not in (leader, -1), what="a new leader")
        cluster.restart(leader)
        progress_after_healing(workload)
    assert_clean(workload)


def victim(cluster, name: str = "victim") -> TxnProducer:
    """A transactional producer driven step by step by the test (not a thread).

    Its transactions may wait out a coordinator failover (the broker session
    timeout, an election, the client's rediscovery: several seconds), so they
    get Kafka's default ``transaction.timeout.ms``, 60 s, not the workload's 10 s.
    """
    producer = TxnProducer(cluster.bootstrap, TOPIC, PARTITIONS, name, seed=7, txn_timeout_ms=60_000)
    assert producer.init_producer(), producer.errors
    return producer


def test_kill_the_coordinator_between_add_partitions_and_end_txn(cluster):
    with Workload(cluster.bootstrap, TOPIC, PARTITIONS) as workload:
        workload.wait_for_commits(5)
        target = victim(cluster)
        coordinator = transaction_coordinator(cluster.bootstrap, target.transactional_id)
        successor = {}

        def kill_the_coordinator():
            cluster.kill(coordinator)
            successor["id"] = wait_until(lambda: _other_coordinator(cluster, target, coordinator),
                                         what="a new transaction coordinator")
            # The successor replayed __transaction_state: the transaction is open there.
            successor["state"] = transaction_state(cluster, successor["id"], target.transactional_id)

        # Every record acknowledged (so AddPartitionsToTxn was done), then the kill, then EndTxn.
        txn = target.run_one("victim-1", abort=False, before_commit=kill_the_coordinator)
        assert successor["state"] == "Ongoing"
        assert txn.outcome is Outcome.COMMITTED, target.errors
        cluster.restart(coordinator)
        assert target.run_one("victim-2", abort=False).outcome is Outcome.COMMITTED, target.errors
        progress_after_healing(workload)
    assert_clean(workload, target)


def _other_coordinator(cluster, target: TxnProducer, old: int) -> int | None:
    node = transaction_coordinator(cluster.bootstrap, target.transactional_id, timeout_s=5)
    return node if node != old else None


def victim_away_from_the_controller(cluster) -> tuple[TxnProducer, int, int]:
    """A victim whose coordinator is not the controller, and the third broker.

    Returns ``(victim, coordinator, third)``. Cutting the coordinator from the
    third broker then leaves both in touch with the controller: nobody is
    fenced, and only what crosses that link stops.
    """
    controller = cluster.health().controller_id
    for attempt in range(20):
        target = victim(cluster, f"victim{attempt}")
        coordinator = transaction_coordinator(cluster.bootstrap, target.transactional_id)
        if coordinator != controller:
            third = next(n for n in (1, 2, 3) if n not in (coordinator, controller))
            return target, coordinator, third
        target.close()
    raise AssertionError(f"every transactional id tried is coordinated by the controller {controller}")


def test_kill_the_coordinator_during_prepare_commit(cluster):
    with Workload(cluster.bootstrap, TOPIC, PARTITIONS) as workload:
        workload.wait_for_commits(5)
        target, coordinator, third = victim_away_from_the_controller(cluster)
        partitions = [p for p, n in leaders(cluster, TOPIC, PARTITIONS).items() if n == third]
        assert partitions, f"broker {third} leads no partition of {TOPIC}"
        target.plan = lambda txn_id: {(TOPIC, p): [f"{txn_id}.{p}.{k}" for k in range(3)] for p in partitions}
        # The victim writes only to partitions led by the third broker, then the coordinator is
        # cut from it: with the classic protocol the coordinator answers EndTxn once PrepareCommit
        # is written (the third broker leaves the ISR of __transaction_state first), and the
        # markers cannot be delivered.
        txn = target.run_one("victim-1", abort=False, before_commit=lambda: cluster.cut(coordinator, third))
        assert txn.outcome is Outcome.COMMITTED, target.errors
        assert transaction_state(cluster, coordinator, target.transactional_id) == "PrepareCommit"
        cluster.kill(coordinator)  # the next coordinator loads PrepareCommit and sends the markers
        cluster.heal_all()
        cluster.restart(coordinator)
        progress_after_healing(workload)
    assert_clean(workload, target)


def test_pause_a_partition_leader(cluster):
    with Workload(cluster.bootstrap, TOPIC, PARTITIONS) as workload:
        workload.wait_for_commits(5)
        leader = cluster.leader_of(TOPIC, 0)
        cluster.pause(leader)
        try:
            time.sleep(5)  # longer than broker.session.timeout.ms: its partitions move
        finally:
            cluster.resume(leader)
        progress_after_healing(workload)
    assert_clean(workload)


def test_pause_a_transaction_coordinator(cluster):
    with Workload(cluster.bootstrap, TOPIC, PARTITIONS) as workload:
        workload.wait_for_commits(5)
        coordinator = transaction_coordinator(cluster.bootstrap, workload.producers[0].transactional_id)
        cluster.pause(coordinator)
        try:
            time.sleep(5)  # its __transaction_state partitions move; it wakes up a zombie
        finally:
            cluster.resume(coordinator)
        progress_after_healing(workload)
    assert_clean(workload)


def test_cut_the_partition_leader_off(cluster):
    with Workload(cluster.bootstrap, TOPIC, PARTITIONS) as workload:
        workload.wait_for_commits(5)
        leader = cluster.leader_of(TOPIC, 0)
        others = [n for n in (1, 2, 3) if n != leader]
        cluster.isolate(leader)
        try:
            wait_until(lambda: cluster.leader_of(TOPIC, 0, via=others) in others, what="the majority to elect")
            time.sleep(2)
        finally:
            cluster.heal_all()
        progress_after_healing(workload)
    assert_clean(workload)

"""``minikafka transactions``: arguments, tables and the hanging-transaction rule, over a fake Admin.

The fake answers as the bundled ``Admin`` does (its dataclasses); the real
requests are exercised against a broker in tests/integration/clients.
"""

from __future__ import annotations

import argparse

import pytest
import trio

from minikafka.cli import transactions
from minikafka.cli.main import build_parser
from minikafka.errors import ErrorCode, KafkaError
from minikafka_clients.cluster import PartitionMetadata, TopicMetadata
from minikafka_clients.transactions_admin import (
    ProducerState, TransactionDescription, TransactionListing)

HOUR_MS = 3_600_000


class FakeAdmin:
    """Two partitions of ``t`` on brokers 1 and 2; producer 7 holds a transaction
    open on both, but its coordinator's transaction has only ``t-0``."""

    def __init__(self, now_ms: int):
        old = now_ms - HOUR_MS
        self.producers = {
            ("t", 0): [ProducerState(7, 3, 11, old, 5, 40), ProducerState(8, 0, 2, old, None, None)],
            ("t", 1): [ProducerState(7, 3, 4, old, 5, 12),
                       ProducerState(9, 1, 0, now_ms, 2, 90)],  # open, but young
        }
        self.aborted = []
        self.describe_producers_calls = []

    async def list_topics(self, *, list_internal=False):
        return ["t"]

    async def describe_topics(self, names):
        partitions = {0: PartitionMetadata(0, 1, 0, (1, 2), (1, 2)),
                      1: PartitionMetadata(1, 2, 0, (2, 3), (2, 3))}
        return {"t": TopicMetadata("t", b"\0" * 16, False, partitions)}

    async def describe_producers(self, partitions, *, broker_id=None):
        self.describe_producers_calls.append((sorted(partitions), broker_id))
        return {tp: self.producers[tp] for tp in partitions}

    async def list_transactions(self, *, states=None, producer_ids=None, duration_filter_ms=-1):
        listings = [TransactionListing("tx-a", 7, "Ongoing", 1),
                    TransactionListing("tx-b", 9, "Ongoing", 2)]
        return [t for t in listings if not producer_ids or t.producer_id in producer_ids]

    async def describe_transactions(self, ids):
        if ids == ["tx-gone"]:
            raise KafkaError(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND)
        return {tid: TransactionDescription(1, "Ongoing", 7, 3, 60_000, 1_000,
                                            frozenset({("t", 0)})) for tid in ids}

    async def abort_transaction(self, tp, *, producer_id, producer_epoch, coordinator_epoch):
        self.aborted.append((tp, producer_id, producer_epoch, coordinator_epoch))


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["transactions", "--bootstrap-server", "b:9092", *argv])


def _run(admin, *argv: str) -> int:
    args = _args(*argv)
    return trio.run(transactions._ACTIONS[args.action], admin, args)


def test_bootstrap_server_may_come_before_or_after_the_action():
    assert _args("list").bootstrap_server == "b:9092"
    args = build_parser().parse_args(["transactions", "describe", "--transactional-id", "x",
                                      "--bootstrap-server", "c:1"])
    assert (args.action, args.transactional_id, args.bootstrap_server) == ("describe", "x", "c:1")
    assert _args("find-hanging", "--broker-id", "2").max_transaction_timeout == 15


def test_tables_are_kafkas_padded_and_tab_separated(capsys):
    transactions.print_table(["ProducerId", "State"], [["7", "Ongoing"], ["12345678901", "Empty"]])
    assert capsys.readouterr().out.splitlines() == [
        "ProducerId \tState  \t", "7          \tOngoing\t", "12345678901\tEmpty  \t"]


def test_describe_producers_prints_none_for_no_open_transaction(capsys):
    admin = FakeAdmin(transactions._now_ms())
    assert _run(admin, "describe-producers", "--topic", "t", "--partition", "0") == 0
    lines = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert lines[0] == ["ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence",
                        "LastTimestamp", "CurrentTransactionStartOffset"]
    assert lines[1][:4] + lines[1][5:] == ["7", "3", "5", "11", "40"]
    assert lines[2][:4] + lines[2][5:] == ["8", "0", "-1", "2", "None"]


def test_find_hanging_reports_only_what_the_coordinator_does_not_hold(capsys):
    admin = FakeAdmin(transactions._now_ms())
    assert _run(admin, "find-hanging", "--broker-id", "2") == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == ["Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch",
                       "StartOffset", "LastTimestamp", "Duration(min)"]
    # t-0 is in tx-a's transaction; t-1 is not: hanging. Producer 9 is too young.
    assert [(r[0], r[1], r[2], r[5], r[7]) for r in rows[1:]] == [("t", "1", "7", "12", "60")]
    assert admin.describe_producers_calls == [([("t", 0), ("t", 1)], 2)]  # broker 2's replicas


def test_find_hanging_counts_an_unknown_transactional_id_as_hanging():
    admin = FakeAdmin(transactions._now_ms())
    old = admin.producers[("t", 0)][0]
    candidates = [(("t", 0), old), (("t", 0), ProducerState(99, 0, 0, 0, None, 3))]
    hanging = trio.run(transactions._hanging, admin, candidates)
    assert [s.producer_id for _, s in hanging] == [99]  # no transactional id lists producer 99


def test_find_hanging_needs_a_scope():
    with pytest.raises(transactions.TransactionsCommandError, match="--topic or --broker-id"):
        _run(FakeAdmin(0), "find-hanging")
    with pytest.raises(transactions.TransactionsCommandError, match="requires --topic"):
        _run(FakeAdmin(0), "find-hanging", "--broker-id", "1", "--partition", "0")


def test_abort_by_start_offset_uses_the_producers_epochs():
    admin = FakeAdmin(transactions._now_ms())
    _run(admin, "abort", "--topic", "t", "--partition", "1", "--start-offset", "12")
    assert admin.aborted == [(("t", 1), 7, 3, 5)]
    with pytest.raises(transactions.TransactionsCommandError, match="starting at offset 13"):
        _run(admin, "abort", "--topic", "t", "--partition", "1", "--start-offset", "13")


def test_abort_by_producer_needs_both_epochs_and_clamps_a_missing_coordinator_epoch():
    admin = FakeAdmin(0)
    with pytest.raises(transactions.TransactionsCommandError, match="either with --start-offset"):
        _run(admin, "abort", "--topic", "t", "--partition", "0")
    with pytest.raises(transactions.TransactionsCommandError, match="--coordinator-epoch"):
        _run(admin, "abort", "--topic", "t", "--partition", "0", "--producer-id", "8",
             "--producer-epoch", "0")
    _run(admin, "abort", "--topic", "t", "--partition", "0", "--producer-id", "8",
         "--producer-epoch", "0", "--coordinator-epoch", "-1")
    assert admin.aborted == [(("t", 0), 8, 0, 0)]


def test_command_config_is_read_as_java_properties(tmp_path):
    path = tmp_path / "admin.properties"
    path.write_text("# a comment\nrequest.timeout.ms = 5000\n! another\n\nclient.id=ops\n")
    assert transactions.read_properties(str(path)) == {"request.timeout.ms": "5000",
                                                       "client.id": "ops"}

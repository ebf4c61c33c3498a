"""``minikafka transactions`` against a real broker, with an open transaction to look at.

A transactional ``SyncProducer`` leaves a transaction open on ``t-0``; the
command lists it, describes it and its producer, finds no hanging
transaction (its coordinator holds the partition), then aborts it by its
start offset, after which a read_committed consumer gets past it (and
``minikafka consume --isolation-level read_committed`` prints nothing).
"""

from __future__ import annotations

import pytest

from minikafka.cli.main import main
from minikafka.testing import BrokerThread
from minikafka_clients import NewTopic, SyncAdmin, SyncConsumer, SyncProducer

pytestmark = pytest.mark.slow


def _command(capsys, bootstrap: str, *argv: str) -> list[list[str]]:
    """Run the command; its table as rows of cells (header first)."""
    with pytest.raises(SystemExit) as exited:
        main(["transactions", "--bootstrap-server", bootstrap, *argv])
    out, err = capsys.readouterr()
    assert exited.value.code == 0, err
    return [line.split("\t")[:-1] for line in out.splitlines()]


def _cells(rows):
    return [[cell.strip() for cell in row] for row in rows]


def test_list_describe_find_hanging_and_abort(tmp_path, capsys):
    with BrokerThread(tmp_path, num_partitions=1) as broker:
        bootstrap = broker.bootstrap
        with SyncAdmin({"bootstrap.servers": bootstrap}) as admin:
            admin.create_topics([NewTopic("t", 1)])
        with SyncProducer({"bootstrap.servers": bootstrap, "transactional.id": "tx-cli"}) as producer:
            producer.init_transactions()
            producer.begin_transaction()
            producer.produce("t", b"open", partition=0)
            producer.flush()

            listed = _cells(_command(capsys, bootstrap, "list"))
            assert listed == [["TransactionalId", "Coordinator", "ProducerId", "TransactionState"],
                              ["tx-cli", "1", "0", "Ongoing"]]

            assert _cells(_command(capsys, bootstrap, "list", "--duration-filter", "3600000"))[1:] == []

            described = _cells(_command(capsys, bootstrap, "describe", "--transactional-id", "tx-cli"))
            assert described[0] == ["CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch",
                                    "TransactionState", "TransactionTimeoutMs",
                                    "CurrentTransactionStartTimeMs", "TransactionDurationMs",
                                    "TopicPartitions"]
            row = dict(zip(described[0], described[1]))
            assert (row["TransactionState"], row["TopicPartitions"]) == ("Ongoing", "t-0")
            assert row["TransactionTimeoutMs"] == "60000" and int(row["TransactionDurationMs"]) >= 0

            producers = _cells(_command(capsys, bootstrap, "describe-producers", "--topic", "t",
                                        "--partition", "0"))
            row = dict(zip(producers[0], producers[1]))
            assert (row["ProducerId"], row["CurrentTransactionStartOffset"]) == ("0", "0")

            hanging = _cells(_command(capsys, bootstrap, "find-hanging", "--broker-id", "1",
                                      "--max-transaction-timeout", "0"))
            assert hanging[1:] == []  # open, but its coordinator holds t-0: not hanging

            _command(capsys, bootstrap, "abort", "--topic", "t", "--partition", "0",
                     "--start-offset", "0")
            producers = _cells(_command(capsys, bootstrap, "describe-producers", "--topic", "t",
                                        "--partition", "0"))
            assert dict(zip(producers[0], producers[1]))["CurrentTransactionStartOffset"] == "None"
            with SyncConsumer({"bootstrap.servers": bootstrap,
                               "isolation.level": "read_committed"}) as consumer:
                consumer.assign([("t", 0)])
                consumer.seek(("t", 0), 0)
                assert consumer.poll(timeout=1) == []
                assert consumer.position(("t", 0)) == 2  # past the record and the ABORT marker
            producer.abort_transaction()
        for level, printed in (("read_committed", []), ("read_uncommitted", ["open"])):
            with pytest.raises(SystemExit):
                main(["consume", "--bootstrap-server", bootstrap, "--topic", "t",
                      "--from-beginning", "--timeout-ms", "500", "--isolation-level", level])
            assert capsys.readouterr().out.splitlines() == printed

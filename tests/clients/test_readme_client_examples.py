"""The README's "Bundled clients" examples run, as written, against a real broker.

Each ``python`` block of that section is run as a script (in order: Producer,
Consumer, Admin, and the transactional consume-transform-produce loop) with
only the bootstrap address replaced, so the README cannot drift from the
clients' real API.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

from minikafka.testing import BrokerThread

REPO = pathlib.Path(__file__).resolve().parents[2]
README_ADDRESS = "127.0.0.1:9092"


def client_examples() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Bundled clients", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_readme_has_a_short_example_of_each_client():
    examples = client_examples()
    assert len(examples) == 4
    for example, client in zip(examples, ["Producer", "Consumer", "SyncAdmin", "SyncProducer"]):
        assert client in example
        assert len(example.strip().splitlines()) <= 16  # "a ten-line example", imports aside


def _run(example: str, bootstrap: str) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "clients"),
                                         env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", example.replace(README_ADDRESS, bootstrap)],
                          capture_output=True, text=True, timeout=60, env=env, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_the_readme_examples_run_against_a_broker(tmp_path):
    producer, consumer, admin, _ = client_examples()
    with BrokerThread(tmp_path, num_partitions=2,
                      group_initial_rebalance_delay_ms=0) as broker:
        partition, offset = map(int, _run(producer, broker.bootstrap).split())
        assert partition in (0, 1) and offset >= 0

        consumed = _run(consumer, broker.bootstrap).splitlines()
        assert consumed and all("b'paid'" in line for line in consumed)

        printed = _run(admin, broker.bootstrap)
        assert "['audit', 'orders']" in printed
        assert "('orders', 0)" in printed


@pytest.mark.slow
def test_the_readme_transaction_example_runs_against_a_broker(tmp_path):
    from minikafka_clients import NewTopic, SyncAdmin, SyncConsumer, SyncProducer

    example = client_examples()[3]
    with BrokerThread(tmp_path, num_partitions=1, group_initial_rebalance_delay_ms=0) as broker:
        with SyncAdmin({"bootstrap.servers": broker.bootstrap}) as admin:
            admin.create_topics([NewTopic("payments", 1), NewTopic("ledger", 1)])
        with SyncProducer({"bootstrap.servers": broker.bootstrap}) as producer:
            for i in range(3):
                producer.produce("payments", b"%d EUR" % i, key=b"account-%d" % i)
        _run(example, broker.bootstrap)

        with SyncConsumer({"bootstrap.servers": broker.bootstrap, "group.id": "ledger-writer",
                           "isolation.level": "read_committed"}) as check:
            assert check.committed([("payments", 0)]) == {("payments", 0): 3}
            check.assign([("ledger", 0)])
            check.seek(("ledger", 0), 0)
            values = [r.value for r in check.poll(timeout=10)]
        assert values == [b"credit 0 EUR", b"credit 1 EUR", b"credit 2 EUR"]

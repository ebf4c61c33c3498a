"""The README's "Bundled clients" examples run, as written, against a real broker.

Each ``python`` block of that section is run as a script (in order: Producer,
Consumer, Admin) with only the bootstrap address replaced, so the README cannot
drift from the clients' real API.
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
    assert len(examples) == 3
    for example, client in zip(examples, ["Producer", "Consumer", "SyncAdmin"]):
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
    producer, consumer, admin = client_examples()
    with BrokerThread(tmp_path, num_partitions=2,
                      group_initial_rebalance_delay_ms=0) as broker:
        partition, offset = map(int, _run(producer, broker.bootstrap).split())
        assert partition in (0, 1) and offset >= 0

        consumed = _run(consumer, broker.bootstrap).splitlines()
        assert consumed and all("b'paid'" in line for line in consumed)

        printed = _run(admin, broker.bootstrap)
        assert "['audit', 'orders']" in printed
        assert "('orders', 0)" in printed

"""Every lab in labs/ keeps the lab contract (fast: nothing is started)."""

import py_compile
import re

import pytest

from minikafka.labs import catalog
from tests.labs import harness

LABS = catalog.all_labs(harness.REPO / "labs")


def test_labs_are_found_numbered_as_their_directories():
    assert LABS, "no lab found in labs/"
    numbers = [entry.lab.number for entry in LABS]
    assert numbers == sorted(set(numbers))
    for entry in LABS:
        assert entry.lab_dir.name == entry.lab.name
        assert entry.lab.brokers in (1, 3)


@pytest.mark.parametrize("entry", LABS, ids=lambda entry: entry.lab.name)
def test_readme_starts_the_lab_names_kafka_tools_and_the_fault_toolkit(entry):
    text = entry.readme.read_text()
    blocks = harness.sh_blocks(entry.readme)
    assert blocks, "the README has no ```sh block"
    assert f"minikafka lab start {entry.lab.number}" in blocks[0]
    assert re.search(r"kafka-[a-z-]+\.sh", text), "the README names no Apache Kafka tool"
    assert "fault toolkit" in text.lower(), "the README does not say whether the lab needs the fault toolkit"


@pytest.mark.parametrize("entry", LABS, ids=lambda entry: entry.lab.name)
def test_starter_is_marked_and_solution_compiles(entry, tmp_path):
    solutions = sorted((entry.lab_dir / "solution").glob("*.py"))
    assert solutions, "no solution/*.py"
    starters = sorted((entry.lab_dir / "starter").glob("*.py"))
    marker = f"# LAB {entry.lab.number:02d}:"
    for starter in starters:
        assert marker in starter.read_text(), f"{starter.name} has no `{marker}` place to complete"
    for script in solutions + starters + [entry.lab_dir / "lab.py"]:
        py_compile.compile(str(script), cfile=str(tmp_path / "x.pyc"), doraise=True)

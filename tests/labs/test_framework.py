"""The lab framework on a sample lab: catalog, report, the CLI and the harness itself."""

from pathlib import Path

import pytest

from minikafka.labs import Report, catalog
from tests.labs import harness

SAMPLE_LABS = Path(__file__).parent / "sample_labs"


def test_catalog_finds_the_sample_lab():
    entry = catalog.find(1, SAMPLE_LABS)
    assert entry.lab.name == "01-hello"
    assert entry.lab.protocol_only
    assert entry.summary() == "Write three records and count them."
    with pytest.raises(catalog.LabError, match="no lab 2"):
        catalog.find(2, SAMPLE_LABS)


def test_report_passes_only_when_nothing_is_missing():
    report = Report()
    assert not report.passed  # a check must check something
    report.ok("topic exists")
    assert report.passed
    report.missing("no records", hint="step 1")
    assert not report.passed
    assert report.lines() == ["PASS    topic exists", "MISSING no records (step 1)"]
    assert report.summary() == "1 of 2 checks missing"


def test_sh_blocks_are_the_readme_commands_in_order():
    blocks = harness.sh_blocks(SAMPLE_LABS / "01-hello" / "README.md")
    assert len(blocks) == 2
    assert blocks[0].startswith("printf")


def test_localize_moves_default_addresses_only():
    text = ("minikafka topics list --bootstrap-server 127.0.0.1:9092,127.0.0.1:9094\n"
            "curl http://127.0.0.1:9493/metrics http://127.0.0.1:8080 localhost:9192 "
            "--base-port 9092 127.0.0.1:5432")
    assert harness.localize(text, 30000) == (
        "minikafka topics list --bootstrap-server 127.0.0.1:30000,127.0.0.1:30002\n"
        "curl http://127.0.0.1:30401/metrics http://127.0.0.1:30500 localhost:30100 "
        "--base-port 30000 127.0.0.1:5432")


@pytest.mark.slow
def test_the_sample_lab_end_to_end(tmp_path):
    run = harness.run_lab(1, tmp_path, expect_missing=["holds 0 records", "no answer.txt"],
                          labs_root=SAMPLE_LABS)
    listing = run.lab("list").stdout
    assert "Hello, log" in listing and "any Kafka" in listing
    assert not (run.lab_data / "cluster" / "cluster.json").exists()  # stopped


@pytest.mark.slow
def test_the_sample_lab_on_tansu(tmp_path):
    harness.run_lab_on_tansu(1, tmp_path, labs_root=SAMPLE_LABS)

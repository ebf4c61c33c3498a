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


def test_setup_ships_every_lab_file():
    """Every file of labs/ matches setup.py's package_data globs, so `pip install .` ships it."""
    import ast
    import fnmatch

    tree = ast.parse((harness.REPO / "setup.py").read_text())
    package_data = next(ast.literal_eval(k.value) for node in ast.walk(tree) if isinstance(node, ast.Call)
                        for k in node.keywords if k.arg == "package_data")
    patterns = package_data["minikafka_labs"]
    labs = harness.REPO / "labs"
    files = [p.relative_to(labs).as_posix() for p in labs.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts and p.name != "__init__.py"]
    assert files
    unshipped = [f for f in files if not any(fnmatch.fnmatch(f, pattern) and f.count("/") == pattern.count("/")
                                             for pattern in patterns)]
    assert not unshipped


@pytest.mark.slow
def test_lab_context_breaks_and_repairs_the_labs_own_cluster(tmp_path, monkeypatch):
    from minikafka.chaos.layout import find_free_base_port
    from minikafka.labs import runner

    monkeypatch.setenv(catalog.LABS_DIR_ENV, str(SAMPLE_LABS))
    ctx = runner.start(1, tmp_path, base_port=find_free_base_port(1), out=lambda text: None)
    try:
        assert ctx.data_dirs == [tmp_path.resolve() / "cluster" / "broker-1"]
        assert ctx.metrics_urls and ctx.console_url
        ctx.cluster.kill(1)
        assert ctx.cluster.state()["brokers"][0]["state"] == "dead"
        ctx.cluster.restart(1)
        assert ctx.cluster.state()["brokers"][0]["state"] == "alive"
        ctx.run_solution("greet")
        assert len(ctx.read_records("greetings")) == 3
        assert ctx.partition_dirs("greetings", 0)
        assert not runner.check(1, tmp_path).passed  # answer.txt is missing
    finally:
        runner.stop(tmp_path, out=lambda text: None)
    assert not (tmp_path / "cluster" / "cluster.json").exists()

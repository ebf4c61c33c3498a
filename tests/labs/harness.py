"""The one test every lab has: its README run as written, its check, its solution.

``run_lab(number, tmp_path, expect_missing=[...])`` does, with real processes::

    minikafka lab start N            a fresh detached local cluster on free ports (the
                                     README's first block when it is exactly this command)
    minikafka lab check N            must exit 1, with a MISSING line containing each
                                     of ``expect_missing``
    minikafka lab solve N            the reference solution, on the untouched start
    minikafka lab check N            must exit 0
    minikafka lab reset N            back to the start: check exits 1 again
    the README's ```sh blocks        in order, as written (the doc test; but for a
                                     first block `minikafka lab start N`, already run
                                     above: `reset` brought the lab back to that point);
                                     the README's commands complete the lab,
    minikafka lab check N            so the check exits 0 (``readme_completes=False``
                                     for a README that leaves the last part to the student)
    minikafka lab stop               always, even when the test fails

The solution runs before the README so that it is tested from a fresh start
(CI's question: does the reference solution pass on an untouched lab?), not
on top of what the README's commands already did.

**How the README runs as written.** A README is written for a student in a
checkout of the repository, with the labs' defaults: ``minikafka lab start N``
puts the lab in ``./lab-data`` and the cluster on 127.0.0.1:9092 (9093, 9094
for three brokers), the web console on 8080, the schema registry on 8081. The
test cannot take those ports (another cluster may run there, and tests run in
parallel), so it runs the blocks

- in a scratch directory of its own, holding a ``labs`` symlink to the
  repository's ``labs/``: relative paths (``./lab-data/cluster/broker-1/...``,
  ``python labs/01-log-on-disk/solution/x.py``) work unchanged;
- with ``MINIKAFKA_LAB_BASE_PORT`` set to a free base port P, which ``minikafka
  lab start`` reads as its ``--base-port`` default;
- with each default address in the block's text moved to the same broker's
  port above P (``localize``): ``127.0.0.1:9092`` -> ``127.0.0.1:P``,
  ``127.0.0.1:9093`` -> ``P+1``, controller 9192.. -> P+100.., metrics
  9492.. -> P+400.., 8080 -> the console's port, 8081 -> the registry's;
  nothing else in the text changes;
- with ``minikafka`` and ``python`` on ``PATH`` running this checkout.

Each block runs in ``bash -e -o pipefail`` and must exit 0 within
``BLOCK_TIMEOUT_S``: a command meant to fail is written ``... || true`` in the
README, and a consumer is bounded (``--max-messages`` / ``--timeout-ms``).

``run_lab_on_tansu(number, tmp_path)`` is the second run of a
``protocol_only`` lab: ``lab start --bootstrap-server`` on the Tansu broker,
``lab solve``, ``lab check`` exits 0.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from minikafka.chaos.layout import find_free_base_port
from minikafka.labs import catalog, runner

REPO = Path(__file__).resolve().parents[2]
LAB_TIMEOUT_S = 180.0
BLOCK_TIMEOUT_S = 90.0
SH_BLOCK = re.compile(r"^```sh[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
ADDRESS = re.compile(r"\b(127\.0\.0\.1|localhost):(\d{4,5})\b")
BASE_PORT_OPTION = re.compile(r"--base-port[ =]9092\b")


def sh_blocks(readme: Path) -> list[str]:
    """The text of every ```sh block of a README, in order (```text, ```python... are not run)."""
    return [match.group(1) for match in SH_BLOCK.finditer(readme.read_text())]


def localize_port(port: int, base_port: int) -> int:
    """The port of a lab cluster on ``base_port`` that plays the role of default ``port``."""
    default = runner.DEFAULT_BASE_PORT
    for offset in (0, 100, 200, 300, 400):  # the cluster's port blocks (minikafka.chaos.layout)
        if default + offset <= port < default + offset + 100:
            return base_port + port - default
    if port == runner.DEFAULT_CONSOLE_PORT:
        return runner.console_port(base_port)
    if port == runner.DEFAULT_REGISTRY_PORT:
        return runner.registry_port(base_port)
    return port


def localize(text: str, base_port: int) -> str:
    """``text`` with the default addresses (127.0.0.1:9092, ...) moved to ``base_port``'s."""
    text = ADDRESS.sub(lambda m: f"{m.group(1)}:{localize_port(int(m.group(2)), base_port)}", text)
    return BASE_PORT_OPTION.sub(f"--base-port {base_port}", text)


class LabRun:
    """One lab's scratch directory, ports and environment, for one test.

    Args:
        number: the lab.
        tmp_path: pytest's ``tmp_path``; the scratch directory is ``tmp_path/student``.
        labs_root: another labs directory (the framework's own tests use one);
            default: the repository's ``labs/``.
    """

    def __init__(self, number: int, tmp_path: Path, labs_root: Path | None = None):
        self.number = number
        self.labs_root = labs_root or REPO / "labs"
        self.entry = catalog.find(number, self.labs_root)
        self.base_port = find_free_base_port(self.entry.lab.brokers)
        self.cwd = tmp_path / "student"
        self.cwd.mkdir(parents=True, exist_ok=True)
        (self.cwd / "labs").symlink_to(self.labs_root, target_is_directory=True)
        self.lab_data = self.cwd / "lab-data"
        self.env = self._environment(tmp_path / "bin")

    def _environment(self, bin_dir: Path) -> dict[str, str]:
        bin_dir.mkdir(parents=True, exist_ok=True)
        for name, command in (("minikafka", f'exec "{sys.executable}" -m minikafka "$@"'),
                              ("python", f'exec "{sys.executable}" "$@"'),
                              ("python3", f'exec "{sys.executable}" "$@"')):
            script = bin_dir / name
            script.write_text(f"#!/bin/sh\n{command}\n")
            script.chmod(0o755)
        env = dict(os.environ)
        env.pop("MINIKAFKA_LAB_DIR", None)
        env[catalog.LABS_DIR_ENV] = str(self.labs_root)
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "clients")]
                                            + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        env["MINIKAFKA_LAB_BASE_PORT"] = str(self.base_port)
        return env

    def lab(self, *argv: str, expect: int | None = 0) -> subprocess.CompletedProcess:
        """``minikafka lab ARGV --dir ./lab-data``; assert its exit status unless ``expect`` is None."""
        command = [sys.executable, "-m", "minikafka", "lab", *argv, "--dir", str(self.lab_data)]
        result = subprocess.run(command, cwd=self.cwd, env=self.env, capture_output=True, text=True,
                                timeout=LAB_TIMEOUT_S)
        if expect is not None:
            assert result.returncode == expect, (
                f"`minikafka lab {' '.join(argv)}` exited {result.returncode}, expected {expect}\n"
                f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")
        return result

    def check_missing(self, expect_missing: list[str]) -> str:
        """``lab check`` exits 1 and each of ``expect_missing`` is in one of its MISSING lines."""
        output = self.lab("check", str(self.number), expect=1).stdout
        missing = [line for line in output.splitlines() if line.startswith("MISSING")]
        for text in expect_missing:
            assert any(text in line for line in missing), f"no MISSING line with {text!r} in:\n{output}"
        return output

    @property
    def starts_with_lab_start(self) -> bool:
        """Whether the README's first ```sh block is exactly ``minikafka lab start N``."""
        blocks = sh_blocks(self.entry.readme)
        return bool(blocks) and blocks[0].strip() == f"minikafka lab start {self.number}"

    @property
    def ends_with_lab_check(self) -> bool:
        """Whether the README's last ```sh block is exactly ``minikafka lab check N`` (it must exit 0)."""
        blocks = sh_blocks(self.entry.readme)
        return bool(blocks) and blocks[-1].strip() == f"minikafka lab check {self.number}"

    def run_readme(self, first: int = 1, last: int | None = None) -> None:
        """The README's ```sh blocks ``first``..``last`` (1-based), localized, in order; each must exit 0."""
        blocks = sh_blocks(self.entry.readme)
        assert blocks, f"{self.entry.readme} has no ```sh block"
        for index, block in enumerate(blocks, 1):
            if index < first or (last is not None and index > last):
                continue
            script = localize(block, self.base_port)
            result = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=self.cwd, env=self.env,
                                    capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S)
            assert result.returncode == 0, (
                f"README block {index} of {len(blocks)} exited {result.returncode}:\n{script}\n"
                f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")

    def stop(self) -> None:
        """Stop the lab's cluster, whatever state the test left it in."""
        self.lab("stop", expect=None)
        state = self.lab_data / "cluster" / "cluster.json"
        if state.exists():  # `lab stop` failed: stop it the cluster's way
            subprocess.run([sys.executable, "-m", "minikafka", "cluster", "stop", "--dir", str(state.parent)],
                           env=self.env, capture_output=True, timeout=LAB_TIMEOUT_S)


def run_lab(number: int, tmp_path: Path, expect_missing: list[str], *, doc_test: bool = True,
            readme_completes: bool = True, labs_root: Path | None = None) -> LabRun:
    """The whole lab test (module docstring); returns the ``LabRun`` (its cluster is stopped)."""
    run = LabRun(number, tmp_path, labs_root)
    start_from_readme = doc_test and run.starts_with_lab_start
    try:
        if start_from_readme:
            run.run_readme(first=1, last=1)  # the same command, run from the README's text
        else:
            run.lab("start", str(number))
        run.check_missing(expect_missing)
        run.lab("solve", str(number))
        run.lab("check", str(number), expect=0)
        run.lab("reset", str(number))
        run.check_missing(expect_missing)
        if doc_test:
            run.run_readme(first=2 if start_from_readme else 1)
            if readme_completes and not run.ends_with_lab_check:
                run.lab("check", str(number), expect=0)
    finally:
        run.stop()
    return run


def run_lab_on_tansu(number: int, tmp_path: Path, labs_root: Path | None = None,
                     missing_on_tansu: list[str] = ()) -> None:
    """A ``protocol_only`` lab's solution and check against the Tansu broker.

    ``missing_on_tansu``: the MISSING lines (substrings) of the steps that use
    a Kafka API Tansu does not implement; the check must then exit 1 with
    exactly those missing, and pass everything else.
    """
    from tests.integration.cli_brokers import TansuBroker

    run = LabRun(number, tmp_path, labs_root)
    assert run.entry.lab.protocol_only, f"lab {number} is not protocol_only: it cannot run on Tansu"
    with TansuBroker() as tansu:
        run.lab("start", str(number), "--bootstrap-server", tansu.bootstrap)
        run.lab("start", str(number), "--bootstrap-server", tansu.bootstrap)  # again: over its own topics
        run.lab("solve", str(number))
        if not missing_on_tansu:
            run.lab("check", str(number), expect=0)
        else:
            output = run.check_missing(list(missing_on_tansu))
            missing = [line for line in output.splitlines() if line.startswith("MISSING")]
            unexpected = [line for line in missing if not any(text in line for text in missing_on_tansu)]
            assert not unexpected, f"missing on Tansu beyond its gaps:\n{output}"
    shutil.rmtree(run.lab_data, ignore_errors=True)

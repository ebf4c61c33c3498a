"""Group members in child processes, and what they consumed (not a test module)."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

MEMBER_SCRIPT = Path(__file__).with_name("group_member.py")


class Member:
    """One ``group_member.py`` process and its output file."""

    def __init__(self, client: str, bootstrap: str, group: str, topic: str, out: Path, **extra):
        self.out = out
        pairs = [f"{key}={value}" for key, value in extra.items()]
        self.process = subprocess.Popen(
            [sys.executable, str(MEMBER_SCRIPT), client, bootstrap, group, topic, str(out), *pairs],
            stdout=subprocess.DEVNULL, stderr=open(f"{out}.stderr", "wb"))

    def lines(self) -> list[str]:
        try:
            return self.out.read_text().splitlines()
        except FileNotFoundError:
            return []

    def values(self) -> list[str]:
        return [line.split()[3] for line in self.lines() if line.startswith("R ")]

    def refused_values(self) -> set[str]:
        """Values whose commit the group refused right after processing them.

        The next owner of the partition may process such a record again: that
        is at-least-once delivery working as it should, not a coordinator bug.
        """
        refused, last = set(), None
        for line in self.lines():
            fields = line.split()
            if fields[0] == "R":
                last = fields
            elif fields[0] == "E" and last is not None and fields[1:3] == last[1:3]:
                refused.add(last[3])
        return refused

    def assignments(self) -> list[list[int]]:
        return [[int(p) for p in line.split()[1:]] for line in self.lines() if line.startswith("A")]

    def kill(self) -> None:
        """SIGKILL: no LeaveGroup, no commit; only the session timeout notices."""
        self.process.kill()
        self.process.wait()

    def stop(self, timeout_s: float = 20) -> None:
        """SIGTERM: the member closes its consumer (LeaveGroup) and exits."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_until(condition, timeout_s: float, what: str, interval_s: float = 0.1) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def consumed(members) -> collections.Counter:
    """How many times each value was processed, over every member."""
    return collections.Counter(value for member in members for value in member.values())


def stderr_of(members) -> str:
    return "\n".join(Path(f"{m.out}.stderr").read_text(errors="replace")[-2000:] for m in members
                     if os.path.exists(f"{m.out}.stderr"))

"""Call a function of a test helper module in a child Python process.

Some clients (kafka-python's I/O thread, blocking calls that would stall the
test's event loop) are better run apart. The child runs ``python -m MODULE
SPEC`` from the repository's root; the module's ``__main__`` block reads the
JSON ``{"function": ..., "args": [...]}`` spec, calls that function and prints
its result as JSON on its last line of output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _command(module: str, function: str, args: tuple) -> list[str]:
    return [sys.executable, "-m", module, json.dumps({"function": function, "args": args})]


def run_in_child(module: str, function: str, *args, timeout_s: float = 120.0):
    """Run ``module.function(*args)`` in a child process; return its (JSON) result."""
    done = subprocess.run(_command(module, function, args), cwd=REPO, capture_output=True, text=True,
                          timeout=timeout_s)
    assert done.returncode == 0, f"{function} failed in the child process:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def start_in_child(module: str, function: str, *args) -> subprocess.Popen:
    """Start ``module.function(*args)`` in a child process; ``finish_child`` collects it."""
    return subprocess.Popen(_command(module, function, args), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish_child(child: subprocess.Popen, timeout_s: float = 60.0):
    """Wait for a child ``start_in_child`` started; return its (JSON) result."""
    out, err = child.communicate(timeout=timeout_s)
    assert child.returncode == 0, f"the child process failed:\n{err[-3000:]}"
    return json.loads(out.strip().splitlines()[-1])

"""Run kafkajs (Node.js) from the tests: one action of ``kafkajs_client.js`` per call.

kafkajs is installed from the npm registry into ``build/node`` (git-ignored)
by ``scripts/test.sh``; ``KAFKAJS_NODE_MODULES`` points elsewhere if needed.
The script takes its instructions as one JSON argument and prints one JSON
line: see its header for the actions.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).with_name("kafkajs_client.js")
NODE_MODULES = Path(os.environ.get("KAFKAJS_NODE_MODULES", REPO / "build" / "node" / "node_modules"))
INSTALL_HINT = "npm install --no-save --prefix build/node kafkajs@2 (scripts/test.sh does it)"


def kafkajs_available() -> str | None:
    """None when node and kafkajs are there, else what is missing and how to install it."""
    if shutil.which("node") is None:
        return "node is not installed (apt-get install nodejs npm)"
    if not (NODE_MODULES / "kafkajs" / "package.json").exists():
        return f"kafkajs is not in {NODE_MODULES}: {INSTALL_HINT}"
    return None


def run_kafkajs(spec: dict, timeout_s: float = 90.0) -> dict:
    """Run one action; return the script's JSON answer.

    Raises:
        AssertionError: node or kafkajs is missing, or the script printed no answer.
    """
    missing = kafkajs_available()
    assert missing is None, missing
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    done = subprocess.run(["node", str(SCRIPT), json.dumps(spec)], env=env, capture_output=True,
                          text=True, timeout=timeout_s)
    lines = done.stdout.strip().splitlines()
    assert lines, f"kafkajs printed nothing (exit {done.returncode}); stderr:\n{done.stderr}"
    return json.loads(lines[-1])

"""Run the ``minikafka`` command inside the test process (``main(argv)``), output captured.

In-process runs keep the CLI tests fast; the tests that check an exit status
or that no traceback escapes run a few commands as real subprocesses too.
"""

from __future__ import annotations

import io
import sys
from unittest import mock

from minikafka.cli.main import main


def run_cli(*argv: str, stdin: bytes = b"") -> tuple[int, str, str]:
    """Run ``minikafka ARGV`` in this process; return (status, stdout, stderr).

    stdout has a binary ``buffer`` (``consume`` may write raw bytes there);
    ``stdin`` is what the command reads (``produce``).
    """
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    err = io.StringIO()
    fake_stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    with mock.patch.object(sys, "stdin", fake_stdin), mock.patch.object(sys, "stdout", out), \
            mock.patch.object(sys, "stderr", err):
        try:
            main(list(argv))
            status = 0
        except SystemExit as exit_:
            status = exit_.code
    return status, out.buffer.getvalue().decode(), err.getvalue()


def ok(*argv: str, stdin: bytes = b"") -> str:
    """Run a command that must succeed; return its stdout."""
    status, out, err = run_cli(*argv, stdin=stdin)
    assert status == 0, err
    return out


def fails(*argv: str) -> str:
    """Run a command that must fail with one readable line on stderr; return that line."""
    status, out, err = run_cli(*argv)
    assert status == 1, (out, err)
    assert err.count("\n") == 1 and err.startswith("minikafka: error: "), err
    assert "Traceback" not in err
    return err.strip()

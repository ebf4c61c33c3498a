"""Lab 10 (failure injection and checking): start, check, README, solve, check, reset."""

import pytest

from tests.labs.harness import run_lab


@pytest.mark.slow
def test_lab_10(tmp_path):
    run_lab(10, tmp_path, expect_missing=[
        "no history-safe.jsonl yet",
        "no history-unsafe.jsonl yet",
    ])

"""Lab 09 (operations): start, check, README, solve, check, reset."""

import pytest

from tests.labs.harness import run_lab


@pytest.mark.slow
def test_lab_09(tmp_path):
    run_lab(9, tmp_path, expect_missing=[
        "no signals.jsonl that saw the partition under-replicated, then recover",
        "no ISR shrink and expand counted yet",
        "no alerts.txt naming the alert that would fire",
    ])

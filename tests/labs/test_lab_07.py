"""Lab 07 (back-pressure): start, check, README, solve, check, reset."""

import pytest

from tests.labs.harness import run_lab


@pytest.mark.slow
def test_lab_07(tmp_path):
    run_lab(7, tmp_path, expect_missing=[
        "no before.json from an unthrottled run",
        "client id 'noisy' has no producer_byte_rate quota",
        "no autoscaler.jsonl with both a scale-up and a scale-down",
        "no group 'jobs-workers'",
    ])

"""Lab 06 (idempotence and transactions): start, check, README, solve, check, reset."""

import pytest

from tests.labs.harness import run_lab


@pytest.mark.slow
def test_lab_06(tmp_path):
    run_lab(6, tmp_path, expect_missing=[
        "no duplicates in 'retries-plain'",
        "'retries-idempotent' holds no records",
        "not each of the 300 exactly once",
        "read_uncommitted shows no aborted record",
        "group 'ledger-pipeline' is 300 records short",
    ])

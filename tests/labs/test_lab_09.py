"""Lab 09 (operations): start, check, solve, check, reset, README."""

import pytest

from tests.labs.harness import run_lab


@pytest.mark.slow
def test_lab_09(tmp_path):
    # The ISR shrink and expand counters are cumulative, so after `lab reset`
    # they still show the solution's run: that line is not expected missing.
    # Step 5 (which alert would fire) is the student's answer: the README's
    # commands do everything else.
    run_lab(9, tmp_path, expect_missing=[
        "no signals.jsonl that saw the partition under-replicated, then recover",
        "no alerts.txt naming the alert that would fire",
    ], readme_completes=False)

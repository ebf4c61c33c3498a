"""Lab 8 (schema evolution): its README as written, its check and its reference solution."""

import pytest

from tests.labs import harness


@pytest.mark.slow
def test_lab_08(tmp_path):
    harness.run_lab(8, tmp_path, expect_missing=["nothing registered under 'payments-value'", "holds 0 payments",
                                                 "no refused.txt"])

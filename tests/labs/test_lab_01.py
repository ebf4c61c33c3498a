"""Lab 1 (the log on disk): its README as written, its check before and after, its solution."""

import pytest

from tests.labs import harness

pytestmark = pytest.mark.slow


def test_lab_01(tmp_path):
    harness.run_lab(1, tmp_path, expect_missing=[
        "'clicks' has 1 segment(s)",
        "lookup.json",
        "'page-views' still starts at offset 0",
        "the log start offset of 'clicks' is 0, not 100",
        "'customer-profiles' is empty",
    ])

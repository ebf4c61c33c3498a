"""Lab 4 (consumer groups and lag) end to end on a fresh broker, and its solution on Tansu."""

import pytest

from tests.labs.harness import run_lab, run_lab_on_tansu

pytestmark = pytest.mark.slow


def test_lab_04_consumer_groups_and_lag(tmp_path):
    run_lab(4, tmp_path, expect_missing=[
        "no lag report in work/04/lag.json",
        "no scaling runs in work/04/rebalance-range.json",
        "no bounces in work/04/bounce-static.json",
    ])


def test_lab_04_on_tansu(tmp_path):
    run_lab_on_tansu(4, tmp_path)

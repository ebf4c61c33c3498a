"""Lab 4 (consumer groups and lag) end to end on a fresh broker.

Not run on Tansu: the lab measures lag from ListOffsets' end offsets and
restarts static members (group.instance.id), and Tansu differs from Kafka on
both (see the lab's ``lab.py``).
"""

import pytest

from tests.labs.harness import run_lab

pytestmark = pytest.mark.slow


def test_lab_04_consumer_groups_and_lag(tmp_path):
    run_lab(4, tmp_path, expect_missing=[
        "no lag report in work/04/lag.json",
        "no scaling runs in work/04/rebalance-range.json",
        "no bounces in work/04/bounce-static.json",
    ])

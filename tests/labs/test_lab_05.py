"""Lab 5 (replication and the ISR) end to end on a fresh three-broker cluster.

The lab kills brokers with the local cluster's fault toolkit, so it does not
run on Tansu (not ``protocol_only``).
"""

import pytest

from tests.labs.harness import run_lab

pytestmark = [pytest.mark.slow, pytest.mark.cluster]


def test_lab_05_replication_and_isr(tmp_path):
    run_lab(5, tmp_path, expect_missing=[
        "'ledger-safe' has min.insync.replicas=1, not 2",
        "no acknowledged write to 'ledger-fast' was lost yet",
        "no acks=all write to 'ledger-safe' was refused with NOT_ENOUGH_REPLICAS",
        "no acknowledged write to 'ledger-safe' recorded",
    ])

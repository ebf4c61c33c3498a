"""Lab 3 (delivery semantics) end to end on a fresh broker, and its solution on Tansu."""

import pytest

from tests.labs.harness import run_lab, run_lab_on_tansu

pytestmark = pytest.mark.slow


def test_lab_03_delivery_semantics(tmp_path):
    run_lab(3, tmp_path, expect_missing=[
        "group 'ledger-writer' has not committed every partition's end offset",
        "no ledger database at",
    ])


def test_lab_03_on_tansu(tmp_path):
    run_lab_on_tansu(3, tmp_path)

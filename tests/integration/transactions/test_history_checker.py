"""The history checker on synthetic histories: one valid, then one per anomaly (no broker)."""

from __future__ import annotations

from tests.integration.transactions.history import History, Outcome, Txn, check, summary

P0, P1 = ("t", 0), ("t", 1)


def valid_history() -> History:
    """Two committed txns across two partitions, one aborted, one unknown that did commit."""
    return History(
        txns=[
            Txn("a", {P0: ["a0", "a1"], P1: ["a2"]}, Outcome.COMMITTED),
            Txn("b", {P0: ["b0"], P1: ["b1"]}, Outcome.ABORTED),
            Txn("c", {P0: ["c0"], P1: ["c1", "c2"]}, Outcome.COMMITTED),
            Txn("d", {P1: ["d0"]}, Outcome.UNKNOWN),
            Txn("e", {P0: ["e0"]}, Outcome.UNKNOWN),  # never committed: absent everywhere
        ],
        # Offsets: aborted records and the control batches (markers) take offsets too.
        final={P0: [(0, "a0"), (1, "a1"), (5, "c0")],
               P1: [(0, "a2"), (4, "c1"), (5, "c2"), (7, "d0")]},
        reads={"r1": {P0: [(0, "a0"), (1, "a1"), (5, "c0")], P1: [(0, "a2"), (4, "c1")]},
               "r2": {P1: [(4, "c1"), (5, "c2"), (7, "d0")]}},
    )


def kinds(history: History) -> list[str]:
    return sorted(anomaly.kind for anomaly in check(history))


def test_a_valid_history_has_no_anomaly():
    history = valid_history()
    assert check(history) == [], summary(history, check(history))


def test_a_consumer_that_stopped_inside_a_transaction_is_valid():
    history = valid_history()
    history.reads = {"r": {P1: [(4, "c1")]}}  # c2 not read yet: it has not read past c
    assert check(history) == []


def test_a_consumer_that_started_inside_a_transaction_is_valid():
    history = valid_history()
    history.reads = {"r": {P1: [(5, "c2"), (7, "d0")]}}  # assigned from offset 5
    assert check(history) == []


def test_lost_write():
    history = valid_history()
    history.final[P1] = [(0, "a2"), (4, "c1"), (7, "d0")]  # c2 gone
    history.reads = {}
    anomalies = check(history)
    assert sorted(a.kind for a in anomalies) == ["lost", "torn"]
    lost = next(a for a in anomalies if a.kind == "lost")
    assert (lost.txn_id, lost.partition) == ("c", P1) and "c2" in lost.detail


def test_an_unknown_outcome_may_be_missing_but_not_in_part():
    history = valid_history()
    history.txns[3] = Txn("d", {P1: ["d0"], P0: ["d1"]}, Outcome.UNKNOWN)
    assert kinds(history) == ["torn"]  # d0 there, d1 not


def test_duplicate_in_the_final_read():
    history = valid_history()
    history.final[P0] = [(0, "a0"), (1, "a1"), (2, "a1"), (5, "c0")]
    history.reads = {}
    assert kinds(history) == ["duplicate"]


def test_duplicate_read_by_one_consumer():
    history = valid_history()
    history.final[P0] = [(0, "a0"), (1, "a1"), (2, "a1"), (5, "c0")]
    history.reads = {"r": {P0: [(0, "a0"), (1, "a1"), (2, "a1")]}}
    assert kinds(history) == ["duplicate", "duplicate"]  # stored twice, read twice


def test_aborted_read_by_a_consumer():
    history = valid_history()
    history.reads["r1"][P0] = [(0, "a0"), (1, "a1"), (3, "b0"), (5, "c0")]
    anomalies = check(history)
    assert sorted(a.kind for a in anomalies) == ["aborted-read", "divergent"]
    aborted = next(a for a in anomalies if a.kind == "aborted-read")
    assert (aborted.txn_id, aborted.consumer) == ("b", "r1")


def test_aborted_read_in_the_final_read():
    history = valid_history()
    history.final[P0] = [(0, "a0"), (1, "a1"), (3, "b0"), (5, "c0")]
    history.reads = {}
    assert kinds(history) == ["aborted-read", "torn"]  # b1 is not there: b is also torn


def test_torn_transaction_in_the_final_read():
    history = valid_history()
    history.final[P0] = [(0, "a0"), (1, "a1")]  # c0 missing, c1 and c2 present
    history.reads = {}
    assert kinds(history) == ["lost", "torn"]


def test_torn_transaction_seen_by_a_consumer_that_read_past_it():
    history = valid_history()
    history.reads = {"r": {P1: [(0, "a2"), (5, "c2"), (7, "d0")]}}  # skipped c1 at offset 4
    anomalies = check(history)
    assert [(a.kind, a.txn_id, a.consumer) for a in anomalies] == [("torn", "c", "r")]


def test_non_monotonic_read():
    history = valid_history()
    history.reads = {"r": {P0: [(0, "a0"), (5, "c0"), (1, "a1")]}}
    assert kinds(history) == ["non-monotonic"]


def test_a_repeated_offset_is_non_monotonic_and_a_duplicate():
    history = valid_history()
    history.reads = {"r": {P0: [(0, "a0"), (1, "a1"), (1, "a1")]}}
    assert kinds(history) == ["non-monotonic"]  # one value at one offset: not two copies


def test_divergent_read_of_a_truncated_record():
    history = valid_history()
    history.txns.append(Txn("f", {P0: ["f0"]}, Outcome.UNKNOWN))
    history.reads = {"r": {P0: [(0, "a0"), (1, "a1"), (2, "f0")]}}  # offset 2 later truncated
    assert kinds(history) == ["divergent"]


def test_phantom_value():
    history = valid_history()
    history.final[P0] = history.final[P0] + [(9, "nobody-wrote-this")]
    history.reads = {}
    assert kinds(history) == ["phantom"]


def test_summary_names_the_counts_and_the_anomalies():
    history = valid_history()
    history.final[P1] = [(0, "a2"), (4, "c1"), (7, "d0")]
    text = summary(history, check(history))
    assert "'committed': 2" in text and "lost" in text and "c2" in text

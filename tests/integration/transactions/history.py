"""A Jepsen-style checker for histories of Kafka transactions.

Theory of operation
-------------------
A workload records what it did and what it saw; this module decides, after
the fact, whether what was seen is allowed. It does no I/O: the tests give it
a ``History`` and read the ``Anomaly`` list it returns.

The history holds

- the *transactions* (``Txn``): a transactional id's one transaction, the
  values it sent to each partition in send order (every value unique in the
  whole history), and its outcome as the client saw it: ``COMMITTED`` (the
  commit was acknowledged), ``ABORTED`` (the abort was acknowledged, or the
  client aborted after an error), ``UNKNOWN`` (the client gave up without an
  answer: the commit may or may not have happened);
- the *reads* of read_committed consumers: per consumer and partition, the
  ``(offset, value)`` records in the order the consumer received them;
- the *final read*: after the faults healed, every partition read from its
  start to its end (read_committed), taken as the truth.

Anomalies (``Anomaly.kind``):

- ``lost``: a value of a committed transaction is missing from the final read;
- ``duplicate``: a value stored at two offsets (final read), or read by one
  consumer at two offsets;
- ``aborted-read``: a value of an aborted transaction seen by a read_committed
  read (a consumer's or the final read);
- ``torn``: a transaction seen in part: in the final read, some of its values
  but not all (whatever its outcome: an unknown outcome must still be all or
  nothing); or a consumer that read a partition past the transaction's last
  record there but missed some of its records there;
- ``non-monotonic``: a consumer's offsets in one partition went backwards or
  repeated;
- ``divergent``: a consumer saw a record at an offset where the final read has
  another record, or none (it read data that was later truncated: beyond the
  high watermark or the last stable offset);
- ``phantom``: a value that no transaction wrote.

A committed transaction's records in a partition are located by the final
read (their offsets), so ``torn`` for a consumer is judged against where the
records really are.
"""

from __future__ import annotations

import enum
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Hashable

Partition = Hashable  # e.g. ("orders", 2)
Record = tuple[int, str]  # (offset, value)


class Outcome(enum.Enum):
    COMMITTED = "committed"
    ABORTED = "aborted"
    UNKNOWN = "unknown"


@dataclass
class Txn:
    """One transaction as the producer saw it.

    Attributes:
        txn_id: a name unique in the history (e.g. ``"p1-7"``).
        writes: partition -> values sent there, in send order.
        outcome: what the client learnt.
    """

    txn_id: str
    writes: dict[Partition, list[str]]
    outcome: Outcome

    def values(self) -> list[str]:
        return [value for values in self.writes.values() for value in values]


@dataclass
class History:
    """What a workload did and saw.

    Attributes:
        txns: every transaction the producers began.
        reads: consumer name -> partition -> records in the order received.
        final: partition -> every record of the final read, in offset order.
    """

    txns: list[Txn] = field(default_factory=list)
    reads: dict[str, dict[Partition, list[Record]]] = field(default_factory=dict)
    final: dict[Partition, list[Record]] = field(default_factory=dict)


@dataclass(frozen=True)
class Anomaly:
    """One violation; ``detail`` says what was seen, for the assertion message."""

    kind: str
    detail: str
    txn_id: str | None = None
    partition: Partition | None = None
    consumer: str | None = None


def check(history: History) -> list[Anomaly]:
    """Every anomaly in ``history`` (empty when the history is valid)."""
    index = _Index(history)
    anomalies: list[Anomaly] = []
    anomalies += _phantoms(history, index)
    anomalies += _final_duplicates(history)
    anomalies += _lost_writes(history, index)
    anomalies += _aborted_reads(history, index)
    anomalies += _torn_in_final(history, index)
    for consumer, partitions in history.reads.items():
        for partition, records in partitions.items():
            anomalies += _consumer_anomalies(consumer, partition, records, history, index)
    return anomalies


def summary(history: History, anomalies: list[Anomaly]) -> str:
    """A few lines for an assertion message: counts, then the first anomalies."""
    outcomes = Counter(txn.outcome.value for txn in history.txns)
    kinds = Counter(anomaly.kind for anomaly in anomalies)
    lines = [f"transactions: {dict(outcomes)}; anomalies: {dict(kinds) or 'none'}"]
    lines += [f"  {a.kind}: {a.detail}" for a in anomalies[:20]]
    return "\n".join(lines)


class _Index:
    """Lookups shared by the rules: who wrote a value, where the final read has it."""

    def __init__(self, history: History):
        self.writer: dict[str, Txn] = {}
        for txn in history.txns:
            for value in txn.values():
                self.writer[value] = txn
        self.final_offsets: dict[str, list[tuple[Partition, int]]] = defaultdict(list)
        self.final_at: dict[Partition, dict[int, str]] = {}
        for partition, records in history.final.items():
            self.final_at[partition] = dict(records)
            for offset, value in records:
                self.final_offsets[value].append((partition, offset))

    def offsets_in(self, partition: Partition, value: str) -> list[int]:
        """Where the final read has ``value`` in ``partition`` (normally one offset, or none)."""
        return [offset for p, offset in self.final_offsets.get(value, []) if p == partition]


def _phantoms(history: History, index: _Index) -> list[Anomaly]:
    seen = [(p, offset, value, None) for p, records in history.final.items() for offset, value in records]
    seen += [(p, offset, value, consumer) for consumer, partitions in history.reads.items()
             for p, records in partitions.items() for offset, value in records]
    return [Anomaly("phantom", f"{value!r} at {p} offset {offset} was never written", partition=p,
                    consumer=consumer)
            for p, offset, value, consumer in seen if value not in index.writer]


def _final_duplicates(history: History) -> list[Anomaly]:
    anomalies = []
    for partition, records in history.final.items():
        counts = Counter(value for _, value in records)
        for value, count in counts.items():
            if count > 1:
                offsets = [offset for offset, v in records if v == value]
                anomalies.append(Anomaly("duplicate", f"{value!r} stored at offsets {offsets} of {partition}",
                                         partition=partition))
    return anomalies


def _lost_writes(history: History, index: _Index) -> list[Anomaly]:
    anomalies = []
    for txn in history.txns:
        if txn.outcome is not Outcome.COMMITTED:
            continue
        for partition, values in txn.writes.items():
            missing = [value for value in values if not index.offsets_in(partition, value)]
            if missing:
                anomalies.append(Anomaly("lost", f"committed txn {txn.txn_id}: {missing} missing from the "
                                         f"final read of {partition}", txn.txn_id, partition))
    return anomalies


def _aborted_reads(history: History, index: _Index) -> list[Anomaly]:
    anomalies = []
    reads = [(None, p, records) for p, records in history.final.items()]
    reads += [(consumer, p, records) for consumer, partitions in history.reads.items()
              for p, records in partitions.items()]
    for consumer, partition, records in reads:
        for offset, value in records:
            txn = index.writer.get(value)
            if txn is not None and txn.outcome is Outcome.ABORTED:
                who = f"consumer {consumer}" if consumer else "the final read"
                anomalies.append(Anomaly("aborted-read", f"{who} saw {value!r} of aborted txn {txn.txn_id} at "
                                         f"{partition} offset {offset}", txn.txn_id, partition, consumer))
    return anomalies


def _torn_in_final(history: History, index: _Index) -> list[Anomaly]:
    anomalies = []
    for txn in history.txns:
        values = txn.values()
        present = [value for value in values if value in index.final_offsets]
        if present and len(present) < len(values):
            missing = [value for value in values if value not in index.final_offsets]
            anomalies.append(Anomaly("torn", f"txn {txn.txn_id} ({txn.outcome.value}) in part in the final read: "
                                     f"{missing} missing, {present} present", txn.txn_id))
    return anomalies


def _consumer_anomalies(consumer: str, partition: Partition, records: list[Record], history: History,
                        index: _Index) -> list[Anomaly]:
    anomalies = []
    offsets = [offset for offset, _ in records]
    for before, after in zip(offsets, offsets[1:]):
        if after <= before:
            anomalies.append(Anomaly("non-monotonic", f"consumer {consumer} read {partition} offset {after} "
                                     f"after offset {before}", partition=partition, consumer=consumer))
    values_at: dict[str, set[int]] = defaultdict(set)
    for offset, value in records:
        values_at[value].add(offset)
    for value, at in values_at.items():
        if len(at) > 1:
            anomalies.append(Anomaly("duplicate", f"consumer {consumer} read {value!r} at offsets {sorted(at)} "
                                     f"of {partition}", partition=partition, consumer=consumer))
    final_at = index.final_at.get(partition, {})
    for offset, value in records:
        if final_at.get(offset) != value:
            anomalies.append(Anomaly("divergent", f"consumer {consumer} read {value!r} at {partition} offset "
                                     f"{offset}; the final read has {final_at.get(offset)!r} there",
                                     partition=partition, consumer=consumer))
    anomalies += _torn_for_consumer(consumer, partition, records, history, index)
    return anomalies


def _torn_for_consumer(consumer: str, partition: Partition, records: list[Record], history: History,
                       index: _Index) -> list[Anomaly]:
    """Committed txns whose records in ``partition`` the consumer read past but saw only in part."""
    if not records:
        return []
    first_read, last_read = min(offset for offset, _ in records), max(offset for offset, _ in records)
    seen = {value for _, value in records}
    anomalies = []
    for txn in history.txns:
        if txn.outcome is Outcome.ABORTED or partition not in txn.writes:
            continue
        located = [(offset, value) for value in txn.writes[partition]
                   for offset in index.offsets_in(partition, value)]
        if not located:
            continue  # not in the final read: ``lost`` or not committed
        txn_first, txn_last = min(located)[0], max(located)[0]
        if txn_first < first_read or txn_last > last_read:
            continue  # the consumer started after it or has not read past it
        missing = [value for _, value in located if value not in seen]
        if missing:
            anomalies.append(Anomaly("torn", f"consumer {consumer} read {partition} up to offset {last_read} but "
                                     f"missed {missing} of txn {txn.txn_id}", txn.txn_id, partition, consumer))
    return anomalies

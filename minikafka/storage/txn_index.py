"""The aborted-transaction index of one segment (Kafka's ``TransactionIndex``).

A read_committed consumer must skip the records of aborted transactions.
The broker does not filter them out of a fetch (batches are sent as they
are stored); instead a Fetch response lists, for the range it returns, the
aborted transactions as ``(producer_id, first_offset)``, and the consumer
drops a producer's records from ``first_offset`` up to its ABORT marker.
This index is where the broker finds those transactions without reading
the log.

File ``<base offset, 20 digits>.txnindex``, next to the segment's ``.log``,
holding one entry per transaction aborted by a marker *in that segment*,
in the order the markers were appended. Each entry is 34 bytes, big-endian,
as Kafka writes it::

    version            int16   0
    producer_id        int64
    first_offset       int64   the transaction's first offset in this partition
    last_offset        int64   the ABORT marker's offset
    last_stable_offset int64   the partition's LSO once the marker was appended

Invariant: ``last_offset`` strictly increases from entry to entry. The file
is created on the first entry (most segments never have one), truncated
with its segment (``truncate_to``: entries whose marker is at or past the
offset go) and deleted with it.

Search (``collect_aborted_txns``), Kafka's rule: an entry overlaps a fetch
of ``[fetch_offset, upper_bound_offset)`` if ``last_offset >= fetch_offset``
and ``first_offset < upper_bound_offset``. A transaction may start segments
before its marker, so the search walks forward from the segment holding
``fetch_offset``; it may stop at the first entry whose
``last_stable_offset >= upper_bound_offset``, since every transaction
overlapping the fetch was complete, and so indexed, before that one.

Entries are kept in memory too (a segment has few); the file is appended
to, never rewritten, but for truncation.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import struct

logger = logging.getLogger("minikafka.storage")

TXN_INDEX_SUFFIX = ".txnindex"
_ENTRY = struct.Struct(">hqqqq")
ENTRY_SIZE = _ENTRY.size  # 34
CURRENT_VERSION = 0


@dataclasses.dataclass(frozen=True)
class AbortedTxn:
    """One entry of the index (Kafka's ``AbortedTxn``)."""

    producer_id: int
    first_offset: int
    last_offset: int
    last_stable_offset: int

    def encode(self) -> bytes:
        return _ENTRY.pack(CURRENT_VERSION, self.producer_id, self.first_offset, self.last_offset,
                           self.last_stable_offset)


def decode_entries(data: bytes) -> list[AbortedTxn]:
    """The whole entries of a ``.txnindex`` file's content (a torn tail is ignored).

    Raises:
        ValueError: an entry has an unknown version.
    """
    entries = []
    for position in range(0, len(data) - ENTRY_SIZE + 1, ENTRY_SIZE):
        version, producer_id, first_offset, last_offset, lso = _ENTRY.unpack_from(data, position)
        if version != CURRENT_VERSION:
            raise ValueError(f"unknown aborted transaction index entry version {version}")
        entries.append(AbortedTxn(producer_id, first_offset, last_offset, lso))
    return entries


class TransactionIndex:
    """The ``.txnindex`` of one segment.

    Args:
        path: the file (it need not exist).
        start_offset: the segment's base offset.
    """

    def __init__(self, path: str, start_offset: int):
        self.path = path
        self.start_offset = start_offset
        self.entries: list[AbortedTxn] = []
        self._dirty = False
        if os.path.exists(path):
            self._load()

    def _load(self) -> None:
        with open(self.path, "rb") as f:
            data = f.read()
        try:
            self.entries = decode_entries(data)
        except ValueError as e:
            logger.warning("%s: %s; the index is emptied (recovery rebuilds it)", self.path, e)
            self.entries = []
        if len(data) != len(self.entries) * ENTRY_SIZE:
            self._rewrite()  # cut a torn or corrupt tail

    @property
    def last_offset(self) -> int | None:
        return self.entries[-1].last_offset if self.entries else None

    def append(self, txn: AbortedTxn) -> None:
        """Add an entry; its marker must come after the last one's.

        Raises:
            ValueError: ``txn.last_offset`` does not increase.
        """
        if self.entries and txn.last_offset <= self.entries[-1].last_offset:
            raise ValueError(f"{self.path}: aborted transaction at {txn.last_offset} is not after "
                             f"the last one at {self.entries[-1].last_offset}")
        with open(self.path, "ab") as f:
            f.write(txn.encode())
        self.entries.append(txn)
        self._dirty = True

    def truncate_to(self, offset: int) -> None:
        """Drop the entries whose marker is at or past ``offset``."""
        kept = [txn for txn in self.entries if txn.last_offset < offset]
        if len(kept) != len(self.entries):
            self.entries = kept
            self._rewrite()

    def reset(self) -> None:
        """Drop every entry (and the file)."""
        self.entries = []
        self.delete()

    def _rewrite(self) -> None:
        write_transaction_index(self.path, self.entries)
        self._dirty = False

    def collect_aborted_txns(self, fetch_offset: int, upper_bound_offset: int) -> tuple[list[AbortedTxn], bool]:
        """The entries overlapping ``[fetch_offset, upper_bound_offset)``.

        Returns:
            ``(entries, complete)``; ``complete`` means no later segment can
            hold another overlapping entry (see the module docstring).
        """
        found = []
        for txn in self.entries:
            if txn.last_offset >= fetch_offset and txn.first_offset < upper_bound_offset:
                found.append(txn)
            if txn.last_stable_offset >= upper_bound_offset:
                return found, True
        return found, False

    def flush(self) -> None:
        """fsync the file if entries were appended since the last flush."""
        if self._dirty and os.path.exists(self.path):
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        self._dirty = False

    def delete(self) -> None:
        """Remove the file (the entries in memory stay until ``reset``)."""
        if os.path.exists(self.path):
            os.unlink(self.path)
        self._dirty = False


def write_transaction_index(path: str, entries: list[AbortedTxn]) -> None:
    """Write a whole ``.txnindex`` atomically (the cleaner's new segment); none: no file."""
    if not entries:
        if os.path.exists(path):
            os.unlink(path)
        return
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"".join(txn.encode() for txn in entries))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)

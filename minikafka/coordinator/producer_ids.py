"""Producer id allocation, persisted so that no id is ever handed out twice.

Why ids must never repeat
    Each partition deduplicates by ``(producer_id, producer_epoch, sequence)``
    (see ``producer_state.py``). If a restarted broker gave a new producer an
    id that an old producer used, the new producer's first batches (sequence
    0, 1, ...) could be taken for retries of the old one's and be silently
    dropped as duplicates, or fenced. So ids only go up, across restarts and
    crashes.

Blocks (Kafka's ``AllocateProducerIds`` / ``ProducerIdsBlock``)
    Kafka's controller hands brokers blocks of 1000 ids and records each
    allocation in the metadata log (``ProducerIdsRecord(next_producer_id)``)
    before the broker uses the block. Here one broker allocates for itself
    from a small msgpack file holding the first id not yet reserved::

        {"version": 1, "next_producer_id": <int>}

    To start a block ``[start, start + 1000)`` we first persist ``start +
    1000`` (temporary file, fsync, rename, fsync the directory) and only then
    hand out ``start``. After a crash, even ``kill -9`` right after the
    rename, the next broker starts at ``start + 1000``: the rest of the block
    is skipped, never reused. Writing once per thousand ids keeps the cost low.

Epochs (``bump_epoch``)
    The epoch is what fences an old incarnation of a producer. When a producer
    must be reset, its epoch goes up by one; when the epoch is exhausted
    (``>= Short.MAX_VALUE - 1``, Kafka's ``TransactionMetadata.isEpochExhausted``:
    the coordinator keeps one spare bump to fence on abort) it gets a new
    producer id with epoch 0 (KIP-360). In Kafka 4.0 this rule is applied by
    the transaction coordinator for transactional ids. For a plain idempotent
    producer (no ``transactional_id``) ``InitProducerId`` always answers a new
    id with epoch 0, even if the request names the producer's current id and
    epoch; the client bumps its epoch itself after an error (KIP-360), which
    is why the partition accepts a higher epoch starting at sequence 0.

Sans-I/O apart from the persist file. Not task-safe: owned by one broker.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import msgpack

from minikafka.fileutil import atomic_write

PRODUCER_ID_BLOCK_SIZE = 1000
# Kafka's epochs are int16; an exhausted epoch still leaves one bump for fencing.
SHORT_MAX = 2**15 - 1
MAX_USABLE_EPOCH = SHORT_MAX - 1
STATE_VERSION = 1


class ProducerIdAndEpoch(NamedTuple):
    """What InitProducerId answers: the producer's id and epoch."""

    producer_id: int
    producer_epoch: int


class ProducerIdManager:
    """Hands out producer ids from blocks reserved in a persist file.

    Args:
        path: the file holding the next unreserved id (created on first use).
        block_size: ids reserved per write; Kafka's blocks hold 1000.

    Raises:
        ValueError: if the file exists but cannot be read; guessing would risk
            handing out an id twice, so the broker must not start.
    """

    def __init__(self, path: str | os.PathLike, block_size: int = PRODUCER_ID_BLOCK_SIZE):
        self.path = os.fspath(path)
        self.block_size = block_size
        # First id not reserved by any block, as persisted.
        self._next_block_start = _read_next_producer_id(self.path)
        # The current block is [_next_id, _block_end); empty until first use.
        self._next_id = self._block_end = self._next_block_start

    def next_producer_id(self) -> int:
        """A producer id never handed out before, by this broker or an earlier run."""
        if self._next_id >= self._block_end:
            self._reserve_block()
        producer_id = self._next_id
        self._next_id += 1
        return producer_id

    def _reserve_block(self) -> None:
        """Persist the end of a new block, then (and only then) start using it."""
        start = self._next_block_start
        end = start + self.block_size
        _write_next_producer_id(self.path, end)  # may raise: nothing handed out yet
        self._next_block_start = end
        self._next_id, self._block_end = start, end

    def init_producer_id(
        self, producer_id: int = -1, producer_epoch: int = -1
    ) -> ProducerIdAndEpoch:
        """InitProducerId for an idempotent producer (``transactional_id`` null).

        Kafka ignores ``producer_id`` / ``producer_epoch`` here and always
        answers a fresh id with epoch 0; they are accepted so the handler can
        pass the request's fields through unchanged.
        """
        return ProducerIdAndEpoch(self.next_producer_id(), 0)

    def bump_epoch(self, producer_id: int, producer_epoch: int) -> ProducerIdAndEpoch:
        """The next (id, epoch) for a producer that must fence its old self.

        Args:
            producer_id: the current id, or -1 if the producer has none yet.
            producer_epoch: the current epoch, or -1.

        Returns:
            ``(producer_id, producer_epoch + 1)``, or a new id with epoch 0 when
            there is no id yet or the epoch is exhausted (KIP-360).
        """
        if producer_id < 0 or producer_epoch < 0 or producer_epoch >= MAX_USABLE_EPOCH:
            return ProducerIdAndEpoch(self.next_producer_id(), 0)
        return ProducerIdAndEpoch(producer_id, producer_epoch + 1)


def _read_next_producer_id(path: str) -> int:
    """The persisted next unreserved id, 0 if the file does not exist yet."""
    try:
        with open(path, "rb") as f:
            data = msgpack.unpackb(f.read(), raw=False)
    except FileNotFoundError:
        return 0
    except (ValueError, msgpack.UnpackException) as e:
        raise ValueError(f"producer id file {path} is unreadable: {e}") from e
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        raise ValueError(f"producer id file {path} has an unknown format: {data!r}")
    return int(data["next_producer_id"])


def _write_next_producer_id(path: str, next_producer_id: int) -> None:
    """Atomically replace the persist file: temporary file, fsync, rename, fsync dir."""
    data = msgpack.packb({"version": STATE_VERSION, "next_producer_id": next_producer_id})
    atomic_write(path, data)

"""Kafka's default partitioner for keyed records: murmur2, exactly as Java.

A producer that sends a record with a key but no explicit partition picks the
partition ``to_positive(murmur2(key)) % num_partitions`` (Java's
``BuiltInPartitioner.partitionForKey``). Every Kafka client that wants records
with the same key to land in the same partition as the Java client's must
compute the very same 32-bit hash, so this is a faithful port of
``org.apache.kafka.common.utils.Utils.murmur2``:

- seed ``0x9747b28c``, mixing constants ``m = 0x5bd1e995`` and ``r = 24``;
- the key is read four bytes at a time, little-endian;
- the 1-3 trailing bytes are folded in (the ``switch`` fall-through in Java);
- Java's ``int`` arithmetic wraps at 32 bits, so we mask with ``0xFFFFFFFF``
  after every multiplication, and ``>>>`` (unsigned shift) is a plain ``>>``
  on the masked, non-negative value.

``to_positive`` is ``h & 0x7fffffff``, *not* ``abs(h)``: ``abs`` of
``-2**31`` is still negative in Java.

Records without a key are not hashed. Before KIP-480 they went round-robin,
one record per partition, which made many tiny batches. Since KIP-480 (Kafka
2.4) the producer *sticks* to one randomly chosen partition until the batch
for it is full or sent, then picks another one (``StickyPartitioner``): the
same spread over time, but full batches. (Kafka 3.3's KIP-794 refines the
switching point to ``batch.size`` bytes per partition and weighs slow brokers;
KIP-480's rule is the simpler one taught here.)
"""

from __future__ import annotations

import random

_SEED = 0x9747B28C
_M = 0x5BD1E995
_R = 24
_MASK32 = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Return Java's ``Utils.murmur2(data)`` as a signed 32-bit int.

    Args:
        data: the serialized key.
    """
    length = len(data)
    h = (_SEED ^ length) & _MASK32
    whole_words = length - length % 4
    for i in range(0, whole_words, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * _M) & _MASK32
        k ^= k >> _R
        k = (k * _M) & _MASK32
        h = ((h * _M) & _MASK32) ^ k
    tail = data[whole_words:]
    if tail:
        # Java's switch falls through: byte 2, then 1, then 0 and a multiply.
        h ^= int.from_bytes(tail, "little")
        h = (h * _M) & _MASK32
    h ^= h >> 13
    h = (h * _M) & _MASK32
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def to_positive(number: int) -> int:
    """Java's ``Utils.toPositive``: clear the sign bit (not ``abs``)."""
    return number & 0x7FFFFFFF


def partition_for_key(key: bytes, num_partitions: int) -> int:
    """The partition the Java client's default partitioner picks for ``key``."""
    if num_partitions <= 0:
        raise ValueError("num_partitions must be positive")
    return to_positive(murmur2(key)) % num_partitions


def choose_partition(key: bytes | None, num_partitions: int, sticky_partition: int) -> int:
    """Pick a partition the way Kafka's default producer does.

    Args:
        key: the record key, or None.
        num_partitions: the topic's partition count.
        sticky_partition: the partition keyless records currently stick to
            (KIP-480); the caller moves it on when it closes a batch.
    """
    if key is None:
        return sticky_partition % num_partitions
    return partition_for_key(key, num_partitions)


class StickyPartitioner:
    """The sticky partition of each topic for keyless records (KIP-480).

    Java's ``StickyPartitionCache``. The producer asks ``partition()`` for
    every keyless record, and calls ``next_partition()`` when appending to
    the sticky partition would open a new batch (the previous one is full or
    already drained). Owned by one producer; not task-safe.

    Args:
        random_source: a ``random.Random``-like object (``randrange``), for tests.
    """

    def __init__(self, random_source=None):
        self._random = random_source or random.Random()
        self._sticky: dict[str, int] = {}

    def partition(self, topic: str, num_partitions: int) -> int:
        """The partition keyless records of ``topic`` go to now."""
        current = self._sticky.get(topic)
        if current is None or current >= num_partitions:
            return self.next_partition(topic, num_partitions, -1)
        return current

    def next_partition(self, topic: str, num_partitions: int, previous: int) -> int:
        """Move ``topic``'s sticky partition to a random *other* partition.

        Only moves if the sticky partition is still ``previous`` (another
        caller may have moved it already, as in Java).
        """
        current = self._sticky.get(topic)
        if current is not None and current != previous and current < num_partitions:
            return current
        if num_partitions == 1:
            chosen = 0
        else:
            chosen = self._random.randrange(num_partitions - 1)
            if chosen >= previous >= 0:
                chosen += 1  # skip the previous one: uniform over the others
        self._sticky[topic] = chosen
        return chosen

"""The default partitioner: Java's murmur2 for keys, KIP-480 stickiness without."""

import random

import pytest

from minikafka_clients.accumulator import RecordAccumulator
from minikafka_clients.partitioner import StickyPartitioner, murmur2, partition_for_key

# From Kafka's UtilsTest.testMurmur2 (Java).
JAVA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@pytest.mark.parametrize("key,expected", JAVA_MURMUR2.items())
def test_murmur2_is_javas(key, expected):
    assert murmur2(key) == expected


def test_partition_for_key_clears_the_sign_bit_not_abs():
    # murmur2(b"21") is negative: Java uses toPositive (h & 0x7fffffff), not abs().
    assert partition_for_key(b"21", 1000) == (-973932308 & 0x7FFFFFFF) % 1000
    assert partition_for_key(b"21", 1000) != abs(-973932308) % 1000


def test_sticky_partition_stays_until_told_to_move():
    partitioner = StickyPartitioner(random.Random(1))
    first = partitioner.partition("t", 6)
    assert all(partitioner.partition("t", 6) == first for _ in range(100))
    moved = partitioner.next_partition("t", 6, first)
    assert moved != first and 0 <= moved < 6
    assert partitioner.partition("t", 6) == moved


def test_sticky_move_is_done_once_for_the_same_previous_partition():
    partitioner = StickyPartitioner(random.Random(2))
    first = partitioner.partition("t", 4)
    moved = partitioner.next_partition("t", 4, first)
    assert partitioner.next_partition("t", 4, first) == moved  # already moved: keep it


def test_sticky_moves_cover_every_other_partition():
    partitioner = StickyPartitioner(random.Random(3))
    seen = set()
    current = partitioner.partition("t", 5)
    for _ in range(200):
        nxt = partitioner.next_partition("t", 5, current)
        assert nxt != current
        seen.add(nxt)
        current = nxt
    assert seen == set(range(5))


def test_single_partition_topic_sticks_to_zero():
    partitioner = StickyPartitioner()
    assert partitioner.partition("t", 1) == 0
    assert partitioner.next_partition("t", 1, 0) == 0


def test_keyless_records_fill_one_batch_then_switch():
    """KIP-480 as the producer drives it: append aborts when a new batch would open."""
    accumulator = RecordAccumulator(batch_size=1000, linger_ms=5)
    partitioner = StickyPartitioner(random.Random(4))
    partitions = []
    for _ in range(40):
        sticky = partitioner.partition("t", 3)
        result = accumulator.append("t", sticky, 0, None, b"x" * 100, [], 0, abort_on_new_batch=True)
        if result.aborted_for_new_batch:
            sticky = partitioner.next_partition("t", 3, sticky)
            result = accumulator.append("t", sticky, 0, None, b"x" * 100, [], 0)
        partitions.append(sticky)
    switches = [i for i in range(1, len(partitions)) if partitions[i] != partitions[i - 1]]
    assert len(switches) >= 3  # it moved on several times...
    runs = [b - a for a, b in zip([0] + switches, switches)]
    assert all(run == runs[0] for run in runs) and runs[0] >= 8  # ...each after a full batch

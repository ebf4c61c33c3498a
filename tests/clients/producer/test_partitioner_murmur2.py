"""murmur2 and the default partitioner agree with the Java client."""

import pytest
from hypothesis import given, strategies as st
from kafka.partitioner.default import murmur2 as reference

from minikafka_clients.partitioner import choose_partition, murmur2, partition_for_key, to_positive

# From Kafka's UtilsTest.testMurmur2 (Java), also what kafka-python computes.
JAVA_VECTORS = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
    b"": 275646681,
}


@pytest.mark.parametrize("key,expected", JAVA_VECTORS.items())
def test_murmur2_matches_java(key, expected):
    assert murmur2(key) == expected


def test_to_positive_is_not_abs():
    assert to_positive(-(2**31)) == 0
    assert to_positive(-1) == 2**31 - 1


def test_partition_for_key():
    assert partition_for_key(b"21", 3) == 0
    assert partition_for_key(b"a-little-bit-long-string", 3) == 2
    with pytest.raises(ValueError):
        partition_for_key(b"x", 0)


def test_keyless_records_use_the_sticky_partition():
    assert choose_partition(None, 4, 6) == 2
    assert choose_partition(b"abc", 4, 6) == partition_for_key(b"abc", 4)


@given(st.binary(max_size=64))
def test_same_as_kafka_python(key):
    assert murmur2(key) & 0xFFFFFFFF == reference(key)

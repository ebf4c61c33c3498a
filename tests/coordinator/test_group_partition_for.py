"""Group id -> __consumer_offsets partition, exactly as Kafka computes it."""

from minikafka.coordinator.group_partition import java_string_hash, partition_for


def test_java_string_hash_known_values():
    assert java_string_hash("") == 0
    assert java_string_hash("hello") == 99162322
    assert java_string_hash("hello world") == 1794106052
    assert java_string_hash("Aa") == java_string_hash("BB") == 2112  # the classic collision
    # Wraps to a negative int, as Java's does: sum of c * 31^(n-1-i) mod 2^32.
    assert java_string_hash("my-group") == -1906497762
    # Outside the BMP: Java hashes the two UTF-16 surrogates (0xD83D, 0xDE00).
    assert java_string_hash("\U0001F600") == 0xD83D * 31 + 0xDE00


def test_partition_for_known_values():
    assert partition_for("hello", 50) == 99162322 % 50
    assert partition_for("my-group", 50) == 1906497762 % 50 == 12
    # "polygenelubricants".hashCode() == Integer.MIN_VALUE: Utils.abs gives 0.
    assert java_string_hash("polygenelubricants") == -2**31
    assert partition_for("polygenelubricants", 50) == 0
    assert partition_for("anything", 1) == 0

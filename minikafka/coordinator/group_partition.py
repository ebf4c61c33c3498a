"""Which ``__consumer_offsets`` partition owns a group.

Each group lives in one partition of ``__consumer_offsets``: the one Kafka
picks with ``abs(groupId.hashCode()) % offsets.topic.num.partitions``. The
broker that leads that partition is the group's coordinator (FindCoordinator
answers with it), so the mapping must be exactly Java's:

- ``String.hashCode`` is ``s[0]*31^(n-1) + ... + s[n-1]`` over UTF-16 code
  units (a character outside the BMP counts as its two surrogates), computed
  in wrapping 32-bit signed arithmetic;
- Kafka's ``Utils.abs`` maps ``Integer.MIN_VALUE`` to 0, where ``Math.abs``
  would leave it negative.

Both protocols use the mapping: a group id belongs to one partition whether
its group is classic or a KIP-848 consumer group.
"""

from __future__ import annotations

_INT_MIN = -(2**31)


def java_string_hash(text: str) -> int:
    """Java's ``String.hashCode()``: a signed 32-bit int."""
    h = 0
    utf16 = text.encode("utf-16-be")
    for i in range(0, len(utf16), 2):
        h = (31 * h + int.from_bytes(utf16[i:i + 2], "big")) & 0xFFFFFFFF
    return h - 2**32 if h >= 2**31 else h


def partition_for(group_id: str, num_partitions: int) -> int:
    """The ``__consumer_offsets`` partition of ``group_id`` (Kafka's rule)."""
    h = java_string_hash(group_id)
    return (0 if h == _INT_MIN else abs(h)) % num_partitions

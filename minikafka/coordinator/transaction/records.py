"""Encode and decode ``__transaction_state`` records, byte-compatible with Kafka 4.0.

The transaction coordinator keeps one record per transactional id in the
compacted topic ``__transaction_state``: the latest record of an id *is* its
state, and a tombstone (``value=None``) forgets it (transactional id
expiration). Key and value are each ``int16 version | struct at that version``:

- TransactionLogKey v0: ``transactional_id`` (string).
- TransactionLogValue v0-v1: ``producer_id`` int64, ``producer_epoch`` int16,
  ``transaction_timeout_ms`` int32, ``transaction_status`` int8 (the
  ``TransactionState`` byte id), ``transaction_partitions`` (nullable array
  of ``topic`` + ``partition_ids``; null in EMPTY),
  ``transaction_last_update_timestamp_ms`` int64,
  ``transaction_start_timestamp_ms`` int64. Version 1 is flexible (compact
  strings and arrays) and adds three tagged fields, written only when they
  differ from their default: ``previous_producer_id`` (tag 0, default -1),
  ``next_producer_id`` (tag 1, -1) and ``client_transaction_version`` (tag 2, 0).

Kafka writes value v1 once the ``transaction.version`` feature is at least 1
(and v0 below that); this broker runs transaction version 1, so it writes v1
and reads both. Kafka 4.0 never sets ``previous_producer_id`` or
``next_producer_id`` in what it writes, and a classic client's
``client_transaction_version`` is 0, so its v1 records carry no tagged field;
the coordinator writes the same (readers still take the fields when present).
A key version it does not know is skipped on load, as Kafka does (a leftover
of an aborted upgrade).

Example, ``"t"``: producer 0, epoch 0, timeout 60000, ONGOING on ``("a", 0)``,
started and updated at 1000::

    key   = 0000 | 0001 74
    value = 0001 | 0000000000000000 | 0000 | 0000ea60 | 01
            | 02 (one topic) 0261 ("a") 02 00000000 ([0]) 00 (no tags)
            | 00000000000003e8 | 00000000000003e8 | 00 (no tagged fields)
"""

from __future__ import annotations

import dataclasses
import struct

from minikafka.coordinator.transaction.state import TransactionState
from minikafka.protocol.schema import Field, Message

Record = tuple[bytes, "bytes | None"]
"""One record to append: (key bytes, value bytes or None for a tombstone)."""

TopicPartition = tuple[str, int]
"""A partition named by ``(topic, partition_index)``."""

TRANSACTION_STATE_TOPIC = "__transaction_state"
"""The compacted internal topic these records live in."""

NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1

TRANSACTION_LOG_KEY_VERSION = 0
"""The only TransactionLogKey version."""
TRANSACTION_LOG_VALUE_VERSION = 1
"""The value version Kafka 4.0 writes with ``transaction.version`` 1."""

TRANSACTION_LOG_KEY = Message(
    name="TransactionLogKey",
    api_key=None,
    kind="data",
    valid_versions="0",
    flexible_versions="none",
    about="The key of a transactional id's record in __transaction_state.",
    fields=[Field("transactional_id", "string", "0", about="The transactional id.")],
)

TRANSACTION_LOG_VALUE = Message(
    name="TransactionLogValue",
    api_key=None,
    kind="data",
    valid_versions="0-1",
    flexible_versions="1+",
    about="A transactional id's producer, epoch, state and the partitions of its transaction.",
    fields=[
        Field("producer_id", "int64", "0+", about="The producer id in use by the transactional id."),
        Field("previous_producer_id", "int64", "1+", tag=0, default=-1,
              about="The producer id before this record's transition, or -1."),
        Field("next_producer_id", "int64", "1+", tag=1, default=-1,
              about="The next producer id (epoch overflow, transaction version 2), or -1."),
        Field("producer_epoch", "int16", "0+", about="The producer epoch."),
        Field("transaction_timeout_ms", "int32", "0+", about="The transaction timeout (ms)."),
        Field("transaction_status", "int8", "0+", about="The TransactionState byte id."),
        Field("transaction_partitions", "[]PartitionsSchema", "0+", nullable="0+",
              about="The partitions in the transaction; null when EMPTY.", fields=[
                  Field("topic", "string", "0+", about="The topic name."),
                  Field("partition_ids", "[]int32", "0+", about="The partition indexes."),
              ]),
        Field("transaction_last_update_timestamp_ms", "int64", "0+",
              about="When the transactional id's state last changed (ms)."),
        Field("transaction_start_timestamp_ms", "int64", "0+",
              about="When the current transaction started (ms), or -1."),
        Field("client_transaction_version", "int16", "1+", tag=2, default=0,
              about="The transaction version the client used (0 for classic clients)."),
    ],
)

_INT16 = struct.Struct(">h")


@dataclasses.dataclass(frozen=True)
class TransactionLogValue:
    """A decoded TransactionLogValue: everything the log keeps about one transactional id."""

    producer_id: int
    producer_epoch: int
    transaction_timeout_ms: int
    state: TransactionState
    partitions: frozenset[TopicPartition]
    last_update_timestamp_ms: int
    start_timestamp_ms: int
    previous_producer_id: int = NO_PRODUCER_ID
    next_producer_id: int = NO_PRODUCER_ID
    client_transaction_version: int = 0


def transaction_log_key(transactional_id: str) -> bytes:
    """The key of ``transactional_id``'s record."""
    return (_INT16.pack(TRANSACTION_LOG_KEY_VERSION)
            + TRANSACTION_LOG_KEY.encode({"transactional_id": transactional_id},
                                         TRANSACTION_LOG_KEY_VERSION))


def encode_value(value: TransactionLogValue, version: int = TRANSACTION_LOG_VALUE_VERSION) -> bytes:
    """A TransactionLogValue's bytes (version prefix included).

    Raises:
        ValueError: partitions in the EMPTY state (Kafka refuses it too).
    """
    if value.state is TransactionState.EMPTY and value.partitions:
        raise ValueError("an EMPTY transaction has no partitions")
    obj = {
        "producer_id": value.producer_id,
        "previous_producer_id": value.previous_producer_id,
        "next_producer_id": value.next_producer_id,
        "producer_epoch": value.producer_epoch,
        "transaction_timeout_ms": value.transaction_timeout_ms,
        "transaction_status": value.state.id,
        "transaction_partitions": (None if value.state is TransactionState.EMPTY
                                   else _partitions_schema(value.partitions)),
        "transaction_last_update_timestamp_ms": value.last_update_timestamp_ms,
        "transaction_start_timestamp_ms": value.start_timestamp_ms,
        "client_transaction_version": value.client_transaction_version,
    }
    return _INT16.pack(version) + TRANSACTION_LOG_VALUE.encode(obj, version)


def _partitions_schema(partitions) -> list[dict]:
    """Group ``(topic, index)`` pairs by topic (sorted, so the bytes are reproducible)."""
    by_topic: dict[str, list[int]] = {}
    for topic, index in sorted(partitions):
        by_topic.setdefault(topic, []).append(index)
    return [{"topic": topic, "partition_ids": ids} for topic, ids in by_topic.items()]


def transaction_log_record(transactional_id: str, value: TransactionLogValue) -> Record:
    """The record that sets ``transactional_id``'s state to ``value``."""
    return transaction_log_key(transactional_id), encode_value(value)


def transaction_log_tombstone(transactional_id: str) -> Record:
    """The record that forgets ``transactional_id`` (expiration)."""
    return transaction_log_key(transactional_id), None


def decode_key(key: bytes) -> str | None:
    """The transactional id of a record key, or None for a key version Kafka 4.0 does not know.

    Raises:
        ValueError: bad bytes.
    """
    key = bytes(key)
    (version,) = _INT16.unpack_from(key)
    if version != TRANSACTION_LOG_KEY_VERSION:
        return None
    return TRANSACTION_LOG_KEY.decode(memoryview(key)[2:], version).transactional_id


def decode_value(value: bytes | None) -> TransactionLogValue | None:
    """Decode a record value; None for a tombstone.

    Raises:
        ValueError: an unknown version or state id, or bad bytes.
    """
    if value is None:
        return None
    value = bytes(value)
    (version,) = _INT16.unpack_from(value)
    if version not in (0, 1):
        raise ValueError(f"unknown TransactionLogValue version {version}")
    decoded = TRANSACTION_LOG_VALUE.decode(memoryview(value)[2:], version)
    state = TransactionState.from_id(decoded.transaction_status)
    partitions = frozenset()
    if state is not TransactionState.EMPTY and decoded.transaction_partitions:
        partitions = frozenset((p.topic, index) for p in decoded.transaction_partitions
                               for index in p.partition_ids)
    return TransactionLogValue(
        producer_id=decoded.producer_id,
        producer_epoch=decoded.producer_epoch,
        transaction_timeout_ms=decoded.transaction_timeout_ms,
        state=state,
        partitions=partitions,
        last_update_timestamp_ms=decoded.transaction_last_update_timestamp_ms,
        start_timestamp_ms=decoded.transaction_start_timestamp_ms,
        previous_producer_id=decoded.previous_producer_id,
        next_producer_id=decoded.next_producer_id,
        client_transaction_version=decoded.client_transaction_version,
    )

"""TransactionState ids, names and transition table; __transaction_state record bytes."""

import pytest

from minikafka.coordinator.transaction.records import (
    TransactionLogValue,
    decode_key,
    decode_value,
    encode_value,
    transaction_log_key,
    transaction_log_record,
    transaction_log_tombstone,
)
from minikafka.coordinator.transaction.state import (
    VALID_PREVIOUS_STATES,
    TransactionState,
    is_valid_transition,
)

S = TransactionState


def test_state_ids_and_names_are_kafkas():
    expected = [(0, "Empty"), (1, "Ongoing"), (2, "PrepareCommit"), (3, "PrepareAbort"),
                (4, "CompleteCommit"), (5, "CompleteAbort"), (6, "Dead"), (7, "PrepareEpochFence")]
    assert [(s.id, s.state_name) for s in S] == expected
    assert S.from_id(4) is S.COMPLETE_COMMIT
    assert S.from_name("PrepareAbort") is S.PREPARE_ABORT
    assert S.from_name("prepareabort") is None
    with pytest.raises(ValueError):
        S.from_id(8)


def test_transition_table():
    assert is_valid_transition(S.ONGOING, S.PREPARE_COMMIT)
    assert is_valid_transition(S.PREPARE_EPOCH_FENCE, S.PREPARE_ABORT)
    assert not is_valid_transition(S.PREPARE_EPOCH_FENCE, S.PREPARE_COMMIT)
    assert not is_valid_transition(S.EMPTY, S.PREPARE_COMMIT)
    assert not is_valid_transition(S.PREPARE_COMMIT, S.ONGOING)
    assert not is_valid_transition(S.ONGOING, S.DEAD)
    assert VALID_PREVIOUS_STATES[S.EMPTY] == {S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT}
    assert {s for s in S if s.is_expiration_allowed} == {S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT}


def test_key_bytes():
    assert transaction_log_key("t").hex() == "0000" "0001" "74"
    assert decode_key(bytes.fromhex("0000000174")) == "t"
    assert decode_key(bytes.fromhex("0001000174")) is None  # unknown key version: skipped


def test_a_value_with_a_tagged_field_is_read():
    # What a newer writer may add: previous_producer_id as tag 0.
    value = TransactionLogValue(producer_id=5, producer_epoch=0, transaction_timeout_ms=60000,
                                state=S.EMPTY, partitions=frozenset(), last_update_timestamp_ms=1000,
                                start_timestamp_ms=-1, previous_producer_id=5)
    expected = ("0001" "0000000000000005" "0000" "0000ea60" "00"
                "00"  # null compact array
                "00000000000003e8" "ffffffffffffffff"
                "01" "00" "08" "0000000000000005")  # one tagged field: previous_producer_id
    assert encode_value(value).hex() == expected
    assert decode_value(bytes.fromhex(expected)) == value


def test_ongoing_value_v1_bytes_group_partitions_by_topic():
    # The layout a Kafka 4.0 broker at transaction.version 1 writes: no tagged field.
    value = TransactionLogValue(producer_id=7, producer_epoch=2, transaction_timeout_ms=1000,
                                state=S.ONGOING, partitions=frozenset({("a", 1), ("a", 0)}),
                                last_update_timestamp_ms=20, start_timestamp_ms=10)
    expected = ("0001" "0000000000000007" "0002" "000003e8" "01"
                "02" "0261" "03" "00000000" "00000001" "00"  # [{topic "a", partition_ids [0, 1]}]
                "0000000000000014" "000000000000000a"
                "00")  # defaults are not written as tagged fields
    assert encode_value(value).hex() == expected
    assert decode_value(bytes.fromhex(expected)) == value


def test_value_v0_is_read():
    v0 = ("0000" "0000000000000007" "0002" "000003e8" "02"
          "00000001" "0001" "61" "00000001" "00000003"
          "0000000000000014" "000000000000000a")
    value = decode_value(bytes.fromhex(v0))
    assert value.state is S.PREPARE_COMMIT
    assert value.partitions == {("a", 3)}
    assert value.previous_producer_id == -1
    assert encode_value(value, 0).hex() == v0


def test_empty_state_refuses_partitions_and_tombstone_has_no_value():
    value = TransactionLogValue(1, 0, 1000, S.EMPTY, frozenset({("a", 0)}), 0, -1)
    with pytest.raises(ValueError):
        encode_value(value)
    assert transaction_log_tombstone("t") == (transaction_log_key("t"), None)
    assert decode_value(None) is None
    key, raw = transaction_log_record("t", TransactionLogValue(1, 0, 1000, S.COMPLETE_ABORT, frozenset(), 5, 4))
    assert decode_key(key) == "t" and decode_value(raw).state is S.COMPLETE_ABORT


def test_unknown_value_version_or_state_is_an_error():
    good = encode_value(TransactionLogValue(1, 0, 1000, S.EMPTY, frozenset(), 0, -1))
    with pytest.raises(ValueError):
        decode_value(b"\x00\x02" + good[2:])
    bad_state = bytearray(good)
    bad_state[2 + 8 + 2 + 4] = 9
    with pytest.raises(ValueError):
        decode_value(bytes(bad_state))

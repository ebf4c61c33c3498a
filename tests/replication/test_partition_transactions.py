"""Partition's transaction API: markers on the leader, read_committed reads, aborted lists."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from minikafka.errors import ErrorCode, KafkaError
from minikafka.replication.partition import APPENDED, COMMITTED, Partition
from minikafka.storage.unified_log import FetchIsolation
from minikafka_core.batch import read_batch_header

from tests.storage.txn_helpers import NOW_MS, Producer, data_batch, open_log

BROKER = 1


def registration(leader: int = BROKER, epoch: int = 0, replicas=(BROKER,), isr=(BROKER,)):
    return SimpleNamespace(leader=leader, leader_epoch=epoch, partition_epoch=0, replicas=list(replicas),
                           isr=list(isr))


def leader_partition(tmp_path, **kwargs) -> Partition:
    partition = Partition("t", 0, open_log(tmp_path, **kwargs), BROKER)
    partition.make_leader(registration(), NOW_MS, min_insync_replicas=1, replica_lag_time_max_ms=30_000)
    return partition


def base_offsets(data) -> list[int]:
    offsets, position = [], 0
    while position < len(data):
        info = read_batch_header(data, position)
        offsets.append(info.base_offset)
        position += info.size
    return offsets


def test_marker_moves_the_high_watermark_and_notifies(tmp_path):
    partition = leader_partition(tmp_path)
    events = []
    partition.add_listener(APPENDED, lambda: events.append(APPENDED))
    partition.add_listener(COMMITTED, lambda: events.append(COMMITTED))
    p = Producer(3)
    partition.append_records(p.batch(), NOW_MS)
    assert partition.last_stable_offset == 0
    events.clear()
    result = partition.append_txn_marker(producer_id=3, producer_epoch=0, coordinator_epoch=0, commit=True,
                                         now_ms=NOW_MS)
    assert result.base_offset == 1
    assert events == [APPENDED, COMMITTED]
    assert partition.high_watermark == 2 and partition.last_stable_offset == 2


def test_read_committed_stops_at_the_lso_and_lists_aborts(tmp_path):
    partition = leader_partition(tmp_path)
    a, b = Producer(1), Producer(2)
    partition.append_records(a.batch(), NOW_MS)  # 0
    partition.append_txn_marker(producer_id=1, producer_epoch=0, coordinator_epoch=0, commit=False,
                                now_ms=NOW_MS)  # 1
    partition.append_records(b.batch(), NOW_MS)  # 2
    partition.append_records(data_batch(), NOW_MS)  # 3
    committed = partition.read(0, 1 << 20, min_one_batch=True, isolation=FetchIsolation.TXN_COMMITTED)
    assert base_offsets(committed) == [0, 1]
    uncommitted = partition.read(0, 1 << 20, min_one_batch=True)
    assert base_offsets(uncommitted) == [0, 1, 2, 3]
    assert partition.aborted_transactions(0, 2) == [(1, 0)]
    assert [p.producer_id for p in partition.active_producers()] == [1, 2]


def test_marker_on_a_follower_is_not_leader(tmp_path):
    partition = Partition("t", 0, open_log(tmp_path), BROKER)
    partition.make_follower(registration(leader=2))
    with pytest.raises(KafkaError) as e:
        partition.append_txn_marker(producer_id=1, producer_epoch=0, coordinator_epoch=0, commit=True,
                                    now_ms=NOW_MS)
    assert e.value.code == ErrorCode.NOT_LEADER_OR_FOLLOWER


def test_verification_guard_through_the_partition(tmp_path):
    partition = leader_partition(tmp_path, verification=True)
    p = Producer(4)
    batch = p.batch()
    with pytest.raises(KafkaError) as e:
        partition.append_records(batch, NOW_MS)
    assert e.value.code == ErrorCode.INVALID_TXN_STATE
    guard = partition.maybe_start_verification(4)
    partition.append_records(batch, NOW_MS, verification_guard=guard)
    assert partition.maybe_start_verification(4) is None

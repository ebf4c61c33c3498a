"""LeaderEpochCache: Kafka's LeaderEpochFileCacheTest cases and the checkpoint file."""

import pytest

from minikafka.storage.checkpoints import read_leader_epoch_checkpoint
from minikafka.storage.epoch_cache import UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, EpochEntry, LeaderEpochCache

UNDEFINED = (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)


def pairs(cache):
    return [(e.epoch, e.start_offset) for e in cache.entries]


def test_latest_epoch_answers_the_log_end_offset():
    cache = LeaderEpochCache([(2, 6), (3, 8), (4, 11)])
    assert cache.end_offset_for(4, log_end_offset=15) == (4, 15)


def test_undefined_or_empty_answers_undefined():
    assert LeaderEpochCache().end_offset_for(0, 10) == UNDEFINED
    assert LeaderEpochCache().end_offset_for(UNDEFINED_EPOCH, 10) == UNDEFINED
    assert LeaderEpochCache([(2, 6)]).end_offset_for(UNDEFINED_EPOCH, 10) == UNDEFINED


def test_epoch_after_the_latest_is_unknown():
    assert LeaderEpochCache([(2, 100)]).end_offset_for(3, 120) == UNDEFINED


def test_epoch_before_the_first_answers_the_first_start_offset():
    cache = LeaderEpochCache([(5, 11), (6, 12)])
    assert cache.end_offset_for(4, 20) == (4, 11)


def test_missing_epoch_answers_the_floor_epoch_and_next_start():
    cache = LeaderEpochCache([(0, 10), (2, 13), (4, 17)])
    assert cache.end_offset_for(0, 20) == (0, 13)
    assert cache.end_offset_for(1, 20) == (0, 13)
    assert cache.end_offset_for(2, 20) == (2, 17)
    assert cache.end_offset_for(3, 20) == (2, 17)


def test_repeated_epoch_keeps_its_first_offset():
    cache = LeaderEpochCache()
    assert cache.assign(1, 5)
    assert not cache.assign(1, 6)
    assert cache.assign(2, 7)
    assert pairs(cache) == [(1, 5), (2, 7)]
    assert cache.end_offset_for(1, 10) == (1, 7)


def test_same_epoch_at_an_earlier_offset_replaces_it():
    cache = LeaderEpochCache([(5, 11)])
    assert cache.assign(5, 10)
    assert pairs(cache) == [(5, 10)]


def test_offsets_never_go_backwards_even_if_epochs_progress():
    cache = LeaderEpochCache([(2, 6)])
    cache.assign(3, 5)
    assert pairs(cache) == [(3, 5)]
    cache = LeaderEpochCache([(2, 6), (3, 8)])
    cache.assign(1, 9)  # an older epoch removes every entry with epoch >= 1
    assert pairs(cache) == [(1, 9)]


def test_invalid_entries_are_refused():
    with pytest.raises(ValueError):
        LeaderEpochCache().assign(-1, 0)
    with pytest.raises(ValueError):
        LeaderEpochCache().assign(0, -1)


def test_truncate_from_end():
    cache = LeaderEpochCache([(2, 6), (3, 8), (4, 11)])
    assert not cache.truncate_from_end(12)
    assert cache.truncate_from_end(9)
    assert pairs(cache) == [(2, 6), (3, 8)]
    assert cache.truncate_from_end(8)
    assert pairs(cache) == [(2, 6)]
    assert not cache.truncate_from_end(-1)


def test_truncate_from_start_moves_the_covering_entry_up():
    cache = LeaderEpochCache([(2, 6), (3, 8), (4, 11)])
    assert not cache.truncate_from_start(5)
    assert not cache.truncate_from_start(6)
    assert cache.truncate_from_start(9)
    assert pairs(cache) == [(3, 9), (4, 11)]
    assert cache.truncate_from_start(15)
    assert pairs(cache) == [(4, 15)]


def test_epoch_for_offset():
    cache = LeaderEpochCache([(0, 0), (2, 13), (4, 17)])
    assert [cache.epoch_for_offset(o) for o in (0, 12, 13, 16, 17, 99)] == [0, 0, 2, 2, 4, 4]
    assert LeaderEpochCache([(3, 5)]).epoch_for_offset(4) is None


def test_persist_and_load_use_kafkas_file(tmp_path):
    path = str(tmp_path / "leader-epoch-checkpoint")
    cache = LeaderEpochCache([(0, 0), (2, 13)])
    cache.persist(path)
    assert open(path).read() == "0\n2\n0 0\n2 13\n"
    assert read_leader_epoch_checkpoint(path) == [(0, 0), (2, 13)]
    loaded = LeaderEpochCache.load(path)
    assert loaded.entries == [EpochEntry(0, 0), EpochEntry(2, 13)]
    assert LeaderEpochCache.load(str(tmp_path / "missing")).latest_epoch is None


def test_load_drops_non_monotonic_entries_like_kafka(tmp_path):
    path = tmp_path / "leader-epoch-checkpoint"
    path.write_text("0\n3\n1 0\n2 10\n3 5\n")
    assert pairs(LeaderEpochCache.load(str(path))) == [(1, 0), (3, 5)]

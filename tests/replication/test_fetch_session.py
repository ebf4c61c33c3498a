"""Fetch sessions (KIP-227): the leader's cache and the fetcher's handler, without a broker.

The property tests drive both sides through random sequences of fetches and
check them against a plain model: after every answered fetch the leader's
session holds exactly the partitions and fields the fetcher last wanted, and
an incremental answer names exactly the partitions with news.
"""

from __future__ import annotations

import random
import types
import uuid

from hypothesis import given, settings, strategies as st

from minikafka.errors import ErrorCode
from minikafka.replication.fetch_session import (
    FINAL_EPOCH, INITIAL_EPOCH, INVALID_SESSION_ID, MAX_EPOCH, FetchSessionCache, new_context, next_epoch)
from minikafka.replication.fetch_session_handler import FetchSessionHandler

NO_ID = uuid.UUID(int=0)


def fetch_partition(index: int, fetch_offset: int = 0, **fields) -> types.SimpleNamespace:
    return types.SimpleNamespace(partition=index, fetch_offset=fetch_offset, partition_max_bytes=1024,
                                 current_leader_epoch=fields.get("current_leader_epoch", 0),
                                 last_fetched_epoch=-1, log_start_offset=0)


def data(index: int, high_watermark: int = 0, records: bytes = b"", error: int = ErrorCode.NONE,
         log_start_offset: int = 0) -> dict:
    return {"partition_index": index, "error_code": error, "high_watermark": high_watermark,
            "last_stable_offset": high_watermark, "log_start_offset": log_start_offset,
            "preferred_read_replica": -1, "records": records}


def full(cache, partitions, now_ms=0, session_id=0, epoch=INITIAL_EPOCH, privileged=True, answers=None):
    """A full fetch of ``{index: fetch_offset}`` of topic "t"; returns (error, session id, answered)."""
    topics = [("t", NO_ID, [fetch_partition(i, o) for i, o in partitions.items()])]
    context = new_context(cache, session_id, epoch, False, topics, [], privileged, now_ms)
    answers = answers or {}
    return context.respond([(t, tid, fp, answers.get(fp.partition, data(fp.partition)))
                            for t, tid, fp in context.partitions], now_ms)


def incremental(cache, session_id, epoch, changed=None, forgotten=(), answers=None, now_ms=0, topic_ids=False):
    topics = [("t", NO_ID, [fetch_partition(i, o) for i, o in (changed or {}).items()])]
    context = new_context(cache, session_id, epoch, topic_ids, topics, [("t", NO_ID, list(forgotten))],
                          True, now_ms)
    if context.error != ErrorCode.NONE:
        return context.error, 0, []
    answers = answers or {}
    error, sid, kept = context.respond([(t, tid, fp, answers.get(fp.partition, data(fp.partition)))
                                        for t, tid, fp in context.partitions], now_ms)
    return error, sid, [answer[2].partition for answer in kept]


def test_next_epoch_wraps_to_one_and_final_stays_final():
    assert next_epoch(INITIAL_EPOCH) == 1
    assert next_epoch(41) == 42
    assert next_epoch(MAX_EPOCH) == 1
    assert next_epoch(FINAL_EPOCH) == FINAL_EPOCH


def test_full_fetch_creates_a_session_and_answers_every_partition():
    cache = FetchSessionCache(10)
    error, session_id, answered = full(cache, {0: 0, 1: 0})
    assert error == ErrorCode.NONE and session_id != INVALID_SESSION_ID
    assert [a[2].partition for a in answered] == [0, 1]
    assert cache.get(session_id).epoch == 1


def test_final_epoch_asks_for_no_session_and_closes_the_named_one():
    cache = FetchSessionCache(10)
    _, session_id, _ = full(cache, {0: 0})
    _, new_id, answered = full(cache, {0: 0}, session_id=session_id, epoch=FINAL_EPOCH)
    assert new_id == INVALID_SESSION_ID and len(answered) == 1
    assert cache.get(session_id) is None


def test_incremental_fetch_answers_only_partitions_with_news():
    cache = FetchSessionCache(10)
    _, sid, _ = full(cache, {0: 0, 1: 0, 2: 0}, answers={2: data(2, error=ErrorCode.NOT_LEADER_OR_FOLLOWER)})
    # Nothing changed but partition 2's error (always answered, and resent once it is gone).
    assert incremental(cache, sid, 1, answers={2: data(2, error=ErrorCode.NOT_LEADER_OR_FOLLOWER)}) == (
        ErrorCode.NONE, sid, [2])
    assert incremental(cache, sid, 2) == (ErrorCode.NONE, sid, [2])
    assert incremental(cache, sid, 3) == (ErrorCode.NONE, sid, [])
    # Records, a new high watermark, a new log start offset.
    answers = {0: data(0, high_watermark=0, records=b"batch"), 1: data(1, high_watermark=5)}
    assert incremental(cache, sid, 4, answers=answers)[2] == [0, 1]
    assert incremental(cache, sid, 5, answers={1: data(1, high_watermark=5)})[2] == []
    assert incremental(cache, sid, 6, answers={1: data(1, high_watermark=5, log_start_offset=3)})[2] == [1]


def test_diverging_epoch_is_always_answered():
    cache = FetchSessionCache(10)
    _, sid, _ = full(cache, {0: 5})
    answer = {**data(0), "diverging_epoch": {"epoch": 1, "end_offset": 3}}
    assert incremental(cache, sid, 1, answers={0: answer})[2] == [0]


def test_incremental_fetch_updates_adds_and_forgets_partitions():
    cache = FetchSessionCache(10)
    _, sid, _ = full(cache, {0: 0, 1: 0})
    incremental(cache, sid, 1, changed={1: 7, 2: 3}, forgotten=[0])
    session = cache.get(sid)
    assert {key: c.fetch_offset for key, c in session.partitions.items()} == {("t", 1): 7, ("t", 2): 3}


def test_partitions_that_returned_records_move_to_the_end():
    cache = FetchSessionCache(10)
    _, sid, _ = full(cache, {0: 0, 1: 0, 2: 0})
    incremental(cache, sid, 1, answers={0: data(0, records=b"batch")})
    assert [c.partition for c in cache.get(sid).partitions.values()] == [1, 2, 0]


def test_forgetting_every_partition_closes_the_session():
    cache = FetchSessionCache(10)
    _, sid, _ = full(cache, {0: 0})
    assert incremental(cache, sid, 1, forgotten=[0]) == (ErrorCode.NONE, INVALID_SESSION_ID, [])
    assert cache.get(sid) is None


def test_session_errors():
    cache = FetchSessionCache(10)
    _, sid, _ = full(cache, {0: 0})
    assert incremental(cache, sid + 1, 1)[0] == ErrorCode.FETCH_SESSION_ID_NOT_FOUND
    assert incremental(cache, sid, 2)[0] == ErrorCode.INVALID_FETCH_SESSION_EPOCH
    assert incremental(cache, sid, 1, topic_ids=True)[0] == ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR
    assert incremental(cache, sid, 1)[0] == ErrorCode.NONE


def test_a_fetch_overtaken_by_another_of_its_session_answers_invalid_epoch():
    cache = FetchSessionCache(10)
    _, sid, _ = full(cache, {0: 0})
    first = new_context(cache, sid, 1, False, [], [], True, 0)
    second = new_context(cache, sid, 2, False, [], [], True, 0)  # sent while the first waited
    assert second.respond([], 0)[0] == ErrorCode.NONE
    assert first.respond([], 0) == (ErrorCode.INVALID_FETCH_SESSION_EPOCH, INVALID_SESSION_ID, [])


def test_full_fetch_naming_a_session_replaces_it():
    cache = FetchSessionCache(10)
    _, sid, _ = full(cache, {0: 0})
    _, new_sid, _ = full(cache, {0: 0}, session_id=sid)
    assert cache.get(sid) is None and cache.get(new_sid) is not None


def test_no_slots_means_no_sessions():
    cache = FetchSessionCache(0)
    assert full(cache, {0: 0})[1] == INVALID_SESSION_ID


def test_a_full_cache_evicts_a_session_idle_longer_than_the_eviction_time():
    cache = FetchSessionCache(1, eviction_ms=1000)
    _, first, _ = full(cache, {0: 0}, now_ms=0)
    assert full(cache, {0: 0}, now_ms=500)[1] == INVALID_SESSION_ID  # still fresh: no slot
    _, second, _ = full(cache, {0: 0}, now_ms=1001)
    assert second != INVALID_SESSION_ID and cache.get(first) is None and cache.evictions == 1


def test_a_follower_evicts_a_young_consumer_session_but_not_the_reverse():
    cache = FetchSessionCache(1, eviction_ms=1000)
    _, consumer, _ = full(cache, {0: 0, 1: 0}, privileged=False)
    _, follower, _ = full(cache, {0: 0}, now_ms=10, privileged=True)
    assert follower != INVALID_SESSION_ID and cache.get(consumer) is None
    assert full(cache, {0: 0, 1: 0, 2: 0}, now_ms=20, privileged=False)[1] == INVALID_SESSION_ID
    assert full(cache, {0: 0, 1: 0, 2: 0}, now_ms=30, privileged=True)[1] == INVALID_SESSION_ID


def test_an_old_session_is_evicted_by_a_bigger_one():
    cache = FetchSessionCache(1, eviction_ms=1000)
    _, small, _ = full(cache, {0: 0}, privileged=False)
    incremental(cache, small, 1, now_ms=900)  # used recently, but created long ago
    assert full(cache, {0: 0, 1: 0}, now_ms=1500, privileged=False)[1] != INVALID_SESSION_ID
    assert cache.get(small) is None


# -- the fetcher's handler --------------------------------------------------------


def fields(fetch_offset: int) -> dict:
    return {"partition": 0, "fetch_offset": fetch_offset, "partition_max_bytes": 1024}


def test_handler_full_then_incremental_naming_only_changes():
    handler = FetchSessionHandler()
    first = handler.build({("t", 0): fields(0), ("t", 1): fields(0)})
    assert first.is_full and first.session_id == 0 and len(first.to_send) == 2
    assert handler.handle_response(ErrorCode.NONE, 77)
    second = handler.build({("t", 0): fields(5), ("t", 1): fields(0)})
    assert (second.session_id, second.session_epoch) == (77, 1)
    assert list(second.to_send) == [("t", 0)] and second.forgotten == []
    assert handler.handle_response(ErrorCode.NONE, 77)
    third = handler.build({("t", 0): fields(5)})
    assert third.session_epoch == 2 and third.to_send == {} and third.forgotten == [("t", 1)]


def test_handler_falls_back_to_a_full_fetch_after_session_errors():
    handler = FetchSessionHandler()
    handler.build({("t", 0): fields(0)})
    handler.handle_response(ErrorCode.NONE, 77)
    handler.build({("t", 0): fields(0)})
    assert not handler.handle_response(ErrorCode.INVALID_FETCH_SESSION_EPOCH, 0)
    again = handler.build({("t", 0): fields(0)})
    assert again.is_full and again.session_id == 77 and list(again.to_send) == [("t", 0)]  # closes 77
    assert not handler.handle_response(ErrorCode.FETCH_SESSION_ID_NOT_FOUND, 0)
    assert handler.build({("t", 0): fields(0)}).session_id == INVALID_SESSION_ID
    handler.handle_error()
    assert handler.build({("t", 0): fields(0)}).is_full


def test_handler_without_a_slot_keeps_fetching_in_full():
    handler = FetchSessionHandler()
    handler.build({("t", 0): fields(0)})
    assert handler.handle_response(ErrorCode.NONE, INVALID_SESSION_ID)
    assert handler.build({("t", 0): fields(0)}).is_full


# -- both sides, random sequences ---------------------------------------------------

wanted_sets = st.dictionaries(st.integers(0, 5), st.integers(0, 3), max_size=6)
news = st.dictionaries(st.integers(0, 5), st.sampled_from(["records", "hw", "error", "none"]), max_size=6)
steps = st.lists(st.tuples(wanted_sets, news, st.sampled_from(["ok", "ok", "ok", "lost", "evicted"])),
                 min_size=1, max_size=25)


@settings(max_examples=150, deadline=None)
@given(steps=steps, seed=st.integers(0, 2**16))
def test_fetcher_and_leader_agree_on_the_session(steps, seed):
    """The leader's session always holds what the fetcher last asked for; answers carry exactly the news."""
    cache = FetchSessionCache(4, rng=random.Random(seed))
    handler = FetchSessionHandler()
    high_watermarks = {i: 0 for i in range(6)}  # the leader's partitions
    told = {}  # model: what the fetcher last heard of each partition's high watermark (None: resend)
    for wanted_offsets, partition_news, fate in steps:
        if not wanted_offsets:
            continue
        wanted = {("t", i): {"partition": i, "fetch_offset": o, "partition_max_bytes": 1024,
                             "current_leader_epoch": 0, "last_fetched_epoch": -1, "log_start_offset": 0}
                  for i, o in wanted_offsets.items()}
        request = handler.build(wanted)
        if fate == "evicted":
            cache.sessions.clear()
        topics = [("t", NO_ID, [types.SimpleNamespace(**f) for f in request.to_send.values()])]
        context = new_context(cache, request.session_id, request.session_epoch, False, topics,
                              [("t", NO_ID, [i for _, i in request.forgotten])], True, 0)
        if context.error != ErrorCode.NONE:
            assert fate == "evicted"
            assert not handler.handle_response(context.error, 0)
            told = {}
            continue
        assert sorted(fp.partition for _, _, fp in context.partitions) == sorted(wanted_offsets)
        for _, _, fp in context.partitions:  # the leader reads with the fetcher's current fields
            assert fp.fetch_offset == wanted_offsets[fp.partition]
        answers, expected = [], set()
        for _, _, fp in context.partitions:
            kind = partition_news.get(fp.partition, "none")
            if kind == "hw":
                high_watermarks[fp.partition] += 1
            answer = data(fp.partition, high_watermark=high_watermarks[fp.partition],
                          records=b"x" if kind == "records" else b"",
                          error=ErrorCode.NOT_LEADER_OR_FOLLOWER if kind == "error" else ErrorCode.NONE)
            answers.append(("t", NO_ID, fp, answer))
            if request.is_full or kind in ("records", "error") or told.get(fp.partition) != answer["high_watermark"]:
                expected.add(fp.partition)
        error, session_id, kept = context.respond(answers, 0)
        assert error == ErrorCode.NONE
        assert {a[2].partition for a in kept} == expected
        if fate == "lost":  # the answer never arrives
            handler.handle_error()
            told = {}
            continue
        assert handler.handle_response(error, session_id)
        if session_id == INVALID_SESSION_ID:
            told = {}
        else:
            told = {i: told.get(i) for i in wanted_offsets}
            for _, _, fp, answer in kept:
                told[fp.partition] = None if answer["error_code"] else answer["high_watermark"]


def test_response_size_counts_what_respond_would_send_and_changes_nothing():
    cache = FetchSessionCache(10)
    topics = [("t", NO_ID, [fetch_partition(0), fetch_partition(1)])]
    context = new_context(cache, 0, INITIAL_EPOCH, False, topics, [], False, 0)
    answers = [("t", NO_ID, fp, data(fp.partition, records=b"x" * 10 * (fp.partition + 1)))
               for _, _, fp in context.partitions]
    assert context.response_size(answers) == 30  # a full fetch sends every partition
    _, sid, _ = context.respond(answers, 0)
    session = new_context(cache, sid, 1, False, [], [], False, 0)
    answers = [("t", NO_ID, cached, data(cached.partition, records=b"abc" if cached.partition else b""))
               for _, _, cached in session.partitions]
    assert session.response_size(answers) == 3  # partition 0 has no news: it would not be sent
    assert session.response_size(answers) == 3  # asking twice changes nothing


def test_a_throttled_answer_creates_no_session_and_keeps_an_existing_one():
    cache = FetchSessionCache(10)
    topics = [("t", NO_ID, [fetch_partition(0)])]
    throttled_full = new_context(cache, 0, INITIAL_EPOCH, False, topics, [], False, 0)
    assert throttled_full.throttled() == (ErrorCode.NONE, INVALID_SESSION_ID)
    assert cache.sessions == {}
    _, sid, _ = full(cache, {0: 0})
    throttled = new_context(cache, sid, 1, False, [], [], True, 0)
    assert throttled.throttled() == (ErrorCode.NONE, sid)
    overtaken = new_context(cache, sid, 2, False, [], [], True, 0)
    new_context(cache, sid, 3, False, [], [], True, 0)  # sent while the other waited
    assert overtaken.throttled() == (ErrorCode.INVALID_FETCH_SESSION_EPOCH, sid)

"""The transaction coordinator, one scenario at a time (Kafka's transitions and error codes)."""

from txn_coordinator_scenario import FAST, TxnScenario, comparable

from minikafka.coordinator.transaction import TransactionState, unknown_state_filters
from minikafka.coordinator.transaction.records import decode_key, decode_value
from minikafka.errors import ErrorCode as E

S = TransactionState
T = "txn-a"


def _ok(result):
    return result.response["error_code"]


def _decoded(result):
    return [(decode_key(k), decode_value(v)) for k, v in result.records]


def _committed_once(s: TxnScenario, partitions=(("t", 0), ("t", 1))):
    init = s.init(T)
    pid, epoch = init.response["producer_id"], init.response["producer_epoch"]
    s.add(T, pid, epoch, partitions)
    return pid, epoch


# -- InitProducerId ------------------------------------------------------------------


def test_first_init_gives_a_new_producer_id_at_epoch_0_and_writes_empty():
    s = TxnScenario()
    assert s.coordinator.needs_new_producer_id(T, -1, -1)
    result = s.init(T, timeout_ms=30000)
    assert result.response == {"error_code": E.NONE, "producer_id": 1000, "producer_epoch": 0}
    [(tid, value)] = _decoded(result)
    assert tid == T and value.state is S.EMPTY and value.producer_epoch == 0
    assert value.transaction_timeout_ms == 30000 and value.partitions == frozenset()
    assert value.start_timestamp_ms == -1 and value.last_update_timestamp_ms == s.now_ms
    assert not result.markers


def test_the_ongoing_record_has_kafka_4_0s_bytes():
    s = TxnScenario(first_producer_id=0, now_ms=1000)
    s.init(T, timeout_ms=60000)
    [(key, value)] = s.add(T, 0, 0, [("a", 0)]).records
    assert key.hex() == "0000" "0005" + T.encode().hex()
    assert value.hex() == ("0001" "0000000000000000" "0000" "0000ea60" "01"
                           "02" "0261" "02" "00000000" "00"
                           "00000000000003e8" "00000000000003e8" "00")


def test_init_again_bumps_the_epoch_and_fences_the_old_producer():
    s = TxnScenario()
    s.init(T)
    assert not s.coordinator.needs_new_producer_id(T, -1, -1)
    second = s.init(T)
    assert second.response == {"error_code": E.NONE, "producer_id": 1000, "producer_epoch": 1}
    assert s.add(T, 1000, 0, [("t", 0)]).response == {("t", 0): E.PRODUCER_FENCED}
    assert _ok(s.end(T, 1000, 0, True)) == E.PRODUCER_FENCED
    assert s.add(T, 1000, 1, [("t", 0)]).response == {("t", 0): E.NONE}


def test_init_refuses_bad_timeouts_and_bad_requests():
    s = TxnScenario()
    assert _ok(s.init(T, timeout_ms=FAST.transaction_max_timeout_ms + 1)) == E.INVALID_TRANSACTION_TIMEOUT
    assert _ok(s.init(T, timeout_ms=0)) == E.INVALID_TRANSACTION_TIMEOUT
    assert _ok(s.init("")) == E.INVALID_REQUEST
    assert _ok(s.init(T, producer_id=5, producer_epoch=-1)) == E.INVALID_REQUEST
    assert s.log == [] and s.coordinator.transactions == {}


def test_init_with_the_current_epoch_bumps_and_a_retry_with_the_last_epoch_repeats_the_answer():
    s = TxnScenario()
    s.init(T)
    bumped = s.init(T, producer_id=1000, producer_epoch=0)  # KIP-360: the client says what it has
    assert bumped.response["producer_epoch"] == 1
    retry = s.init(T, producer_id=1000, producer_epoch=0)  # the answer was lost: same answer
    assert retry.response == {"error_code": E.NONE, "producer_id": 1000, "producer_epoch": 1}
    assert _ok(s.init(T, producer_id=1000, producer_epoch=7)) == E.PRODUCER_FENCED
    assert _ok(s.init(T, producer_id=999, producer_epoch=1)) == E.PRODUCER_FENCED


def test_init_while_a_transaction_is_open_aborts_it_with_an_epoch_fence():
    s = TxnScenario()
    pid, epoch = _committed_once(s)
    result = s.init(T)
    assert result.response == {"error_code": E.CONCURRENT_TRANSACTIONS, "producer_id": -1, "producer_epoch": -1}
    [(_, value)] = _decoded(result)  # PrepareEpochFence is never written
    assert value.state is S.PREPARE_ABORT and value.producer_epoch == epoch + 1
    [marker] = result.markers
    assert (marker.producer_id, marker.producer_epoch, marker.commit) == (pid, epoch + 1, False)
    assert marker.partitions == [("t", 0), ("t", 1)] and marker.coordinator_epoch == 3
    assert _ok(s.end(T, pid, epoch, False)) == E.PRODUCER_FENCED  # the old producer is fenced
    assert _ok(s.init(T)) == E.CONCURRENT_TRANSACTIONS  # still aborting: retry later
    assert s.markers_written(T, pid, epoch + 1).response == E.NONE
    assert s.meta(T).state is S.COMPLETE_ABORT
    assert s.init(T).response == {"error_code": E.NONE, "producer_id": pid, "producer_epoch": epoch + 2}


def test_exhausted_epoch_rotates_the_producer_id():
    s = TxnScenario()
    s.init(T)
    s.meta(T).producer_epoch = 32765
    assert not s.coordinator.needs_new_producer_id(T, -1, -1)
    assert s.init(T).response["producer_epoch"] == 32766
    assert s.coordinator.needs_new_producer_id(T, 1000, 32766)
    assert not s.coordinator.needs_new_producer_id(T, 1000, 32765)  # a fenced caller gets no new id
    rotated = s.init(T, producer_id=1000, producer_epoch=32766)
    assert rotated.response == {"error_code": E.NONE, "producer_id": 1001, "producer_epoch": 0}
    assert s.meta(T).previous_producer_id == 1000
    retry = s.init(T, producer_id=1000, producer_epoch=32766)  # the rotation's answer was lost
    assert retry.response == {"error_code": E.NONE, "producer_id": 1001, "producer_epoch": 0}


def test_after_a_failover_a_retried_rotation_is_fenced_as_in_kafka():
    s = TxnScenario()
    s.init(T)
    s.meta(T).producer_epoch = 32765
    s.init(T)
    s.init(T, producer_id=1000, producer_epoch=32766)
    s.coordinator, _ = s.reload()  # the previous id is not in the log
    assert s.meta(T).previous_producer_id == -1
    assert _ok(s.init(T, producer_id=1000, producer_epoch=32766)) == E.PRODUCER_FENCED


def test_fence_of_an_exhausted_producer_then_a_new_id():
    s = TxnScenario()
    s.init(T)
    s.meta(T).producer_epoch = 32765
    assert s.init(T).response["producer_epoch"] == 32766
    s.add(T, 1000, 32766, [("t", 0)])
    aborting = s.init(T)  # fence to 32767, which no client ever gets
    assert aborting.markers[0].producer_epoch == 32767
    s.markers_written(T, 1000, 32767)
    assert s.init(T).response == {"error_code": E.NONE, "producer_id": 1001, "producer_epoch": 0}


# -- AddPartitionsToTxn / AddOffsetsToTxn / verification ---------------------------------


def test_add_partitions_starts_and_grows_the_transaction():
    s = TxnScenario()
    s.init(T)
    start = s.now_ms
    first = s.add(T, 1000, 0, [("t", 0)])
    assert first.response == {("t", 0): E.NONE}
    assert _decoded(first)[0][1].state is S.ONGOING
    s.now_ms += 50
    assert s.add(T, 1000, 0, [("t", 0)]).records == []  # nothing new: nothing written
    grown = s.add(T, 1000, 0, [("u", 2), ("t", 0)])
    assert grown.response == {("t", 0): E.NONE, ("u", 2): E.NONE}
    meta = s.meta(T)
    assert meta.partitions == {("t", 0), ("u", 2)} and meta.txn_start_timestamp_ms == start
    assert s.add_offsets(T, 1000, 0, 17).response == E.NONE
    assert ("__consumer_offsets", 17) in s.meta(T).partitions


def test_add_partitions_errors():
    s = TxnScenario()
    assert s.add(T, 1000, 0, [("t", 0)]).response == {("t", 0): E.INVALID_PRODUCER_ID_MAPPING}
    s.init(T)
    assert s.add(T, 999, 0, [("t", 0)]).response == {("t", 0): E.INVALID_PRODUCER_ID_MAPPING}
    assert s.add(T, 1000, 1, [("t", 0)]).response == {("t", 0): E.PRODUCER_FENCED}
    assert s.add("", 1000, 0, [("t", 0)]).response == {("t", 0): E.INVALID_REQUEST}
    assert s.add_offsets(T, 1000, 1, 3).response == E.PRODUCER_FENCED
    s.add(T, 1000, 0, [("t", 0)])
    s.end(T, 1000, 0, True)
    assert s.add(T, 1000, 0, [("t", 1)]).response == {("t", 1): E.CONCURRENT_TRANSACTIONS}


def test_verify_partitions_is_read_only():
    s = TxnScenario()
    assert s.coordinator.verify_partitions(T, 1000, 0, [("t", 0)]) == {("t", 0): E.INVALID_PRODUCER_ID_MAPPING}
    s.init(T)
    s.add(T, 1000, 0, [("t", 0)])
    before = comparable(s.meta(T))
    answer = s.coordinator.verify_partitions(T, 1000, 0, [("t", 0), ("t", 9)])
    assert answer == {("t", 0): E.NONE, ("t", 9): E.TRANSACTION_ABORTABLE}
    assert s.coordinator.verify_partitions(T, 1000, 1, [("t", 0)]) == {("t", 0): E.PRODUCER_FENCED}
    assert s.coordinator.verify_partitions("", 1000, 0, [("t", 0)]) == {("t", 0): E.INVALID_REQUEST}
    s.end(T, 1000, 0, True)
    assert s.coordinator.verify_partitions(T, 1000, 0, [("t", 0)]) == {("t", 0): E.CONCURRENT_TRANSACTIONS}
    assert before["partitions"] == s.meta(T).partitions


# -- EndTxn and markers ---------------------------------------------------------------


def test_commit_writes_prepare_then_markers_then_complete():
    s = TxnScenario()
    pid, epoch = _committed_once(s)
    end = s.end(T, pid, epoch, True)
    assert end.response == {"error_code": E.NONE, "producer_id": -1, "producer_epoch": -1}  # TV1
    [(_, prepared)] = _decoded(end)
    assert prepared.state is S.PREPARE_COMMIT and prepared.partitions == {("t", 0), ("t", 1)}
    [marker] = end.markers
    assert marker.commit and marker.partitions == [("t", 0), ("t", 1)]
    assert _ok(s.end(T, pid, epoch, True)) == E.CONCURRENT_TRANSACTIONS  # markers still on their way
    assert _ok(s.end(T, pid, epoch, False)) == E.INVALID_TXN_STATE
    done = s.markers_written(T, pid, epoch)
    [(_, completed)] = _decoded(done)
    assert done.response == E.NONE
    assert completed.state is S.COMPLETE_COMMIT and completed.partitions == frozenset()
    retry = s.end(T, pid, epoch, True)
    assert retry.response == {"error_code": E.NONE, "producer_id": -1, "producer_epoch": -1}
    assert retry.records == [] and retry.markers == []
    assert _ok(s.end(T, pid, epoch, False)) == E.INVALID_TXN_STATE
    assert s.markers_written(T, pid, epoch).records == []  # a duplicate completion writes nothing


def test_abort_and_its_retries():
    s = TxnScenario()
    pid, epoch = _committed_once(s)
    assert not s.end(T, pid, epoch, False).markers[0].commit
    assert _ok(s.end(T, pid, epoch, True)) == E.INVALID_TXN_STATE
    assert _ok(s.end(T, pid, epoch, False)) == E.CONCURRENT_TRANSACTIONS
    s.markers_written(T, pid, epoch)
    assert _ok(s.end(T, pid, epoch, False)) == E.NONE
    assert _ok(s.end(T, pid, epoch, True)) == E.INVALID_TXN_STATE
    assert s.add(T, pid, epoch, [("t", 5)]).response == {("t", 5): E.NONE}  # the next transaction
    assert s.meta(T).partitions == {("t", 5)}


def test_end_txn_errors():
    s = TxnScenario()
    assert _ok(s.end(T, 1000, 0, True)) == E.INVALID_PRODUCER_ID_MAPPING
    s.init(T)
    assert _ok(s.end(T, 1000, 0, True)) == E.INVALID_TXN_STATE  # EMPTY: nothing to end
    assert _ok(s.end(T, 1001, 0, True)) == E.INVALID_PRODUCER_ID_MAPPING
    assert _ok(s.end(T, 1000, 1, True)) == E.PRODUCER_FENCED  # a newer epoch is refused too (TV1)
    assert _ok(s.end("", 1000, 0, True)) == E.INVALID_REQUEST


def test_a_transaction_with_no_partitions_completes_at_once():
    s = TxnScenario()
    s.init(T)
    s.add(T, 1000, 0, [])
    end = s.end(T, 1000, 0, True)
    assert [v.state for _, v in _decoded(end)] == [S.PREPARE_COMMIT, S.COMPLETE_COMMIT]
    assert end.markers == [] and s.meta(T).state is S.COMPLETE_COMMIT


def test_stale_markers_written_changes_nothing():
    s = TxnScenario()
    pid, epoch = _committed_once(s)
    s.end(T, pid, epoch, True)
    assert s.markers_written(T, pid, epoch + 1).response == E.PRODUCER_FENCED
    assert s.markers_written(T, pid + 1, epoch).response == E.INVALID_PRODUCER_ID_MAPPING
    assert s.markers_written("other", pid, epoch).response == E.INVALID_PRODUCER_ID_MAPPING
    assert s.meta(T).state is S.PREPARE_COMMIT
    s.markers_written(T, pid, epoch)
    s.init(T)
    assert s.markers_written(T, pid, epoch + 1).response == E.INVALID_TXN_STATE


# -- timers ----------------------------------------------------------------------------


def test_timed_out_transaction_is_aborted_with_an_epoch_fence_at_the_next_check():
    s = TxnScenario()
    assert s.coordinator.next_deadline_ms() == s.now_ms + FAST.abort_timed_out_transactions_interval_ms
    init = s.init(T, timeout_ms=2500)
    pid, epoch = init.response["producer_id"], init.response["producer_epoch"]
    s.add(T, pid, epoch, [("t", 0)])
    assert s.advance(1000).records == []
    assert s.advance(1000).records == []
    assert s.meta(T).state is S.ONGOING
    aborted = s.advance(1000)  # 3000 > 2500: aborted at this check
    [(_, value)] = _decoded(aborted)
    assert value.state is S.PREPARE_ABORT and value.producer_epoch == epoch + 1
    [marker] = aborted.markers
    assert (marker.commit, marker.producer_epoch) == (False, epoch + 1)
    assert aborted.response is None
    assert _ok(s.end(T, pid, epoch, True)) == E.PRODUCER_FENCED
    assert s.add(T, pid, epoch, [("t", 1)]).response == {("t", 1): E.PRODUCER_FENCED}
    assert s.advance(1000).records == []  # not aborted twice


def test_idle_transactional_ids_expire_with_a_tombstone():
    s = TxnScenario()
    s.init(T)
    s.init("busy")
    s.add("busy", 1001, 0, [("t", 0)])
    s.init("fresh", timeout_ms=60000)
    tombstones = []
    for _ in range(5):  # 50 s later: T is idle long enough
        s.advance(10000)
        s.coordinator.transactions["fresh"].txn_last_update_timestamp_ms = s.now_ms
        tombstones += [k for k, v in s.log if v is None]
        if tombstones:
            break
    assert [decode_key(k) for k in tombstones] == [T]
    assert T not in s.coordinator.transactions
    assert "busy" in s.coordinator.transactions and "fresh" in s.coordinator.transactions
    assert s.init(T).response["producer_id"] == s.next_producer_id - 1  # a new id for the returning T


# -- Describe / ListTransactions --------------------------------------------------------


def test_describe_transactions():
    s = TxnScenario()
    pid, epoch = _committed_once(s, partitions=[("b", 1), ("a", 2), ("a", 0)])
    start = s.meta(T).txn_start_timestamp_ms
    [entry, missing, invalid] = s.coordinator.describe([T, "nope", ""])
    assert entry == {"error_code": E.NONE, "transactional_id": T, "transaction_state": "Ongoing",
                     "transaction_timeout_ms": 10000, "transaction_start_time_ms": start,
                     "producer_id": pid, "producer_epoch": epoch,
                     "topics": [{"topic": "a", "partitions": [0, 2]}, {"topic": "b", "partitions": [1]}]}
    assert missing["error_code"] == E.TRANSACTIONAL_ID_NOT_FOUND
    assert invalid["error_code"] == E.INVALID_REQUEST


def test_list_transactions_filters():
    s = TxnScenario()
    _committed_once(s)
    s.init("idle")
    s.now_ms += 5000
    everything = s.coordinator.list_transactions([], [], -1, s.now_ms)
    assert sorted((e["transactional_id"], e["transaction_state"]) for e in everything) == [
        ("idle", "Empty"), (T, "Ongoing")]
    assert [e["transactional_id"] for e in s.coordinator.list_transactions(["Ongoing"], [], -1, s.now_ms)] == [T]
    assert s.coordinator.list_transactions(["Bogus"], [], -1, s.now_ms) == []
    assert [e["transactional_id"] for e in s.coordinator.list_transactions([], [1001], -1, s.now_ms)] == ["idle"]
    # Longer than 6 s: T started 5 s ago is out; "idle" has no start (-1) and passes, as in Kafka.
    assert [e["transactional_id"] for e in s.coordinator.list_transactions([], [], 6000, s.now_ms)] == ["idle"]
    assert len(s.coordinator.list_transactions([], [], 4000, s.now_ms)) == 2
    assert unknown_state_filters(["Ongoing", "Bogus", "ongoing"]) == ["Bogus", "ongoing"]


# -- loading -----------------------------------------------------------------------------


def test_replay_rebuilds_memory_and_on_loaded_resends_markers():
    s = TxnScenario()
    pid, epoch = _committed_once(s)
    s.end(T, pid, epoch, True)
    s.init("other")
    s.add("other", 1001, 0, [("x", 0)])
    fresh, loaded = s.reload(coordinator_epoch=9)
    assert {t: comparable(m) for t, m in fresh.transactions.items()} == {
        t: comparable(m) for t, m in s.coordinator.transactions.items()}
    [marker] = loaded.markers  # the commit the old coordinator left half done
    assert (marker.transactional_id, marker.commit, marker.coordinator_epoch) == (T, True, 9)
    assert marker.partitions == [("t", 0), ("t", 1)] and loaded.records == []
    assert fresh.markers_written(T, pid, epoch, s.now_ms).response == E.NONE
    assert fresh.transactions[T].state is S.COMPLETE_COMMIT
    assert fresh.next_deadline_ms() is not None


def test_replay_of_a_tombstone_forgets_and_unknown_keys_are_skipped():
    s = TxnScenario()
    s.init(T)
    s.advance(60000)
    s.advance(10000)
    assert T not in s.coordinator.transactions
    fresh, _ = s.reload()
    assert fresh.transactions == {}
    fresh.replay(b"\x00\x05\x00\x01x", b"\x00\x01garbage")  # a key version Kafka 4.0 does not know
    assert fresh.transactions == {}


def test_a_loaded_prepare_without_partitions_completes_on_load():
    s = TxnScenario()
    s.init(T)
    s.add(T, 1000, 0, [])
    prepare_only = s.end(T, 1000, 0, False).records[:1]
    fresh = type(s.coordinator)(FAST, 0, 4)
    for key, value in s.log[:2] + prepare_only:
        fresh.replay(key, value)
    assert fresh.transactions[T].state is S.PREPARE_ABORT
    loaded = fresh.on_loaded(s.now_ms)
    assert loaded.markers == []
    assert [decode_value(v).state for _, v in loaded.records] == [S.COMPLETE_ABORT]

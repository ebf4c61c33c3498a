"""Hypothesis: the transaction coordinator against a small model of Kafka's rules.

Producer instances (each remembers the producer id and epoch it was given)
race each other on two transactional ids: InitProducerId (fresh, or with
what they have, KIP-360), AddPartitionsToTxn, AddOffsetsToTxn, the KIP-890
verification, EndTxn, the markers coming back, the clock moving (timeouts,
expiration) and failovers (a new coordinator replays the log). The model
predicts every answer and the state of every transactional id; invariants:

- memory equals the model after every step;
- replaying the records written so far rebuilds the same memory (all but
  ``last_producer_epoch`` and ``previous_producer_id``, which Kafka 4.0 keeps
  in memory only);
- for one producer id, the epoch never goes down; a producer id is never
  handed to two transactional ids or twice;
- a fenced producer (not the current id and epoch) is refused;
- the partition set only grows inside ONGOING, and is empty outside a
  transaction;
- every marker request carries the current producer id, epoch, partitions
  and coordinator epoch.
"""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from txn_coordinator_scenario import TxnScenario, comparable

from minikafka.coordinator.transaction import TransactionConfig, TransactionState
from minikafka.coordinator.transaction.records import TransactionLogValue, transaction_log_record
from minikafka.errors import ErrorCode as E

S = TransactionState
TIDS = ["a", "b"]
PARTITIONS = [("t", 0), ("t", 1), ("u", 0)]
CONFIG = TransactionConfig(transaction_max_timeout_ms=5000, transactional_id_expiration_ms=8000,
                           abort_timed_out_transactions_interval_ms=500,
                           remove_expired_transactional_ids_interval_ms=2000)
EXHAUSTED = 32766
PENDING = (S.PREPARE_COMMIT, S.PREPARE_ABORT)


@dataclasses.dataclass
class ModelTxn:
    producer_id: int
    previous_producer_id: int
    epoch: int
    last_epoch: int
    state: TransactionState
    partitions: frozenset
    start_ms: int
    timeout_ms: int
    last_update_ms: int


class TransactionCoordinatorMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.s = TxnScenario(config=CONFIG)
        self.model: dict[str, ModelTxn] = {}
        self.clients: list[tuple[str, int, int]] = []  # what each producer instance holds
        self.next_abort_check = self.s.now_ms + CONFIG.abort_timed_out_transactions_interval_ms
        self.next_expiration_check = self.s.now_ms + CONFIG.remove_expired_transactional_ids_interval_ms
        self.highest_epoch: dict[int, int] = {}  # producer id -> highest epoch seen
        self.owner: dict[int, str] = {}  # producer id -> transactional id
        self.before: dict[str, tuple[TransactionState, frozenset]] = {}

    # -- model helpers ----------------------------------------------------------------

    def _write(self, m: ModelTxn, **changes) -> None:
        """A transition the coordinator writes: the update time follows."""
        m.last_update_ms = self.s.now_ms
        for name, value in changes.items():
            setattr(m, name, value)

    def _prepare_end(self, m: ModelTxn, commit: bool) -> None:
        self._write(m, state=S.PREPARE_COMMIT if commit else S.PREPARE_ABORT)
        if not m.partitions:
            self._write(m, state=S.COMPLETE_COMMIT if commit else S.COMPLETE_ABORT)

    def _fence_and_abort(self, m: ModelTxn) -> None:
        m.epoch += 1
        m.last_epoch = -1
        self._prepare_end(m, False)

    def _check_markers(self, result) -> None:
        for marker in result.markers:
            meta = self.s.meta(marker.transactional_id)
            assert meta.state in PENDING and marker.commit == (meta.state is S.PREPARE_COMMIT)
            assert (marker.producer_id, marker.producer_epoch) == (meta.producer_id, meta.producer_epoch)
            assert marker.partitions == sorted(meta.partitions) and meta.partitions
            assert marker.coordinator_epoch == self.s.coordinator.coordinator_epoch

    # -- setup -------------------------------------------------------------------------

    @initialize(seed_exhausted=st.booleans())
    def seed(self, seed_exhausted):
        """Optionally, an id whose producer is one bump away from running out of epochs."""
        if not seed_exhausted:
            return
        value = TransactionLogValue(producer_id=500, producer_epoch=EXHAUSTED - 1, transaction_timeout_ms=3000,
                                    state=S.EMPTY, partitions=frozenset(), last_update_timestamp_ms=self.s.now_ms,
                                    start_timestamp_ms=-1)
        record = transaction_log_record("a", value)
        self.s.coordinator.replay(*record)
        self.s.log.append(record)
        self.model["a"] = ModelTxn(500, -1, EXHAUSTED - 1, -1, S.EMPTY, frozenset(), -1, 3000, self.s.now_ms)
        self.owner[500] = "a"

    # -- rules -------------------------------------------------------------------------

    @rule(tid=st.sampled_from(TIDS), timeout_ms=st.sampled_from([1000, 3000, 6000]),
          claim=st.integers(-1, 20))
    def init_producer_id(self, tid, timeout_ms, claim):
        """A producer instance starts: fresh (claim -1) or with what a known instance holds."""
        known = [c for c in self.clients if c[0] == tid]
        pid, epoch = (-1, -1) if claim < 0 or not known else known[claim % len(known)][1:]
        expected_response, new_id = self._predict_init(tid, timeout_ms, pid, epoch)
        if timeout_ms <= CONFIG.transaction_max_timeout_ms:  # else the id would be wasted, harmlessly
            assert self.s.coordinator.needs_new_producer_id(tid, pid, epoch) == (new_id is not None)
        result = self.s.init(tid, timeout_ms, pid, epoch)
        assert result.response == expected_response
        self._check_markers(result)
        if expected_response["error_code"] == E.NONE:
            self.clients.append((tid, expected_response["producer_id"], expected_response["producer_epoch"]))

    def _predict_init(self, tid, timeout_ms, pid, epoch):
        fail = lambda code: ({"error_code": code, "producer_id": -1, "producer_epoch": -1}, None)  # noqa: E731
        if timeout_ms > CONFIG.transaction_max_timeout_ms:
            return fail(E.INVALID_TRANSACTION_TIMEOUT)
        m = self.model.get(tid)
        new_id = None
        if m is None:
            new_id = self.s.next_producer_id
            m = self.model[tid] = ModelTxn(new_id, -1, -1, -1, S.EMPTY, frozenset(), -1, timeout_ms, self.s.now_ms)
        expected = pid >= 0
        if expected and m.epoch != -1 and not (
                pid == m.producer_id or (pid == m.previous_producer_id and epoch >= EXHAUSTED)):
            return fail(E.PRODUCER_FENCED)
        if m.state in PENDING:
            return fail(E.CONCURRENT_TRANSACTIONS)
        if m.state is S.ONGOING:
            self._fence_and_abort(m)
            return fail(E.CONCURRENT_TRANSACTIONS)
        if m.epoch >= EXHAUSTED and (not expected or epoch == m.epoch):
            new_id = self.s.next_producer_id
            changes = dict(producer_id=new_id, epoch=0, last_epoch=m.epoch if expected else -1)
        elif not expected:
            changes = dict(epoch=m.epoch + 1, last_epoch=-1)
        elif m.epoch == -1 or epoch == m.epoch:
            changes = dict(epoch=m.epoch + 1, last_epoch=m.epoch)
        elif epoch == m.last_epoch:
            changes = {}
        else:
            return fail(E.PRODUCER_FENCED)
        m.previous_producer_id = m.producer_id  # InitProducerId alone moves it
        self._write(m, state=S.EMPTY, partitions=frozenset(), start_ms=-1, timeout_ms=timeout_ms, **changes)
        return {"error_code": E.NONE, "producer_id": m.producer_id, "producer_epoch": m.epoch}, new_id

    def _client_error(self, client) -> E | None:
        tid, pid, epoch = client
        m = self.model.get(tid)
        if m is None or m.producer_id != pid:
            return E.INVALID_PRODUCER_ID_MAPPING
        if m.epoch != epoch:
            return E.PRODUCER_FENCED
        return None

    @precondition(lambda self: self.clients)
    @rule(index=st.integers(0, 100), partitions=st.sets(st.sampled_from(PARTITIONS), max_size=2),
          offsets=st.booleans())
    def add_partitions(self, index, partitions, offsets):
        client = self.clients[index % len(self.clients)]
        tid, pid, epoch = client
        if offsets:
            partitions = {("__consumer_offsets", index % 3)}
        error = self._client_error(client)
        m = self.model.get(tid)
        if error is None and m.state in PENDING:
            error = E.CONCURRENT_TRANSACTIONS
        if error is None:
            error = E.NONE
            if m.state is not S.ONGOING:
                self._write(m, state=S.ONGOING, partitions=frozenset(partitions), start_ms=self.s.now_ms)
            elif not partitions <= m.partitions:
                self._write(m, partitions=m.partitions | partitions)
        if offsets:
            (group_partition,) = [p for _, p in partitions]
            assert self.s.add_offsets(tid, pid, epoch, group_partition).response == error
        else:
            assert self.s.add(tid, pid, epoch, partitions).response == dict.fromkeys(partitions, error)

    @precondition(lambda self: self.clients)
    @rule(index=st.integers(0, 100), partitions=st.sets(st.sampled_from(PARTITIONS), min_size=1))
    def verify(self, index, partitions):
        tid, pid, epoch = self.clients[index % len(self.clients)]
        error = self._client_error((tid, pid, epoch))
        if error is None and self.model[tid].state in PENDING:
            error = E.CONCURRENT_TRANSACTIONS
        if error is None:
            expected = {p: E.NONE if p in self.model[tid].partitions else E.TRANSACTION_ABORTABLE
                        for p in partitions}
        else:
            expected = dict.fromkeys(partitions, error)
        assert self.s.coordinator.verify_partitions(tid, pid, epoch, partitions) == expected

    @precondition(lambda self: self.clients)
    @rule(index=st.integers(0, 100), commit=st.booleans())
    def end_txn(self, index, commit):
        tid, pid, epoch = client = self.clients[index % len(self.clients)]
        error = self._client_error(client)
        m = self.model.get(tid)
        if error is None:
            done, completing = (S.COMPLETE_COMMIT, S.PREPARE_COMMIT) if commit else (S.COMPLETE_ABORT, S.PREPARE_ABORT)
            if m.state is S.ONGOING:
                self._prepare_end(m, commit)
                error = E.NONE
            else:
                error = {done: E.NONE, completing: E.CONCURRENT_TRANSACTIONS}.get(m.state, E.INVALID_TXN_STATE)
        result = self.s.end(tid, pid, epoch, commit)
        assert result.response == {"error_code": error, "producer_id": -1, "producer_epoch": -1}
        self._check_markers(result)

    @precondition(lambda self: any(m.state in PENDING for m in self.model.values()))
    @rule(data=st.data())
    def markers_written(self, data):
        tid = data.draw(st.sampled_from(sorted(t for t, m in self.model.items() if m.state in PENDING)))
        m = self.model[tid]
        stale = self.s.markers_written(tid, m.producer_id, m.epoch + 1)
        assert stale.response == E.PRODUCER_FENCED and stale.records == []
        result = self.s.markers_written(tid, m.producer_id, m.epoch)
        self._write(m, state=S.COMPLETE_COMMIT if m.state is S.PREPARE_COMMIT else S.COMPLETE_ABORT,
                    partitions=frozenset())
        assert result.response == E.NONE and len(result.records) == 1

    @rule(ms=st.sampled_from([100, 499, 500, 1500, 4000]))
    def advance(self, ms):
        self.s.now_ms += ms
        now = self.s.now_ms
        if now >= self.next_abort_check:
            for m in self.model.values():
                if m.state is S.ONGOING and m.start_ms + m.timeout_ms < now:
                    self._fence_and_abort(m)
            self.next_abort_check = now + CONFIG.abort_timed_out_transactions_interval_ms
        if now >= self.next_expiration_check:
            for tid, m in list(self.model.items()):
                if m.state in (S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT) and \
                        m.last_update_ms <= now - CONFIG.transactional_id_expiration_ms:
                    del self.model[tid]
            self.next_expiration_check = now + CONFIG.remove_expired_transactional_ids_interval_ms
        result = self.s.advance(0)
        assert result.response is None
        self._check_markers(result)
        assert self.s.coordinator.next_deadline_ms() == min(self.next_abort_check, self.next_expiration_check)

    @rule()
    def failover(self):
        """A new coordinator (next epoch) loads the log and resends the pending markers."""
        fresh, loaded = self.s.reload(self.s.coordinator.coordinator_epoch + 1)
        self.s.coordinator, self.s.coordinator_epoch = fresh, fresh.coordinator_epoch
        for m in self.model.values():
            m.last_epoch = m.previous_producer_id = -1  # the log does not keep them
        assert loaded.records == []
        assert sorted(mr.transactional_id for mr in loaded.markers) == sorted(
            t for t, m in self.model.items() if m.state in PENDING)
        self._check_markers(loaded)
        self.next_abort_check = self.s.now_ms + CONFIG.abort_timed_out_transactions_interval_ms
        self.next_expiration_check = self.s.now_ms + CONFIG.remove_expired_transactional_ids_interval_ms

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def memory_matches_the_model(self):
        live = self.s.coordinator.transactions
        assert set(live) == set(self.model)
        for tid, m in self.model.items():
            meta = live[tid]
            assert (meta.producer_id, meta.previous_producer_id, meta.producer_epoch, meta.last_producer_epoch) == (
                m.producer_id, m.previous_producer_id, m.epoch, m.last_epoch)
            assert (meta.state, frozenset(meta.partitions), meta.txn_start_timestamp_ms) == (
                m.state, m.partitions, m.start_ms)
            assert (meta.txn_timeout_ms, meta.txn_last_update_timestamp_ms) == (m.timeout_ms, m.last_update_ms)

    @invariant()
    def replay_rebuilds_memory(self):
        fresh, _ = self.s.reload()
        assert {t: comparable(m) for t, m in fresh.transactions.items()} == {
            t: comparable(m) for t, m in self.s.coordinator.transactions.items()}

    @invariant()
    def epochs_only_go_up_and_producer_ids_are_never_shared(self):
        for tid, meta in self.s.coordinator.transactions.items():
            assert self.owner.setdefault(meta.producer_id, tid) == tid
            assert meta.producer_epoch >= self.highest_epoch.get(meta.producer_id, -1)
            self.highest_epoch[meta.producer_id] = meta.producer_epoch

    @invariant()
    def partitions_grow_only_inside_ongoing(self):
        for tid, meta in self.s.coordinator.transactions.items():
            now = (meta.state, frozenset(meta.partitions))
            before = self.before.get(tid)
            if before and before[0] is S.ONGOING and now[0] is S.ONGOING:
                assert before[1] <= now[1]
            if before and before[0] in PENDING and now[0] is before[0]:
                assert before[1] == now[1]
            if meta.state not in (S.ONGOING, *PENDING):
                assert not meta.partitions and (meta.state is not S.EMPTY or meta.txn_start_timestamp_ms == -1)
            self.before[tid] = now
        for tid in set(self.before) - set(self.s.coordinator.transactions):
            del self.before[tid]

    @invariant()
    def fenced_producers_are_refused(self):
        for tid, pid, epoch in self.clients:
            meta = self.s.coordinator.transactions.get(tid)
            if meta is None or (meta.producer_id, meta.producer_epoch) != (pid, epoch):
                answer = self.s.coordinator.verify_partitions(tid, pid, epoch, [("t", 0)])
                assert answer[("t", 0)] in (E.INVALID_PRODUCER_ID_MAPPING, E.PRODUCER_FENCED)


TransactionCoordinatorMachine.TestCase.settings = settings(
    max_examples=200, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_transaction_coordinator_state_machine = TransactionCoordinatorMachine.TestCase

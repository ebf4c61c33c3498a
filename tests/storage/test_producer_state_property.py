"""Property: retries and duplicates from a model idempotent producer never
make the log hold a batch twice or skip one.

The model producer behaves like Kafka's clients: at most five unacknowledged
batches, requests delivered in order on one connection, a lost connection
loses every request and response in flight, and after a loss the unacked
batches are re-sent (in sequence order) before anything new. Retries may also
happen at any time (request timeouts), so the broker sees many duplicates,
including copies arriving after the producer has bumped its epoch, and
out-of-order batches when a request ahead of them fails (a transient error
such as NOT_ENOUGH_REPLICAS: not appended, retried later).

Transient failures are injected only once the broker knows the producer:
for an unknown producer Kafka 4.0 accepts any sequence (KIP-360), so if the
very first batch of a fresh producer failed and the second arrived, Kafka too
would append it. That window is Kafka's, not this model's to close.
"""

from __future__ import annotations

import collections
import dataclasses

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from minikafka.storage.producer_state import INT32_MAX, ProducerStateManager
from minikafka.errors import KafkaError

PID = 4242
MAX_IN_FLIGHT = 5


@dataclasses.dataclass(frozen=True)
class Batch:
    producer_id: int
    producer_epoch: int
    base_sequence: int
    record_count: int
    base_offset: int = 0
    max_timestamp: int = 0
    is_transactional: bool = False
    is_control: bool = False

    @property
    def last_offset_delta(self) -> int:
        return self.record_count - 1

    @property
    def last_sequence(self) -> int:
        last = self.base_sequence + self.last_offset_delta
        return last - 2**31 if last > INT32_MAX else last


def next_sequence(batch: Batch) -> int:
    return 0 if batch.last_sequence == INT32_MAX else batch.last_sequence + 1


class IdempotentProduceMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.state = ProducerStateManager()
        self.log: list[Batch] = []  # appended batches, offsets assigned
        self.log_end_offset = 0
        self.sent: list[Batch] = []  # every new batch the producer created, in order
        self.unacked: list[Batch] = []
        self.wire: collections.deque[Batch] = collections.deque()
        self.responses: collections.deque = collections.deque()
        self.must_resend = False
        self.epoch = 0
        self.sequence = 0

    @initialize(start=st.sampled_from([0, 1, INT32_MAX - 4]))
    def start_sequence(self, start):
        # A non-zero start is a producer whose state the broker lost (KIP-360).
        self.sequence = start

    # -- the producer ---------------------------------------------------------

    @precondition(lambda self: len(self.unacked) < MAX_IN_FLIGHT and not self.must_resend)
    @rule(record_count=st.integers(1, 3))
    def send_new_batch(self, record_count):
        batch = Batch(PID, self.epoch, self.sequence, record_count)
        self.sequence = next_sequence(batch)
        self.sent.append(batch)
        self.unacked.append(batch)
        self.wire.append(batch)

    @precondition(lambda self: self.unacked)
    @rule()
    def resend_unacked(self):
        self.wire.extend(self.unacked)
        self.must_resend = False

    @precondition(lambda self: self.responses)
    @rule()
    def receive_response(self):
        batch, offsets = self.responses.popleft()
        if offsets is not None and batch in self.unacked:
            self.unacked.remove(batch)
            start = self.log.index(dataclasses.replace(batch, base_offset=offsets[0]))
            assert self.log[start].base_offset + batch.last_offset_delta == offsets[1]

    @precondition(lambda self: not self.unacked and self.epoch < 3)
    @rule()
    def bump_epoch(self):
        # The client's own epoch bump (KIP-360); stale copies may still be on the wire.
        self.epoch += 1
        event("epoch bumped")
        self.sequence = 0

    # -- the network ----------------------------------------------------------

    @rule()
    def lose_connection(self):
        self.wire.clear()
        self.responses.clear()
        self.must_resend = bool(self.unacked)

    @precondition(lambda self: self.log)
    @rule(data=st.data())
    def duplicate_an_appended_batch(self, data):
        # A network-level duplicate of one of the last five appended batches,
        # or of an older epoch's batch from a zombie incarnation.
        candidates = self.log[-MAX_IN_FLIGHT:] + [
            b for b in self.log if b.producer_epoch < self.epoch
        ][-MAX_IN_FLIGHT:]
        batch = data.draw(st.sampled_from(candidates))
        self.wire.append(dataclasses.replace(batch, base_offset=0))

    # -- the broker -----------------------------------------------------------

    @precondition(lambda self: self.wire)
    @rule()
    def deliver_request(self):
        batch = self.wire.popleft()
        try:
            duplicate = self.state.check(batch)
        except KafkaError as error:
            event(f"rejected: {error.code.name}")
            self.responses.append((batch, None))
            return
        event("duplicate" if duplicate else "appended")
        if duplicate is not None:
            self.responses.append((batch, (duplicate.first_offset, duplicate.last_offset)))
            return
        first = self.log_end_offset
        last = first + batch.last_offset_delta
        self.log.append(dataclasses.replace(batch, base_offset=first))
        self.state.update(batch, first, last, now_ms=0)
        self.log_end_offset = last + 1
        self.responses.append((batch, (first, last)))

    @precondition(lambda self: self.wire and PID in self.state.producers)
    @rule()
    def fail_request_transiently(self):
        self.responses.append((self.wire.popleft(), None))

    @rule()
    def restart_broker(self):
        # Recovery replays the log through the same code as normal operation.
        self.state = ProducerStateManager()
        self.state.load_from_batches(self.log)

    # -- what must always hold ------------------------------------------------

    @invariant()
    def log_is_a_prefix_of_what_was_sent(self):
        appended = [dataclasses.replace(b, base_offset=0) for b in self.log]
        assert appended == self.sent[: len(appended)], "duplicate or hole in the log"

    @invariant()
    def acknowledged_batches_are_in_the_log(self):
        appended = {dataclasses.replace(b, base_offset=0) for b in self.log}
        assert all(b in appended for b in self.sent if b not in self.unacked)


class TestIdempotentProducerQuick(IdempotentProduceMachine.TestCase):
    """A quick run for every test run; the slow one below explores much more."""

    settings = settings(max_examples=40, stateful_step_count=40, deadline=None)


@pytest.mark.slow
class TestIdempotentProducerThorough(IdempotentProduceMachine.TestCase):
    settings = settings(max_examples=400, stateful_step_count=80, deadline=None)

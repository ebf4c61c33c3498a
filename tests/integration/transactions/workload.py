"""A transactional workload with real clients, recorded for the history checker.

Theory of operation
-------------------
``Workload`` runs, in threads of the test process:

- several confluent-kafka transactional producers (``TxnProducer``), each
  with its own ``transactional.id``, looping: begin, send unique values to
  two or three partitions of the topic, then commit (or, for about one
  transaction in four, abort on purpose);
- read_committed consumers (``CommittedReader``) assigned every partition from
  offset 0, recording ``(offset, value)`` per partition in the order polled.

A test starts it, applies a nemesis (kill -9, SIGSTOP, a network cut), heals,
stops it, then takes a ``final_read`` of every partition and gives the
``History`` to ``history.check``.

Outcomes, as the client can know them: a transaction whose commit returned is
``COMMITTED``; one for which ``commit_transaction`` was never called is
``ABORTED`` (it may linger until the coordinator times it out, but nothing
can commit it); one whose commit raised is ``UNKNOWN``, even if a later abort
returned: a commit lost in flight may have been applied, and a librdkafka
abort after such an error only bumps the epoch. A fatal error (fenced, or a
producer that gave up) replaces the producer with a new one of the same
``transactional.id``, whose ``init_transactions`` resolves the old one's
transaction, as Kafka's recovery does.
"""

from __future__ import annotations

import random
import threading
import time
import uuid

import confluent_kafka
from confluent_kafka import KafkaException, TopicPartition

from tests.integration.transactions.history import History, Outcome, Txn

TXN_TIMEOUT_MS = 10_000  # the coordinator aborts a transaction left open longer than this
CALL_TIMEOUT_S = 30.0  # each init/commit/abort call (librdkafka retries inside it)


def producer_config(bootstrap: str, transactional_id: str, txn_timeout_ms: int = TXN_TIMEOUT_MS) -> dict:
    return {"bootstrap.servers": bootstrap, "transactional.id": transactional_id,
            "transaction.timeout.ms": txn_timeout_ms, "message.timeout.ms": TXN_TIMEOUT_MS,
            "linger.ms": 2, "socket.timeout.ms": 5000}


def read_committed_consumer(bootstrap: str, **extra) -> confluent_kafka.Consumer:
    return confluent_kafka.Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4().hex[:8]}",
        "isolation.level": "read_committed", "enable.auto.commit": False,
        "auto.offset.reset": "earliest", "enable.partition.eof": False, **extra})


class TxnProducer:
    """One transactional id's loop of transactions, in a thread.

    Attributes:
        txns: every transaction begun, with the outcome the client learnt.
        errors: the client errors seen (for assertion messages).
    """

    def __init__(self, bootstrap: str, topic: str, partitions: int, name: str, *, seed: int,
                 abort_ratio: float = 0.25, pause_s: float = 0.02, txn_timeout_ms: int = TXN_TIMEOUT_MS):
        self.bootstrap, self.topic, self.partitions, self.name = bootstrap, topic, partitions, name
        self.transactional_id = f"{name}-{uuid.uuid4().hex[:6]}"
        self.random = random.Random(seed)
        self.abort_ratio, self.pause_s, self.txn_timeout_ms = abort_ratio, pause_s, txn_timeout_ms
        self.txns: list[Txn] = []
        self.errors: list[str] = []
        self.producer: confluent_kafka.Producer | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"txn-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 90.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), f"producer {self.name} did not stop: {self.errors[-5:]}"

    @property
    def committed(self) -> int:
        return sum(txn.outcome is Outcome.COMMITTED for txn in self.txns)

    def _run(self) -> None:
        number = 0
        while not self._stop.is_set():
            if self.producer is None and not self.init_producer():
                continue
            number += 1
            self.run_one(f"{self.name}-{number}")
            time.sleep(self.pause_s)
        self.close()

    def close(self) -> None:
        """Close the current producer, if any (librdkafka aborts an open transaction first)."""
        if self.producer is not None:
            try:
                self.producer.close()
            except KafkaException:
                pass  # a fatal error (fenced...): the producer is freed when dropped
            self.producer = None

    def init_producer(self) -> bool:
        """A producer for our transactional id, initialised; False (after a pause) on failure."""
        self.producer = confluent_kafka.Producer(producer_config(self.bootstrap, self.transactional_id,
                                                                 self.txn_timeout_ms))
        try:
            self.producer.init_transactions(CALL_TIMEOUT_S)
            return True
        except KafkaException as exc:
            self.errors.append(f"init: {exc.args[0]}")
            self.producer = None
            time.sleep(0.5)
            return False

    def plan(self, txn_id: str) -> dict[tuple[str, int], list[str]]:
        """Two or three partitions, one to three unique values each."""
        chosen = self.random.sample(range(self.partitions), self.random.choice((2, 3)))
        return {(self.topic, p): [f"{txn_id}.{p}.{k}" for k in range(self.random.randint(1, 3))]
                for p in sorted(chosen)}

    def run_one(self, txn_id: str, *, abort: bool | None = None, before_commit=None) -> Txn:
        """Run one transaction; record and return it.

        Args:
            abort: abort on purpose (default: drawn with ``abort_ratio``).
            before_commit: called after every record was acknowledged, just
                before ``commit_transaction`` (a nemesis hook).
        """
        if abort is None:
            abort = self.random.random() < self.abort_ratio
        txn = Txn(txn_id, self.plan(txn_id), Outcome.ABORTED)
        self.txns.append(txn)
        producer = self.producer
        try:
            producer.begin_transaction()
            for (topic, partition), values in txn.writes.items():
                for value in values:
                    producer.produce(topic, value.encode(), partition=partition)
            if abort:
                # Flushed first: aborted records must reach the log (an abort purges
                # what is still queued), or read_committed would have nothing to hide.
                producer.flush(CALL_TIMEOUT_S)
                producer.abort_transaction(CALL_TIMEOUT_S)
                return txn
            if before_commit is not None:
                producer.flush(CALL_TIMEOUT_S)
                before_commit()
        except (KafkaException, BufferError) as exc:  # commit never called: it cannot commit
            self._recover(exc, "send")
            return txn
        txn.outcome = Outcome.UNKNOWN
        if self._commit(producer):
            txn.outcome = Outcome.COMMITTED
        return txn

    def _commit(self, producer) -> bool:
        while True:
            try:
                producer.commit_transaction(CALL_TIMEOUT_S)
                return True
            except KafkaException as exc:
                error = exc.args[0]
                if error.retriable() and not self._stop.is_set():
                    continue
                self._recover(exc, "commit")
                return False

    def _recover(self, exc: Exception, stage: str) -> None:
        """After an error: abort if the client allows it, else start a new producer."""
        self.errors.append(f"{stage}: {exc.args[0] if exc.args else exc!r}")
        error = exc.args[0] if isinstance(exc, KafkaException) else None
        if error is not None and error.txn_requires_abort():
            try:
                self.producer.abort_transaction(CALL_TIMEOUT_S)
                return
            except KafkaException as abort_exc:
                self.errors.append(f"abort: {abort_exc.args[0]}")
        self.close()  # fatal or stuck: a new producer re-initialises the id


class CommittedReader:
    """A read_committed consumer of every partition from offset 0, in a thread."""

    def __init__(self, bootstrap: str, topic: str, partitions: int, name: str):
        self.name = name
        self.consumer = read_committed_consumer(bootstrap)
        self.consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        self.records: dict[tuple[str, int], list[tuple[int, str]]] = {(topic, p): [] for p in range(partitions)}
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"reader-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and close the consumer (again: a no-op)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(30)
        self.consumer.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            for message in self.consumer.consume(100, 0.2):
                if message.error() is not None:
                    self.errors.append(str(message.error()))
                    continue
                key = (message.topic(), message.partition())
                self.records[key].append((message.offset(), message.value().decode()))


def end_offsets(bootstrap: str, topic: str, partitions: int, isolation: str) -> list[int]:
    """Every partition's end: the high watermark (read_uncommitted) or the LSO (read_committed)."""
    consumer = read_committed_consumer(bootstrap, **{"isolation.level": isolation})
    try:
        return [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1]
                for p in range(partitions)]
    finally:
        consumer.close()


def wait_until_stable(bootstrap: str, topic: str, partitions: int, timeout_s: float = 45.0) -> list[int]:
    """Wait until no transaction is open: every partition's LSO equals its high watermark.

    Transactions left open by a nemesis end by the coordinator's timeout
    (``TXN_TIMEOUT_MS``) or a new producer's ``init_transactions``.

    Raises:
        AssertionError: still unstable after ``timeout_s`` (a hanging transaction).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            high = end_offsets(bootstrap, topic, partitions, "read_uncommitted")
            stable = end_offsets(bootstrap, topic, partitions, "read_committed")
            if high == stable:
                return high
        except KafkaException:
            high = stable = None  # a leader moving: ask again
        assert time.monotonic() < deadline, f"LSO never reached the high watermark: LSO {stable}, HW {high}"
        time.sleep(0.5)


def final_read(bootstrap: str, topic: str, partitions: int, timeout_s: float = 30.0,
               isolation: str = "read_committed") -> dict:
    """Every committed record of every partition, read_committed from offset 0 to the end.

    With ``isolation="read_uncommitted"``: every record, aborted ones included
    (the test's proof that aborted records did reach the log).
    """
    ends = wait_until_stable(bootstrap, topic, partitions)
    consumer = read_committed_consumer(bootstrap, **{"isolation.level": isolation})
    tps = [TopicPartition(topic, p, 0) for p in range(partitions)]
    consumer.assign(tps)
    records: dict[tuple[str, int], list[tuple[int, str]]] = {(topic, p): [] for p in range(partitions)}
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            for message in consumer.consume(500, 0.2):
                if message.error() is None:
                    records[(topic, message.partition())].append((message.offset(), message.value().decode()))
            positions = [tp.offset for tp in consumer.position(tps)]
            if all(position >= end for position, end in zip(positions, ends)):
                break
    finally:
        consumer.close()
    return records


class Workload:
    """Producers and read_committed readers together; ``history()`` once stopped."""

    def __init__(self, bootstrap: str, topic: str, partitions: int, *, producers: int = 3, readers: int = 2,
                 seed: int = 1):
        self.bootstrap, self.topic, self.partitions = bootstrap, topic, partitions
        self.producers = [TxnProducer(bootstrap, topic, partitions, f"p{i}", seed=seed * 100 + i)
                          for i in range(producers)]
        self.readers = [CommittedReader(bootstrap, topic, partitions, f"r{i}") for i in range(readers)]
        self.raw: dict[tuple[str, int], list[tuple[int, str]]] = {}

    def __enter__(self) -> "Workload":
        for part in self.readers + self.producers:
            part.start()
        return self

    def __exit__(self, exc_type, *exc_info) -> None:
        for producer in self.producers:
            producer.stop()
        if exc_type is not None:  # no history() to come
            for reader in self.readers:
                reader.stop()

    def committed(self) -> int:
        return sum(producer.committed for producer in self.producers)

    def wait_for_commits(self, count: int, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.committed() < count:
            assert time.monotonic() < deadline, f"only {self.committed()} commits; errors: {self.errors()[-10:]}"
            time.sleep(0.1)

    def errors(self) -> list[str]:
        return [f"{p.name} {e}" for p in self.producers for e in p.errors]

    def history(self) -> History:
        """Take the final read, stop the readers, return everything recorded.

        ``raw`` keeps a read_uncommitted final read: every record in the log.
        """
        try:
            final = final_read(self.bootstrap, self.topic, self.partitions)
            self.raw = final_read(self.bootstrap, self.topic, self.partitions, isolation="read_uncommitted")
        finally:
            for reader in self.readers:
                reader.stop()
        return History(txns=[txn for p in self.producers for txn in p.txns],
                       reads={reader.name: reader.records for reader in self.readers}, final=final)

"""A transaction coordinator with a clock, a producer id source and a log, for tests.

``TxnScenario`` plays the runtime's part: it hands out fresh producer ids
when the coordinator asks for one, keeps every record the coordinator wrote
(the ``__transaction_state`` log) and can rebuild a coordinator from it.
"""

from __future__ import annotations

import dataclasses

from minikafka.coordinator.transaction import TransactionConfig, TransactionCoordinator, TxnResult
from minikafka.coordinator.transaction.metadata import TransactionMetadata

FAST = TransactionConfig(
    transaction_max_timeout_ms=60000,
    transactional_id_expiration_ms=50000,
    abort_timed_out_transactions_interval_ms=1000,
    remove_expired_transactional_ids_interval_ms=10000,
)


class TxnScenario:
    """One coordinator driven as the runtime drives it."""

    def __init__(self, config: TransactionConfig = FAST, coordinator_epoch: int = 3,
                 first_producer_id: int = 1000, now_ms: int = 100000):
        self.config = config
        self.coordinator_epoch = coordinator_epoch
        self.coordinator = TransactionCoordinator(config, 0, coordinator_epoch)
        self.now_ms = now_ms
        self.next_producer_id = first_producer_id
        self.log: list[tuple[bytes, bytes | None]] = []
        self.coordinator.on_loaded(now_ms)

    def _keep(self, result: TxnResult) -> TxnResult:
        self.log.extend(result.records)
        return result

    def advance(self, ms: int) -> TxnResult:
        self.now_ms += ms
        return self._keep(self.coordinator.poll_timers(self.now_ms))

    def init(self, transactional_id: str, timeout_ms: int = 10000, producer_id: int = -1,
             producer_epoch: int = -1) -> TxnResult:
        new_id = None
        if self.coordinator.needs_new_producer_id(transactional_id, producer_id, producer_epoch):
            new_id = self.next_producer_id
            self.next_producer_id += 1
        return self._keep(self.coordinator.init_producer_id(
            transactional_id, timeout_ms, producer_id, producer_epoch, self.now_ms, new_id))

    def add(self, transactional_id: str, producer_id: int, producer_epoch: int, partitions) -> TxnResult:
        return self._keep(self.coordinator.add_partitions(
            transactional_id, producer_id, producer_epoch, partitions, self.now_ms))

    def add_offsets(self, transactional_id: str, producer_id: int, producer_epoch: int,
                    group_partition: int) -> TxnResult:
        return self._keep(self.coordinator.add_offsets(
            transactional_id, producer_id, producer_epoch, group_partition, self.now_ms))

    def end(self, transactional_id: str, producer_id: int, producer_epoch: int, commit: bool) -> TxnResult:
        return self._keep(self.coordinator.end_txn(
            transactional_id, producer_id, producer_epoch, commit, self.now_ms))

    def markers_written(self, transactional_id: str, producer_id: int, producer_epoch: int) -> TxnResult:
        return self._keep(self.coordinator.markers_written(
            transactional_id, producer_id, producer_epoch, self.now_ms))

    def reload(self, coordinator_epoch: int | None = None) -> tuple[TransactionCoordinator, TxnResult]:
        """A new coordinator that replays the log, as after a failover."""
        epoch = self.coordinator_epoch if coordinator_epoch is None else coordinator_epoch
        fresh = TransactionCoordinator(self.config, 0, epoch)
        for key, value in self.log:
            fresh.replay(key, value)
        return fresh, fresh.on_loaded(self.now_ms)

    def meta(self, transactional_id: str) -> TransactionMetadata:
        return self.coordinator.transactions[transactional_id]


def comparable(meta: TransactionMetadata) -> dict:
    """Every field the log carries (all but the memory-only retry aids)."""
    fields = dataclasses.asdict(meta)
    fields.pop("last_producer_epoch")
    fields.pop("previous_producer_id")
    return fields

"""Shared helpers for the transaction tests: a UnifiedLog in a temp dir, batches."""

from __future__ import annotations

import os

from minikafka.storage.config import LogConfig
from minikafka.storage.log import Log
from minikafka.storage.producer_state import ProducerStateManager
from minikafka.storage.unified_log import UnifiedLog
from minikafka_core.records import Record, build_batch

NOW_MS = 1_700_000_000_000
LEADER_EPOCH = 0


def open_log(tmp_path, *, verification: bool = False, name: str = "t-0", recovery_point: int = 0,
             high_watermark: int | None = None, **config) -> UnifiedLog:
    """A UnifiedLog (verification off unless asked: most tests are not about KIP-890)."""
    local = Log(os.path.join(os.fspath(tmp_path), name), LogConfig(**config), NOW_MS,
                recovery_point=recovery_point)
    state = ProducerStateManager(transaction_verification_enabled=verification)
    return UnifiedLog(local, state, NOW_MS, high_watermark=high_watermark)


def data_batch(producer_id: int = -1, base_sequence: int = -1, count: int = 1, *, epoch: int = 0,
               transactional: bool = False, key: bytes | None = b"k", timestamp: int = NOW_MS) -> bytes:
    """One batch of ``count`` records (keyed, so compacted topics take it)."""
    records = [Record(i, timestamp, key if key is None else key + b"%d" % i, b"v%d" % i) for i in range(count)]
    if producer_id < 0:
        return build_batch(records)
    return build_batch(records, producer_id=producer_id, producer_epoch=epoch, base_sequence=base_sequence,
                       is_transactional=transactional)


class Producer:
    """A transactional producer's sequence numbers for one partition."""

    def __init__(self, producer_id: int, epoch: int = 0):
        self.producer_id = producer_id
        self.epoch = epoch
        self.sequence = 0

    def batch(self, count: int = 1, **kwargs) -> bytes:
        data = data_batch(self.producer_id, self.sequence, count, epoch=self.epoch, transactional=True,
                          **kwargs)
        self.sequence += count
        return data


def append(log: UnifiedLog, records: bytes, **kwargs):
    return log.append_as_leader(records, LEADER_EPOCH, NOW_MS, **kwargs)


def marker(log: UnifiedLog, producer_id: int, *, commit: bool, epoch: int = 0, coordinator_epoch: int = 0):
    return log.append_txn_marker(producer_id=producer_id, producer_epoch=epoch,
                                 coordinator_epoch=coordinator_epoch, commit=commit,
                                 leader_epoch=LEADER_EPOCH, now_ms=NOW_MS)


def reopen(log: UnifiedLog, *, clean: bool = True) -> UnifiedLog:
    """Close (cleanly: snapshot + flush; or as after a crash) and open the partition again."""
    hw = log.high_watermark
    state = log.producer_state
    if clean:
        log.take_snapshot()
        log.local_log.close()
        recovery_point = log.local_log.recovery_point
    else:
        for segment in log.local_log.segments:
            segment.close()
        recovery_point = 0
    local = Log(log.dir, log.config, NOW_MS, recovery_point=recovery_point,
                log_start_offset=log.log_start_offset)
    fresh = ProducerStateManager(transaction_verification_enabled=state.transaction_verification_enabled)
    return UnifiedLog(local, fresh, NOW_MS, high_watermark=hw)

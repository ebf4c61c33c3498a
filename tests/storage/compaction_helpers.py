"""Helpers for the compaction tests: a compacted Log, writes, and an independent reader."""

from __future__ import annotations

import os

from minikafka.storage.config import LogConfig
from minikafka.storage.log import Log
from minikafka_core.records import Record, build_batch, read_batches

NOW_MS = 1_700_000_000_000
DAY_MS = 86_400_000


def compacted_log(tmp_path, name="events-0", **config) -> Log:
    """A compacted Log in ``tmp_path/name``; ``config`` overrides LogConfig fields."""
    fields = dict(cleanup_policy="compact", segment_bytes=1 << 20, min_cleanable_dirty_ratio=0.5)
    fields.update(config)
    return Log(os.path.join(os.fspath(tmp_path), name), LogConfig(**fields), NOW_MS)


def write(log: Log, items, timestamp_ms: int = NOW_MS, **batch_fields) -> int:
    """Append one batch of ``(key, value)`` pairs (bytes or None); returns its first offset."""
    records = [Record(i, timestamp_ms + i, key, value, [("h", b"x")]) for i, (key, value) in enumerate(items)]
    buf = build_batch(records, **batch_fields)
    return log.append(buf, log.validate(buf, timestamp_ms), timestamp_ms).first_offset


def all_records(log: Log) -> list:
    """Every record in the log, decoded by the client-side reader (not the cleaner's)."""
    out = []
    for segment in log.segments:
        with open(segment.log_path, "rb") as f:
            data = f.read()
        for batch in read_batches(data):
            assert batch.crc_valid
            out.extend(batch.records)
    return out


def latest_by_key(records) -> dict:
    """``{key: (offset, value)}`` of the last record of each key."""
    latest = {}
    for record in records:
        latest[record.key] = (record.offset, record.value)
    return latest


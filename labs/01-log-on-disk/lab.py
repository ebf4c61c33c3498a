"""Lab 1: the log on disk.

``start`` creates three topics on a one-broker cluster:

- ``clicks``: ``segment.bytes=1048576`` (Kafka's minimum; its default is
  1 GiB), so the 3000 records of step 2 fill more than one segment;
- ``page-views``: the same, seeded with about 1.5 MB (two segments), for
  retention (step 6);
- ``customer-profiles``: ``cleanup.policy=compact``, ``segment.ms=2000`` and
  ``min.cleanable.dirty.ratio=0.01`` so the cleaner gets to work within
  seconds instead of Kafka's week-long default segments (step 8).

The broker runs with ``log.retention.check.interval.ms=1000`` (Kafka: five
minutes) so retention acts while the student watches.

``check`` reads the broker's files (``clicks`` rolled), the student's
``lookup.json`` (compared with a full scan of the segment and with
ListOffsets by timestamp), the log start offsets (retention, DeleteRecords)
and the compacted topic.
"""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

from minikafka.labs import Lab, LabContext, Report

LAB = Lab(number=1, slug="log-on-disk", title="The log on disk: segments, indexes, retention, compaction",
          brokers=1, overrides={"log.retention.check.interval.ms": "1000"})

CLICKS, PAGE_VIEWS, PROFILES = "clicks", "page-views", "customer-profiles"
CLICK_COUNT = 3000
DELETE_BEFORE = 100
LOOKUP_OFFSET, TIMESTAMP_OF_OFFSET = 2500, 2000
SEGMENT_BYTES = "1048576"
PAGE_VIEW_COUNT = 2400
DELETED_CUSTOMER = "customer-3"
WAIT_S = 30.0


def start(ctx: LabContext) -> None:
    from minikafka_clients import NewTopic

    with ctx.admin() as admin:
        admin.create_topics([
            NewTopic(CLICKS, 1, 1, {"segment.bytes": SEGMENT_BYTES}),
            NewTopic(PAGE_VIEWS, 1, 1, {"segment.bytes": SEGMENT_BYTES}),
            NewTopic(PROFILES, 1, 1, {"cleanup.policy": "compact", "segment.ms": "2000",
                                      "min.cleanable.dirty.ratio": "0.01"}),
        ])
    with ctx.producer({"linger.ms": 5}) as producer:
        for n in range(PAGE_VIEW_COUNT):
            producer.produce(PAGE_VIEWS, b"page view %d " % n + b"." * 600)
        producer.flush()


# -- check --------------------------------------------------------------------

def check(ctx: LabContext, report: Report) -> None:
    if ctx.data_dirs is None:
        report.missing("this lab reads the broker's files", hint="start it without --bootstrap-server")
        return
    clicks_dir = _partition_dir(ctx, CLICKS)
    check_rolled(clicks_dir, report)
    check_lookup(ctx, clicks_dir, report)
    with ctx.admin() as admin:
        check_retention(admin, report)
        check_delete_records(admin, report)
    check_compaction(ctx, report)


def _partition_dir(ctx: LabContext, topic: str) -> Path:
    return ctx.data_dirs[0] / f"{topic}-0"


def check_rolled(clicks_dir: Path, report: Report) -> None:
    segments = sorted(clicks_dir.glob("*.log"))
    report.expect(len(segments) >= 2, f"'{CLICKS}' has {len(segments)} segments: it rolled at segment.bytes",
                  f"'{CLICKS}' has {len(segments)} segment(s), not two or more",
                  hint=f"step 2: produce {CLICK_COUNT} clicks of ~600 bytes")


def check_lookup(ctx: LabContext, clicks_dir: Path, report: Report) -> None:
    path = ctx.work_dir / "lookup.json"
    if not path.exists():
        report.missing(f"no {path}", hint="step 5: run lookup.py with --out lab-data/work/01/lookup.json")
        return
    answer = json.loads(path.read_text())
    by_offset, by_time = answer.get("by_offset", {}), answer.get("by_timestamp", {})
    offset = by_offset.get("offset", LOOKUP_OFFSET)
    truth = _locate(clicks_dir, offset)
    found = (by_offset.get("segment"), by_offset.get("index_entry"), by_offset.get("batch_position"))
    report.expect(found == truth, f"offset {offset} found through the index: {truth[0]} position {truth[2]}",
                  f"the lookup of offset {offset} says {found}, the files say {truth}",
                  hint="step 5: the segment, the last index entry <= the offset, then scan batches")
    timestamp = by_time.get("timestamp")
    if timestamp is None:
        report.missing("lookup.json has no by_timestamp answer", hint="step 5: --timestamp")
        return
    with ctx.admin() as admin:
        expected = admin.list_offsets({(CLICKS, 0): int(timestamp)})[(CLICKS, 0)].offset
    low, high = by_time.get("batch_base_offset", -1), by_time.get("batch_last_offset", -1)
    report.expect(low <= expected <= high,
                  f"timestamp {timestamp} found through the time index: the batch holding offset {expected}",
                  f"the lookup of timestamp {timestamp} found offsets {low}..{high}; "
                  f"ListOffsets says the first record at or after it is offset {expected}",
                  hint="step 5: the last time index entry <= the timestamp, then the first batch whose "
                       "max timestamp is >= it")


def _locate(partition_dir: Path, offset: int) -> tuple[str, list[int], int]:
    """(segment, index entry [offset, position], batch position) of ``offset``, by a full scan."""
    base = max(int(p.stem) for p in partition_dir.glob("*.log") if int(p.stem) <= offset)
    index = (partition_dir / f"{base:020d}.index").read_bytes()
    entry = [base, 0]
    for start in range(0, len(index) - 7, 8):
        relative, position = struct.unpack_from(">ii", index, start)
        if (start and relative == 0) or base + relative > offset:
            break
        entry = [base + relative, position]
    log = (partition_dir / f"{base:020d}.log").read_bytes()
    position = 0
    while position + 12 <= len(log):
        base_offset, length = struct.unpack_from(">qi", log, position)
        if base_offset + struct.unpack_from(">i", log, position + 23)[0] >= offset:
            return f"{base:020d}.log", entry, position
        position += 12 + length
    return f"{base:020d}.log", entry, -1


def check_retention(admin, report: Report) -> None:
    retention_ms = admin.describe_configs(PAGE_VIEWS, ["retention.ms"])["retention.ms"].value
    log_start = admin.list_offsets({(PAGE_VIEWS, 0): -2})[(PAGE_VIEWS, 0)].offset
    report.expect(log_start > 0, f"retention deleted the oldest segment of '{PAGE_VIEWS}' "
                                 f"(retention.ms={retention_ms}, log start offset {log_start})",
                  f"'{PAGE_VIEWS}' still starts at offset 0 (retention.ms={retention_ms})",
                  hint="step 6: set retention.ms=1000 on page-views and wait a few seconds")


def check_delete_records(admin, report: Report) -> None:
    log_start = admin.list_offsets({(CLICKS, 0): -2})[(CLICKS, 0)].offset
    report.expect(log_start == DELETE_BEFORE, f"DeleteRecords moved the log start offset of '{CLICKS}' "
                                              f"to {DELETE_BEFORE}",
                  f"the log start offset of '{CLICKS}' is {log_start}, not {DELETE_BEFORE}",
                  hint=f"step 7: delete the records of clicks-0 before offset {DELETE_BEFORE}")


def check_compaction(ctx: LabContext, report: Report) -> None:
    records = ctx.read_records(PROFILES)
    if not records:
        report.missing(f"'{PROFILES}' is empty", hint="step 8: run profiles.py")
        return
    latest, counts = {}, {}
    for record in records:
        key = (record.key or b"").decode()
        latest[key] = record.value
        counts[key] = counts.get(key, 0) + 1
    report.expect(DELETED_CUSTOMER in latest and latest[DELETED_CUSTOMER] is None,
                  f"'{DELETED_CUSTOMER}' was deleted with a tombstone (its key, a null value)",
                  f"the last record of '{DELETED_CUSTOMER}' is not a tombstone",
                  hint="step 8: delete_profile() sends the key with a null value")
    repeated = {key: n for key, n in counts.items() if n > 1}
    report.expect(not repeated and len(counts) >= 3,
                  f"'{PROFILES}' is compacted: one record per key ({len(records)} records, offsets "
                  f"{[r.offset for r in records]})",
                  f"'{PROFILES}' is not compacted yet: {repeated or 'fewer than 3 keys'}",
                  hint="step 8: after segment.ms (2 s) produce one more record so the segment rolls, "
                       "then give the cleaner a few seconds")


# -- solve --------------------------------------------------------------------

def solve(ctx: LabContext) -> None:
    clicks_dir = _partition_dir(ctx, CLICKS)
    with ctx.admin() as admin:
        end = admin.list_offsets({(CLICKS, 0): -1})[(CLICKS, 0)].offset
    if end < CLICK_COUNT:
        with ctx.producer({"linger.ms": 5}) as producer:
            for n in range(end, CLICK_COUNT):
                producer.produce(CLICKS, b"click %d " % n + b"0" * 600, key=b"user-%d" % (n % 50))
            producer.flush()
    timestamp = _timestamp_of(ctx, TIMESTAMP_OF_OFFSET)
    ctx.run_solution("lookup", "--partition-dir", str(clicks_dir), "--offset", str(LOOKUP_OFFSET),
                     "--timestamp", str(timestamp), "--out", str(ctx.work_dir / "lookup.json"))
    ctx.run_solution("profiles")
    profiles_written = time.monotonic()
    with ctx.admin() as admin:
        admin.incremental_alter_configs(PAGE_VIEWS, set_configs={"retention.ms": "1000"})
        admin.delete_records({(CLICKS, 0): DELETE_BEFORE})
    # After segment.ms the next append rolls the segment (Kafka rolls on append),
    # and the closed segment can be cleaned.
    time.sleep(max(0.0, profiles_written + 2.2 - time.monotonic()))
    with ctx.producer() as producer:
        producer.produce(PROFILES, b'{"name": "Barbara", "tier": "bronze"}', key=b"customer-4")
        producer.flush()
    _wait_until(lambda: _passes(ctx), "retention and compaction")


def _timestamp_of(ctx: LabContext, offset: int) -> int:
    with ctx.consumer() as consumer:
        consumer.assign([(CLICKS, 0)])
        consumer.seek((CLICKS, 0), offset)
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            for record in consumer.poll(1.0):
                return record.timestamp_ms
    raise RuntimeError(f"no record at offset {offset} of {CLICKS}")


def _passes(ctx: LabContext) -> bool:
    report = Report()
    check(ctx, report)
    return report.passed


def _wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {WAIT_S:.0f} s")
        time.sleep(1.0)

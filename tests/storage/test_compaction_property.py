"""Property: compaction never loses the latest value of a key (against a dict model).

Random keyed writes, tombstones, rolls and cleanings at random times; after
every cleaning:

- the surviving records are a subsequence of what was written, with their
  original offsets (compaction leaves gaps, never renumbers);
- each key's latest record is the latest written, except that a tombstone
  disappears exactly when a cleaning ran at or after its delete horizon
  (the time of the first cleaning that covered it + delete.retention.ms);
- below the cleaned offset there is at most one record per key;
- the active segment's bytes are untouched;
- reopening the log from disk reads the same records.
"""

from __future__ import annotations

import tempfile

from hypothesis import given, settings, strategies as st

from minikafka.storage.cleaner import clean_log

from compaction_helpers import NOW_MS, all_records, compacted_log, write

RETENTION_MS = 1000
KEYS = [b"a", b"b", b"c", b"d", b"e"]

record = st.tuples(st.sampled_from(KEYS), st.one_of(st.none(), st.binary(min_size=0, max_size=6)))
operation = st.one_of(
    st.tuples(st.just("write"), st.lists(record, min_size=1, max_size=4), st.sampled_from([0, 1, 4])),
    st.tuples(st.just("roll")),
    st.tuples(st.just("clean"), st.integers(min_value=0, max_value=2 * RETENTION_MS)),
)


class Model:
    """What was written, and when each tombstone's delete horizon was set."""

    def __init__(self):
        self.written = []  # (offset, key, value)
        self.first_covered_ms = {}  # offset -> time of the first cleaning below which it lay
        self.tombstone_dropped = set()  # offsets of tombstones whose horizon passed at a cleaning

    def clean(self, end_offset: int, now_ms: int) -> None:
        for offset, _, value in self.written:
            if offset >= end_offset:
                break
            first = self.first_covered_ms.setdefault(offset, now_ms)
            if value is None and now_ms >= first + RETENTION_MS:
                self.tombstone_dropped.add(offset)

    def expected_latest(self) -> dict:
        latest = {}
        for offset, key, value in self.written:
            latest[key] = (offset, value)
        return {key: (offset, value) for key, (offset, value) in latest.items()
                if not (value is None and offset in self.tombstone_dropped)}


def check(log, model: Model) -> None:
    survivors = [(r.offset, r.key, r.value) for r in all_records(log)]
    written = {offset: (offset, key, value) for offset, key, value in model.written}
    assert all(written[offset] == (offset, key, value) for offset, key, value in survivors)
    assert [s[0] for s in survivors] == sorted({s[0] for s in survivors})
    latest = {}
    for offset, key, value in survivors:
        latest[key] = (offset, value)
    assert latest == model.expected_latest()
    cleaned_keys = [key for offset, key, _ in survivors if offset < log.last_clean_offset]
    assert len(cleaned_keys) == len(set(cleaned_keys))


@settings(max_examples=50, deadline=None)
@given(st.lists(operation, max_size=40))
def test_compaction_keeps_the_latest_value_of_every_key(operations):
    with tempfile.TemporaryDirectory() as tmp:
        log = compacted_log(tmp, segment_bytes=400, delete_retention_ms=RETENTION_MS)
        model, now_ms = Model(), NOW_MS
        for op in operations + [("clean", 0)]:
            if op[0] == "write":
                first = write(log, op[1], timestamp_ms=now_ms, compression=op[2])
                model.written += [(first + i, key, value) for i, (key, value) in enumerate(op[1])]
            elif op[0] == "roll":
                log.roll(now_ms)
            else:
                now_ms += op[1]
                active_before = open(log.active_segment.log_path, "rb").read()
                stats = clean_log(log, now_ms)
                assert open(log.active_segment.log_path, "rb").read() == active_before
                model.clean(stats.end_offset, now_ms)
                check(log, model)
        log.close()
        reopened = compacted_log(tmp, segment_bytes=400, delete_retention_ms=RETENTION_MS)
        check(reopened, model)
        reopened.close()

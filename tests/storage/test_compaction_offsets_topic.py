"""A ``__consumer_offsets``-like partition stays small under many commits.

Three groups commit the offsets of six partitions again and again, in
Kafka's record format; the log's own ``maintenance`` rolls and cleans it.
Without compaction it would grow without bound; with it the non-active part
holds about one record per key, and replaying it gives the latest offsets.
"""

from __future__ import annotations

from minikafka.coordinator.records import decode_record, offset_commit_record

from compaction_helpers import NOW_MS, all_records, compacted_log, write

SEGMENT_BYTES = 16 * 1024
GROUPS = ["billing", "search", "audit"]


def test_many_commits_of_the_same_keys_stay_small(tmp_path):
    log = compacted_log(tmp_path, name="__consumer_offsets-7", segment_bytes=SEGMENT_BYTES)
    latest, written_bytes = {}, 0
    now_ms = NOW_MS
    for commit in range(400):
        records = []
        for group in GROUPS:
            for partition in range(6):
                record = offset_commit_record(group, "orders", partition, commit * 10 + partition,
                                              0, "", now_ms)
                records.append(record)
                latest[record[0]] = record[1]
        size_before = log.size_in_bytes
        write(log, records, timestamp_ms=now_ms)  # one commit: one batch, like the coordinator
        written_bytes += log.size_in_bytes - size_before
        now_ms += 10
        if commit % 20 == 0:
            log.maintenance(now_ms)
    log.maintenance(now_ms)
    assert log.last_clean_offset > 0
    assert written_bytes > 25 * SEGMENT_BYTES  # about 425 KiB
    assert log.size_in_bytes < 4 * SEGMENT_BYTES, (log.size_in_bytes, written_bytes)
    replayed = {}
    for record in all_records(log):
        replayed[record.key] = record.value
    assert replayed == latest
    offsets = {decode_record(key, value)[1].partition: decode_record(key, value)[2].offset
               for key, value in replayed.items()}
    assert offsets == {p: 3990 + p for p in range(6)}

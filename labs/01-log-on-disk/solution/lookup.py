"""Find a record in a partition's files, as a broker does: by offset, then by time.

Reference solution of lab 1. A partition directory holds segments; segment
``<base>.log`` starts at offset ``base``, and beside it:

- ``<base>.index``: 8-byte entries, relative offset (int32, ``offset - base``)
  and byte position (int32) in the ``.log`` of the batch holding that offset.
  One entry every ``index.interval.bytes`` (4096) of log, so it is *sparse*:
  look up the last entry at or below the target, then scan batches forward.
- ``<base>.timeindex``: 12-byte entries, timestamp (int64) and relative
  offset (int32): "records with a timestamp >= T start at or after this
  offset". Entries grow in both columns.

Both files are preallocated and zero-filled past their last entry: an entry
whose relative offset is 0, after the first entry, is the end.

A batch (magic 2) starts with ``base_offset`` (int64) and ``batch_length``
(int32, the bytes after these 12); ``last_offset_delta`` (int32) is at byte
23, ``max_timestamp`` (int64) at byte 35.

    python solution/lookup.py --partition-dir lab-data/cluster/broker-1/clicks-0 \\
        --offset 2500 --timestamp 1700000000000 --out lab-data/work/01/lookup.json
"""

from __future__ import annotations

import argparse
import json
import struct
from pathlib import Path

INDEX_ENTRY = struct.Struct(">ii")       # relative offset, position
TIME_INDEX_ENTRY = struct.Struct(">qi")  # timestamp, relative offset
BATCH_HEADER = struct.Struct(">qi")      # base offset, batch length
LAST_OFFSET_DELTA = struct.Struct(">i")  # at byte 23 of the batch
MAX_TIMESTAMP = struct.Struct(">q")      # at byte 35 of the batch


def segment_for(partition_dir: Path, offset: int) -> int:
    """The base offset of the segment holding ``offset``: the largest base offset <= ``offset``."""
    bases = sorted(int(path.stem) for path in partition_dir.glob("*.log"))
    candidates = [base for base in bases if base <= offset]
    if not candidates:
        raise ValueError(f"offset {offset} is below the first segment ({bases[0] if bases else 'none'})")
    return candidates[-1]


def index_entries(data: bytes, entry: struct.Struct) -> list[tuple[int, int]]:
    """The entries of an index file, up to its zero-filled tail."""
    entries = []
    for start in range(0, len(data) - entry.size + 1, entry.size):
        fields = entry.unpack_from(data, start)
        relative = fields[0] if entry is INDEX_ENTRY else fields[1]
        if entries and relative == 0:
            break  # preallocated space
        if not entries and fields == (0, 0):
            break  # an empty index
        entries.append(fields)
    return entries


def offset_index_lookup(index_data: bytes, base_offset: int, offset: int) -> tuple[int, int]:
    """(offset, position) of the last index entry at or below ``offset``; (base, 0) if none."""
    found = (base_offset, 0)
    for relative, position in index_entries(index_data, INDEX_ENTRY):
        if base_offset + relative > offset:
            break
        found = (base_offset + relative, position)
    return found


def time_index_lookup(time_index_data: bytes, base_offset: int, timestamp_ms: int) -> int:
    """The offset to start scanning from for records with timestamp >= ``timestamp_ms``.

    The last entry whose timestamp is <= the target (Kafka's ``TimeIndex.lookup``):
    an entry (T, o) says the largest timestamp so far, T, was first reached in
    the batch that ends at offset o, so no earlier batch holds a timestamp >= T.
    Without one, the segment's base offset.
    """
    start = base_offset
    for entry_timestamp, relative in index_entries(time_index_data, TIME_INDEX_ENTRY):
        if entry_timestamp > timestamp_ms:
            break
        start = base_offset + relative
    return start


def batches(log_data: bytes, position: int = 0):
    """Yield (position, base_offset, last_offset, max_timestamp) of each batch from ``position``."""
    while position + BATCH_HEADER.size <= len(log_data):
        base_offset, batch_length = BATCH_HEADER.unpack_from(log_data, position)
        last_offset = base_offset + LAST_OFFSET_DELTA.unpack_from(log_data, position + 23)[0]
        max_timestamp = MAX_TIMESTAMP.unpack_from(log_data, position + 35)[0]
        yield position, base_offset, last_offset, max_timestamp
        position += BATCH_HEADER.size + batch_length


def find_offset(partition_dir: Path, offset: int) -> dict:
    """Where ``offset`` is: its segment, the index entry used, and its batch's position."""
    base = segment_for(partition_dir, offset)
    index_offset, index_position = offset_index_lookup(
        (partition_dir / f"{base:020d}.index").read_bytes(), base, offset)
    log_data = (partition_dir / f"{base:020d}.log").read_bytes()
    scanned = 0
    for position, base_offset, last_offset, _ in batches(log_data, index_position):
        scanned += 1
        if last_offset >= offset:
            return {"offset": offset, "segment": f"{base:020d}.log", "index_entry": [index_offset, index_position],
                    "batch_position": position, "batch_base_offset": base_offset, "batches_scanned": scanned}
    raise ValueError(f"offset {offset} is not in segment {base}")


def find_timestamp(partition_dir: Path, timestamp_ms: int) -> dict:
    """The first batch whose max timestamp is >= ``timestamp_ms``: it holds the
    first record with such a timestamp, the offset ListOffsets answers for that time."""
    for base in sorted(int(path.stem) for path in partition_dir.glob("*.log")):
        start = time_index_lookup((partition_dir / f"{base:020d}.timeindex").read_bytes(), base, timestamp_ms)
        index_offset, index_position = offset_index_lookup(
            (partition_dir / f"{base:020d}.index").read_bytes(), base, start)
        log_data = (partition_dir / f"{base:020d}.log").read_bytes()
        for position, base_offset, last_offset, max_timestamp in batches(log_data, index_position):
            if max_timestamp >= timestamp_ms:
                return {"timestamp": timestamp_ms, "segment": f"{base:020d}.log", "time_index_start": start,
                        "batch_position": position, "batch_base_offset": base_offset,
                        "batch_last_offset": last_offset}
    raise ValueError(f"no record has a timestamp >= {timestamp_ms}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--partition-dir", type=Path, required=True, help="<log.dirs>/<topic>-<partition>")
    parser.add_argument("--offset", type=int, required=True, help="the offset to find")
    parser.add_argument("--timestamp", type=int, required=True, help="a time in ms since the epoch")
    parser.add_argument("--out", type=Path, help="also write the answers here, as JSON")
    parser.add_argument("--bootstrap-server", help="unused: the files are read directly")
    args = parser.parse_args()
    answer = {"by_offset": find_offset(args.partition_dir, args.offset),
              "by_timestamp": find_timestamp(args.partition_dir, args.timestamp)}
    print(json.dumps(answer, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(answer, indent=2) + "\n")


if __name__ == "__main__":
    main()

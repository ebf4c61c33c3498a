"""``minikafka dump-log``: print a partition's files the way Kafka does.

The twin of Kafka's ``kafka-dump-log.sh --files ...`` (``DumpLogSegments``),
with the same output lines so the two can be compared side by side:

- ``<base_offset>.log``: one line per record batch (``baseOffset: 0
  lastOffset: 9 count: 10 ... crc: 123 isvalid: true``) and, with ``--deep``
  (Kafka's ``--print-data-log``), one ``| offset: ...`` line per record with
  its key and payload as UTF-8. A torn or corrupt tail -- what a crash
  leaves and what log recovery truncates -- is reported as Kafka does:
  ``Found N invalid bytes at the end of <file>``.
- ``<base_offset>.index``: ``offset: 10 position: 4096`` per entry (8-byte
  entries: relative offset int32, position int32).
- ``<base_offset>.timeindex``: ``timestamp: ... offset: ...`` per entry
  (12-byte entries: timestamp int64, relative offset int32).
- ``<base_offset>.txnindex``: one line per aborted transaction (34-byte
  entries: version int16, producer id, first, last and last stable offset).

Index files are preallocated and zero-filled: like Kafka, the dump stops at
the first entry after the first one whose relative offset is 0.

A summary line ends each file. Exit code: 0 when every batch and entry is
valid, 1 when something is invalid (a CRC mismatch, undecodable records,
trailing bytes), 2 when a file cannot be dumped at all (missing, a directory,
an unknown kind of file).

The log is read one batch at a time, so a 1 GiB segment needs no more memory
than its largest batch.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import struct
import sys
from typing import BinaryIO, Callable, TextIO

from minikafka_core import records as rec
from minikafka_core.compression import CODEC_NAMES

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_ERROR = 2

_OFFSET_INDEX_ENTRY = struct.Struct(">ii")
_TIME_INDEX_ENTRY = struct.Struct(">qi")
_TXN_INDEX_ENTRY = struct.Struct(">hqqqq")

# The header bytes needed to know a batch's size and magic (next_batch_size).
_SIZE_PROBE = rec.MAGIC_POS + 1


class DumpError(Exception):
    """A file cannot be dumped at all (reported on one line, exit code 2)."""


@dataclasses.dataclass
class LogSummary:
    """What one pass over a ``.log`` file found."""

    batches: int = 0
    records: int = 0
    invalid_batches: int = 0
    valid_bytes: int = 0
    stopped_early: bool = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``dump-log`` arguments on ``parser`` (a subparser)."""
    parser.add_argument("files", nargs="*", metavar="FILE", help=".log, .index, .timeindex or .txnindex files")
    parser.add_argument(
        "--files", dest="files_option", metavar="FILE[,FILE...]", help="comma-separated files (Kafka's spelling)"
    )
    parser.add_argument(
        "--deep", "--print-data-log", action="store_true", help="also print every record, key and payload"
    )
    parser.add_argument("--max-batches", type=int, metavar="N", help="stop after N batches of each .log file")


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Dump every file named in ``args``; return the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    paths = list(args.files) + (args.files_option.split(",") if args.files_option else [])
    if not paths:
        print("dump-log: no files given", file=err)
        return EXIT_ERROR
    exit_code = EXIT_OK
    for path in paths:
        try:
            valid = dump_file(path, out, deep=args.deep, max_batches=args.max_batches)
        except (DumpError, OSError) as exc:
            print(f"dump-log: {path}: {_describe(exc)}", file=err)
            exit_code = EXIT_ERROR
            continue
        if not valid:
            exit_code = max(exit_code, EXIT_INVALID)
    return exit_code


def main(argv: list[str] | argparse.Namespace | None = None) -> int:
    """Entry point: ``main(["00000000000000000000.log", "--deep"])``."""
    if isinstance(argv, argparse.Namespace):
        return run(argv)
    parser = argparse.ArgumentParser(prog="minikafka dump-log", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def dump_file(path: str, out: TextIO, *, deep: bool = False, max_batches: int | None = None) -> bool:
    """Print one file; return whether everything in it was valid.

    Raises:
        DumpError: Unknown kind of file, or an index without a base offset.
        OSError: The file cannot be opened.
    """
    dumper = _DUMPERS.get(os.path.splitext(path)[1])
    if dumper is None:
        raise DumpError("not a log file (expected .log, .index, .timeindex or .txnindex)")
    if os.path.isdir(path):
        raise DumpError("is a directory")
    with open(path, "rb") as f:
        print(f"Dumping {path}", file=out)
        if dumper is _dump_log:
            return _dump_log(path, f, out, deep, max_batches)
        return dumper(path, f, out)


def _describe(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def _base_offset(path: str) -> int | None:
    """The segment's base offset from its name (``00000000000000000042.log``)."""
    stem = os.path.basename(path).split(".")[0]
    return int(stem) if stem.isdigit() else None


# --- .log ----------------------------------------------------------------


def _dump_log(path: str, f: BinaryIO, out: TextIO, deep: bool, max_batches: int | None) -> bool:
    base_offset = _base_offset(path)
    if base_offset is not None:
        print(f"Log starting offset: {base_offset}", file=out)
    summary = LogSummary()
    corrupt_reason = None
    while True:
        if max_batches is not None and summary.batches >= max_batches:
            summary.stopped_early = True
            break
        try:
            raw = _read_next_batch(f)
        except ValueError as exc:
            corrupt_reason = f"no record batch at position {summary.valid_bytes}: {exc}"
            break
        if raw is None:
            break
        _dump_batch(raw, summary, out, deep)
    file_size = os.fstat(f.fileno()).st_size
    invalid_bytes = 0 if summary.stopped_early else file_size - summary.valid_bytes
    if invalid_bytes:
        print(f"Found {invalid_bytes} invalid bytes at the end of {os.path.basename(path)}", file=out)
        if corrupt_reason:
            print(f"  ({corrupt_reason})", file=out)
    print(_summary_line(summary, invalid_bytes), file=out)
    return summary.invalid_batches == 0 and invalid_bytes == 0


def _read_next_batch(f: BinaryIO) -> bytes | None:
    """Read the next whole batch, or ``None`` at a clean or torn end.

    Raises:
        ValueError: The next bytes cannot start a v2 batch.
    """
    start = f.tell()
    probe = f.read(_SIZE_PROBE)
    size = rec.next_batch_size(probe)
    if size is None:
        f.seek(start)
        return None
    rest = f.read(size - len(probe))
    if len(rest) < size - len(probe):
        f.seek(start)  # a torn batch: its bytes count as invalid
        return None
    return probe + rest


def _dump_batch(raw: bytes, summary: LogSummary, out: TextIO, deep: bool) -> None:
    batch = rec.parse_batch(raw, position=summary.valid_bytes, decode_records=False)
    summary.batches += 1
    summary.records += batch.record_count
    summary.valid_bytes += batch.size
    problem = None
    if deep and batch.crc_valid:  # records behind a bad CRC cannot be trusted
        try:
            batch.records = rec.decode_records_of(batch, memoryview(raw)[rec.HEADER_SIZE :])
        except ValueError as exc:
            problem = str(exc)
    valid = batch.crc_valid and problem is None
    print(format_batch(batch, valid), file=out)
    for record in batch.records or ():
        print(format_record(batch, record), file=out)
    if problem:
        print(f"| records not readable: {problem}", file=out)
    if not valid:
        summary.invalid_batches += 1


def format_batch(batch: rec.Batch, valid: bool | None = None) -> str:
    """One batch as Kafka's DumpLogSegments prints it."""
    horizon = batch.delete_horizon_ms
    delete_horizon = "OptionalLong.empty" if horizon is None else f"OptionalLong[{horizon}]"
    timestamp_type = rec.TIMESTAMP_TYPE_NAMES[batch.timestamp_type]
    codec = CODEC_NAMES.get(batch.compression, f"unknown({batch.compression})")
    return (
        f"baseOffset: {batch.base_offset} lastOffset: {batch.last_offset} count: {batch.record_count} "
        f"baseSequence: {batch.base_sequence} lastSequence: {batch.last_sequence} "
        f"producerId: {batch.producer_id} producerEpoch: {batch.producer_epoch} "
        f"partitionLeaderEpoch: {batch.partition_leader_epoch} "
        f"isTransactional: {_bool(batch.is_transactional)} isControl: {_bool(batch.is_control)} "
        f"deleteHorizonMs: {delete_horizon} position: {batch.position} "
        f"{timestamp_type}: {batch.max_timestamp} size: {batch.size} magic: {batch.magic} "
        f"compresscodec: {codec} crc: {batch.crc} isvalid: {_bool(batch.crc_valid if valid is None else valid)}"
    )


def format_record(batch: rec.Batch, record: rec.Record) -> str:
    """One record as Kafka's ``--print-data-log`` prints it."""
    offset_delta = record.offset - batch.base_offset
    sequence = rec.NO_SEQUENCE if batch.base_sequence < 0 else (batch.base_sequence + offset_delta) % 2**31
    header_keys = ",".join(key for key, _ in record.headers)
    line = (
        f"| offset: {record.offset} {rec.TIMESTAMP_TYPE_NAMES[batch.timestamp_type]}: {record.timestamp} "
        f"keySize: {_size(record.key)} valueSize: {_size(record.value)} "
        f"sequence: {sequence} headerKeys: [{header_keys}]"
    )
    if batch.is_control:
        return line + _format_control(record)
    if record.key is not None:
        line += f" key: {record.key.decode('utf-8', 'replace')}"
    if record.value is not None:
        line += f" payload: {record.value.decode('utf-8', 'replace')}"
    return line


def _format_control(record: rec.Record) -> str:
    try:
        control = rec.parse_control_record(record)
    except ValueError as exc:
        return f" controlType: invalid ({exc})"
    if control.coordinator_epoch is not None:
        kind = rec.ControlRecordType(control.type).name
        return f" endTxnMarker: {kind} coordinatorEpoch: {control.coordinator_epoch}"
    try:
        name = rec.ControlRecordType(control.type).name
    except ValueError:
        name = "UNKNOWN"
    return f" controlType: {name}({control.type})"


def _summary_line(summary: LogSummary, invalid_bytes: int) -> str:
    line = (
        f"Summary: {summary.batches} batches, {summary.records} records, "
        f"{summary.invalid_batches} invalid batches, {invalid_bytes} invalid bytes"
    )
    if summary.stopped_early:
        line += f" (stopped after {summary.batches} batches)"
    return line


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _size(value: bytes | None) -> int:
    return -1 if value is None else len(value)


# --- index files ---------------------------------------------------------


def _dump_entries(
    path: str, f: BinaryIO, out: TextIO, entry: struct.Struct, format_entry: Callable[[int, tuple], str | None]
) -> bool:
    """Print fixed-size entries until ``format_entry`` returns ``None``."""
    base_offset = _base_offset(path)
    if base_offset is None:
        raise DumpError("cannot tell the base offset: the file name is not <offset>.<suffix>")
    data = f.read()
    count = len(data) // entry.size
    printed = 0
    for i in range(count):
        line = format_entry(base_offset, (i,) + entry.unpack_from(data, i * entry.size))
        if line is None:
            break
        print(line, file=out)
        printed += 1
    leftover = len(data) % entry.size
    if leftover:
        print(f"Found {leftover} invalid bytes at the end of {os.path.basename(path)}", file=out)
    print(f"Summary: {printed} entries, {leftover} invalid bytes", file=out)
    return leftover == 0


def _format_offset_entry(base_offset: int, fields: tuple) -> str | None:
    i, relative_offset, position = fields
    if relative_offset == 0 and i > 0:  # the zero-filled, preallocated part
        return None
    return f"offset: {base_offset + relative_offset} position: {position}"


def _format_time_entry(base_offset: int, fields: tuple) -> str | None:
    i, timestamp, relative_offset = fields
    if relative_offset == 0 and i > 0:
        return None
    return f"timestamp: {timestamp} offset: {base_offset + relative_offset}"


def _format_txn_entry(base_offset: int, fields: tuple) -> str | None:
    _, version, producer_id, first_offset, last_offset, last_stable_offset = fields
    return (
        f"version: {version} producerId: {producer_id} firstOffset: {first_offset} "
        f"lastOffset: {last_offset} lastStableOffset: {last_stable_offset}"
    )


def _dump_offset_index(path: str, f: BinaryIO, out: TextIO) -> bool:
    return _dump_entries(path, f, out, _OFFSET_INDEX_ENTRY, _format_offset_entry)


def _dump_time_index(path: str, f: BinaryIO, out: TextIO) -> bool:
    return _dump_entries(path, f, out, _TIME_INDEX_ENTRY, _format_time_entry)


def _dump_txn_index(path: str, f: BinaryIO, out: TextIO) -> bool:
    return _dump_entries(path, f, out, _TXN_INDEX_ENTRY, _format_txn_entry)


_DUMPERS = {
    ".log": _dump_log,
    ".index": _dump_offset_index,
    ".timeindex": _dump_time_index,
    ".txnindex": _dump_txn_index,
}


if __name__ == "__main__":
    sys.exit(main())

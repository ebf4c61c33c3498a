"""``minikafka dump-log`` on crafted segment and index files."""

import argparse
import struct

import pytest

from minikafka.cli import dump_log
from minikafka.protocol.records import ControlRecordType, Record, build_batch, build_control_batch

T0 = 1_700_000_000_000


def _segment(tmp_path, tail=b"", name="00000000000000000000.log"):
    first = build_batch(
        [Record(i, T0 + i, b"abc", b"hello", [("h1", b"x")] if i == 0 else []) for i in range(10)],
        producer_id=1000, producer_epoch=0, base_sequence=0, partition_leader_epoch=0,
    )
    second = build_batch([Record(10, T0 + 100, None, b"zipped")], base_offset=10, compression=1)
    marker = build_control_batch(ControlRecordType.COMMIT, producer_id=1000, producer_epoch=0,
                                 timestamp=T0 + 200, base_offset=11)
    path = tmp_path / name
    path.write_bytes(first + second + marker + tail)
    return path, [first, second, marker]


def _run(capsys, *argv):
    code = dump_log.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_valid_segment_prints_kafka_style_batch_lines(tmp_path, capsys):
    path, batches = _segment(tmp_path)
    code, lines, err = _run(capsys, str(path))
    assert code == 0 and err == ""
    assert lines[0] == f"Dumping {path}"
    assert lines[1] == "Log starting offset: 0"
    assert lines[2].startswith(
        "baseOffset: 0 lastOffset: 9 count: 10 baseSequence: 0 lastSequence: 9 producerId: 1000 "
        "producerEpoch: 0 partitionLeaderEpoch: 0 isTransactional: false isControl: false "
        "deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: 1700000000009 "
        f"size: {len(batches[0])} magic: 2 compresscodec: none crc: "
    )
    assert lines[2].endswith(" isvalid: true")
    assert f"position: {len(batches[0])} " in lines[3] and "compresscodec: gzip" in lines[3]
    assert "isTransactional: true isControl: true" in lines[4]
    assert lines[-1] == "Summary: 3 batches, 12 records, 0 invalid batches, 0 invalid bytes"


def test_deep_prints_records_and_markers(tmp_path, capsys):
    path, _ = _segment(tmp_path)
    code, lines, _ = _run(capsys, str(path), "--deep")
    assert code == 0
    assert lines[3] == (
        "| offset: 0 CreateTime: 1700000000000 keySize: 3 valueSize: 5 sequence: 0 "
        "headerKeys: [h1] key: abc payload: hello"
    )
    assert "| offset: 10 CreateTime: 1700000000100 keySize: -1 valueSize: 6 sequence: -1 " \
           "headerKeys: [] payload: zipped" in lines
    assert lines[-2] == (
        "| offset: 11 CreateTime: 1700000000200 keySize: 4 valueSize: 6 sequence: -1 "
        "headerKeys: [] endTxnMarker: COMMIT coordinatorEpoch: 0"
    )


def test_torn_tail_is_reported_and_exit_code_is_1(tmp_path, capsys):
    path, batches = _segment(tmp_path, tail=build_batch([Record(12, T0, b"k", b"v")])[:30])
    code, lines, _ = _run(capsys, str(path))
    assert code == 1
    assert "Found 30 invalid bytes at the end of 00000000000000000000.log" in lines
    assert lines[-1] == "Summary: 3 batches, 12 records, 0 invalid batches, 30 invalid bytes"


def test_garbage_tail_is_reported(tmp_path, capsys):
    path, _ = _segment(tmp_path, tail=b"\x00" * 40)
    code, lines, _ = _run(capsys, str(path))
    assert code == 1
    assert "Found 40 invalid bytes at the end of 00000000000000000000.log" in lines


def test_crc_mismatch_marks_batch_invalid(tmp_path, capsys):
    path, batches = _segment(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(batches[0]) - 1] ^= 0x01  # last byte of the first batch
    path.write_bytes(bytes(data))
    code, lines, _ = _run(capsys, str(path), "--deep")
    assert code == 1
    assert lines[2].endswith("isvalid: false")
    assert lines[-1] == "Summary: 3 batches, 12 records, 1 invalid batches, 0 invalid bytes"


def test_max_batches_stops_early(tmp_path, capsys):
    path, _ = _segment(tmp_path, tail=b"junk")
    code, lines, _ = _run(capsys, str(path), "--max-batches", "1")
    assert code == 0
    assert sum(line.startswith("baseOffset") for line in lines) == 1
    assert lines[-1].endswith("(stopped after 1 batches)")


def test_index_and_time_index_files(tmp_path, capsys):
    index = tmp_path / "00000000000000000100.index"
    index.write_bytes(struct.pack(">ii", 0, 0) + struct.pack(">ii", 10, 4096) + b"\x00" * 16)
    time_index = tmp_path / "00000000000000000100.timeindex"
    time_index.write_bytes(struct.pack(">qi", T0, 10) + b"\x00" * 24)
    code, lines, _ = _run(capsys, "--files", f"{index},{time_index}")
    assert code == 0
    assert lines == [
        f"Dumping {index}",
        "offset: 100 position: 0",
        "offset: 110 position: 4096",
        "Summary: 2 entries, 0 invalid bytes",
        f"Dumping {time_index}",
        f"timestamp: {T0} offset: 110",
        "Summary: 1 entries, 0 invalid bytes",
    ]


def test_txn_index(tmp_path, capsys):
    path = tmp_path / "00000000000000000000.txnindex"
    path.write_bytes(struct.pack(">hqqqq", 0, 42, 5, 9, 12))
    code, lines, _ = _run(capsys, str(path))
    assert code == 0
    assert lines[1] == "version: 0 producerId: 42 firstOffset: 5 lastOffset: 9 lastStableOffset: 12"


@pytest.mark.parametrize("name, message", [("missing.log", "no such file"), ("notes.txt", "not a log file")])
def test_unusable_files_are_one_line_errors_with_exit_2(tmp_path, capsys, name, message):
    if name.endswith(".txt"):
        (tmp_path / name).write_text("hello")
    code, lines, err = _run(capsys, str(tmp_path / name))
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_directory_is_an_error(tmp_path, capsys):
    folder = tmp_path / "00000000000000000000.log"
    folder.mkdir()
    code, _, err = _run(capsys, str(folder))
    assert code == 2 and "directory" in err


def test_subparser_registration(tmp_path, capsys):
    path, _ = _segment(tmp_path)
    parser = argparse.ArgumentParser(prog="minikafka")
    commands = parser.add_subparsers(dest="command")
    dump_log.add_arguments(commands.add_parser("dump-log"))
    args = parser.parse_args(["dump-log", str(path), "--deep", "--max-batches", "2"])
    assert dump_log.run(args) == 0
    assert "Summary: 2 batches" in capsys.readouterr().out

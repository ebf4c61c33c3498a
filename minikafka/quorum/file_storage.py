"""FileStorage: the quorum's durable state in Kafka's on-disk layout.

One directory, ``<metadata.log.dir or the first log dir>/__cluster_metadata-0/``,
holds what Kafka's KRaft keeps there::

    quorum-state                                  the hard state, JSON
    00000000000000000000.log / .index / ...       the Raft log, record batches
    00000000000000000123-0000000004.checkpoint    a snapshot: end offset, epoch

- **quorum-state** is Kafka's ``QuorumStateData`` (v1) written as JSON, as
  Kafka's ``FileQuorumStateStore`` does: ``{"leaderId": 2, "leaderEpoch": 5,
  "votedId": -1, "votedDirectoryId": "AAAAAAAAAAAAAAAAAAAAAA", "data_version": 1}``
  (-1: none). It is replaced with :func:`minikafka.fileutil.atomic_write`.
- **The log** is an ordinary :class:`minikafka.storage.log.Log`: the segments,
  indexes and recovery of every other partition. Each Raft entry is one
  record batch (see :mod:`minikafka.quorum.wire`) whose
  ``partition_leader_epoch`` is the entry's epoch. Appends are fsynced before
  :meth:`append` returns: a voter acknowledges entries by fetching past them,
  so they must survive a power cut (the page cache is not enough here, unlike
  for ordinary partitions).
- **A snapshot** ``<end_offset:020d>-<epoch:010d>.checkpoint`` (Kafka's name)
  holds three record batches, as Kafka's snapshots do: a control batch with
  the SnapshotHeaderRecord (type 3), one batch whose record value is the
  application's snapshot, and a control batch with the SnapshotFooterRecord
  (type 4). It is written atomically; older snapshots are deleted after the
  new one is durable.
- **leader-epoch-checkpoint** lists where each epoch starts, as for any
  partition; it is derived from the log (rewritten when an epoch starts, on
  truncation and on snapshots) and never read back: :meth:`load` rebuilds it.

Crash safety (``kill -9`` at any instant):

- a torn tail of the active segment is cut off by the Log's recovery at open;
  the entries lost were never fsynced, so never acknowledged;
- ``*.tmp`` files are half-written atomic writes and are ignored/removed;
- the log may still hold entries below the latest snapshot (the snapshot was
  written, the old segments not yet deleted): :meth:`load` skips them; if the
  log ends before the snapshot does (a follower installed the leader's
  snapshot), it is restarted, empty, at the snapshot's end offset.

Owned by one QuorumRuntime; not task-safe (all synchronous).
"""

from __future__ import annotations

import json
import os
import re
import struct
import time

from minikafka.config import uuid_to_str
from minikafka.fileutil import atomic_write
from minikafka.storage.checkpoints import LEADER_EPOCH_CHECKPOINT, write_leader_epoch_checkpoint
from minikafka.storage.config import LogConfig
from minikafka.storage.log import Log
from minikafka.protocol.metadata_topic import METADATA_PARTITION, METADATA_TOPIC
from minikafka_core.records import ControlRecordType, Record, build_batch, read_batches
from minikafka.quorum.log import Entry, Snapshot, SnapshotId
from minikafka.quorum.ready import HardState
from minikafka.quorum.storage import PersistedState, RaftStorage
from minikafka.quorum.wire import entry_to_batch, records_to_entries
from minikafka_core.batch import validate_batches

QUORUM_STATE_FILE = "quorum-state"
QUORUM_STATE_VERSION = 1
CHECKPOINT_SUFFIX = ".checkpoint"
_CHECKPOINT_NAME = re.compile(r"^(\d{20})-(\d{10})\.checkpoint$")
_CONTROL_KEY = struct.Struct(">hh")
_SEGMENT_SUFFIXES = (".log", ".index", ".timeindex", ".txnindex")
# SnapshotHeaderRecord v0 (version int16, last_contained_log_timestamp int64)
# and SnapshotFooterRecord v0 (version int16), flexible: an empty tagged-field
# section (one 0 byte) ends each.
_SNAPSHOT_HEADER = struct.Struct(">hqB")
_SNAPSHOT_FOOTER = struct.Struct(">hB")
# Kafka's metadata.log.segment.bytes default is 1 GiB as for other topics;
# the metadata log is small, so the Log's defaults serve.
_METADATA_LOG_CONFIG = LogConfig(retention_ms=-1, max_message_bytes=2**31 - 1)


class CorruptStateError(RuntimeError):
    """A quorum file that atomic writes cannot have produced: refuse to start."""


def metadata_log_dir(data_dir: str) -> str:
    """The metadata partition's directory under a log dir (``metadata.log.dir``)."""
    return os.path.join(data_dir, f"{METADATA_TOPIC}-{METADATA_PARTITION}")


def snapshot_file_name(snapshot_id: SnapshotId) -> str:
    """Kafka's snapshot name: ``<end offset, 20 digits>-<epoch, 10 digits>.checkpoint``."""
    return f"{snapshot_id.end_offset:020d}-{snapshot_id.epoch:010d}{CHECKPOINT_SUFFIX}"


class FileStorage(RaftStorage):
    """The durable metadata log of one node, in ``dir``.

    Args:
        dir: the ``__cluster_metadata-0`` directory (created if missing); see
            :func:`metadata_log_dir`.
        now_ms: the wall clock (segment creation times); defaults to time.time().
    """

    def __init__(self, dir: str, now_ms=None):
        self.dir = dir
        self._now_ms = now_ms or (lambda: int(time.time() * 1000))
        os.makedirs(dir, exist_ok=True)
        self._remove_temporary_files()
        self.snapshot_id: SnapshotId | None = None
        self.log = Log(dir, _METADATA_LOG_CONFIG, self._now_ms())
        self._epochs: list[tuple[int, int]] = []  # (epoch, start_offset), as the checkpoint

    def _remove_temporary_files(self) -> None:
        # A crash in the middle of atomic_write leaves a ``.tmp`` beside the
        # file it was replacing; the old file is intact. (The Log removes
        # stray ``.tmp`` files too; doing it here says why they may exist.)
        for name in os.listdir(self.dir):
            if name.endswith(".tmp"):
                os.unlink(os.path.join(self.dir, name))

    # --- loading ------------------------------------------------------------------

    def load(self) -> PersistedState:
        hard_state = self._load_hard_state()
        snapshot = self._load_latest_snapshot()
        start = snapshot.snapshot_id.end_offset if snapshot else 0
        self.snapshot_id = snapshot.snapshot_id if snapshot else None
        if self.log.log_start_offset > start:
            raise CorruptStateError(f"{self.dir}: the log starts at {self.log.log_start_offset}, "
                                    f"after the latest snapshot's end {start}")
        if self.log.log_end_offset < start:
            # A follower installed the leader's snapshot and crashed before
            # the log was restarted after it: the snapshot alone is the state.
            self._restart_log_at(start)
        entries = tuple(e for e in self._read_entries(start) if e.offset >= start)
        self._epochs = [(snapshot.snapshot_id.epoch, start)] if snapshot else []
        self._note_epochs(entries)
        self._write_epochs()
        return PersistedState(hard_state, snapshot, entries)

    def _load_hard_state(self) -> HardState:
        path = os.path.join(self.dir, QUORUM_STATE_FILE)
        if not os.path.exists(path):
            return HardState()
        try:
            with open(path, "rb") as f:
                data = json.loads(f.read())
            leader_id, voted_id = data["leaderId"], data["votedId"]
            return HardState(epoch=max(0, data["leaderEpoch"]),
                             voted_id=None if voted_id < 0 else voted_id,
                             leader_id=None if leader_id < 0 else leader_id)
        except (ValueError, KeyError, TypeError) as exc:
            raise CorruptStateError(f"{path} is not a valid quorum state: {exc}") from None

    def _snapshot_ids(self) -> list[SnapshotId]:
        ids = []
        for name in os.listdir(self.dir):
            match = _CHECKPOINT_NAME.match(name)
            if match:
                ids.append(SnapshotId(int(match.group(1)), int(match.group(2))))
        return sorted(ids)

    def _load_latest_snapshot(self) -> Snapshot | None:
        ids = self._snapshot_ids()
        if not ids:
            return None
        snapshot_id = ids[-1]
        with open(os.path.join(self.dir, snapshot_file_name(snapshot_id)), "rb") as f:
            data = _decode_snapshot_file(f.read(), snapshot_id)
        return Snapshot(snapshot_id, data)

    def _read_entries(self, start: int):
        log = self.log
        offset = max(start, log.log_start_offset)
        while offset < log.log_end_offset:
            chunk = log.read(offset, 1024 * 1024)
            entries = records_to_entries(chunk)
            if not entries:
                raise CorruptStateError(f"no entry readable at offset {offset} in {self.dir}")
            yield from entries
            offset = entries[-1].offset + 1

    def _restart_log_at(self, offset: int) -> None:
        """Delete every segment; the log continues, empty, at ``offset``.

        Only segment files go (``Log.delete_files`` would also remove the
        quorum state and the snapshots that share the directory); reopening
        with ``log_start_offset`` past the end is the Log's own way to start
        over at an offset.
        """
        self.log.close()
        for name in os.listdir(self.dir):
            if name.endswith(_SEGMENT_SUFFIXES):
                os.unlink(os.path.join(self.dir, name))
        self.log = Log(self.dir, _METADATA_LOG_CONFIG, self._now_ms(), log_start_offset=offset)

    # --- the four primitives -------------------------------------------------------

    def truncate_to(self, offset: int) -> None:
        if offset < self.log.log_end_offset:
            self.log.truncate_to(offset)
            self.log.flush()
            self._epochs = [(e, o) for e, o in self._epochs if o < offset]
            self._write_epochs()

    def append(self, entries: tuple[Entry, ...]) -> None:
        log = self.log
        if entries[0].offset != log.log_end_offset:
            raise ValueError(f"append at {entries[0].offset}, the log ends at {log.log_end_offset}")
        # The Log stamps its ``leader_epoch`` into every batch it appends, so
        # entries go in runs of one epoch.
        run: list[Entry] = []
        for entry in entries:
            if run and entry.epoch != run[0].epoch:
                self._append_run(run)
                run = []
            run.append(entry)
        self._append_run(run)
        log.flush()
        self._note_epochs(entries)

    def _append_run(self, run: list[Entry]) -> None:
        records = b"".join(entry_to_batch(entry) for entry in run)
        batches = validate_batches(records, _METADATA_LOG_CONFIG.max_message_bytes,
                                   from_client=False)
        self.log.leader_epoch = run[0].epoch
        self.log.append(records, batches, self._now_ms())

    def save_snapshot(self, snapshot: Snapshot) -> None:
        if self.snapshot_id is not None and snapshot.snapshot_id <= self.snapshot_id:
            return  # the restart Ready hands back the snapshot we loaded
        atomic_write(os.path.join(self.dir, snapshot_file_name(snapshot.snapshot_id)),
                     _encode_snapshot_file(snapshot, self._now_ms()))
        self.snapshot_id = snapshot.snapshot_id
        end = snapshot.snapshot_id.end_offset
        if self.log.log_end_offset < end:
            self._restart_log_at(end)
        else:
            self.log.delete_records_before(end)
        for old in self._snapshot_ids():
            if old < snapshot.snapshot_id:
                os.unlink(os.path.join(self.dir, snapshot_file_name(old)))
        # Kafka's truncateFromStart: the epoch covering ``end`` now starts there.
        covering = [e for e, o in self._epochs if o <= end] or [snapshot.snapshot_id.epoch]
        self._epochs = [(covering[-1], end)] + [(e, o) for e, o in self._epochs if o > end]
        self._write_epochs()

    def _note_epochs(self, entries) -> None:
        """Record the start of every new epoch among ``entries``."""
        before = len(self._epochs)
        for entry in entries:
            if not self._epochs or entry.epoch != self._epochs[-1][0]:
                self._epochs.append((entry.epoch, entry.offset))
        if len(self._epochs) != before:
            self._write_epochs()

    def _write_epochs(self) -> None:
        write_leader_epoch_checkpoint(os.path.join(self.dir, LEADER_EPOCH_CHECKPOINT), self._epochs)

    def save_hard_state(self, hard_state: HardState) -> None:
        data = {
            "leaderId": -1 if hard_state.leader_id is None else hard_state.leader_id,
            "leaderEpoch": hard_state.epoch,
            "votedId": -1 if hard_state.voted_id is None else hard_state.voted_id,
            "votedDirectoryId": uuid_to_str(bytes(16)),
            "data_version": QUORUM_STATE_VERSION,
        }
        atomic_write(os.path.join(self.dir, QUORUM_STATE_FILE), json.dumps(data).encode())

    def close(self) -> None:
        self.log.close()


# --- the snapshot file ------------------------------------------------------------------


def _control_batch(offset: int, epoch: int, control_type: ControlRecordType, value: bytes,
                   timestamp: int) -> bytes:
    record = Record(offset, timestamp, _CONTROL_KEY.pack(0, control_type), value)
    return build_batch([record], base_offset=offset, partition_leader_epoch=epoch, is_control=True)


def _encode_snapshot_file(snapshot: Snapshot, now_ms: int) -> bytes:
    """Header control batch, one data batch, footer control batch (Kafka's layout)."""
    end, epoch = snapshot.snapshot_id.end_offset, snapshot.snapshot_id.epoch
    header = _control_batch(end, epoch, ControlRecordType.SNAPSHOT_HEADER,
                            _SNAPSHOT_HEADER.pack(0, now_ms, 0), now_ms)
    data = entry_to_batch(Entry(end, epoch, snapshot.data))
    footer = _control_batch(end, epoch, ControlRecordType.SNAPSHOT_FOOTER,
                            _SNAPSHOT_FOOTER.pack(0, 0), now_ms)
    return header + data + footer


def _decode_snapshot_file(raw: bytes, snapshot_id: SnapshotId) -> bytes:
    name = snapshot_file_name(snapshot_id)
    try:
        batches = list(read_batches(raw))
    except ValueError as exc:
        raise CorruptStateError(f"snapshot {name}: {exc}") from None
    if len(batches) != 3 or not all(b.crc_valid for b in batches):
        raise CorruptStateError(f"snapshot {name} is not header, data, footer with valid CRCs")
    header, data, footer = batches
    if not (header.is_control and footer.is_control and not data.is_control):
        raise CorruptStateError(f"snapshot {name} lacks its header or footer")
    return data.records[0].value or b""

"""Kafka's small text files beside the logs, byte for byte.

- ``<log dir>/recovery-point-offset-checkpoint`` and
  ``<log dir>/log-start-offset-checkpoint`` (Kafka's ``OffsetCheckpointFile``)::

      0                  <- version
      2                  <- number of entries
      orders 0 1234      <- topic, partition, offset
      orders 1 1200

- ``<partition dir>/leader-epoch-checkpoint`` (``LeaderEpochCheckpointFile``):
  version 0, count, then ``epoch start_offset`` lines.
- ``<partition dir>/partition.metadata`` (``PartitionMetadataFile``)::

      version: 0
      topic_id: <the topic id, base64url without padding>

Every file is replaced atomically: written to ``<name>.tmp``, fsynced,
renamed over the old one (Kafka does the same), so a crash leaves either the
old or the new version.
"""

from __future__ import annotations

import base64
import uuid

from minikafka.fileutil import atomic_write

RECOVERY_POINT_CHECKPOINT = "recovery-point-offset-checkpoint"
LOG_START_OFFSET_CHECKPOINT = "log-start-offset-checkpoint"
LEADER_EPOCH_CHECKPOINT = "leader-epoch-checkpoint"
REPLICATION_OFFSET_CHECKPOINT = "replication-offset-checkpoint"  # each partition's high watermark
PARTITION_METADATA = "partition.metadata"


def write_atomically(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` so readers see the old or the new file."""
    atomic_write(path, text.encode())


def write_offset_checkpoint(path: str, offsets: dict[tuple[str, int], int]) -> None:
    """Write ``{(topic, partition): offset}`` in Kafka's checkpoint format."""
    lines = ["0", str(len(offsets))]
    lines += [f"{topic} {partition} {offset}" for (topic, partition), offset in sorted(offsets.items())]
    write_atomically(path, "\n".join(lines) + "\n")


def read_offset_checkpoint(path: str) -> dict[tuple[str, int], int]:
    """Read a checkpoint written by Kafka or by ``write_offset_checkpoint``.

    A missing file reads as empty; a malformed one raises ``ValueError``.
    """
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return {}
    if len(lines) < 2 or lines[0].strip() != "0":
        raise ValueError(f"{path}: unknown checkpoint version or truncated header")
    count = int(lines[1])
    entries = {}
    for line in lines[2:2 + count]:
        topic, partition, offset = line.split()
        entries[(topic, int(partition))] = int(offset)
    if len(entries) != count:
        raise ValueError(f"{path}: expected {count} entries, found {len(entries)}")
    return entries


def write_leader_epoch_checkpoint(path: str, entries: list[tuple[int, int]]) -> None:
    """Write ``[(leader_epoch, start_offset), ...]`` in Kafka's format."""
    lines = ["0", str(len(entries))] + [f"{epoch} {offset}" for epoch, offset in entries]
    write_atomically(path, "\n".join(lines) + "\n")


def read_leader_epoch_checkpoint(path: str) -> list[tuple[int, int]]:
    """Read a leader-epoch-checkpoint; a missing file reads as no entries."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    count = int(lines[1])
    return [tuple(int(x) for x in line.split()) for line in lines[2:2 + count]]


def topic_id_to_string(topic_id) -> str:
    """Kafka's ``Uuid.toString()``: base64url of the 16 bytes, no padding."""
    if isinstance(topic_id, str):
        return topic_id
    raw = topic_id.bytes if isinstance(topic_id, uuid.UUID) else bytes(topic_id)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def write_partition_metadata(path: str, topic_id) -> None:
    """Write ``partition.metadata`` for a topic id (uuid.UUID, 16 bytes or string)."""
    write_atomically(path, f"version: 0\ntopic_id: {topic_id_to_string(topic_id)}\n")


def read_partition_metadata(path: str) -> uuid.UUID | None:
    """The topic id in ``partition.metadata``, or None if the file is missing."""
    try:
        with open(path, encoding="utf-8") as f:
            fields = dict(line.split(": ", 1) for line in f.read().splitlines() if ": " in line)
    except FileNotFoundError:
        return None
    text = fields["topic_id"].strip()
    return uuid.UUID(bytes=base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))

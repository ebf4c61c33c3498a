"""LogManager: every partition log of a broker, across its ``log.dirs``.

Layout of each log dir (Kafka's)::

    <log dir>/
      recovery-point-offset-checkpoint    offsets below which data was fsynced
      log-start-offset-checkpoint         each partition's log start offset
      cleaner-offset-checkpoint           where each compacted log's dirty part starts
      orders-0/                           one directory per partition (a Log)
        00000000000000000000.log  .index  .timeindex
        leader-epoch-checkpoint
        partition.metadata

``load()`` opens every partition directory at start-up, handing each Log the
recovery point and log start offset from the checkpoints, so that only
segments written after the last fsync are re-scanned. A Log calls back when
either value changes and the manager rewrites its dir's two checkpoint
files (small, rare: at roll, flush, retention, DeleteRecords, close).
``create`` places a new partition in the log dir holding the fewest.

Owned by the Broker; not task-safe (synchronous, like Log).
"""

from __future__ import annotations

import os
import shutil

from minikafka.errors import ErrorCode, KafkaError
from minikafka.storage.checkpoints import (LOG_START_OFFSET_CHECKPOINT, PARTITION_METADATA,
                                       RECOVERY_POINT_CHECKPOINT, read_offset_checkpoint,
                                       write_offset_checkpoint, write_partition_metadata)
from minikafka.storage.cleaner import (CLEANER_OFFSET_CHECKPOINT, read_cleaner_checkpoint,
                                   write_cleaner_checkpoint)
from minikafka.storage.config import LogConfig
from minikafka.storage.log import Log, parse_partition_dir


class LogManager:
    """The logs of one broker.

    Args:
        log_dirs: the broker's log.dirs (a list of paths, or one path).
    """

    def __init__(self, log_dirs):
        self.log_dirs = [log_dirs] if isinstance(log_dirs, str) else list(log_dirs)
        self.logs: dict[tuple[str, int], Log] = {}
        self._dir_of: dict[tuple[str, int], str] = {}
        for log_dir in self.log_dirs:
            os.makedirs(log_dir, exist_ok=True)

    def load(self, config_for=None, now_ms: int = 0) -> dict[tuple[str, int], Log]:
        """Open (and recover) every partition found in the log dirs.

        Args:
            config_for: ``config_for(topic) -> LogConfig``; defaults to Kafka's.
            now_ms: the wall clock.
        """
        for log_dir in self.log_dirs:
            recovery_points = read_offset_checkpoint(os.path.join(log_dir, RECOVERY_POINT_CHECKPOINT))
            start_offsets = read_offset_checkpoint(os.path.join(log_dir, LOG_START_OFFSET_CHECKPOINT))
            clean_offsets = read_cleaner_checkpoint(log_dir)
            for name in sorted(os.listdir(log_dir)):
                path = os.path.join(log_dir, name)
                if not os.path.isdir(path) or not _is_partition_dir(name):
                    continue
                key = parse_partition_dir(path)
                config = config_for(key[0]) if config_for else LogConfig()
                self._open(key, log_dir, config, now_ms, recovery_points.get(key, 0),
                           start_offsets.get(key, 0), clean_offsets.get(key, 0))
            self.checkpoint(log_dir)
        return dict(self.logs)

    def _open(self, key, log_dir, config, now_ms, recovery_point=0, log_start_offset=0,
              last_clean_offset=0) -> Log:
        topic, partition = key
        log = Log(os.path.join(log_dir, f"{topic}-{partition}"), config, now_ms,
                  recovery_point=recovery_point, log_start_offset=log_start_offset,
                  on_checkpoint_change=lambda: self.checkpoint(log_dir),
                  last_clean_offset=last_clean_offset)
        self.logs[key] = log
        self._dir_of[key] = log_dir
        return log

    def create(self, topic: str, partition: int, topic_id, config: LogConfig, now_ms: int) -> Log:
        """Create (or open, if it exists) the log of a new partition."""
        key = (topic, partition)
        if key in self.logs:
            return self.logs[key]
        log_dir = min(self.log_dirs, key=lambda d: sum(1 for k in self._dir_of.values() if k == d))
        log = self._open(key, log_dir, config, now_ms)
        write_partition_metadata(os.path.join(log.dir, PARTITION_METADATA), topic_id)
        self.checkpoint(log_dir)
        return log

    def get(self, topic: str, partition: int) -> Log:
        try:
            return self.logs[(topic, partition)]
        except KeyError:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"{topic}-{partition}") from None

    def delete(self, topic: str, partition: int) -> None:
        """Close and remove a partition's directory at once (topic deletion)."""
        key = (topic, partition)
        log = self.logs.pop(key, None)
        log_dir = self._dir_of.pop(key, None)
        if log is None:
            return
        log.close()
        shutil.rmtree(log.dir, ignore_errors=True)
        self.checkpoint(log_dir)

    def log_dir_of(self, topic: str, partition: int) -> str:
        """The log dir (one of log.dirs) holding a partition."""
        try:
            return self._dir_of[(topic, partition)]
        except KeyError:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"{topic}-{partition}") from None

    def checkpoint(self, log_dir: str) -> None:
        """Rewrite ``log_dir``'s recovery-point and log-start-offset checkpoints
        (and the cleaner's, once some log in it was cleaned)."""
        logs = {key: log for key, log in self.logs.items() if self._dir_of[key] == log_dir}
        write_offset_checkpoint(os.path.join(log_dir, RECOVERY_POINT_CHECKPOINT),
                                {key: log.recovery_point for key, log in logs.items()})
        write_offset_checkpoint(os.path.join(log_dir, LOG_START_OFFSET_CHECKPOINT),
                                {key: log.log_start_offset for key, log in logs.items()})
        cleaned = {key: log.last_clean_offset for key, log in logs.items() if log.last_clean_offset > 0}
        if cleaned or os.path.exists(os.path.join(log_dir, CLEANER_OFFSET_CHECKPOINT)):
            write_cleaner_checkpoint(log_dir, cleaned)

    def maintenance(self, now_ms: int) -> None:
        """Roll, retention and flush-by-time for every log (the broker's timer calls it)."""
        for log in list(self.logs.values()):
            log.maintenance(now_ms)

    def close(self) -> None:
        """Clean shutdown: close every log, then write the checkpoints once."""
        for log in self.logs.values():
            log.on_checkpoint_change = None  # one write per dir below, not one per log
            log.close()
        for log_dir in self.log_dirs:
            self.checkpoint(log_dir)


METADATA_LOG_DIR_NAME = "__cluster_metadata-0"


def _is_partition_dir(name: str) -> bool:
    """``orders-0`` yes; ``orders-0.abc-delete`` / ``-stray`` (Kafka's leftovers) no.

    ``__cluster_metadata-0`` neither: the Raft quorum's storage owns it (as
    Kafka's RaftManager, not its LogManager, does).
    """
    if name == METADATA_LOG_DIR_NAME:
        return False
    topic, _, partition = name.rpartition("-")
    return bool(topic) and partition.isdigit()

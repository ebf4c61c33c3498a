"""The leader's rules for a follower's Fetch and for OffsetForLeaderEpoch.

A follower's Fetch (``replica_id`` or, from v15, ``replica_state.replica_id``
set to its broker id) carries, per partition:

- ``current_leader_epoch``: the leader epoch the follower believes in. The
  leader compares it with its own (Kafka's ``checkCurrentLeaderEpoch``): an
  older one is FENCED_LEADER_EPOCH (the follower must refresh its metadata),
  a newer one UNKNOWN_LEADER_EPOCH (this broker has not heard of the new epoch
  yet, try again); -1 means "not given" and skips the check.
- ``fetch_offset``: the follower's log end offset.
- ``last_fetched_epoch`` (Fetch v12+): the epoch of the follower's last
  record. Before reading, the leader looks it up in its own epoch cache
  (``end_offset_for``). If the leader's log has no such epoch, or that epoch
  ends before ``fetch_offset``, the two logs part before ``fetch_offset``:
  the answer has no records but a ``diverging_epoch = (epoch, end_offset)``,
  and the follower truncates (``follower_state``). This is KIP-595's idea
  applied to partitions (Kafka 2.7+, KAFKA-10554), replacing the separate
  OffsetForLeaderEpoch round trip of KIP-101/KIP-279.

Only a fetch *without* a diverging epoch moves the follower's position
(``LeaderState.update_follower_fetch_state``): an unchecked ``fetch_offset``
could lie past the point where the logs part, and must not count towards
the high watermark.

Pure functions: they read the epoch cache and offsets they are given and
raise ``KafkaError`` with the partition's error code.
"""

from __future__ import annotations

import dataclasses

from minikafka.errors import ErrorCode, KafkaError
from minikafka.storage.epoch_cache import UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, LeaderEpochCache

NO_LEADER_EPOCH = -1  # current_leader_epoch / last_fetched_epoch "not given"


@dataclasses.dataclass(frozen=True)
class LeaderEpochEndOffset:
    """An OffsetForLeaderEpoch answer, or a Fetch ``diverging_epoch``."""

    leader_epoch: int
    end_offset: int

    @property
    def undefined(self) -> bool:
        return self.leader_epoch == UNDEFINED_EPOCH or self.end_offset == UNDEFINED_EPOCH_OFFSET


def check_current_leader_epoch(local_leader_epoch: int, current_leader_epoch: int) -> ErrorCode:
    """Kafka's ``Partition.checkCurrentLeaderEpoch`` for a request's epoch."""
    if current_leader_epoch == NO_LEADER_EPOCH:
        return ErrorCode.NONE
    if current_leader_epoch < local_leader_epoch:
        return ErrorCode.FENCED_LEADER_EPOCH
    if current_leader_epoch > local_leader_epoch:
        return ErrorCode.UNKNOWN_LEADER_EPOCH
    return ErrorCode.NONE


def validate_leader_epoch(local_leader_epoch: int, current_leader_epoch: int) -> None:
    """Raise the error ``check_current_leader_epoch`` finds, if any.

    Raises:
        KafkaError: FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH.
    """
    error = check_current_leader_epoch(local_leader_epoch, current_leader_epoch)
    if error != ErrorCode.NONE:
        raise KafkaError(error, f"request epoch {current_leader_epoch}, partition leader epoch "
                                f"{local_leader_epoch}")


def last_offset_for_leader_epoch(epoch_cache: LeaderEpochCache, log_end_offset: int,
                                 local_leader_epoch: int, current_leader_epoch: int,
                                 requested_epoch: int) -> LeaderEpochEndOffset:
    """Answer OffsetForLeaderEpoch for one partition on its leader.

    Raises:
        KafkaError: FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH.
    """
    validate_leader_epoch(local_leader_epoch, current_leader_epoch)
    epoch, end_offset = epoch_cache.end_offset_for(requested_epoch, log_end_offset)
    if end_offset == UNDEFINED_EPOCH_OFFSET:
        return LeaderEpochEndOffset(UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)
    return LeaderEpochEndOffset(epoch, end_offset)


def check_replica_fetch(epoch_cache: LeaderEpochCache, *, local_leader_epoch: int, log_start_offset: int,
                        log_end_offset: int, current_leader_epoch: int, fetch_offset: int,
                        last_fetched_epoch: int) -> LeaderEpochEndOffset | None:
    """The leader's checks before reading for a follower (Kafka's ``readRecords``).

    Returns:
        None: read from ``fetch_offset`` and then call
        ``LeaderState.update_follower_fetch_state``; or the
        ``diverging_epoch`` to answer instead of records (and the follower's
        position is not updated).

    Raises:
        KafkaError: FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH for a stale or
            future ``current_leader_epoch``; OFFSET_OUT_OF_RANGE when
            ``last_fetched_epoch`` cannot be placed on this log or
            ``fetch_offset`` is outside ``[log_start_offset, log_end_offset]``.
    """
    validate_leader_epoch(local_leader_epoch, current_leader_epoch)
    if last_fetched_epoch != NO_LEADER_EPOCH:
        epoch_end = last_offset_for_leader_epoch(epoch_cache, log_end_offset, local_leader_epoch,
                                                 current_leader_epoch, last_fetched_epoch)
        if epoch_end.undefined:
            raise KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, "Could not determine the end offset of the "
                             f"last fetched epoch {last_fetched_epoch}")
        if fetch_offset < log_start_offset:
            raise _out_of_range(fetch_offset, log_start_offset, log_end_offset)
        if epoch_end.leader_epoch < last_fetched_epoch or epoch_end.end_offset < fetch_offset:
            return epoch_end
    if not log_start_offset <= fetch_offset <= log_end_offset:
        raise _out_of_range(fetch_offset, log_start_offset, log_end_offset)
    return None


def _out_of_range(fetch_offset: int, log_start_offset: int, log_end_offset: int) -> KafkaError:
    return KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, f"Received request for offset {fetch_offset}, "
                      f"but we only have log segments in the range {log_start_offset} to {log_end_offset}.")

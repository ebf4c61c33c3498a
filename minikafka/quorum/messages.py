"""The Raft RPCs of the controller quorum, as plain dataclasses.

These mirror Apache Kafka's KRaft RPCs of the same names: Vote,
BeginQuorumEpoch, EndQuorumEpoch (KIP-595), Fetch on the ``__cluster_metadata``
partition (KIP-595), FetchSnapshot (KIP-630), and the ``pre_vote`` flag of
Vote v2 (KIP-996). Field names are Kafka's in snake_case. Kafka's messages
carry lists of topics and partitions; the quorum replicates exactly one
partition, so each dataclass here is that single partition's entry, flattened.
The wire encoding (the Kafka protocol declarations and the codec) is the
runtime's job and comes later: the Raft core only ever sees these objects.

Replication is *pull-based*, as in KRaft and unlike the AppendEntries of the
Raft paper: followers send ``FetchRequest(fetch_offset, last_fetched_epoch)``
and the leader answers with records, or with a ``diverging_epoch`` telling the
follower where its log stops matching (it truncates and fetches again), or
with a ``snapshot_id`` when the records it needs were compacted away.

An :class:`Envelope` carries one message from ``source_id`` to
``destination_id``. A response carries the ``correlation_id`` of its request,
as on a Kafka connection, so a node can ignore late answers to requests it has
already given up on.
"""

from __future__ import annotations

import dataclasses
from typing import Union

from minikafka.errors import ErrorCode
from minikafka.quorum.log import Entry, SnapshotId


@dataclasses.dataclass(frozen=True)
class LeaderIdAndEpoch:
    """Who a replica believes leads, and in which epoch (``None``: unknown)."""

    leader_id: int | None
    leader_epoch: int


@dataclasses.dataclass(frozen=True)
class QuorumEpochEndOffset:
    """The ``diverging_epoch`` of a Fetch response.

    ``end_offset`` is the first offset *after* ``epoch`` in the leader's log:
    the follower keeps nothing of that epoch at or above it.
    """

    epoch: int
    end_offset: int


# --- Vote (KIP-595, pre-vote from KIP-996) -----------------------------------


@dataclasses.dataclass(frozen=True)
class VoteRequest:
    """A candidate asks for a vote in ``candidate_epoch``.

    ``last_offset_epoch`` / ``last_offset`` describe the candidate's log (the
    epoch of its last entry and its log end offset); a voter grants only to a
    candidate whose log is at least as up to date as its own. With
    ``pre_vote`` the voter only says whether it *would* vote and changes no
    state: a replica that cannot win never disrupts a healthy leader.
    """

    candidate_epoch: int
    candidate_id: int
    last_offset_epoch: int
    last_offset: int
    pre_vote: bool = False


@dataclasses.dataclass(frozen=True)
class VoteResponse:
    error_code: ErrorCode
    leader_id: int | None
    leader_epoch: int
    vote_granted: bool
    pre_vote: bool = False


# --- BeginQuorumEpoch / EndQuorumEpoch (KIP-595) -----------------------------


@dataclasses.dataclass(frozen=True)
class BeginQuorumEpochRequest:
    """A newly elected leader tells the voters about itself."""

    leader_id: int
    leader_epoch: int


@dataclasses.dataclass(frozen=True)
class BeginQuorumEpochResponse:
    error_code: ErrorCode
    leader_id: int | None
    leader_epoch: int


@dataclasses.dataclass(frozen=True)
class EndQuorumEpochRequest:
    """A resigning leader asks the voters to elect a successor now.

    ``preferred_successors`` lists voters by how up to date they were; the
    first ones should stand first.
    """

    leader_id: int
    leader_epoch: int
    preferred_successors: tuple[int, ...] = ()


@dataclasses.dataclass(frozen=True)
class EndQuorumEpochResponse:
    error_code: ErrorCode
    leader_id: int | None
    leader_epoch: int


# --- Fetch (KIP-595) ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FetchRequest:
    """A follower (or observer) fetches from ``fetch_offset`` on.

    ``last_fetched_epoch`` is the epoch of the entry just before
    ``fetch_offset`` in the follower's log: the leader checks that its own log
    has that entry in that epoch before it sends anything after it.

    ``max_wait_ms`` makes it a long poll: a leader with nothing new for the
    follower (no records, no newer high watermark) holds the fetch up to that
    long and answers as soon as something arrives; 0 answers at once.
    """

    replica_id: int
    current_leader_epoch: int
    fetch_offset: int
    last_fetched_epoch: int
    log_start_offset: int
    max_bytes: int
    max_wait_ms: int = 0


@dataclasses.dataclass(frozen=True)
class FetchResponse:
    """The leader's answer: at most one of records / diverging / snapshot."""

    error_code: ErrorCode
    current_leader: LeaderIdAndEpoch
    high_watermark: int = -1
    log_start_offset: int = -1
    records: tuple[Entry, ...] = ()
    diverging_epoch: QuorumEpochEndOffset | None = None
    snapshot_id: SnapshotId | None = None


# --- FetchSnapshot (KIP-630) -------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FetchSnapshotRequest:
    """Fetch the bytes of snapshot ``snapshot_id`` from ``position`` on."""

    replica_id: int
    current_leader_epoch: int
    snapshot_id: SnapshotId
    position: int
    max_bytes: int


@dataclasses.dataclass(frozen=True)
class FetchSnapshotResponse:
    error_code: ErrorCode
    current_leader: LeaderIdAndEpoch
    snapshot_id: SnapshotId | None = None
    size: int = -1
    position: int = -1
    unaligned_records: bytes = b""


Message = Union[
    VoteRequest,
    VoteResponse,
    BeginQuorumEpochRequest,
    BeginQuorumEpochResponse,
    EndQuorumEpochRequest,
    EndQuorumEpochResponse,
    FetchRequest,
    FetchResponse,
    FetchSnapshotRequest,
    FetchSnapshotResponse,
]


@dataclasses.dataclass(frozen=True)
class Envelope:
    """One message in flight between two quorum replicas.

    Args:
        source_id: the node id of the sender.
        destination_id: the node id it is for.
        message: one of the request/response dataclasses above.
        correlation_id: pairs a response with its request (the response copies
            the request's id), like the correlation id of a Kafka request.
    """

    source_id: int
    destination_id: int
    message: Message
    correlation_id: int = 0

"""The quorum's messages on the wire: Kafka's own KRaft RPCs.

The Raft core (:mod:`minikafka.quorum.messages`) speaks in small dataclasses,
one partition each. Between processes the quorum uses exactly the RPCs Apache
Kafka's KRaft uses, so a student can put a packet capture of minikafka next to
one of Kafka and read the same fields:

==========================  ===================  =============================
core dataclass              Kafka API (key)      version sent
==========================  ===================  =============================
VoteRequest / Response      Vote (52)            2 (pre_vote, KIP-996)
BeginQuorumEpoch...         BeginQuorumEpoch(53) 1
EndQuorumEpoch...           EndQuorumEpoch (54)  1
FetchRequest / Response     Fetch (1)            17, on ``__cluster_metadata``
FetchSnapshot...            FetchSnapshot (59)   1
==========================  ===================  =============================

Why Kafka's RPCs rather than a private msgpack RPC: the declarations and the
codec already exist (Fetch is the same API followers of ordinary partitions
use), the quorum's traffic then goes through the broker's ordinary listener,
framing and handlers, and everything the code teaches is true of Kafka.

Fetch on the metadata partition (KIP-595): the topic is ``__cluster_metadata``
with Kafka's reserved topic id ``AAAAAAAAAAAAAAAAAAAAAQ`` (15 zero bytes and a
1), partition 0 (:mod:`minikafka.protocol.metadata_topic`); the follower names itself in ``replica_state.replica_id``
(KIP-903) and sends ``cluster_id``. Each Raft entry travels as one magic v2
record batch whose ``partition_leader_epoch`` is the entry's epoch and whose
one record's value is the entry's payload; the epoch's opening LeaderChange
entry is a control batch whose record key is ``(version 0, type 2)``, Kafka's
ControlRecordType.LEADER_CHANGE. The same batches are what
:mod:`minikafka.quorum.file_storage` writes into the segments of
``__cluster_metadata-0``.

Every function here is pure: dataclasses in, dicts (for ``Message.encode``)
out, and decoded ``Struct``s back to dataclasses. A response's dataclass may
need its request (VoteResponse has no ``pre_vote`` field on the wire; the
answer is to whatever the request asked), so :func:`decode_response` takes it.
"""

from __future__ import annotations

import struct

from minikafka.errors import ErrorCode
from minikafka.protocol.metadata_topic import METADATA_PARTITION, METADATA_TOPIC, METADATA_TOPIC_ID
from minikafka_core.records import ControlRecordType, Record, build_batch, read_batches
from minikafka.quorum import messages as m
from minikafka.quorum.log import Entry, SnapshotId

ZERO_UUID = bytes(16)

VOTE_KEY, BEGIN_QUORUM_EPOCH_KEY, END_QUORUM_EPOCH_KEY = 52, 53, 54
FETCH_KEY, FETCH_SNAPSHOT_KEY = 1, 59

# The version this runtime sends of each API (the highest it declares).
REQUEST_VERSIONS = {VOTE_KEY: 2, BEGIN_QUORUM_EPOCH_KEY: 1, END_QUORUM_EPOCH_KEY: 1,
                    FETCH_KEY: 17, FETCH_SNAPSHOT_KEY: 1}

_CONTROL_KEY = struct.Struct(">hh")  # a control record's key: version, type
_NO_LEADER = -1


class WireError(ValueError):
    """A quorum request that cannot be handed to the Raft core.

    Attributes:
        error_code: the top-level error to answer with.
    """

    def __init__(self, error_code: ErrorCode, message: str):
        super().__init__(message)
        self.error_code = error_code


# --- entries as record batches ----------------------------------------------------


def entries_to_records(entries) -> bytes:
    """Encode entries as concatenated record batches, one batch per entry."""
    return b"".join(entry_to_batch(entry) for entry in entries)


def entry_to_batch(entry: Entry) -> bytes:
    """One entry as one magic v2 batch (a control batch for LeaderChange)."""
    key = _CONTROL_KEY.pack(0, ControlRecordType.LEADER_CHANGE) if entry.is_control else None
    # Entries carry no time: timestamp 0 keeps the bytes a pure function of
    # the entry, identical on every replica.
    record = Record(offset=entry.offset, timestamp=0, key=key, value=bytes(entry.data))
    return build_batch([record], base_offset=entry.offset, partition_leader_epoch=entry.epoch,
                       is_control=entry.is_control)


def records_to_entries(records) -> tuple[Entry, ...]:
    """Decode record batches back into entries (one per record).

    A partial batch at the end is ignored (a fetch may cut one short).

    Raises:
        ValueError: a batch is corrupt (bad CRC, bad magic, undecodable).
    """
    if not records:
        return ()
    entries = []
    for batch in read_batches(records):
        if not batch.crc_valid:
            raise ValueError(f"corrupt metadata batch at offset {batch.base_offset}")
        for record in batch.records:
            entries.append(Entry(record.offset, batch.partition_leader_epoch,
                                 record.value or b"", batch.is_control))
    return tuple(entries)


# --- requests ----------------------------------------------------------------------


def encode_request(message, cluster_id: str | None, destination_id: int) -> tuple[int, int, dict]:
    """A core request as ``(api_key, api_version, body dict)`` for ``encode_request``."""
    encoder = _REQUEST_ENCODERS[type(message)]
    api_key, body = encoder(message, cluster_id, destination_id)
    return api_key, REQUEST_VERSIONS[api_key], body


def _partition_topics(partition: dict, *, name_field: str = "topic_name") -> list[dict]:
    return [{name_field: METADATA_TOPIC, "partitions": [partition]}]


def _encode_vote(req: m.VoteRequest, cluster_id, destination_id):
    partition = {"partition_index": METADATA_PARTITION, "candidate_epoch": req.candidate_epoch,
                 "candidate_id": req.candidate_id, "candidate_directory_id": ZERO_UUID,
                 "voter_directory_id": ZERO_UUID, "last_offset_epoch": req.last_offset_epoch,
                 "last_offset": req.last_offset, "pre_vote": req.pre_vote}
    return VOTE_KEY, {"cluster_id": cluster_id, "voter_id": destination_id,
                      "topics": _partition_topics(partition)}


def _encode_begin(req: m.BeginQuorumEpochRequest, cluster_id, destination_id):
    partition = {"partition_index": METADATA_PARTITION, "voter_directory_id": ZERO_UUID,
                 "leader_id": req.leader_id, "leader_epoch": req.leader_epoch}
    return BEGIN_QUORUM_EPOCH_KEY, {"cluster_id": cluster_id, "voter_id": destination_id,
                                    "topics": _partition_topics(partition), "leader_endpoints": []}


def _encode_end(req: m.EndQuorumEpochRequest, cluster_id, destination_id):
    partition = {"partition_index": METADATA_PARTITION, "leader_id": req.leader_id,
                 "leader_epoch": req.leader_epoch,
                 "preferred_successors": list(req.preferred_successors),
                 "preferred_candidates": [{"candidate_id": c, "candidate_directory_id": ZERO_UUID}
                                          for c in req.preferred_successors]}
    return END_QUORUM_EPOCH_KEY, {"cluster_id": cluster_id, "topics": _partition_topics(partition),
                                  "leader_endpoints": []}


def _encode_fetch(req: m.FetchRequest, cluster_id, destination_id):
    partition = {"partition": METADATA_PARTITION, "current_leader_epoch": req.current_leader_epoch,
                 "fetch_offset": req.fetch_offset, "last_fetched_epoch": req.last_fetched_epoch,
                 "log_start_offset": req.log_start_offset, "partition_max_bytes": req.max_bytes}
    return FETCH_KEY, {
        "cluster_id": cluster_id, "replica_id": req.replica_id,
        "replica_state": {"replica_id": req.replica_id, "replica_epoch": -1},
        "max_wait_ms": req.max_wait_ms, "min_bytes": 0, "max_bytes": req.max_bytes,
        "topics": [{"topic": METADATA_TOPIC, "topic_id": METADATA_TOPIC_ID,
                    "partitions": [partition]}],
    }


def _encode_fetch_snapshot(req: m.FetchSnapshotRequest, cluster_id, destination_id):
    partition = {"partition": METADATA_PARTITION, "current_leader_epoch": req.current_leader_epoch,
                 "snapshot_id": {"end_offset": req.snapshot_id.end_offset,
                                 "epoch": req.snapshot_id.epoch},
                 "position": req.position}
    return FETCH_SNAPSHOT_KEY, {"cluster_id": cluster_id, "replica_id": req.replica_id,
                                "max_bytes": req.max_bytes,
                                "topics": _partition_topics(partition, name_field="name")}


_REQUEST_ENCODERS = {
    m.VoteRequest: _encode_vote,
    m.BeginQuorumEpochRequest: _encode_begin,
    m.EndQuorumEpochRequest: _encode_end,
    m.FetchRequest: _encode_fetch,
    m.FetchSnapshotRequest: _encode_fetch_snapshot,
}


def decode_request(api_key: int, request) -> tuple[int, str | None, object]:
    """A decoded request Struct as ``(source_id, cluster_id, core dataclass)``.

    Raises:
        WireError: not exactly one partition, or not ``__cluster_metadata-0``.
    """
    if api_key not in _REQUEST_DECODERS:
        raise WireError(ErrorCode.INVALID_REQUEST, f"API {api_key} is not a quorum RPC")
    partition = _only_partition(api_key, request)
    return _REQUEST_DECODERS[api_key](request, partition)


def _only_partition(api_key: int, request):
    topics = request.topics
    if len(topics) != 1 or len(topics[0].partitions) != 1:
        raise WireError(ErrorCode.INVALID_REQUEST, "a quorum RPC carries exactly one partition")
    topic, partition = topics[0], topics[0].partitions[0]
    name_field, index_field = _PARTITION_NAMING[api_key]
    # Fetch v13+ names the topic by id only.
    named = (getattr(topic, name_field) == METADATA_TOPIC
             or getattr(topic, "topic_id", None) == METADATA_TOPIC_ID)
    if not named or getattr(partition, index_field) != METADATA_PARTITION:
        raise WireError(ErrorCode.INVALID_REQUEST, "not the __cluster_metadata-0 partition")
    return partition


# Each API spells "topic name" and "partition index" its own way (Kafka's JSON).
_PARTITION_NAMING = {
    VOTE_KEY: ("topic_name", "partition_index"),
    BEGIN_QUORUM_EPOCH_KEY: ("topic_name", "partition_index"),
    END_QUORUM_EPOCH_KEY: ("topic_name", "partition_index"),
    FETCH_KEY: ("topic", "partition"),
    FETCH_SNAPSHOT_KEY: ("name", "partition"),
}


def _decode_vote(request, p):
    pre_vote = bool(getattr(p, "pre_vote", False))
    message = m.VoteRequest(p.candidate_epoch, p.candidate_id, p.last_offset_epoch,
                            p.last_offset, pre_vote)
    return p.candidate_id, request.cluster_id, message


def _decode_begin(request, p):
    return p.leader_id, request.cluster_id, m.BeginQuorumEpochRequest(p.leader_id, p.leader_epoch)


def _decode_end(request, p):
    # v0 lists ids, v1 (KIP-853) replicas with their directory ids.
    successors = (tuple(c.candidate_id for c in p.preferred_candidates)
                  or tuple(p.preferred_successors))
    return p.leader_id, request.cluster_id, m.EndQuorumEpochRequest(p.leader_id, p.leader_epoch,
                                                                    successors)


def _decode_fetch(request, p):
    state = request.replica_state
    # v15+ (KIP-903) names the follower in replica_state, older versions in replica_id.
    replica_id = request.replica_id
    if state is not None and state.replica_id >= 0:
        replica_id = state.replica_id
    message = m.FetchRequest(replica_id, p.current_leader_epoch, p.fetch_offset,
                             p.last_fetched_epoch, p.log_start_offset, p.partition_max_bytes,
                             max(request.max_wait_ms, 0))
    return replica_id, request.cluster_id, message


def _decode_fetch_snapshot(request, p):
    snapshot_id = SnapshotId(p.snapshot_id.end_offset, p.snapshot_id.epoch)
    message = m.FetchSnapshotRequest(request.replica_id, p.current_leader_epoch, snapshot_id,
                                     p.position, request.max_bytes)
    return request.replica_id, request.cluster_id, message


_REQUEST_DECODERS = {
    VOTE_KEY: _decode_vote,
    BEGIN_QUORUM_EPOCH_KEY: _decode_begin,
    END_QUORUM_EPOCH_KEY: _decode_end,
    FETCH_KEY: _decode_fetch,
    FETCH_SNAPSHOT_KEY: _decode_fetch_snapshot,
}


# --- responses ----------------------------------------------------------------------


def _leader(leader_id: int | None) -> int:
    return _NO_LEADER if leader_id is None else leader_id


def _leader_or_none(leader_id: int) -> int | None:
    return None if leader_id < 0 else leader_id


def encode_response(message) -> dict:
    """A core response dataclass as a body dict for ``encode_response``."""
    return _RESPONSE_ENCODERS[type(message)](message)


def error_response(api_key: int, error_code: ErrorCode) -> dict:
    """A response carrying only a top-level error (a request we cannot route)."""
    if api_key == FETCH_KEY:
        return {"error_code": error_code, "responses": []}
    return {"error_code": error_code, "topics": []}


def _encode_vote_response(resp: m.VoteResponse) -> dict:
    partition = {"partition_index": METADATA_PARTITION, "error_code": resp.error_code,
                 "leader_id": _leader(resp.leader_id), "leader_epoch": resp.leader_epoch,
                 "vote_granted": resp.vote_granted}
    return {"error_code": ErrorCode.NONE, "topics": _partition_topics(partition)}


def _encode_epoch_response(resp) -> dict:
    partition = {"partition_index": METADATA_PARTITION, "error_code": resp.error_code,
                 "leader_id": _leader(resp.leader_id), "leader_epoch": resp.leader_epoch}
    return {"error_code": ErrorCode.NONE, "topics": _partition_topics(partition)}


def _encode_fetch_response(resp: m.FetchResponse) -> dict:
    partition = {
        "partition_index": METADATA_PARTITION, "error_code": resp.error_code,
        "high_watermark": resp.high_watermark, "last_stable_offset": resp.high_watermark,
        "log_start_offset": resp.log_start_offset,
        "current_leader": {"leader_id": _leader(resp.current_leader.leader_id),
                           "leader_epoch": resp.current_leader.leader_epoch},
        "records": entries_to_records(resp.records),
    }
    if resp.diverging_epoch is not None:
        partition["diverging_epoch"] = {"epoch": resp.diverging_epoch.epoch,
                                        "end_offset": resp.diverging_epoch.end_offset}
    if resp.snapshot_id is not None:
        partition["snapshot_id"] = {"end_offset": resp.snapshot_id.end_offset,
                                    "epoch": resp.snapshot_id.epoch}
    return {"error_code": ErrorCode.NONE, "session_id": 0,
            "responses": [{"topic": METADATA_TOPIC, "topic_id": METADATA_TOPIC_ID,
                           "partitions": [partition]}]}


def _encode_fetch_snapshot_response(resp: m.FetchSnapshotResponse) -> dict:
    snapshot_id = resp.snapshot_id or SnapshotId(-1, -1)
    partition = {
        "index": METADATA_PARTITION, "error_code": resp.error_code,
        "snapshot_id": {"end_offset": snapshot_id.end_offset, "epoch": snapshot_id.epoch},
        "current_leader": {"leader_id": _leader(resp.current_leader.leader_id),
                           "leader_epoch": resp.current_leader.leader_epoch},
        "size": resp.size, "position": resp.position,
        "unaligned_records": bytes(resp.unaligned_records),
    }
    return {"error_code": ErrorCode.NONE,
            "topics": _partition_topics(partition, name_field="name")}


_RESPONSE_ENCODERS = {
    m.VoteResponse: _encode_vote_response,
    m.BeginQuorumEpochResponse: _encode_epoch_response,
    m.EndQuorumEpochResponse: _encode_epoch_response,
    m.FetchResponse: _encode_fetch_response,
    m.FetchSnapshotResponse: _encode_fetch_snapshot_response,
}


def decode_response(api_key: int, response, request):
    """A decoded response Struct as the core dataclass answering ``request``.

    Raises:
        WireError: a top-level error, or not exactly one partition.
    """
    topics = response.responses if api_key == FETCH_KEY else response.topics
    if response.error_code:
        raise WireError(ErrorCode(response.error_code), "the request was refused")
    if len(topics) != 1 or len(topics[0].partitions) != 1:
        raise WireError(ErrorCode.UNKNOWN_SERVER_ERROR, "a quorum response has one partition")
    return _RESPONSE_DECODERS[api_key](topics[0].partitions[0], request)


def _decode_vote_response(p, request: m.VoteRequest) -> m.VoteResponse:
    return m.VoteResponse(ErrorCode(p.error_code), _leader_or_none(p.leader_id), p.leader_epoch,
                          p.vote_granted, request.pre_vote)


def _decode_begin_response(p, request) -> m.BeginQuorumEpochResponse:
    return m.BeginQuorumEpochResponse(ErrorCode(p.error_code), _leader_or_none(p.leader_id),
                                      p.leader_epoch)


def _decode_end_response(p, request) -> m.EndQuorumEpochResponse:
    return m.EndQuorumEpochResponse(ErrorCode(p.error_code), _leader_or_none(p.leader_id),
                                    p.leader_epoch)


def _current_leader(p) -> m.LeaderIdAndEpoch:
    leader = p.current_leader
    return m.LeaderIdAndEpoch(_leader_or_none(leader.leader_id), leader.leader_epoch)


def _decode_fetch_response(p, request) -> m.FetchResponse:
    diverging = p.diverging_epoch
    snapshot = p.snapshot_id
    return m.FetchResponse(
        ErrorCode(p.error_code), _current_leader(p),
        high_watermark=p.high_watermark, log_start_offset=p.log_start_offset,
        records=records_to_entries(p.records),
        # -1 is the field's default: "no divergence" / "no snapshot needed".
        diverging_epoch=(m.QuorumEpochEndOffset(diverging.epoch, diverging.end_offset)
                         if diverging is not None and diverging.epoch >= 0 else None),
        snapshot_id=(SnapshotId(snapshot.end_offset, snapshot.epoch)
                     if snapshot is not None and snapshot.end_offset >= 0 else None),
    )


def _decode_fetch_snapshot_response(p, request) -> m.FetchSnapshotResponse:
    snapshot_id = SnapshotId(p.snapshot_id.end_offset, p.snapshot_id.epoch)
    return m.FetchSnapshotResponse(
        ErrorCode(p.error_code), _current_leader(p),
        snapshot_id=snapshot_id if snapshot_id.end_offset >= 0 else None,
        size=p.size, position=p.position,
        unaligned_records=bytes(p.unaligned_records or b""),
    )


_RESPONSE_DECODERS = {
    VOTE_KEY: _decode_vote_response,
    BEGIN_QUORUM_EPOCH_KEY: _decode_begin_response,
    END_QUORUM_EPOCH_KEY: _decode_end_response,
    FETCH_KEY: _decode_fetch_response,
    FETCH_SNAPSHOT_KEY: _decode_fetch_snapshot_response,
}


def is_request(message) -> bool:
    """True for the request dataclasses (the ones a transport sends and awaits)."""
    return type(message) in _REQUEST_ENCODERS

"""The KRaft quorum RPCs: Vote (52), BeginQuorumEpoch (53), EndQuorumEpoch (54)
and FetchSnapshot (59). Replication itself uses Fetch (``fetch.py``) on the
``__cluster_metadata`` partition.

KIP-595 defined these APIs for the controller quorum: a candidate asks for
votes (Vote), the winner announces itself (BeginQuorumEpoch), a resigning
leader asks for a quick successor (EndQuorumEpoch); a follower that fell
behind the leader's log start downloads its snapshot (FetchSnapshot, KIP-630).
Like every partition-level API they carry ``topics[].partitions[]``, although
the quorum only ever has one partition: ``__cluster_metadata-0``.

v1 of each (KIP-853, dynamic quorums) added voter directory ids and the
leader's endpoints; this project's quorum has a static voter set, so it sends
the all-zero directory id and no endpoints, which Kafka accepts.

Vote v2 (KIP-996, pre-vote) is in Apache Kafka 4.0 but not in the reference
JSON of this repository (a 4.0.0-SNAPSHOT with Vote up to v1). It is declared
here from Kafka 4.0's Vote request definition: one new partition field, ``PreVote``
(bool, v2+), after ``LastOffset``; the response is unchanged in v2. Kafka 4.0
also renamed ``CandidateEpoch``/``CandidateId`` to ``ReplicaEpoch``/``ReplicaId``
(same position and type, so the same bytes); we keep the names of the
reference JSON, which are also the names of our Raft core's dataclasses.
"""

from minikafka.protocol.schema import Field, Message


def _topics(partition_fields: list[Field], versions: str = "0+", name: str = "topic_name",
            struct: str = "TopicData", partition_struct: str = "PartitionData") -> Field:
    """``topics[].partitions[]`` around the per-partition fields of a quorum RPC."""
    return Field("topics", f"[]{struct}", versions, fields=[
        Field(name, "string", "0+", about="The topic name."),
        Field("partitions", f"[]{partition_struct}", "0+", fields=partition_fields),
    ])


def _node_endpoints(versions: str) -> Field:
    """The tagged ``node_endpoints`` of the quorum responses (KIP-853; port is uint16)."""
    return Field("node_endpoints", "[]NodeEndpoint", versions, tag=0,
                 about="Endpoints for all current leaders enumerated in the partitions.",
                 fields=[
        Field("node_id", "int32", versions, about="The ID of the associated node."),
        Field("host", "string", versions, about="The node's hostname."),
        Field("port", "uint16", versions, about="The node's port."),
    ])


def _leader_endpoints() -> Field:
    """The ``leader_endpoints`` of BeginQuorumEpoch / EndQuorumEpoch v1 (KIP-853)."""
    return Field("leader_endpoints", "[]LeaderEndpoint", "1+", ignorable=True,
                 about="Endpoints for the leader.", fields=[
        Field("name", "string", "1+", about="The name of the endpoint."),
        Field("host", "string", "1+", about="The node's hostname."),
        Field("port", "uint16", "1+", about="The node's port."),
    ])


def _cluster_id() -> Field:
    return Field("cluster_id", "string", "0+", nullable="0+", default=None,
                 about="The cluster id, or null if unknown.")


# --- Vote (52) -------------------------------------------------------------------

VOTE_REQUEST = Message(
    name="VoteRequest",
    api_key=52,
    kind="request",
    # v2 (KIP-996, pre-vote) is Kafka 4.0's; see the module docstring.
    valid_versions="0-2",
    flexible_versions="0+",
    about="A candidate (or, with pre_vote, a prospective) asks a voter for its vote.",
    fields=[
        _cluster_id(),
        Field("voter_id", "int32", "1+", default=-1, ignorable=True,
              about="The replica id of the voter receiving the request."),
        _topics([
            Field("partition_index", "int32", "0+", about="The partition index."),
            Field("candidate_epoch", "int32", "0+",
                  about="The bumped epoch of the candidate sending the request."),
            Field("candidate_id", "int32", "0+",
                  about="The replica id of the voter sending the request."),
            Field("candidate_directory_id", "uuid", "1+", ignorable=True,
                  about="The directory id of the voter sending the request."),
            Field("voter_directory_id", "uuid", "1+", ignorable=True,
                  about="The directory id of the voter receiving the request."),
            Field("last_offset_epoch", "int32", "0+",
                  about="The epoch of the last record written to the metadata log."),
            Field("last_offset", "int64", "0+",
                  about="The offset of the last record written to the metadata log."),
            Field("pre_vote", "bool", "2+",
                  about="Whether the request is a pre-vote (not persisted) or a vote."),
        ]),
    ],
)

VOTE_RESPONSE = Message(
    name="VoteResponse",
    api_key=52,
    kind="response",
    valid_versions="0-2",
    flexible_versions="0+",
    about="Whether the voter granted its (pre-)vote, and the leader it knows.",
    fields=[
        Field("error_code", "int16", "0+", about="The top level error code."),
        _topics([
            Field("partition_index", "int32", "0+", about="The partition index."),
            Field("error_code", "int16", "0+"),
            Field("leader_id", "int32", "0+",
                  about="The ID of the current leader or -1 if the leader is unknown."),
            Field("leader_epoch", "int32", "0+", about="The latest known leader epoch."),
            Field("vote_granted", "bool", "0+",
                  about="True if the vote was granted and false otherwise."),
        ]),
        _node_endpoints("1+"),
    ],
)

# --- BeginQuorumEpoch (53) ----------------------------------------------------------

BEGIN_QUORUM_EPOCH_REQUEST = Message(
    name="BeginQuorumEpochRequest",
    api_key=53,
    kind="request",
    valid_versions="0-1",
    flexible_versions="1+",
    about="A newly elected leader announces itself to the voters.",
    fields=[
        _cluster_id(),
        Field("voter_id", "int32", "1+", default=-1, ignorable=True,
              about="The replica id of the voter receiving the request."),
        _topics([
            Field("partition_index", "int32", "0+", about="The partition index."),
            Field("voter_directory_id", "uuid", "1+", ignorable=True,
                  about="The directory id of the receiving replica."),
            Field("leader_id", "int32", "0+", about="The ID of the newly elected leader."),
            Field("leader_epoch", "int32", "0+", about="The epoch of the newly elected leader."),
        ]),
        _leader_endpoints(),
    ],
)

BEGIN_QUORUM_EPOCH_RESPONSE = Message(
    name="BeginQuorumEpochResponse",
    api_key=53,
    kind="response",
    valid_versions="0-1",
    flexible_versions="1+",
    about="The voter's view of the leader after a BeginQuorumEpoch.",
    fields=[
        Field("error_code", "int16", "0+", about="The top level error code."),
        _topics([
            Field("partition_index", "int32", "0+", about="The partition index."),
            Field("error_code", "int16", "0+"),
            Field("leader_id", "int32", "0+",
                  about="The ID of the current leader or -1 if the leader is unknown."),
            Field("leader_epoch", "int32", "0+", about="The latest known leader epoch."),
        ]),
        _node_endpoints("1+"),
    ],
)

# --- EndQuorumEpoch (54) ------------------------------------------------------------

END_QUORUM_EPOCH_REQUEST = Message(
    name="EndQuorumEpochRequest",
    api_key=54,
    kind="request",
    valid_versions="0-1",
    flexible_versions="1+",
    about="A resigning leader asks the voters to elect a successor now.",
    fields=[
        _cluster_id(),
        _topics([
            Field("partition_index", "int32", "0+", about="The partition index."),
            Field("leader_id", "int32", "0+", about="The current leader ID that is resigning."),
            Field("leader_epoch", "int32", "0+", about="The current epoch."),
            Field("preferred_successors", "[]int32", "0", ignorable=True,
                  about="A sorted list of preferred successors to start the election."),
            Field("preferred_candidates", "[]ReplicaInfo", "1+", ignorable=True,
                  about="A sorted list of preferred candidates to start the election.", fields=[
                Field("candidate_id", "int32", "1+"),
                Field("candidate_directory_id", "uuid", "1+"),
            ]),
        ]),
        _leader_endpoints(),
    ],
)

END_QUORUM_EPOCH_RESPONSE = Message(
    name="EndQuorumEpochResponse",
    api_key=54,
    kind="response",
    valid_versions="0-1",
    flexible_versions="1+",
    about="The voter's view of the leader after an EndQuorumEpoch.",
    fields=[
        Field("error_code", "int16", "0+", about="The top level error code."),
        _topics([
            Field("partition_index", "int32", "0+", about="The partition index."),
            Field("error_code", "int16", "0+"),
            Field("leader_id", "int32", "0+",
                  about="The ID of the current leader or -1 if the leader is unknown."),
            Field("leader_epoch", "int32", "0+", about="The latest known leader epoch."),
        ]),
        _node_endpoints("1+"),
    ],
)

# --- FetchSnapshot (59) -------------------------------------------------------------


def _snapshot_id() -> Field:
    return Field("snapshot_id", "SnapshotId", "0+",
                 about="The snapshot end offset and epoch.", fields=[
        Field("end_offset", "int64", "0+"),
        Field("epoch", "int32", "0+"),
    ])


FETCH_SNAPSHOT_REQUEST = Message(
    name="FetchSnapshotRequest",
    api_key=59,
    kind="request",
    valid_versions="0-1",
    flexible_versions="0+",
    about="Download a chunk of the leader's snapshot (KIP-630).",
    fields=[
        Field("cluster_id", "string", "0+", nullable="0+", default=None, tag=0,
              about="The cluster id, if known."),
        Field("replica_id", "int32", "0+", default=-1, about="The broker ID of the follower."),
        Field("max_bytes", "int32", "0+", default=0x7FFFFFFF,
              about="The maximum bytes to fetch from all of the snapshots."),
        _topics([
            Field("partition", "int32", "0+", about="The partition index."),
            Field("current_leader_epoch", "int32", "0+",
                  about="The current leader epoch of the partition, -1 for unknown."),
            _snapshot_id(),
            Field("position", "int64", "0+",
                  about="The byte position within the snapshot to start fetching from."),
            Field("replica_directory_id", "uuid", "1+", tag=0, ignorable=True,
                  about="The directory id of the follower fetching."),
        ], name="name", struct="TopicSnapshot", partition_struct="PartitionSnapshot"),
    ],
)

FETCH_SNAPSHOT_RESPONSE = Message(
    name="FetchSnapshotResponse",
    api_key=59,
    kind="response",
    valid_versions="0-1",
    flexible_versions="0+",
    about="A chunk of a snapshot, from a byte position on.",
    fields=[
        Field("throttle_time_ms", "int32", "0+", ignorable=True,
              about="The duration in milliseconds for which the request was throttled."),
        Field("error_code", "int16", "0+", about="The top level response error code."),
        _topics([
            Field("index", "int32", "0+", about="The partition index."),
            Field("error_code", "int16", "0+",
                  about="The error code, or 0 if there was no fetch error."),
            _snapshot_id(),
            Field("current_leader", "LeaderIdAndEpoch", "0+", tag=0, fields=[
                Field("leader_id", "int32", "0+", default=-1,
                      about="The ID of the current leader or -1 if the leader is unknown."),
                Field("leader_epoch", "int32", "0+", default=-1,
                      about="The latest known leader epoch."),
            ]),
            Field("size", "int64", "0+", about="The total size of the snapshot."),
            Field("position", "int64", "0+",
                  about="The starting byte position of ``unaligned_records`` in the snapshot."),
            Field("unaligned_records", "records", "0+",
                  about="Snapshot data, not necessarily aligned on a batch boundary."),
        ], name="name", struct="TopicSnapshot", partition_struct="PartitionSnapshot"),
        _node_endpoints("1+"),
    ],
)

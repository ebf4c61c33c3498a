"""Committed offsets: OffsetCommit (8) and OffsetFetch (9).

A consumer commits, per partition, the offset of the next record it will read
(plus optional metadata); the coordinator stores it in ``__consumer_offsets``.
OffsetFetch reads them back (``topics = None`` means all); ``offset = -1``
means no committed offset. v8 of OffsetFetch batches several groups in one
request (KIP-709).
"""

from minikafka.protocol.schema import Field, Message


OFFSET_COMMIT_REQUEST = Message(
    name="OffsetCommitRequest",
    api_key=8,
    kind="request",
    # KIP-896: Kafka 4.0 removed v0-1.
    valid_versions="2-9",
    flexible_versions="8+",
    about="Commit a group's offsets.",
    fields=[
        Field("group_id", "string", "0+", about="The unique group identifier."),
        Field("generation_id_or_member_epoch", "int32", "1+", default=-1, ignorable=True,
              about="The generation of the group if using the classic group protocol or the "
                    "member epoch if using the consumer protocol."),
        Field("member_id", "string", "1+", ignorable=True,
              about="The member ID assigned by the group coordinator."),
        Field("group_instance_id", "string", "7+", nullable="7+", default=None,
              about="The unique identifier of the consumer instance provided by end user."),
        Field("retention_time_ms", "int64", "2-4", default=-1, ignorable=True,
              about="The time period in ms to retain the offset."),
        Field("topics", "[]OffsetCommitRequestTopic", "0+",
              about="The topics to commit offsets for.", fields=[
            Field("name", "string", "0+", about="The topic name."),
            Field("partitions", "[]OffsetCommitRequestPartition", "0+",
                  about="Each partition to commit offsets for.", fields=[
                Field("partition_index", "int32", "0+", about="The partition index."),
                Field("committed_offset", "int64", "0+",
                      about="The message offset to be committed."),
                Field("committed_leader_epoch", "int32", "6+", default=-1, ignorable=True,
                      about="The leader epoch of this partition."),
                # Below the KIP-896 floor: kept as in Kafka, never on the wire.
                Field("commit_timestamp", "int64", "1", default=-1,
                      about="The timestamp of the commit."),
                Field("committed_metadata", "string", "0+", nullable="0+",
                      about="Any associated metadata the client wants to keep."),
            ]),
        ]),
    ],
)

OFFSET_COMMIT_RESPONSE = Message(
    name="OffsetCommitResponse",
    api_key=8,
    kind="response",
    # KIP-896: Kafka 4.0 removed v0-1.
    valid_versions="2-9",
    flexible_versions="8+",
    about="Per partition: whether the offset was committed.",
    fields=[
        Field("throttle_time_ms", "int32", "3+", ignorable=True,
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("topics", "[]OffsetCommitResponseTopic", "0+",
              about="The responses for each topic.", fields=[
            Field("name", "string", "0+", about="The topic name."),
            Field("partitions", "[]OffsetCommitResponsePartition", "0+",
                  about="The responses for each partition in the topic.", fields=[
                Field("partition_index", "int32", "0+", about="The partition index."),
                Field("error_code", "int16", "0+",
                      about="The error code, or 0 if there was no error."),
            ]),
        ]),
    ],
)

OFFSET_FETCH_REQUEST = Message(
    name="OffsetFetchRequest",
    api_key=9,
    kind="request",
    # KIP-896: Kafka 4.0 removed v0.
    valid_versions="1-9",
    flexible_versions="6+",
    about="Fetch a group's committed offsets.",
    fields=[
        Field("group_id", "string", "0-7", about="The group to fetch offsets for."),
        Field("topics", "[]OffsetFetchRequestTopic", "0-7", nullable="2-7",
              about="Each topic we would like to fetch offsets for, or null to fetch offsets for"
                    " all topics.", fields=[
            Field("name", "string", "0-7", about="The topic name."),
            Field("partition_indexes", "[]int32", "0-7",
                  about="The partition indexes we would like to fetch offsets for."),
        ]),
        Field("groups", "[]OffsetFetchRequestGroup", "8+",
              about="Each group we would like to fetch offsets for", fields=[
            Field("group_id", "string", "8+", about="The group ID."),
            Field("member_id", "string", "9+", nullable="9+", default=None, ignorable=True,
                  about="The member ID assigned by the group coordinator if using the new "
                        "consumer protocol (KIP-848)."),
            Field("member_epoch", "int32", "9+", default=-1, ignorable=True,
                  about="The member epoch if using the new consumer protocol (KIP-848)."),
            Field("topics", "[]OffsetFetchRequestTopics", "8+", nullable="8+",
                  about="Each topic we would like to fetch offsets for, or null to fetch offsets"
                        " for all topics.", fields=[
                Field("name", "string", "8+", about="The topic name."),
                Field("partition_indexes", "[]int32", "8+",
                      about="The partition indexes we would like to fetch offsets for."),
            ]),
        ]),
        Field("require_stable", "bool", "7+", default=False,
              about="Whether broker should hold on returning unstable offsets but set a "
                    "retriable error code for the partitions."),
    ],
)

OFFSET_FETCH_RESPONSE = Message(
    name="OffsetFetchResponse",
    api_key=9,
    kind="response",
    # KIP-896: Kafka 4.0 removed v0.
    valid_versions="1-9",
    flexible_versions="6+",
    about="Per partition: the committed offset and its metadata.",
    fields=[
        Field("throttle_time_ms", "int32", "3+", ignorable=True,
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("topics", "[]OffsetFetchResponseTopic", "0-7",
              about="The responses per topic.", fields=[
            Field("name", "string", "0-7", about="The topic name."),
            Field("partitions", "[]OffsetFetchResponsePartition", "0-7",
                  about="The responses per partition", fields=[
                Field("partition_index", "int32", "0-7", about="The partition index."),
                Field("committed_offset", "int64", "0-7", about="The committed message offset."),
                Field("committed_leader_epoch", "int32", "5-7", default=-1, ignorable=True,
                      about="The leader epoch."),
                Field("metadata", "string", "0-7", nullable="0-7",
                      about="The partition metadata."),
                Field("error_code", "int16", "0-7",
                      about="The error code, or 0 if there was no error."),
            ]),
        ]),
        Field("error_code", "int16", "2-7", default=0, ignorable=True,
              about="The top-level error code, or 0 if there was no error."),
        Field("groups", "[]OffsetFetchResponseGroup", "8+",
              about="The responses per group id.", fields=[
            Field("group_id", "string", "8+", about="The group ID."),
            Field("topics", "[]OffsetFetchResponseTopics", "8+",
                  about="The responses per topic.", fields=[
                Field("name", "string", "8+", about="The topic name."),
                Field("partitions", "[]OffsetFetchResponsePartitions", "8+",
                      about="The responses per partition", fields=[
                    Field("partition_index", "int32", "8+", about="The partition index."),
                    Field("committed_offset", "int64", "8+",
                          about="The committed message offset."),
                    Field("committed_leader_epoch", "int32", "8+", default=-1, ignorable=True,
                          about="The leader epoch."),
                    Field("metadata", "string", "8+", nullable="8+",
                          about="The partition metadata."),
                    Field("error_code", "int16", "8+",
                          about="The partition-level error code, or 0 if there was no error."),
                ]),
            ]),
            Field("error_code", "int16", "8+", default=0,
                  about="The group-level error code, or 0 if there was no error."),
        ]),
    ],
)

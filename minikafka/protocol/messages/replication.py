"""The RPCs of partition replication: AlterPartition (56) and OffsetForLeaderEpoch (23).

**AlterPartition** is how a partition *leader* changes its ISR: it shrinks
the ISR when a follower has lagged for ``replica.lag.time.max.ms`` and expands
it when a follower catches up. Only the controller may write the change, so
the leader sends the ISR it wants together with the ``leader_epoch`` and
``partition_epoch`` it believes current; the controller refuses a stale one
(FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION) and answers the partition's
state as committed. v2 names topics by id (KIP-841); v3 sends each ISR
member's broker epoch (``new_isr_with_epochs``, KIP-903) so a replica that
restarted in between (and lost its log suffix) cannot rejoin by mistake.
Kafka serves it on the controller listener only.

**OffsetForLeaderEpoch** asks a partition leader "where does leader epoch E
end on your log?" (the start offset of the first epoch after E, or the log
end offset if E is the current one). A follower used it to find where its
log parts from the leader's (KIP-101, KIP-279; followers now use Fetch's
``last_fetched_epoch`` instead); a consumer uses it after a leader change to
check that its position was not truncated away (KIP-320).
``current_leader_epoch`` fences requests made with stale metadata.

Declared by hand from Kafka 4.0's message definitions. KIP-896: Kafka 4.0
removed AlterPartition v0-1 and OffsetForLeaderEpoch v0-1; fields only
below those floors are kept as Kafka declares them (never on the wire).
"""

from minikafka.protocol.schema import Field, Message

# --- AlterPartition (56) -------------------------------------------------------------

ALTER_PARTITION_REQUEST = Message(
    name="AlterPartitionRequest",
    api_key=56,
    kind="request",
    valid_versions="2-3",
    flexible_versions="0+",
    about="A partition leader asks the controller to change the partition's ISR.",
    fields=[
        Field("broker_id", "int32", "0+", about="The ID of the requesting broker"),
        Field("broker_epoch", "int64", "0+", default=-1, about="The epoch of the requesting broker"),
        Field("topics", "[]TopicData", "0+", about="The topics whose ISRs change.", fields=[
            # Below the KIP-896 floor: kept as in Kafka, never on the wire.
            Field("topic_name", "string", "0-1", ignorable=True,
                  about="The name of the topic to alter ISRs for"),
            Field("topic_id", "uuid", "2+", ignorable=True, about="The ID of the topic to alter ISRs for"),
            Field("partitions", "[]PartitionData", "0+", about="The partitions of the topic.", fields=[
                Field("partition_index", "int32", "0+", about="The partition index"),
                Field("leader_epoch", "int32", "0+", about="The leader epoch of this partition"),
                Field("new_isr", "[]int32", "0-2",
                      about="The ISR for this partition. Deprecated since version 3."),
                Field("new_isr_with_epochs", "[]BrokerState", "3+",
                      about="The ISR for this partition, with each member's broker epoch.", fields=[
                    Field("broker_id", "int32", "3+", about="The ID of the broker."),
                    Field("broker_epoch", "int64", "3+", default=-1,
                          about="The epoch of the broker. It will be -1 if the epoch check is not "
                                "supported."),
                ]),
                Field("leader_recovery_state", "int8", "1+", default=0,
                      about="1 if the partition is recovering from an unclean leader election; "
                            "0 otherwise."),
                Field("partition_epoch", "int32", "0+",
                      about="The expected epoch of the partition which is being updated."),
            ]),
        ]),
    ],
)

ALTER_PARTITION_RESPONSE = Message(
    name="AlterPartitionResponse",
    api_key=56,
    kind="response",
    valid_versions="2-3",
    flexible_versions="0+",
    about="The partitions' state as the controller committed it, or why it refused.",
    fields=[
        Field("throttle_time_ms", "int32", "0+",
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("error_code", "int16", "0+", about="The top level response error code"),
        Field("topics", "[]TopicData", "0+", about="The results per topic.", fields=[
            # Below the KIP-896 floor: kept as in Kafka, never on the wire.
            Field("topic_name", "string", "0-1", ignorable=True, about="The name of the topic"),
            Field("topic_id", "uuid", "2+", ignorable=True, about="The ID of the topic"),
            Field("partitions", "[]PartitionData", "0+", about="The results per partition.", fields=[
                Field("partition_index", "int32", "0+", about="The partition index"),
                Field("error_code", "int16", "0+", about="The partition level error code"),
                Field("leader_id", "int32", "0+", about="The broker ID of the leader."),
                Field("leader_epoch", "int32", "0+", about="The leader epoch."),
                Field("isr", "[]int32", "0+", about="The in-sync replica IDs."),
                Field("leader_recovery_state", "int8", "1+", default=0, ignorable=True,
                      about="1 if the partition is recovering from an unclean leader election; "
                            "0 otherwise."),
                Field("partition_epoch", "int32", "0+", about="The current epoch for the partition."),
            ]),
        ]),
    ],
)

# --- OffsetForLeaderEpoch (23) -------------------------------------------------------

OFFSET_FOR_LEADER_EPOCH_REQUEST = Message(
    name="OffsetForLeaderEpochRequest",
    api_key=23,
    kind="request",
    valid_versions="2-4",
    flexible_versions="4+",
    about="Ask a partition leader where a leader epoch ends on its log.",
    fields=[
        Field("replica_id", "int32", "3+", default=-2, ignorable=True,
              about="The broker ID of the follower, of -1 if this request is from a consumer."),
        Field("topics", "[]OffsetForLeaderTopic", "0+", about="Each topic to get offsets for.", fields=[
            Field("topic", "string", "0+", about="The topic name."),
            Field("partitions", "[]OffsetForLeaderPartition", "0+",
                  about="Each partition to get offsets for.", fields=[
                Field("partition", "int32", "0+", about="The partition index."),
                Field("current_leader_epoch", "int32", "2+", default=-1, ignorable=True,
                      about="An epoch used to fence consumers/replicas with old metadata. If the "
                            "epoch provided by the client is larger than the current epoch known to "
                            "the broker, then the UNKNOWN_LEADER_EPOCH error code will be returned. "
                            "If the provided epoch is smaller, then the FENCED_LEADER_EPOCH error "
                            "code will be returned."),
                Field("leader_epoch", "int32", "0+", about="The epoch to look up an offset for."),
            ]),
        ]),
    ],
)

OFFSET_FOR_LEADER_EPOCH_RESPONSE = Message(
    name="OffsetForLeaderEpochResponse",
    api_key=23,
    kind="response",
    valid_versions="2-4",
    flexible_versions="4+",
    about="Per partition: the largest epoch up to the requested one, and where it ends.",
    fields=[
        Field("throttle_time_ms", "int32", "2+", ignorable=True,
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("topics", "[]OffsetForLeaderTopicResult", "0+",
              about="Each topic we fetched offsets for.", fields=[
            Field("topic", "string", "0+", about="The topic name."),
            Field("partitions", "[]EpochEndOffset", "0+",
                  about="Each partition in the topic we fetched offsets for.", fields=[
                Field("error_code", "int16", "0+", about="The error code 0, or if there was no error."),
                Field("partition", "int32", "0+", about="The partition index."),
                Field("leader_epoch", "int32", "1+", default=-1, ignorable=True,
                      about="The leader epoch of the partition."),
                Field("end_offset", "int64", "0+", default=-1, about="The end offset of the epoch."),
            ]),
        ]),
    ],
)

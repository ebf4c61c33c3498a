"""Records of the ``__consumer_offsets`` topic, declared like any other message.

The group coordinator keeps its state in a compacted topic. Every record there
has a *key* and a *value* (``None`` for a tombstone), each written as

    int16 version | the struct, encoded at that version

For keys the int16 is really the *record type*: Kafka gave each key struct a
distinct single version number so that one int16 tells a reader which struct
follows (``minikafka.coordinator.records`` does that dispatch):

    ====  ==========================================  ==================
    key   key struct                                  value versions
    ====  ==========================================  ==================
    0, 1  OffsetCommitKey (group, topic, partition)    OffsetCommitValue 0-4
    2     GroupMetadataKey (group)                     GroupMetadataValue 0-4
    3     ConsumerGroupMetadataKey                     ...Value 0
    4     ConsumerGroupPartitionMetadataKey            ...Value 0
    5     ConsumerGroupMemberMetadataKey               ...Value 0
    6     ConsumerGroupTargetAssignmentMetadataKey     ...Value 0
    7     ConsumerGroupTargetAssignmentMemberKey       ...Value 0
    8     ConsumerGroupCurrentMemberAssignmentKey      ...Value 0
    ====  ==========================================  ==================

Types 0-2 are the classic protocol's; 3-8 belong to the KIP-848 consumer
protocol. Values are flexible (compact strings, tagged fields) from
OffsetCommitValue/GroupMetadataValue v4 and in every ConsumerGroup* value.

Kafka 4.0 writes OffsetCommitKey as type 1, OffsetCommitValue at v3 (v1 when
the commit carries an explicit expire timestamp) and GroupMetadataValue at v3;
``coordinator/records.py`` follows it so our files compare byte for byte.

Field names keep Kafka's words in snake_case (``commitTimestamp`` ->
``commit_timestamp``); the classic records use Kafka's own short names
(``group``, ``generation``) rather than the request fields' names.

The end of this module declares ``ConsumerProtocolSubscription``: the bytes a
consumer puts in JoinGroup's ``protocols[].metadata``. The coordinator reads
only its topic list (to know which topics a classic group is subscribed to).
"""

from minikafka.protocol.schema import Field, Message

# -- Classic group records (key types 0, 1 and 2) --------------------------------

OFFSET_COMMIT_KEY = Message(
    name="OffsetCommitKey",
    api_key=None,
    kind="data",
    valid_versions="0-1",
    flexible_versions="none",
    about="The key of a committed offset: one record per (group, topic, partition).",
    fields=[
        Field("group", "string", "0-1", about="The group id."),
        Field("topic", "string", "0-1", about="The topic name."),
        Field("partition", "int32", "0-1", about="The partition index."),
    ],
)

OFFSET_COMMIT_VALUE = Message(
    name="OffsetCommitValue",
    api_key=None,
    kind="data",
    valid_versions="0-4",
    flexible_versions="4+",
    about="A committed offset, its metadata and when it was committed.",
    fields=[
        Field("offset", "int64", "0+", about="The committed offset."),
        Field("leader_epoch", "int32", "3+", default=-1, ignorable=True,
              about="The leader epoch of the last consumed record, or -1."),
        Field("metadata", "string", "0+", about="Any string the client attached to the commit."),
        Field("commit_timestamp", "int64", "0+", about="When the offset was committed (ms)."),
        Field("expire_timestamp", "int64", "1", default=-1, ignorable=True,
              about="When the offset expires (ms); only from OffsetCommit v2-v4 with a retention time."),
    ],
)

GROUP_METADATA_KEY = Message(
    name="GroupMetadataKey",
    api_key=None,
    kind="data",
    valid_versions="2",
    flexible_versions="none",
    about="The key of a classic group's metadata record.",
    fields=[Field("group", "string", "2", about="The group id.")],
)

GROUP_METADATA_VALUE = Message(
    name="GroupMetadataValue",
    api_key=None,
    kind="data",
    valid_versions="0-4",
    flexible_versions="4+",
    about="A classic group's generation: protocol, leader and every member's assignment.",
    fields=[
        Field("protocol_type", "string", "0+", about="The protocol type (\"consumer\"), or \"\"."),
        Field("generation", "int32", "0+", about="The generation id."),
        Field("protocol", "string", "0+", nullable="0+", about="The selected protocol, or null."),
        Field("leader", "string", "0+", nullable="0+", about="The leader's member id, or null."),
        Field("current_state_timestamp", "int64", "2+", default=-1, ignorable=True,
              about="When the group entered its current state (ms), or -1."),
        Field("members", "[]MemberMetadata", "0+", about="The members.", fields=[
            Field("member_id", "string", "0+", about="The member id."),
            Field("group_instance_id", "string", "3+", nullable="3+", default=None, ignorable=True,
                  about="The static member's instance id (KIP-345), or null."),
            Field("client_id", "string", "0+", about="The client id."),
            Field("client_host", "string", "0+", about="The client host."),
            Field("rebalance_timeout", "int32", "1+", default=-1, ignorable=True,
                  about="The member's rebalance timeout (ms)."),
            Field("session_timeout", "int32", "0+", about="The member's session timeout (ms)."),
            Field("subscription", "bytes", "0+", about="The metadata of the selected protocol."),
            Field("assignment", "bytes", "0+", about="The assignment the leader gave the member."),
        ]),
    ],
)

# -- KIP-848 consumer group records (key types 3 to 8) ---------------------------

_TOPIC_PARTITIONS = [
    Field("topic_id", "uuid", "0+", about="The topic id."),
    Field("partitions", "[]int32", "0+", about="The partition indexes."),
]


def _key(name: str, record_type: int, with_member: bool, about: str) -> Message:
    """A ConsumerGroup* key: the group id (and member id), at its one version."""
    version = str(record_type)
    fields = [Field("group_id", "string", version, about="The group id.")]
    if with_member:
        fields.append(Field("member_id", "string", version, about="The member id."))
    return Message(name=name, api_key=None, kind="data", valid_versions=version,
                   flexible_versions="none", about=about, fields=fields)


CONSUMER_GROUP_METADATA_KEY = _key("ConsumerGroupMetadataKey", 3, False, "A consumer group's epoch.")
CONSUMER_GROUP_METADATA_VALUE = Message(
    name="ConsumerGroupMetadataValue",
    api_key=None,
    kind="data",
    valid_versions="0",
    flexible_versions="0+",
    about="A consumer group's epoch.",
    fields=[Field("epoch", "int32", "0+", about="The group epoch.")],
)

CONSUMER_GROUP_PARTITION_METADATA_KEY = _key(
    "ConsumerGroupPartitionMetadataKey", 4, False, "The topics a consumer group subscribes to.")
CONSUMER_GROUP_PARTITION_METADATA_VALUE = Message(
    name="ConsumerGroupPartitionMetadataValue",
    api_key=None,
    kind="data",
    valid_versions="0",
    flexible_versions="0+",
    about="The subscribed topics' metadata when the target assignment was computed.",
    fields=[
        Field("topics", "[]TopicMetadata", "0+", about="The topics.", fields=[
            Field("topic_id", "uuid", "0+", about="The topic id."),
            Field("topic_name", "string", "0+", about="The topic name."),
            Field("num_partitions", "int32", "0+", about="The number of partitions."),
            Field("partition_metadata", "[]PartitionMetadata", "0+",
                  about="Deprecated after 4.0: the racks of each partition.", fields=[
                Field("partition", "int32", "0+", about="The partition index."),
                Field("racks", "[]string", "0+", about="The racks of its replicas."),
            ]),
        ]),
    ],
)

CONSUMER_GROUP_MEMBER_METADATA_KEY = _key(
    "ConsumerGroupMemberMetadataKey", 5, True, "One member of a consumer group.")
CONSUMER_GROUP_MEMBER_METADATA_VALUE = Message(
    name="ConsumerGroupMemberMetadataValue",
    api_key=None,
    kind="data",
    valid_versions="0",
    flexible_versions="0+",
    about="A consumer group member's identity and subscription.",
    fields=[
        Field("instance_id", "string", "0+", nullable="0+", about="The instance id, or null."),
        Field("rack_id", "string", "0+", nullable="0+", about="The rack id, or null."),
        Field("client_id", "string", "0+", about="The client id."),
        Field("client_host", "string", "0+", about="The client host."),
        Field("subscribed_topic_names", "[]string", "0+", about="The subscribed topic names."),
        Field("subscribed_topic_regex", "string", "0+", nullable="0+",
              about="The subscribed topic regular expression, or null."),
        Field("rebalance_timeout_ms", "int32", "0+", default=-1, about="The rebalance timeout."),
        Field("server_assignor", "string", "0+", nullable="0+",
              about="The server-side assignor, or null."),
        Field("classic_member_metadata", "ClassicMemberMetadata", "0+", nullable="0+",
              default=None, tag=0,
              about="For a member that speaks the classic protocol: its session timeout "
                    "and protocols; null otherwise.", fields=[
            Field("session_timeout_ms", "int32", "0+", about="The session timeout."),
            Field("supported_protocols", "[]ClassicProtocol", "0+",
                  about="The protocols the member supports.", fields=[
                Field("name", "string", "0+", about="The protocol name."),
                Field("metadata", "bytes", "0+", about="The protocol metadata."),
            ]),
        ]),
    ],
)

CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA_KEY = _key(
    "ConsumerGroupTargetAssignmentMetadataKey", 6, False, "The epoch of a group's target assignment.")
CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA_VALUE = Message(
    name="ConsumerGroupTargetAssignmentMetadataValue",
    api_key=None,
    kind="data",
    valid_versions="0",
    flexible_versions="0+",
    about="The epoch of a group's target assignment.",
    fields=[Field("assignment_epoch", "int32", "0+", about="The assignment epoch.")],
)

CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER_KEY = _key(
    "ConsumerGroupTargetAssignmentMemberKey", 7, True, "One member's target assignment.")
CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER_VALUE = Message(
    name="ConsumerGroupTargetAssignmentMemberValue",
    api_key=None,
    kind="data",
    valid_versions="0",
    flexible_versions="0+",
    about="The partitions the target assignment gives one member.",
    fields=[Field("topic_partitions", "[]TopicPartition", "0+", about="The assigned partitions.",
                  fields=list(_TOPIC_PARTITIONS))],
)

CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT_KEY = _key(
    "ConsumerGroupCurrentMemberAssignmentKey", 8, True, "One member's current assignment.")
CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT_VALUE = Message(
    name="ConsumerGroupCurrentMemberAssignmentValue",
    api_key=None,
    kind="data",
    valid_versions="0",
    flexible_versions="0+",
    about="A member's epoch, state, owned partitions and partitions it must revoke.",
    fields=[
        Field("member_epoch", "int32", "0+", about="The member epoch the member must send."),
        Field("previous_member_epoch", "int32", "0+",
              about="The epoch before the last bump (accepted if the bump was lost)."),
        Field("state", "int8", "0+", about="The member state (reconciliation step)."),
        Field("assigned_partitions", "[]TopicPartitions", "0+",
              about="The partitions assigned to (or owned by) the member.",
              fields=list(_TOPIC_PARTITIONS)),
        Field("partitions_pending_revocation", "[]TopicPartitions", "0+",
              about="The partitions the member must revoke.", fields=list(_TOPIC_PARTITIONS)),
    ],
)

# -- Record type -> (key, value) declarations -------------------------------------

RECORD_TYPES: dict[int, tuple[Message, Message]] = {
    0: (OFFSET_COMMIT_KEY, OFFSET_COMMIT_VALUE),
    1: (OFFSET_COMMIT_KEY, OFFSET_COMMIT_VALUE),
    2: (GROUP_METADATA_KEY, GROUP_METADATA_VALUE),
    3: (CONSUMER_GROUP_METADATA_KEY, CONSUMER_GROUP_METADATA_VALUE),
    4: (CONSUMER_GROUP_PARTITION_METADATA_KEY, CONSUMER_GROUP_PARTITION_METADATA_VALUE),
    5: (CONSUMER_GROUP_MEMBER_METADATA_KEY, CONSUMER_GROUP_MEMBER_METADATA_VALUE),
    6: (CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA_KEY, CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA_VALUE),
    7: (CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER_KEY, CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER_VALUE),
    8: (CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT_KEY, CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT_VALUE),
}
"""The key's int16 prefix (record type) -> its key and value declarations."""

# -- The consumer protocol's subscription (JoinGroup protocols[].metadata) --------

CONSUMER_PROTOCOL_SUBSCRIPTION = Message(
    name="ConsumerProtocolSubscription",
    api_key=None,
    kind="data",
    # Kafka parses a newer version with the newest format it knows (new
    # versions only append fields), so readers decode at min(version, 3).
    valid_versions="0-3",
    flexible_versions="none",
    about="A consumer's subscription, as carried in JoinGroup metadata.",
    fields=[
        Field("topics", "[]string", "0+", about="The subscribed topics."),
        Field("user_data", "bytes", "0+", nullable="0+", default=None, about="Assignor data."),
        Field("owned_partitions", "[]TopicPartition", "1+", ignorable=True,
              about="The partitions the member owns (cooperative rebalancing).", fields=[
            Field("topic", "string", "1+", about="The topic name."),
            Field("partitions", "[]int32", "1+", about="The partition indexes."),
        ]),
        Field("generation_id", "int32", "2+", default=-1, ignorable=True,
              about="The generation of the owned partitions."),
        Field("rack_id", "string", "3+", nullable="3+", default=None, ignorable=True,
              about="The consumer's rack."),
    ],
)

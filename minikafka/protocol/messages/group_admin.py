"""Group administration: DeleteGroups (key 42) and OffsetDelete (key 47).

DeleteGroups removes whole groups (``kafka-consumer-groups --delete``): only
an EMPTY group can go, with all its committed offsets. OffsetDelete
(KIP-496) removes a group's committed offsets for chosen partitions, which
is allowed only for topics the group does not currently consume.

KIP-896 left both intact in Kafka 4.0: DeleteGroups serves v0-2 (v2 is
flexible), OffsetDelete has only v0.
"""

from minikafka.protocol.schema import Field, Message


DELETE_GROUPS_REQUEST = Message(
    name="DeleteGroupsRequest",
    api_key=42,
    kind="request",
    valid_versions="0-2",
    flexible_versions="2+",
    about="Delete empty groups and their committed offsets.",
    fields=[
        Field("groups_names", "[]string", "0+", about="The group names to delete."),
    ],
)

DELETE_GROUPS_RESPONSE = Message(
    name="DeleteGroupsResponse",
    api_key=42,
    kind="response",
    valid_versions="0-2",
    flexible_versions="2+",
    about="Per group: whether it was deleted.",
    fields=[
        Field("throttle_time_ms", "int32", "0+",
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("results", "[]DeletableGroupResult", "0+", about="The deletion results",
              fields=[
            Field("group_id", "string", "0+", about="The group id"),
            Field("error_code", "int16", "0+",
                  about="The deletion error, or 0 if the deletion succeeded."),
        ]),
    ],
)

OFFSET_DELETE_REQUEST = Message(
    name="OffsetDeleteRequest",
    api_key=47,
    kind="request",
    valid_versions="0",
    flexible_versions="none",
    about="Delete a group's committed offsets of some partitions.",
    fields=[
        Field("group_id", "string", "0+", about="The unique group identifier."),
        Field("topics", "[]OffsetDeleteRequestTopic", "0+",
              about="The topics to delete offsets for", fields=[
            Field("name", "string", "0+", about="The topic name."),
            Field("partitions", "[]OffsetDeleteRequestPartition", "0+",
                  about="Each partition to delete offsets for.", fields=[
                Field("partition_index", "int32", "0+", about="The partition index."),
            ]),
        ]),
    ],
)

OFFSET_DELETE_RESPONSE = Message(
    name="OffsetDeleteResponse",
    api_key=47,
    kind="response",
    valid_versions="0",
    flexible_versions="none",
    about="The top-level error, then one error code per partition.",
    fields=[
        Field("error_code", "int16", "0+",
              about="The top-level error code, or 0 if there was no error."),
        Field("throttle_time_ms", "int32", "0+", ignorable=True,
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("topics", "[]OffsetDeleteResponseTopic", "0+",
              about="The responses for each topic.", fields=[
            Field("name", "string", "0+", about="The topic name."),
            Field("partitions", "[]OffsetDeleteResponsePartition", "0+",
                  about="The responses for each partition in the topic.", fields=[
                Field("partition_index", "int32", "0+", about="The partition index."),
                Field("error_code", "int16", "0+",
                      about="The error code, or 0 if there was no error."),
            ]),
        ]),
    ],
)

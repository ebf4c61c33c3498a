"""Partition reassignment (KIP-455): AlterPartitionReassignments (45), ListPartitionReassignments (46).

An operator moves a partition to other brokers by naming its *target*
replica list; ``replicas`` null cancels an ongoing move. The controller first
*adds* the new replicas (they fetch from the leader like any follower), and
once all of them are in the ISR it *removes* the old ones. Until then the
partition lists the union as its replicas, with ``adding_replicas`` and
``removing_replicas`` saying which are which, and ListPartitionReassignments
shows every partition in that state (``topics`` null: the whole cluster).

Declared by hand from Kafka 4.0's message definitions (both v0 only).
"""

from minikafka.protocol.schema import Field, Message

# --- AlterPartitionReassignments (45) -------------------------------------------------

ALTER_PARTITION_REASSIGNMENTS_REQUEST = Message(
    name="AlterPartitionReassignmentsRequest",
    api_key=45,
    kind="request",
    valid_versions="0",
    flexible_versions="0+",
    about="Start or cancel moving partitions to other replicas.",
    fields=[
        Field("timeout_ms", "int32", "0+", default=60000,
              about="The time in ms to wait for the request to complete."),
        Field("topics", "[]ReassignableTopic", "0+", about="The topics to reassign.", fields=[
            Field("name", "string", "0+", about="The topic name."),
            Field("partitions", "[]ReassignablePartition", "0+", about="The partitions to reassign.", fields=[
                Field("partition_index", "int32", "0+", about="The partition index."),
                Field("replicas", "[]int32", "0+", nullable="0+", default=None,
                      about="The replicas to place the partitions on, or null to cancel a pending "
                            "reassignment for this partition."),
            ]),
        ]),
    ],
)

ALTER_PARTITION_REASSIGNMENTS_RESPONSE = Message(
    name="AlterPartitionReassignmentsResponse",
    api_key=45,
    kind="response",
    valid_versions="0",
    flexible_versions="0+",
    about="Whether each partition's reassignment was started (or cancelled).",
    fields=[
        Field("throttle_time_ms", "int32", "0+",
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("error_code", "int16", "0+", about="The top-level error code, or 0 if there was no error."),
        Field("error_message", "string", "0+", nullable="0+",
              about="The top-level error message, or null if there was no error."),
        Field("responses", "[]ReassignableTopicResponse", "0+",
              about="The responses to topics to reassign.", fields=[
            Field("name", "string", "0+", about="The topic name"),
            Field("partitions", "[]ReassignablePartitionResponse", "0+",
                  about="The responses to partitions to reassign", fields=[
                Field("partition_index", "int32", "0+", about="The partition index."),
                Field("error_code", "int16", "0+",
                      about="The error code for this partition, or 0 if there was no error."),
                Field("error_message", "string", "0+", nullable="0+",
                      about="The error message for this partition, or null if there was no error."),
            ]),
        ]),
    ],
)

# --- ListPartitionReassignments (46) --------------------------------------------------

LIST_PARTITION_REASSIGNMENTS_REQUEST = Message(
    name="ListPartitionReassignmentsRequest",
    api_key=46,
    kind="request",
    valid_versions="0",
    flexible_versions="0+",
    about="List the partitions whose reassignment is in progress.",
    fields=[
        Field("timeout_ms", "int32", "0+", default=60000,
              about="The time in ms to wait for the request to complete."),
        Field("topics", "[]ListPartitionReassignmentsTopics", "0+", nullable="0+", default=None,
              about="The topics to list partition reassignments for, or null to list everything.",
              fields=[
            Field("name", "string", "0+", about="The topic name"),
            Field("partition_indexes", "[]int32", "0+",
                  about="The partitions to list partition reassignments for."),
        ]),
    ],
)

LIST_PARTITION_REASSIGNMENTS_RESPONSE = Message(
    name="ListPartitionReassignmentsResponse",
    api_key=46,
    kind="response",
    valid_versions="0",
    flexible_versions="0+",
    about="The ongoing reassignments: replicas, and which are being added or removed.",
    fields=[
        Field("throttle_time_ms", "int32", "0+",
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("error_code", "int16", "0+", about="The top-level error code, or 0 if there was no error"),
        Field("error_message", "string", "0+", nullable="0+",
              about="The top-level error message, or null if there was no error."),
        Field("topics", "[]OngoingTopicReassignment", "0+",
              about="The ongoing reassignments for each topic.", fields=[
            Field("name", "string", "0+", about="The topic name."),
            Field("partitions", "[]OngoingPartitionReassignment", "0+",
                  about="The ongoing reassignments for each partition.", fields=[
                Field("partition_index", "int32", "0+", about="The index of the partition."),
                Field("replicas", "[]int32", "0+", about="The current replica set."),
                Field("adding_replicas", "[]int32", "0+", about="The set of replicas we are currently adding."),
                Field("removing_replicas", "[]int32", "0+",
                      about="The set of replicas we are currently removing."),
            ]),
        ]),
    ],
)

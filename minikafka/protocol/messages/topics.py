"""Topic administration: CreateTopics (19), DeleteTopics (20), CreatePartitions (37).

All three are sent to the controller (any broker forwards in KRaft) and answer
one result per topic. ``validate_only`` asks the broker to check a request
without applying it. CreateTopics v5+ echoes the topic's partition count,
replication factor and effective configs (KIP-525); v7 returns topic ids.
DeleteTopics v6 can name topics by id (KIP-516).
"""

from minikafka.protocol.schema import Field, Message


CREATE_TOPICS_REQUEST = Message(
    name="CreateTopicsRequest",
    api_key=19,
    kind="request",
    # KIP-896: Kafka 4.0 removed v0-1.
    valid_versions="2-7",
    flexible_versions="5+",
    about="Create topics with a partition count or an explicit assignment.",
    fields=[
        Field("topics", "[]CreatableTopic", "0+", about="The topics to create.", fields=[
            Field("name", "string", "0+", about="The topic name."),
            Field("num_partitions", "int32", "0+",
                  about="The number of partitions to create in the topic, or -1 if we are either"
                        " specifying a manual partition assignment or using the default "
                        "partitions."),
            Field("replication_factor", "int16", "0+",
                  about="The number of replicas to create for each partition in the topic, or -1"
                        " if we are either specifying a manual partition assignment or using the"
                        " default replication factor."),
            Field("assignments", "[]CreatableReplicaAssignment", "0+",
                  about="The manual partition assignment, or the empty array if we are using "
                        "automatic assignment.", fields=[
                Field("partition_index", "int32", "0+", about="The partition index."),
                Field("broker_ids", "[]int32", "0+",
                      about="The brokers to place the partition on."),
            ]),
            Field("configs", "[]CreatableTopicConfig", "0+",
                  about="The custom topic configurations to set.", fields=[
                Field("name", "string", "0+", about="The configuration name."),
                Field("value", "string", "0+", nullable="0+", about="The configuration value."),
            ]),
        ]),
        Field("timeout_ms", "int32", "0+", default=60000,
              about="How long to wait in milliseconds before timing out the request."),
        Field("validate_only", "bool", "1+", default=False,
              about="If true, check that the topics can be created as specified, but don't "
                    "create anything."),
    ],
)

CREATE_TOPICS_RESPONSE = Message(
    name="CreateTopicsResponse",
    api_key=19,
    kind="response",
    # KIP-896: Kafka 4.0 removed v0-1.
    valid_versions="2-7",
    flexible_versions="5+",
    about="Per topic: its id and settings, or why it could not be created.",
    fields=[
        Field("throttle_time_ms", "int32", "2+", ignorable=True,
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("topics", "[]CreatableTopicResult", "0+",
              about="Results for each topic we tried to create.", fields=[
            Field("name", "string", "0+", about="The topic name."),
            Field("topic_id", "uuid", "7+", ignorable=True, about="The unique topic ID"),
            Field("error_code", "int16", "0+",
                  about="The error code, or 0 if there was no error."),
            Field("error_message", "string", "1+", nullable="0+", ignorable=True,
                  about="The error message, or null if there was no error."),
            Field("topic_config_error_code", "int16", "5+", tag=0, ignorable=True,
                  about="Optional topic config error returned if configs are not returned in the"
                        " response."),
            Field("num_partitions", "int32", "5+", default=-1, ignorable=True,
                  about="Number of partitions of the topic."),
            Field("replication_factor", "int16", "5+", default=-1, ignorable=True,
                  about="Replication factor of the topic."),
            Field("configs", "[]CreatableTopicConfigs", "5+", nullable="5+", ignorable=True,
                  about="Configuration of the topic.", fields=[
                Field("name", "string", "5+", about="The configuration name."),
                Field("value", "string", "5+", nullable="5+", about="The configuration value."),
                Field("read_only", "bool", "5+", about="True if the configuration is read-only."),
                Field("config_source", "int8", "5+", default=-1, ignorable=True,
                      about="The configuration source."),
                Field("is_sensitive", "bool", "5+",
                      about="True if this configuration is sensitive."),
            ]),
        ]),
    ],
)

DELETE_TOPICS_REQUEST = Message(
    name="DeleteTopicsRequest",
    api_key=20,
    kind="request",
    # KIP-896: Kafka 4.0 removed v0.
    valid_versions="1-6",
    flexible_versions="4+",
    about="Delete topics, by name or (v6+) by id.",
    fields=[
        Field("topics", "[]DeleteTopicState", "6+",
              about="The name or topic ID of the topic", fields=[
            Field("name", "string", "6+", nullable="6+", default=None, about="The topic name"),
            Field("topic_id", "uuid", "6+", about="The unique topic ID"),
        ]),
        Field("topic_names", "[]string", "0-5", ignorable=True,
              about="The names of the topics to delete"),
        Field("timeout_ms", "int32", "0+",
              about="The length of time in milliseconds to wait for the deletions to complete."),
    ],
)

DELETE_TOPICS_RESPONSE = Message(
    name="DeleteTopicsResponse",
    api_key=20,
    kind="response",
    # KIP-896: Kafka 4.0 removed v0.
    valid_versions="1-6",
    flexible_versions="4+",
    about="Per topic: whether it was deleted.",
    fields=[
        Field("throttle_time_ms", "int32", "1+", ignorable=True,
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("responses", "[]DeletableTopicResult", "0+",
              about="The results for each topic we tried to delete.", fields=[
            Field("name", "string", "0+", nullable="6+", about="The topic name"),
            Field("topic_id", "uuid", "6+", ignorable=True, about="the unique topic ID"),
            Field("error_code", "int16", "0+",
                  about="The deletion error, or 0 if the deletion succeeded."),
            Field("error_message", "string", "5+", nullable="5+", default=None, ignorable=True,
                  about="The error message, or null if there was no error."),
        ]),
    ],
)

CREATE_PARTITIONS_REQUEST = Message(
    name="CreatePartitionsRequest",
    api_key=37,
    kind="request",
    valid_versions="0-3",
    flexible_versions="2+",
    about="Raise topics' partition counts.",
    fields=[
        Field("topics", "[]CreatePartitionsTopic", "0+",
              about="Each topic that we want to create new partitions inside.", fields=[
            Field("name", "string", "0+", about="The topic name."),
            Field("count", "int32", "0+", about="The new partition count."),
            Field("assignments", "[]CreatePartitionsAssignment", "0+", nullable="0+",
                  about="The new partition assignments.", fields=[
                Field("broker_ids", "[]int32", "0+", about="The assigned broker IDs."),
            ]),
        ]),
        Field("timeout_ms", "int32", "0+",
              about="The time in ms to wait for the partitions to be created."),
        Field("validate_only", "bool", "0+",
              about="If true, then validate the request, but don't actually increase the number "
                    "of partitions."),
    ],
)

CREATE_PARTITIONS_RESPONSE = Message(
    name="CreatePartitionsResponse",
    api_key=37,
    kind="response",
    valid_versions="0-3",
    flexible_versions="2+",
    about="Per topic: whether its partitions were added.",
    fields=[
        Field("throttle_time_ms", "int32", "0+",
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("results", "[]CreatePartitionsTopicResult", "0+",
              about="The partition creation results for each topic.", fields=[
            Field("name", "string", "0+", about="The topic name."),
            Field("error_code", "int16", "0+",
                  about="The result error, or zero if there was no error."),
            Field("error_message", "string", "0+", nullable="0+", default=None,
                  about="The result message, or null if there was no error."),
        ]),
    ],
)

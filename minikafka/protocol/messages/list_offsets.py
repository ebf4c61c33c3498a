"""ListOffsets (key 2): find an offset by timestamp.

``timestamp`` is a time in ms, or a special value: -1 latest (the log end
offset, or the last stable offset under READ_COMMITTED), -2 earliest (the log
start offset), -3 the record with the largest timestamp (KIP-734, v7+),
-4 earliest local (KIP-405, v8+), -5 earliest tiered (KIP-1005, v9+).
v10 added ``timeout_ms`` (KIP-1075).
"""

from minikafka.protocol.schema import Field, Message


LIST_OFFSETS_REQUEST = Message(
    name="ListOffsetsRequest",
    api_key=2,
    kind="request",
    # KIP-896: Kafka 4.0 removed v0.
    valid_versions="1-10",
    flexible_versions="6+",
    about="Find each partition's offset for a timestamp.",
    fields=[
        Field("replica_id", "int32", "0+",
              about="The broker ID of the requester, or -1 if this request is being made by a "
                    "normal consumer."),
        Field("isolation_level", "int8", "2+",
              about="This setting controls the visibility of transactional records."),
        Field("topics", "[]ListOffsetsTopic", "0+", about="Each topic in the request.", fields=[
            Field("name", "string", "0+", about="The topic name."),
            Field("partitions", "[]ListOffsetsPartition", "0+",
                  about="Each partition in the request.", fields=[
                Field("partition_index", "int32", "0+", about="The partition index."),
                Field("current_leader_epoch", "int32", "4+", default=-1, ignorable=True,
                      about="The current leader epoch."),
                Field("timestamp", "int64", "0+", about="The current timestamp."),
                # Below the KIP-896 floor: kept as in Kafka, never on the wire.
                Field("max_num_offsets", "int32", "0", default=1,
                      about="The maximum number of offsets to report."),
            ]),
        ]),
        Field("timeout_ms", "int32", "10+", ignorable=True,
              about="The timeout to await a response in milliseconds for requests that require "
                    "reading from remote storage for topics enabled with tiered storage."),
    ],
)

LIST_OFFSETS_RESPONSE = Message(
    name="ListOffsetsResponse",
    api_key=2,
    kind="response",
    # KIP-896: Kafka 4.0 removed v0.
    valid_versions="1-10",
    flexible_versions="6+",
    about="Per partition: the offset found, and the timestamp of its record.",
    fields=[
        Field("throttle_time_ms", "int32", "2+", ignorable=True,
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("topics", "[]ListOffsetsTopicResponse", "0+",
              about="Each topic in the response.", fields=[
            Field("name", "string", "0+", about="The topic name"),
            Field("partitions", "[]ListOffsetsPartitionResponse", "0+",
                  about="Each partition in the response.", fields=[
                Field("partition_index", "int32", "0+", about="The partition index."),
                Field("error_code", "int16", "0+",
                      about="The partition error code, or 0 if there was no error."),
                # Below the KIP-896 floor: kept as in Kafka, never on the wire.
                Field("old_style_offsets", "[]int64", "0", about="The result offsets."),
                Field("timestamp", "int64", "1+", default=-1,
                      about="The timestamp associated with the returned offset."),
                Field("offset", "int64", "1+", default=-1, about="The returned offset."),
                Field("leader_epoch", "int32", "4+", default=-1),
            ]),
        ]),
    ],
)

"""Cluster description: DescribeCluster (60) and DescribeLogDirs (35).

DescribeCluster (KIP-700) tells an admin client the cluster id, the
controller and the brokers (v1 can list controllers instead, KIP-919).
DescribeLogDirs lists a broker's log directories and, for each partition
stored there, its size in bytes and how far it lags (``offset_lag``).
"""

from minikafka.protocol.schema import Field, Message


DESCRIBE_CLUSTER_REQUEST = Message(
    name="DescribeClusterRequest",
    api_key=60,
    kind="request",
    valid_versions="0-1",
    flexible_versions="0+",
    about="Ask for the cluster id, the controller and the brokers.",
    fields=[
        Field("include_cluster_authorized_operations", "bool", "0+",
              about="Whether to include cluster authorized operations."),
        Field("endpoint_type", "int8", "1+", default=1, about="The endpoint type to describe."),
    ],
)

DESCRIBE_CLUSTER_RESPONSE = Message(
    name="DescribeClusterResponse",
    api_key=60,
    kind="response",
    valid_versions="0-1",
    flexible_versions="0+",
    about="The cluster id, the controller and the brokers (or controllers).",
    fields=[
        Field("throttle_time_ms", "int32", "0+",
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("error_code", "int16", "0+",
              about="The top-level error code, or 0 if there was no error"),
        Field("error_message", "string", "0+", nullable="0+", default=None,
              about="The top-level error message, or null if there was no error."),
        Field("endpoint_type", "int8", "1+", default=1,
              about="The endpoint type that was described."),
        Field("cluster_id", "string", "0+",
              about="The cluster ID that responding broker belongs to."),
        Field("controller_id", "int32", "0+", default=-1,
              about="The ID of the controller broker."),
        Field("brokers", "[]DescribeClusterBroker", "0+",
              about="Each broker in the response.", fields=[
            Field("broker_id", "int32", "0+", about="The broker ID."),
            Field("host", "string", "0+", about="The broker hostname."),
            Field("port", "int32", "0+", about="The broker port."),
            Field("rack", "string", "0+", nullable="0+", default=None,
                  about="The rack of the broker, or null if it has not been assigned to a rack."),
        ]),
        Field("cluster_authorized_operations", "int32", "0+", default=-2147483648,
              about="32-bit bitfield to represent authorized operations for this cluster."),
    ],
)

DESCRIBE_LOG_DIRS_REQUEST = Message(
    name="DescribeLogDirsRequest",
    api_key=35,
    kind="request",
    # KIP-896: Kafka 4.0 removed v0.
    valid_versions="1-4",
    flexible_versions="2+",
    about="Ask for a broker's log directories and partition sizes.",
    fields=[
        Field("topics", "[]DescribableLogDirTopic", "0+", nullable="0+",
              about="Each topic that we want to describe log directories for, or null for all "
                    "topics.", fields=[
            Field("topic", "string", "0+", about="The topic name"),
            Field("partitions", "[]int32", "0+", about="The partition indexes."),
        ]),
    ],
)

DESCRIBE_LOG_DIRS_RESPONSE = Message(
    name="DescribeLogDirsResponse",
    api_key=35,
    kind="response",
    # KIP-896: Kafka 4.0 removed v0.
    valid_versions="1-4",
    flexible_versions="2+",
    about="Per log directory: its partitions' sizes, and its total and usable bytes.",
    fields=[
        Field("throttle_time_ms", "int32", "0+",
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("error_code", "int16", "3+", ignorable=True,
              about="The error code, or 0 if there was no error."),
        Field("results", "[]DescribeLogDirsResult", "0+", about="The log directories.", fields=[
            Field("error_code", "int16", "0+",
                  about="The error code, or 0 if there was no error."),
            Field("log_dir", "string", "0+", about="The absolute log directory path."),
            Field("topics", "[]DescribeLogDirsTopic", "0+", about="Each topic.", fields=[
                Field("name", "string", "0+", about="The topic name."),
                Field("partitions", "[]DescribeLogDirsPartition", "0+", fields=[
                    Field("partition_index", "int32", "0+", about="The partition index."),
                    Field("partition_size", "int64", "0+",
                          about="The size of the log segments in this partition in bytes."),
                    Field("offset_lag", "int64", "0+", about="The lag of the log's LEO w.r.t."),
                    Field("is_future_key", "bool", "0+",
                          about="True if this log is created by AlterReplicaLogDirsRequest and "
                                "will replace the current log of the replica in the future."),
                ]),
            ]),
            Field("total_bytes", "int64", "4+", default=-1, ignorable=True,
                  about="The total size in bytes of the volume the log directory is in."),
            Field("usable_bytes", "int64", "4+", default=-1, ignorable=True,
                  about="The usable size in bytes of the volume the log directory is in."),
        ]),
    ],
)

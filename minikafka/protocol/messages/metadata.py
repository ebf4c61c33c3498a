"""Metadata (key 3): brokers, topics, partitions and their leaders.

Clients call Metadata to learn where each partition's leader lives before
producing or fetching, and again whenever a partition answers
NOT_LEADER_OR_FOLLOWER. ``topics = None`` (v1+) asks for every topic; an empty
list asks for none. v10 added topic ids (KIP-516); v11 dropped the cluster
authorized operations (use DescribeCluster instead, KIP-700).
"""

from minikafka.protocol.schema import Field, Message


METADATA_REQUEST = Message(
    name="MetadataRequest",
    api_key=3,
    kind="request",
    valid_versions="0-12",
    flexible_versions="9+",
    about="Ask for the cluster's brokers and the topics' partition leaders.",
    fields=[
        Field("topics", "[]MetadataRequestTopic", "0+", nullable="1+",
              about="The topics to fetch metadata for.", fields=[
            Field("topic_id", "uuid", "10+", ignorable=True, about="The topic id."),
            Field("name", "string", "0+", nullable="10+", about="The topic name."),
        ]),
        Field("allow_auto_topic_creation", "bool", "4+", default=True,
              about="If this is true, the broker may auto-create topics that we requested which "
                    "do not already exist, if it is configured to do so."),
        Field("include_cluster_authorized_operations", "bool", "8-10",
              about="Whether to include cluster authorized operations."),
        Field("include_topic_authorized_operations", "bool", "8+",
              about="Whether to include topic authorized operations."),
    ],
)

METADATA_RESPONSE = Message(
    name="MetadataResponse",
    api_key=3,
    kind="response",
    valid_versions="0-12",
    flexible_versions="9+",
    about="The brokers, the controller and each topic's partitions.",
    fields=[
        Field("throttle_time_ms", "int32", "3+", ignorable=True,
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("brokers", "[]MetadataResponseBroker", "0+",
              about="A list of brokers present in the cluster.", fields=[
            Field("node_id", "int32", "0+", about="The broker ID."),
            Field("host", "string", "0+", about="The broker hostname."),
            Field("port", "int32", "0+", about="The broker port."),
            Field("rack", "string", "1+", nullable="1+", default=None, ignorable=True,
                  about="The rack of the broker, or null if it has not been assigned to a rack."),
        ]),
        Field("cluster_id", "string", "2+", nullable="2+", default=None, ignorable=True,
              about="The cluster ID that responding broker belongs to."),
        Field("controller_id", "int32", "1+", default=-1, ignorable=True,
              about="The ID of the controller broker."),
        Field("topics", "[]MetadataResponseTopic", "0+",
              about="Each topic in the response.", fields=[
            Field("error_code", "int16", "0+",
                  about="The topic error, or 0 if there was no error."),
            Field("name", "string", "0+", nullable="12+", about="The topic name."),
            Field("topic_id", "uuid", "10+", ignorable=True, about="The topic id."),
            Field("is_internal", "bool", "1+", default=False, ignorable=True,
                  about="True if the topic is internal."),
            Field("partitions", "[]MetadataResponsePartition", "0+",
                  about="Each partition in the topic.", fields=[
                Field("error_code", "int16", "0+",
                      about="The partition error, or 0 if there was no error."),
                Field("partition_index", "int32", "0+", about="The partition index."),
                Field("leader_id", "int32", "0+", about="The ID of the leader broker."),
                Field("leader_epoch", "int32", "7+", default=-1, ignorable=True,
                      about="The leader epoch of this partition."),
                Field("replica_nodes", "[]int32", "0+",
                      about="The set of all nodes that host this partition."),
                Field("isr_nodes", "[]int32", "0+",
                      about="The set of nodes that are in sync with the leader for this "
                            "partition."),
                Field("offline_replicas", "[]int32", "5+", ignorable=True,
                      about="The set of offline replicas of this partition."),
            ]),
            Field("topic_authorized_operations", "int32", "8+", default=-2147483648,
                  about="32-bit bitfield to represent authorized operations for this topic."),
        ]),
        Field("cluster_authorized_operations", "int32", "8-10", default=-2147483648,
              about="32-bit bitfield to represent authorized operations for this cluster."),
    ],
)

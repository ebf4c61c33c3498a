"""Fetch (key 1): read record batches from partitions.

Consumers and follower replicas both fetch: ``replica_id`` (v0-14) or the
tagged ``replica_state`` (v15+, KIP-903) say which one is asking. The broker
waits up to ``max_wait_ms`` for ``min_bytes`` of data, then returns whole
batches from ``fetch_offset`` on, up to ``partition_max_bytes`` per partition
and ``max_bytes`` in total (KIP-74: at least one batch even if it is larger).

v7 added incremental fetch sessions (KIP-227: ``session_id``,
``session_epoch``, ``forgotten_topics_data``); v13 replaced topic names with
topic ids (KIP-516); v12 added the KRaft fields (``last_fetched_epoch`` and,
in the response, the tagged ``diverging_epoch``, ``current_leader``,
``snapshot_id``); v16 the tagged ``node_endpoints`` (KIP-951).
"""

from minikafka.protocol.messages._common import leader_id_and_epoch, node_endpoints
from minikafka.protocol.schema import Field, Message


FETCH_REQUEST = Message(
    name="FetchRequest",
    api_key=1,
    kind="request",
    # KIP-896: Kafka 4.0 removed v0-3.
    valid_versions="4-17",
    flexible_versions="12+",
    about="Read record batches from partitions.",
    fields=[
        Field("cluster_id", "string", "12+", nullable="12+", default=None, tag=0, ignorable=True,
              about="The clusterId if known."),
        Field("replica_id", "int32", "0-14", default=-1,
              about="The broker ID of the follower, of -1 if this request is from a consumer."),
        Field("replica_state", "ReplicaState", "15+", tag=1, fields=[
            Field("replica_id", "int32", "15+", default=-1,
                  about="The replica ID of the follower, or -1 if this request is from a "
                        "consumer."),
            Field("replica_epoch", "int64", "15+", default=-1,
                  about="The epoch of this follower, or -1 if not available."),
        ]),
        Field("max_wait_ms", "int32", "0+",
              about="The maximum time in milliseconds to wait for the response."),
        Field("min_bytes", "int32", "0+",
              about="The minimum bytes to accumulate in the response."),
        Field("max_bytes", "int32", "3+", default=0x7FFFFFFF, ignorable=True,
              about="The maximum bytes to fetch."),
        Field("isolation_level", "int8", "4+", default=0, ignorable=True,
              about="This setting controls the visibility of transactional records."),
        Field("session_id", "int32", "7+", default=0, ignorable=True,
              about="The fetch session ID."),
        Field("session_epoch", "int32", "7+", default=-1, ignorable=True,
              about="The fetch session epoch, which is used for ordering requests in a session."),
        Field("topics", "[]FetchTopic", "0+", about="The topics to fetch.", fields=[
            Field("topic", "string", "0-12", ignorable=True,
                  about="The name of the topic to fetch."),
            Field("topic_id", "uuid", "13+", ignorable=True, about="The unique topic ID"),
            Field("partitions", "[]FetchPartition", "0+",
                  about="The partitions to fetch.", fields=[
                Field("partition", "int32", "0+", about="The partition index."),
                Field("current_leader_epoch", "int32", "9+", default=-1, ignorable=True,
                      about="The current leader epoch of the partition."),
                Field("fetch_offset", "int64", "0+", about="The message offset."),
                Field("last_fetched_epoch", "int32", "12+", default=-1,
                      about="The epoch of the last fetched record or -1 if there is none"),
                Field("log_start_offset", "int64", "5+", default=-1, ignorable=True,
                      about="The earliest available offset of the follower replica."),
                Field("partition_max_bytes", "int32", "0+",
                      about="The maximum bytes to fetch from this partition."),
                Field("replica_directory_id", "uuid", "17+", tag=0, ignorable=True,
                      about="The directory id of the follower fetching"),
            ]),
        ]),
        Field("forgotten_topics_data", "[]ForgottenTopic", "7+",
              about="In an incremental fetch request, the partitions to remove.", fields=[
            Field("topic", "string", "7-12", ignorable=True, about="The topic name."),
            Field("topic_id", "uuid", "13+", ignorable=True, about="The unique topic ID"),
            Field("partitions", "[]int32", "7+", about="The partitions indexes to forget."),
        ]),
        Field("rack_id", "string", "11+", default="", ignorable=True,
              about="Rack ID of the consumer making this request"),
    ],
)

FETCH_RESPONSE = Message(
    name="FetchResponse",
    api_key=1,
    kind="response",
    # KIP-896: Kafka 4.0 removed v0-3.
    valid_versions="4-17",
    flexible_versions="12+",
    about="Per partition: high watermark, log start offset and the records read.",
    fields=[
        Field("throttle_time_ms", "int32", "1+", ignorable=True,
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("error_code", "int16", "7+", ignorable=True,
              about="The top level response error code."),
        Field("session_id", "int32", "7+", default=0,
              about="The fetch session ID, or 0 if this is not part of a fetch session."),
        Field("responses", "[]FetchableTopicResponse", "0+", about="The response topics.", fields=[
            Field("topic", "string", "0-12", ignorable=True, about="The topic name."),
            Field("topic_id", "uuid", "13+", ignorable=True, about="The unique topic ID"),
            Field("partitions", "[]PartitionData", "0+", about="The topic partitions.", fields=[
                Field("partition_index", "int32", "0+", about="The partition index."),
                Field("error_code", "int16", "0+",
                      about="The error code, or 0 if there was no fetch error."),
                Field("high_watermark", "int64", "0+", about="The current high water mark."),
                Field("last_stable_offset", "int64", "4+", default=-1, ignorable=True,
                      about="The last stable offset (or LSO) of the partition."),
                Field("log_start_offset", "int64", "5+", default=-1, ignorable=True,
                      about="The current log start offset."),
                Field("diverging_epoch", "EpochEndOffset", "12+", tag=0,
                      about="In case divergence is detected based on the `LastFetchedEpoch` and "
                            "`FetchOffset` in the request, this field indicates the largest "
                            "epoch and its end offset such that subsequent records are known to "
                            "diverge", fields=[
                    Field("epoch", "int32", "12+", default=-1),
                    Field("end_offset", "int64", "12+", default=-1),
                ]),
                leader_id_and_epoch("12+", tag=1),
                Field("snapshot_id", "SnapshotId", "12+", tag=2,
                      about="In the case of fetching an offset less than the LogStartOffset, "
                            "this is the end offset and epoch that should be used in the "
                            "FetchSnapshot request.", fields=[
                    Field("end_offset", "int64", "0+", default=-1),
                    Field("epoch", "int32", "0+", default=-1),
                ]),
                Field("aborted_transactions", "[]AbortedTransaction", "4+", nullable="4+",
                      ignorable=True, about="The aborted transactions.", fields=[
                    Field("producer_id", "int64", "4+",
                          about="The producer id associated with the aborted transaction."),
                    Field("first_offset", "int64", "4+",
                          about="The first offset in the aborted transaction."),
                ]),
                Field("preferred_read_replica", "int32", "11+", default=-1,
                      about="The preferred read replica for the consumer to use on its next "
                            "fetch request"),
                Field("records", "records", "0+", nullable="0+", about="The record data."),
            ]),
        ]),
        node_endpoints("16+"),
    ],
)

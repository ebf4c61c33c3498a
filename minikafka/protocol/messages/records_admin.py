"""DeleteRecords (key 21): move a partition's log start offset forward.

Records below ``offset`` become invisible at once and their segments are
deleted later; ``offset = -1`` means the high watermark. The response returns
each partition's new ``low_watermark`` (its log start offset).
"""

from minikafka.protocol.schema import Field, Message


DELETE_RECORDS_REQUEST = Message(
    name="DeleteRecordsRequest",
    api_key=21,
    kind="request",
    valid_versions="0-2",
    flexible_versions="2+",
    about="Delete records below an offset in partitions.",
    fields=[
        Field("topics", "[]DeleteRecordsTopic", "0+",
              about="Each topic that we want to delete records from.", fields=[
            Field("name", "string", "0+", about="The topic name."),
            Field("partitions", "[]DeleteRecordsPartition", "0+",
                  about="Each partition that we want to delete records from.", fields=[
                Field("partition_index", "int32", "0+", about="The partition index."),
                Field("offset", "int64", "0+", about="The deletion offset."),
            ]),
        ]),
        Field("timeout_ms", "int32", "0+",
              about="How long to wait for the deletion to complete, in milliseconds."),
    ],
)

DELETE_RECORDS_RESPONSE = Message(
    name="DeleteRecordsResponse",
    api_key=21,
    kind="response",
    valid_versions="0-2",
    flexible_versions="2+",
    about="Per partition: the new low watermark (log start offset).",
    fields=[
        Field("throttle_time_ms", "int32", "0+",
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("topics", "[]DeleteRecordsTopicResult", "0+",
              about="Each topic that we wanted to delete records from.", fields=[
            Field("name", "string", "0+", about="The topic name."),
            Field("partitions", "[]DeleteRecordsPartitionResult", "0+",
                  about="Each partition that we wanted to delete records from.", fields=[
                Field("partition_index", "int32", "0+", about="The partition index."),
                Field("low_watermark", "int64", "0+", about="The partition low water mark."),
                Field("error_code", "int16", "0+",
                      about="The deletion error code, or 0 if the deletion succeeded."),
            ]),
        ]),
    ],
)

"""Produce (key 0): append record batches to partitions.

The request carries, per topic and partition, one ``records`` blob: one or more
magic v2 record batches exactly as the producer built them. ``acks`` says when
to answer: 0 never, 1 once the leader has appended, -1 once every in-sync
replica has. The response gives each partition's ``base_offset`` (the offset
assigned to the first record) or an error; v8 added per-record errors
(KIP-467) and v10 the new leader's endpoint on NOT_LEADER_OR_FOLLOWER
(KIP-951, tagged fields).
"""

from minikafka.protocol.messages._common import leader_id_and_epoch, node_endpoints
from minikafka.protocol.schema import Field, Message


PRODUCE_REQUEST = Message(
    name="ProduceRequest",
    api_key=0,
    kind="request",
    # KIP-896: Kafka 4.0 removed v0-2.
    valid_versions="3-11",
    flexible_versions="9+",
    about="Append record batches to partitions.",
    fields=[
        Field("transactional_id", "string", "3+", nullable="3+", default=None,
              about="The transactional ID, or null if the producer is not transactional."),
        Field("acks", "int16", "0+",
              about="The number of acknowledgments the producer requires the leader to have "
                    "received before considering a request complete."),
        Field("timeout_ms", "int32", "0+",
              about="The timeout to await a response in milliseconds."),
        Field("topic_data", "[]TopicProduceData", "0+", about="Each topic to produce to.", fields=[
            Field("name", "string", "0+", about="The topic name."),
            Field("partition_data", "[]PartitionProduceData", "0+",
                  about="Each partition to produce to.", fields=[
                Field("index", "int32", "0+", about="The partition index."),
                Field("records", "records", "0+", nullable="0+",
                      about="The record data to be produced."),
            ]),
        ]),
    ],
)

PRODUCE_RESPONSE = Message(
    name="ProduceResponse",
    api_key=0,
    kind="response",
    # KIP-896: Kafka 4.0 removed v0-2.
    valid_versions="3-11",
    flexible_versions="9+",
    about="Per partition: the base offset of the appended batches, or an error.",
    fields=[
        Field("responses", "[]TopicProduceResponse", "0+", about="Each produce response", fields=[
            Field("name", "string", "0+", about="The topic name"),
            Field("partition_responses", "[]PartitionProduceResponse", "0+",
                  about="Each partition that we produced to within the topic.", fields=[
                Field("index", "int32", "0+", about="The partition index."),
                Field("error_code", "int16", "0+",
                      about="The error code, or 0 if there was no error."),
                Field("base_offset", "int64", "0+", about="The base offset."),
                Field("log_append_time_ms", "int64", "2+", default=-1, ignorable=True,
                      about="The timestamp returned by broker after appending the messages."),
                Field("log_start_offset", "int64", "5+", default=-1, ignorable=True,
                      about="The log start offset."),
                Field("record_errors", "[]BatchIndexAndErrorMessage", "8+", ignorable=True,
                      about="The batch indices of records that caused the batch to be dropped",
                      fields=[
                    Field("batch_index", "int32", "8+",
                          about="The batch index of the record that cause the batch to be "
                                "dropped"),
                    Field("batch_index_error_message", "string", "8+", nullable="8+", default=None,
                          about="The error message of the record that caused the batch to be "
                                "dropped"),
                ]),
                Field("error_message", "string", "8+", nullable="8+", default=None, ignorable=True,
                      about="The global error message summarizing the common root cause of the "
                            "records that caused the batch to be dropped"),
                leader_id_and_epoch("10+", tag=0),
            ]),
        ]),
        Field("throttle_time_ms", "int32", "1+", default=0, ignorable=True,
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        node_endpoints("10+"),
    ],
)

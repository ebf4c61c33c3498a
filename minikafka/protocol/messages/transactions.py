"""Transactions (KIP-98, KIP-447, KIP-664, KIP-890): the messages around a transaction.

A transactional producer talks to its *transaction coordinator* (the leader
of its ``__transaction_state`` partition):

- AddPartitionsToTxn (24) enrolls partitions in the ongoing transaction before
  the producer writes to them. v0-3 are the client's form (one transaction);
  v4+ are the brokers' form (KIP-890): several transactions per request and
  ``verify_only``, with which a partition leader asks whether a partition is
  already enrolled before it appends a transactional batch.
- AddOffsetsToTxn (25) enrolls the group's ``__consumer_offsets`` partition,
  so that offsets can be committed inside the transaction.
- EndTxn (26) commits or aborts. v5 (KIP-890 part 2) answers with the bumped
  producer id and epoch.

The producer sends TxnOffsetCommit (28) to the *group* coordinator: offsets
that become visible only when the transaction commits (KIP-447 adds the group
membership fields in v3).

The coordinator then sends WriteTxnMarkers (27) to every enrolled
partition's leader: a COMMIT or ABORT control record per partition, fenced
by ``coordinator_epoch``.

Admin APIs (KIP-664): DescribeProducers (61) asks a partition leader about
the producers writing to a partition; DescribeTransactions (65) and
ListTransactions (66) ask coordinators about transactions.

Versions are Kafka 4.0's; KIP-896 removed only WriteTxnMarkers v0 here.
"""

from minikafka.protocol.schema import Field, Message

_THROTTLE_ABOUT = ("The duration in milliseconds for which the request was throttled due to a "
                   "quota violation, or zero if the request did not violate any quota.")


def _enrolled_topics(versions: str) -> Field:
    """The topics (and partition indexes) of AddPartitionsToTxn, in both of its forms."""
    return Field("topics" if versions == "4+" else "v3_and_below_topics",
                 "[]AddPartitionsToTxnTopic", versions,
                 about="The partitions to add to the transaction.", fields=[
        Field("name", "string", "0+", about="The name of the topic."),
        Field("partitions", "[]int32", "0+",
              about="The partition indexes to add to the transaction."),
    ])


def _topic_results(name: str, versions: str) -> Field:
    """Per topic and partition error codes of AddPartitionsToTxn, in both of its forms."""
    return Field(name, "[]AddPartitionsToTxnTopicResult", versions,
                 about="The results for each topic.", fields=[
        Field("name", "string", "0+", about="The topic name."),
        Field("results_by_partition", "[]AddPartitionsToTxnPartitionResult", "0+",
              about="The results for each partition.", fields=[
            Field("partition_index", "int32", "0+", about="The partition index."),
            Field("partition_error_code", "int16", "0+", about="The response error code."),
        ]),
    ])


ADD_PARTITIONS_TO_TXN_REQUEST = Message(
    name="AddPartitionsToTxnRequest",
    api_key=24,
    kind="request",
    # v0-3: sent by clients; v4+: sent by brokers (batched, verify_only).
    valid_versions="0-5",
    flexible_versions="3+",
    about="Add partitions to one or more ongoing transactions, or check they are in them.",
    fields=[
        Field("transactions", "[]AddPartitionsToTxnTransaction", "4+",
              about="The transactions to add partitions to.", fields=[
            Field("transactional_id", "string", "4+",
                  about="The transactional id of the transaction."),
            Field("producer_id", "int64", "4+",
                  about="The producer id in use by the transactional id."),
            Field("producer_epoch", "int16", "4+",
                  about="The epoch associated with the producer id."),
            Field("verify_only", "bool", "4+", default=False,
                  about="True to check that the partitions are in the transaction instead of "
                        "adding them."),
            _enrolled_topics("4+"),
        ]),
        Field("v3_and_below_transactional_id", "string", "0-3",
              about="The transactional id of the transaction."),
        Field("v3_and_below_producer_id", "int64", "0-3",
              about="The producer id in use by the transactional id."),
        Field("v3_and_below_producer_epoch", "int16", "0-3",
              about="The epoch associated with the producer id."),
        _enrolled_topics("0-3"),
    ],
)

ADD_PARTITIONS_TO_TXN_RESPONSE = Message(
    name="AddPartitionsToTxnResponse",
    api_key=24,
    kind="response",
    valid_versions="0-5",
    flexible_versions="3+",
    about="Per transaction, topic and partition: whether it is (or was added) in the transaction.",
    fields=[
        Field("throttle_time_ms", "int32", "0+", about=_THROTTLE_ABOUT),
        Field("error_code", "int16", "4+", ignorable=True,
              about="The top-level error code, or 0 if there was no error."),
        Field("results_by_transaction", "[]AddPartitionsToTxnResult", "4+",
              about="The results per transactional id.", fields=[
            Field("transactional_id", "string", "4+",
                  about="The transactional id of the transaction."),
            _topic_results("topic_results", "4+"),
        ]),
        _topic_results("results_by_topic_v3_and_below", "0-3"),
    ],
)

ADD_OFFSETS_TO_TXN_REQUEST = Message(
    name="AddOffsetsToTxnRequest",
    api_key=25,
    kind="request",
    valid_versions="0-4",
    flexible_versions="3+",
    about="Add a group's offsets partition to an ongoing transaction.",
    fields=[
        Field("transactional_id", "string", "0+",
              about="The transactional id of the transaction."),
        Field("producer_id", "int64", "0+",
              about="The producer id in use by the transactional id."),
        Field("producer_epoch", "int16", "0+",
              about="The epoch associated with the producer id."),
        Field("group_id", "string", "0+", about="The group whose offsets will be committed."),
    ],
)

ADD_OFFSETS_TO_TXN_RESPONSE = Message(
    name="AddOffsetsToTxnResponse",
    api_key=25,
    kind="response",
    valid_versions="0-4",
    flexible_versions="3+",
    about="Whether the group's offsets partition is in the transaction.",
    fields=[
        Field("throttle_time_ms", "int32", "0+", about=_THROTTLE_ABOUT),
        Field("error_code", "int16", "0+", about="The error code, or 0 if there was no error."),
    ],
)

END_TXN_REQUEST = Message(
    name="EndTxnRequest",
    api_key=26,
    kind="request",
    valid_versions="0-5",
    flexible_versions="3+",
    about="Commit or abort the ongoing transaction.",
    fields=[
        Field("transactional_id", "string", "0+", about="The transactional id of the transaction."),
        Field("producer_id", "int64", "0+", about="The producer id."),
        Field("producer_epoch", "int16", "0+",
              about="The epoch associated with the producer id."),
        Field("committed", "bool", "0+",
              about="True to commit the transaction, false to abort it."),
    ],
)

END_TXN_RESPONSE = Message(
    name="EndTxnResponse",
    api_key=26,
    kind="response",
    valid_versions="0-5",
    flexible_versions="3+",
    about="Whether the transaction is committing or aborting.",
    fields=[
        Field("throttle_time_ms", "int32", "0+", about=_THROTTLE_ABOUT),
        Field("error_code", "int16", "0+", about="The error code, or 0 if there was no error."),
        Field("producer_id", "int64", "5+", default=-1, ignorable=True,
              about="The producer id to write the next transaction with."),
        Field("producer_epoch", "int16", "5+", default=-1, ignorable=True,
              about="The producer epoch to write the next transaction with."),
    ],
)

WRITE_TXN_MARKERS_REQUEST = Message(
    name="WriteTxnMarkersRequest",
    api_key=27,
    kind="request",
    # KIP-896: Kafka 4.0 removed v0.
    valid_versions="1",
    flexible_versions="1+",
    about="Write COMMIT or ABORT markers to partitions this broker leads.",
    fields=[
        Field("markers", "[]WritableTxnMarker", "0+",
              about="The transaction markers to write.", fields=[
            Field("producer_id", "int64", "0+", about="The producer id of the transaction."),
            Field("producer_epoch", "int16", "0+",
                  about="The epoch associated with the producer id."),
            Field("transaction_result", "bool", "0+",
                  about="The outcome to write: true = COMMIT, false = ABORT."),
            Field("topics", "[]WritableTxnMarkerTopic", "0+",
                  about="The topics to write the marker to.", fields=[
                Field("name", "string", "0+", about="The topic name."),
                Field("partition_indexes", "[]int32", "0+",
                      about="The partitions to write the marker to."),
            ]),
            Field("coordinator_epoch", "int32", "0+",
                  about="The epoch of the transaction coordinator's __transaction_state "
                        "partition; a marker from an older epoch is fenced."),
        ]),
    ],
)

WRITE_TXN_MARKERS_RESPONSE = Message(
    name="WriteTxnMarkersResponse",
    api_key=27,
    kind="response",
    # KIP-896: Kafka 4.0 removed v0.
    valid_versions="1",
    flexible_versions="1+",
    about="Per marker, topic and partition: whether the marker was written.",
    fields=[
        Field("markers", "[]WritableTxnMarkerResult", "0+",
              about="The results per marker.", fields=[
            Field("producer_id", "int64", "0+", about="The producer id of the transaction."),
            Field("topics", "[]WritableTxnMarkerTopicResult", "0+",
                  about="The results per topic.", fields=[
                Field("name", "string", "0+", about="The topic name."),
                Field("partitions", "[]WritableTxnMarkerPartitionResult", "0+",
                      about="The results per partition.", fields=[
                    Field("partition_index", "int32", "0+", about="The partition index."),
                    Field("error_code", "int16", "0+",
                          about="The error code, or 0 if there was no error."),
                ]),
            ]),
        ]),
    ],
)

TXN_OFFSET_COMMIT_REQUEST = Message(
    name="TxnOffsetCommitRequest",
    api_key=28,
    kind="request",
    valid_versions="0-4",
    flexible_versions="3+",
    about="Commit a group's offsets inside a transaction.",
    fields=[
        Field("transactional_id", "string", "0+", about="The transactional id of the transaction."),
        Field("group_id", "string", "0+", about="The group id."),
        Field("producer_id", "int64", "0+",
              about="The producer id in use by the transactional id."),
        Field("producer_epoch", "int16", "0+",
              about="The epoch associated with the producer id."),
        Field("generation_id", "int32", "3+", default=-1,
              about="The consumer's generation in the group (KIP-447)."),
        Field("member_id", "string", "3+", default="",
              about="The member id the group coordinator assigned to the consumer."),
        Field("group_instance_id", "string", "3+", nullable="3+", default=None,
              about="The static member id the user gave the consumer, or null."),
        Field("topics", "[]TxnOffsetCommitRequestTopic", "0+",
              about="The topics to commit offsets for.", fields=[
            Field("name", "string", "0+", about="The topic name."),
            Field("partitions", "[]TxnOffsetCommitRequestPartition", "0+",
                  about="The partitions to commit offsets for.", fields=[
                Field("partition_index", "int32", "0+", about="The partition index."),
                Field("committed_offset", "int64", "0+",
                      about="The offset to commit (the next record to consume)."),
                Field("committed_leader_epoch", "int32", "2+", default=-1, ignorable=True,
                      about="The leader epoch of the last consumed record."),
                Field("committed_metadata", "string", "0+", nullable="0+",
                      about="Any metadata the client wants to keep with the offset."),
            ]),
        ]),
    ],
)

TXN_OFFSET_COMMIT_RESPONSE = Message(
    name="TxnOffsetCommitResponse",
    api_key=28,
    kind="response",
    valid_versions="0-4",
    flexible_versions="3+",
    about="Per partition: whether the offset was added to the transaction.",
    fields=[
        Field("throttle_time_ms", "int32", "0+", about=_THROTTLE_ABOUT),
        Field("topics", "[]TxnOffsetCommitResponseTopic", "0+",
              about="The results per topic.", fields=[
            Field("name", "string", "0+", about="The topic name."),
            Field("partitions", "[]TxnOffsetCommitResponsePartition", "0+",
                  about="The results per partition.", fields=[
                Field("partition_index", "int32", "0+", about="The partition index."),
                Field("error_code", "int16", "0+",
                      about="The error code, or 0 if there was no error."),
            ]),
        ]),
    ],
)

DESCRIBE_PRODUCERS_REQUEST = Message(
    name="DescribeProducersRequest",
    api_key=61,
    kind="request",
    valid_versions="0",
    flexible_versions="0+",
    about="List the active producers of partitions this broker leads.",
    fields=[
        Field("topics", "[]TopicRequest", "0+", about="The topics to describe.", fields=[
            Field("name", "string", "0+", about="The topic name."),
            Field("partition_indexes", "[]int32", "0+",
                  about="The partitions to list producers for."),
        ]),
    ],
)

DESCRIBE_PRODUCERS_RESPONSE = Message(
    name="DescribeProducersResponse",
    api_key=61,
    kind="response",
    valid_versions="0",
    flexible_versions="0+",
    about="Per partition: the producers the leader keeps state for.",
    fields=[
        Field("throttle_time_ms", "int32", "0+", about=_THROTTLE_ABOUT),
        Field("topics", "[]TopicResponse", "0+", about="The results per topic.", fields=[
            Field("name", "string", "0+", about="The topic name."),
            Field("partitions", "[]PartitionResponse", "0+",
                  about="The results per partition.", fields=[
                Field("partition_index", "int32", "0+", about="The partition index."),
                Field("error_code", "int16", "0+",
                      about="The error code, or 0 if there was no error."),
                Field("error_message", "string", "0+", nullable="0+", default=None,
                      about="The error message, or null."),
                Field("active_producers", "[]ProducerState", "0+",
                      about="The producers with state in this partition.", fields=[
                    Field("producer_id", "int64", "0+", about="The producer id."),
                    Field("producer_epoch", "int32", "0+",
                          about="The producer's epoch (an int32 here, as Kafka declares it)."),
                    Field("last_sequence", "int32", "0+", default=-1,
                          about="The sequence number of the producer's last record."),
                    Field("last_timestamp", "int64", "0+", default=-1,
                          about="The timestamp of the producer's last batch."),
                    Field("coordinator_epoch", "int32", "0+",
                          about="The coordinator epoch of the producer's last marker."),
                    Field("current_txn_start_offset", "int64", "0+", default=-1,
                          about="The first offset of the producer's ongoing transaction, "
                                "or -1."),
                ]),
            ]),
        ]),
    ],
)

DESCRIBE_TRANSACTIONS_REQUEST = Message(
    name="DescribeTransactionsRequest",
    api_key=65,
    kind="request",
    valid_versions="0",
    flexible_versions="0+",
    about="Describe transactions this broker coordinates.",
    fields=[
        Field("transactional_ids", "[]string", "0+",
              about="The transactional ids to describe; none are described if empty."),
    ],
)

DESCRIBE_TRANSACTIONS_RESPONSE = Message(
    name="DescribeTransactionsResponse",
    api_key=65,
    kind="response",
    valid_versions="0",
    flexible_versions="0+",
    about="Per transactional id: its state, producer and partitions.",
    fields=[
        Field("throttle_time_ms", "int32", "0+", about=_THROTTLE_ABOUT),
        Field("transaction_states", "[]TransactionState", "0+",
              about="The described transactions.", fields=[
            Field("error_code", "int16", "0+",
                  about="The error code, or 0 if there was no error."),
            Field("transactional_id", "string", "0+", about="The transactional id."),
            Field("transaction_state", "string", "0+",
                  about="The state's name (\"Ongoing\", \"PrepareCommit\", ...)."),
            Field("transaction_timeout_ms", "int32", "0+",
                  about="The transaction timeout the producer asked for."),
            Field("transaction_start_time_ms", "int64", "0+",
                  about="When the ongoing transaction started, or -1."),
            Field("producer_id", "int64", "0+", about="The producer id."),
            Field("producer_epoch", "int16", "0+", about="The producer epoch."),
            Field("topics", "[]TopicData", "0+",
                  about="The partitions in the transaction; while it completes, those still "
                        "waiting for their marker.", fields=[
                Field("topic", "string", "0+", about="The topic name."),
                Field("partitions", "[]int32", "0+", about="The partition indexes."),
            ]),
        ]),
    ],
)

LIST_TRANSACTIONS_REQUEST = Message(
    name="ListTransactionsRequest",
    api_key=66,
    kind="request",
    valid_versions="0-1",
    flexible_versions="0+",
    about="List the transactions this broker coordinates.",
    fields=[
        Field("state_filters", "[]string", "0+",
              about="Only transactions in one of these states; all if empty."),
        Field("producer_id_filters", "[]int64", "0+",
              about="Only transactions of one of these producer ids; all if empty."),
        Field("duration_filter", "int64", "1+", default=-1,
              about="Only transactions running longer than this many ms; all if negative."),
    ],
)

LIST_TRANSACTIONS_RESPONSE = Message(
    name="ListTransactionsResponse",
    api_key=66,
    kind="response",
    valid_versions="0-1",
    flexible_versions="0+",
    about="The transactions matching the filters.",
    fields=[
        Field("throttle_time_ms", "int32", "0+", about=_THROTTLE_ABOUT),
        Field("error_code", "int16", "0+", about="The error code, or 0 if there was no error."),
        Field("unknown_state_filters", "[]string", "0+",
              about="The state filters of the request that name no known state."),
        Field("transaction_states", "[]TransactionState", "0+",
              about="The matching transactions.", fields=[
            Field("transactional_id", "string", "0+", about="The transactional id."),
            Field("producer_id", "int64", "0+", about="The producer id."),
            Field("transaction_state", "string", "0+",
                  about="The state's name (\"Ongoing\", ...)."),
        ]),
    ],
)

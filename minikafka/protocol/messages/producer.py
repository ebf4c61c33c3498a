"""InitProducerId (key 22): give a producer its id and epoch.

An idempotent producer (``transactional_id = None``) gets a fresh
``producer_id`` with epoch 0; the broker then deduplicates its batches by
sequence number (KIP-98). A transactional producer gets the id bound to its
``transactional_id``, with the epoch bumped to fence older instances. v3+ lets
a producer pass its current id and epoch to bump the epoch after an error
(KIP-360).
"""

from minikafka.protocol.schema import Field, Message


INIT_PRODUCER_ID_REQUEST = Message(
    name="InitProducerIdRequest",
    api_key=22,
    kind="request",
    valid_versions="0-5",
    flexible_versions="2+",
    about="Ask for a producer id and epoch.",
    fields=[
        Field("transactional_id", "string", "0+", nullable="0+",
              about="The transactional id, or null if the producer is not transactional."),
        Field("transaction_timeout_ms", "int32", "0+",
              about="The time in ms to wait before aborting idle transactions sent by this "
                    "producer."),
        Field("producer_id", "int64", "3+", default=-1, about="The producer id."),
        Field("producer_epoch", "int16", "3+", default=-1, about="The producer's current epoch."),
    ],
)

INIT_PRODUCER_ID_RESPONSE = Message(
    name="InitProducerIdResponse",
    api_key=22,
    kind="response",
    valid_versions="0-5",
    flexible_versions="2+",
    about="The producer id and epoch to write batches with.",
    fields=[
        Field("throttle_time_ms", "int32", "0+", ignorable=True,
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("error_code", "int16", "0+", about="The error code, or 0 if there was no error."),
        Field("producer_id", "int64", "0+", default=-1, about="The current producer id."),
        Field("producer_epoch", "int16", "0+",
              about="The current epoch associated with the producer id."),
    ],
)

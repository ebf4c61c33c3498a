"""AllocateProducerIds (key 67): a broker asks the controller for a block of producer ids (KIP-730).

Producer ids must be unique in the whole cluster, forever: a partition
deduplicates by ``(producer_id, producer_epoch, sequence)``, so two producers
sharing an id would take each other's batches for retries. The controller
owns the counter: each request gets the next ``producer_id_len`` ids starting
at ``producer_id_start``, recorded in the metadata log (``ProducerIdsRecord``)
before the answer, so no block is handed out twice, even across controller
failovers. The broker then hands ids out of its block without asking again
(``coordinator/producer_ids.py``). Kafka serves it on the controller
listener only.

Declared by hand from Kafka 4.0's message definitions (v0 only).
"""

from minikafka.protocol.schema import Field, Message

ALLOCATE_PRODUCER_IDS_REQUEST = Message(
    name="AllocateProducerIdsRequest",
    api_key=67,
    kind="request",
    valid_versions="0",
    flexible_versions="0+",
    about="Ask the controller for the next block of producer ids.",
    fields=[
        Field("broker_id", "int32", "0+", about="The ID of the requesting broker"),
        Field("broker_epoch", "int64", "0+", default=-1, about="The epoch of the requesting broker"),
    ],
)

ALLOCATE_PRODUCER_IDS_RESPONSE = Message(
    name="AllocateProducerIdsResponse",
    api_key=67,
    kind="response",
    valid_versions="0",
    flexible_versions="0+",
    about="The block of producer ids now reserved for the broker.",
    fields=[
        Field("throttle_time_ms", "int32", "0+",
              about="The duration in milliseconds for which the request was throttled due to a "
                    "quota violation, or zero if the request did not violate any quota."),
        Field("error_code", "int16", "0+", about="The top level response error code"),
        Field("producer_id_start", "int64", "0+", about="The first producer ID in this range, inclusive"),
        Field("producer_id_len", "int32", "0+", about="The number of producer IDs in this range"),
    ],
)

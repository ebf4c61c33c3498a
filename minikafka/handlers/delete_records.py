"""DeleteRecords (API 21, v0-2): move partitions' log start offset forward.

Records are never erased one by one. "Deleting records before offset N"
raises the partition's *log start offset* (the "low watermark") to N: reads
below it answer OFFSET_OUT_OF_RANGE at once, and whole segments that end
below it are removed from disk by the log. An ``offset`` of ``-1`` means
"up to the high watermark" (everything committed); an offset beyond the high
watermark is ``OFFSET_OUT_OF_RANGE``. Asking for an offset below the current
log start offset changes nothing and reports the current one.

Each partition gets its own result: the new low watermark, or an error code
with low watermark -1.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices

API_KEY = 21


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    topics = []
    for topic in request.topics:
        partitions = [_delete_before(services, topic.name, p.partition_index, p.offset)
                      for p in topic.partitions]
        topics.append({"name": topic.name, "partitions": partitions})
    return {"throttle_time_ms": 0, "topics": topics}


def _delete_before(services: BrokerServices, topic: str, index: int, offset: int) -> dict:
    try:
        partition = services.partitions.partition(topic, index)
        low_watermark = partition.delete_records_before(offset)
        return {"partition_index": index, "low_watermark": low_watermark, "error_code": ErrorCode.NONE}
    except KafkaError as exc:
        return {"partition_index": index, "low_watermark": -1, "error_code": exc.code}

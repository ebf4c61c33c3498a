"""OffsetForLeaderEpoch (key 23, v2-4): where does a leader epoch end on the leader's log?

For each partition the request names a ``leader_epoch`` E; the leader
answers the largest epoch it knows that is <= E, and the offset where that
epoch ends: the start offset of the next epoch in its leader-epoch cache, or
its log end offset if E is its current epoch (Kafka's
``LeaderEpochFileCache.endOffsetFor``). Both are -1 when the log has no
epoch at or below E.

Who asks (Kafka allows all three; ``replica_id`` says which):

- a consumer (-1), after a leader change (KIP-320): if the answer ends
  before its position, the records it was about to read were truncated away
  and it resets its offset;
- a debugging tool (-2, the default);
- a follower (its broker id), to find where its log parts from the
  leader's (KIP-101/KIP-279; our followers use Fetch's
  ``last_fetched_epoch`` instead).

Only the leader answers (NOT_LEADER_OR_FOLLOWER elsewhere,
UNKNOWN_TOPIC_OR_PARTITION for a partition this broker does not have), and
``current_leader_epoch`` fences stale metadata: FENCED_LEADER_EPOCH if it is
older than the leader's epoch, UNKNOWN_LEADER_EPOCH if newer. The rule
itself is ``replication.fetch_rules.last_offset_for_leader_epoch``.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices
from minikafka.replication.fetch_rules import last_offset_for_leader_epoch

API_KEY = 23


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    topics = [{"topic": topic.topic, "partitions": [_answer(services, topic.topic, p) for p in topic.partitions]}
              for topic in request.topics]
    return {"throttle_time_ms": 0, "topics": topics}


def _answer(services: BrokerServices, topic: str, request_partition) -> dict:
    index = request_partition.partition
    try:
        partition = services.partitions.leader_partition(topic, index)
        epoch_end = last_offset_for_leader_epoch(
            partition.epoch_cache, partition.log_end_offset, partition.leader_epoch,
            request_partition.current_leader_epoch, request_partition.leader_epoch)
    except KafkaError as exc:
        return {"partition": index, "error_code": exc.code, "leader_epoch": -1, "end_offset": -1}
    return {"partition": index, "error_code": ErrorCode.NONE, "leader_epoch": epoch_end.leader_epoch,
            "end_offset": epoch_end.end_offset}

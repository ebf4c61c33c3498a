"""TxnOffsetCommit (key 28): commit a group's offsets inside a producer's transaction.

The last step of consume-transform-produce (KIP-98): the producer's
``send_offsets_to_transaction`` first adds the group's ``__consumer_offsets``
partition to its transaction (AddOffsetsToTxn, at the transaction
coordinator), then sends this request to the *group* coordinator. The
offsets are written to ``__consumer_offsets`` in a transactional batch with
the producer's id and epoch, and stay *pending* until the transaction
coordinator's marker (WriteTxnMarkers) commits or aborts them: a consumer
of the group never resumes from the offsets of an aborted transaction.

KIP-447 (v3+) adds the consumer's ``member_id``, ``generation_id`` and
``group_instance_id``: a producer whose consumer was fenced out of the group
(it missed a rebalance) cannot commit offsets for partitions someone else
now owns (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID). The
group's state is not checked: the transaction decides. A consumer-protocol
group (KIP-848) checks the member and its epoch instead of the generation.

Before the first write of a transaction to the partition, the group
coordinator asks the transaction coordinator whether the partition is in
the producer's transaction (KIP-890 verification,
``transaction.partition.verification.enable``).

As in Kafka's request handler, partitions of topics that do not exist are
answered UNKNOWN_TOPIC_OR_PARTITION before the coordinator sees the request,
and below v2 COORDINATOR_LOAD_IN_PROGRESS is answered as
COORDINATOR_NOT_AVAILABLE (older clients did not retry it correctly).
"""

from __future__ import annotations

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.offset_commit import every_partition, split_by_existence
from minikafka.handlers.services import BrokerServices
from minikafka.protocol.codec import Struct

API_KEY = 28


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    version = ctx.api_version
    known, unknown = split_by_existence(services, request.topics)
    topics = await _commit(services, request, known, version) if known else []
    topics += every_partition(unknown, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    if version < 2:
        for topic in topics:
            for partition in topic["partitions"]:
                if partition["error_code"] == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
                    partition["error_code"] = ErrorCode.COORDINATOR_NOT_AVAILABLE
    return {"throttle_time_ms": 0, "topics": topics}


async def _commit(services: BrokerServices, request, known: list, version: int) -> list[dict]:
    """The coordinator's answer for the partitions of existing topics."""
    filtered = Struct(**{**vars(request), "topics": known})

    def commit(classic, consumer_groups, now_ms):
        group = consumer_groups.groups.get(request.group_id)
        if group is None:
            return classic.commit_transactional_offsets(filtered, now_ms, version=version)
        _validate_consumer_group_member(group, request.member_id, request.generation_id)
        simple = Struct(**{**vars(filtered), "generation_id": -1, "member_id": "",
                           "group_instance_id": None})
        return classic.commit_transactional_offsets(simple, now_ms, version=version)

    try:
        response = await services.group_coordinator.execute_transactional(
            request.group_id, commit, transactional_id=request.transactional_id,
            producer_id=request.producer_id, producer_epoch=request.producer_epoch,
            verify=_verify(services), api_version=version)
    except KafkaError as exc:
        return every_partition(known, exc.code)
    return response["topics"]


def _verify(services: BrokerServices):
    """The KIP-890 check, if ``transaction.partition.verification.enable``."""
    verifier = services.transaction_verifier
    if verifier is None or not services.config["transaction.partition.verification.enable"]:
        return None
    return verifier.verify


def _validate_consumer_group_member(group, member_id: str, generation_id: int) -> None:
    """Kafka's ``ConsumerGroup.validateOffsetCommit`` for a transactional commit.

    A commit without a generation is accepted while the group has no
    members; otherwise the member must exist and its epoch match (a stale
    epoch is answered ILLEGAL_GENERATION, the error producers know).
    """
    if generation_id < 0 and not group.members:
        return
    member = group.members.get(member_id)
    if member is None:
        raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, f"{member_id!r} is not a member of the group")
    if generation_id != member.member_epoch:
        raise KafkaError(ErrorCode.ILLEGAL_GENERATION,
                         f"epoch {generation_id} is not the member's epoch {member.member_epoch}")

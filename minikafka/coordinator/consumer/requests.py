"""Checks on a ConsumerGroupHeartbeat request, before the coordinator acts on it.

Kafka's ``throwIfConsumerGroupHeartbeatRequestIsInvalid`` (field rules per
member epoch: 0 joins, -1 leaves, -2 leaves temporarily), the member-epoch
fencing rule, and how a heartbeat's nullable fields update a member ("null"
means "unchanged since the last heartbeat").
"""

from __future__ import annotations

import dataclasses
import re

from minikafka.coordinator.consumer.member import (
    LEAVE_GROUP_STATIC_MEMBER_EPOCH,
    ConsumerGroupMember,
    is_subset,
)
from minikafka.errors import ErrorCode, KafkaError

INVALID_REGULAR_EXPRESSION = ErrorCode.INVALID_REGULAR_EXPRESSION


def regex_of(request):
    return getattr(request, "subscribed_topic_regex", None)


def validate_request(request, version: int, assignors) -> None:
    """Kafka's ``throwIfConsumerGroupHeartbeatRequestIsInvalid``."""
    def invalid(message):
        raise KafkaError(ErrorCode.INVALID_REQUEST, message)
    if not request.group_id:
        invalid("GroupId can't be empty.")
    if request.instance_id == "":
        invalid("InstanceId can't be empty.")
    if request.rack_id == "":
        invalid("RackId can't be empty.")
    epoch = request.member_epoch
    # KIP-1082: from v1 the client makes its member id; v0 joins let the coordinator do it.
    if (version >= 1 or epoch != 0) and not request.member_id:
        invalid("MemberId can't be empty.")
    if epoch == 0:
        if request.rebalance_timeout_ms == -1:
            invalid("RebalanceTimeoutMs must be provided in first request.")
        if request.topic_partitions is None or len(request.topic_partitions) > 0:
            invalid("TopicPartitions must be empty when (re-)joining.")
        if request.subscribed_topic_names is None and regex_of(request) is None:
            invalid("Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.")
    elif epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH and request.instance_id is None:
        invalid("InstanceId can't be null.")
    elif epoch < LEAVE_GROUP_STATIC_MEMBER_EPOCH:
        invalid("MemberEpoch is invalid.")
    _validate_regex_and_assignor(request, assignors)


def _validate_regex_and_assignor(request, assignors) -> None:
    if regex_of(request) is not None:
        try:
            re.compile(regex_of(request))
        except re.error:
            raise KafkaError(ErrorCode.INVALID_REGULAR_EXPRESSION,
                             "SubscribedTopicRegex is not a valid regular expression.") from None
    if request.server_assignor is not None and request.server_assignor not in assignors:
        raise KafkaError(ErrorCode.UNSUPPORTED_ASSIGNOR,
                         f"ServerAssignor {request.server_assignor} is not supported. "
                         f"Supported assignors: {', '.join(assignors)}.")


def check_member_epoch(member: ConsumerGroupMember, epoch: int, owned) -> None:
    """FENCED_MEMBER_EPOCH unless ``epoch`` is the member's (or its previous one, see below)."""
    if epoch > member.member_epoch:
        raise KafkaError(ErrorCode.FENCED_MEMBER_EPOCH,
                         f"The consumer group member has a greater member epoch ({epoch}) than the one "
                         f"known by the group coordinator ({member.member_epoch}). The member must "
                         f"abandon all its partitions and rejoin.")
    if epoch < member.member_epoch:
        # The response that gave it the new epoch may have been lost: accept
        # the previous epoch if the member owns nothing it should not.
        if epoch != member.previous_member_epoch or not is_subset(owned, member.assigned_partitions):
            raise KafkaError(ErrorCode.FENCED_MEMBER_EPOCH,
                             f"The consumer group member has a smaller member epoch ({epoch}) than the "
                             f"one known by the group coordinator ({member.member_epoch}). The member "
                             f"must abandon all its partitions and rejoin.")


def updated_subscription(member: ConsumerGroupMember, request, client_id: str, client_host: str):
    """The member with the fields this heartbeat sets (null means unchanged)."""
    changes = {"client_id": client_id, "client_host": client_host}
    for field in ("instance_id", "rack_id", "server_assignor"):
        if getattr(request, field) is not None:
            changes[field] = getattr(request, field)
    if request.rebalance_timeout_ms != -1:
        changes["rebalance_timeout_ms"] = request.rebalance_timeout_ms
    if request.subscribed_topic_names is not None:
        changes["subscribed_topic_names"] = tuple(sorted(request.subscribed_topic_names))
    if regex_of(request) is not None:
        changes["subscribed_topic_regex"] = regex_of(request) or None  # "" clears it
    return dataclasses.replace(member, **changes)

"""Structs that several messages share, written once.

Kafka's JSON repeats some structs inline in several messages (the same fields,
only the versions differ). Declaring them here keeps the copies identical; each
helper takes the versions, because a struct added to Produce in v10 arrived in
Fetch in v12 or v16.
"""

from __future__ import annotations

from minikafka.protocol.schema import Field


def leader_id_and_epoch(versions: str, tag: int) -> Field:
    """The tagged ``current_leader`` of a partition (KIP-951).

    Sent with NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH so that the client
    can go straight to the new leader instead of refreshing its metadata first.

    Args:
        versions: the versions that carry the field (also its tagged versions).
        tag: the field's tag in the enclosing struct.
    """
    return Field("current_leader", "LeaderIdAndEpoch", versions, tag=tag, fields=[
        Field("leader_id", "int32", versions, default=-1,
              about="The ID of the current leader or -1 if the leader is unknown."),
        Field("leader_epoch", "int32", versions, default=-1,
              about="The latest known leader epoch"),
    ])


def node_endpoints(versions: str) -> Field:
    """The tagged top-level ``node_endpoints`` of a response (KIP-951, tag 0).

    Lists the host and port of every leader named in a ``current_leader``
    field of the same response, so the client needs no Metadata round trip.

    Args:
        versions: the versions that carry the field (also its tagged versions).
    """
    return Field("node_endpoints", "[]NodeEndpoint", versions, tag=0,
                 about="Endpoints for the current leaders named in the partitions' errors.",
                 fields=[
        Field("node_id", "int32", versions, about="The ID of the associated node."),
        Field("host", "string", versions, about="The node's hostname."),
        Field("port", "int32", versions, about="The node's port."),
        Field("rack", "string", versions, nullable=versions, default=None,
              about="The rack of the node, or null if it has not been assigned to a rack."),
    ])

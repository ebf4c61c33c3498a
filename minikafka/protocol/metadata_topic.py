"""The metadata log's name on the wire: ``__cluster_metadata-0`` (KIP-595).

The controller quorum replicates its log as partition 0 of the topic
``__cluster_metadata``, which has a topic id Kafka reserves for it
(``Uuid.METADATA_TOPIC_ID``: 15 zero bytes and a 1). The quorum's followers
fetch it with ordinary Fetch requests on the broker's ordinary listener, so
the server and the Fetch handler must tell such a fetch apart from a
client's or a partition follower's: :func:`is_metadata_fetch`.
"""

from __future__ import annotations

METADATA_TOPIC = "__cluster_metadata"
METADATA_PARTITION = 0
# Kafka's Uuid.METADATA_TOPIC_ID, reserved for the metadata log.
METADATA_TOPIC_ID = bytes(15) + b"\x01"


def is_metadata_fetch(request) -> bool:
    """Is a decoded Fetch request for ``__cluster_metadata-0`` (the quorum's)?

    The broker's Fetch handler uses this to send the quorum's fetches to
    :func:`minikafka.quorum.runtime.handle_raft_request`; a starting broker
    answers them before it has caught up.
    """
    topics = request.topics
    return (len(topics) == 1 and (topics[0].topic == METADATA_TOPIC
                                  or topics[0].topic_id == METADATA_TOPIC_ID))

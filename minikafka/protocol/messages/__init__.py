"""The declarations of every API the broker speaks, and registries over them.

Each module declares one API family (``produce.py``, ``fetch.py``, ...) from
Apache Kafka's JSON message definitions, in this project's own words: field
names in snake_case, versions written as Kafka writes them, tagged fields with
their tags. ``codec.py`` interprets these declarations; nothing here encodes
or decodes.

``valid_versions`` is what Apache Kafka 4.0 serves: Kafka's highest version,
and the KIP-896 floor where 4.0 removed the oldest versions. Fields that exist
only below the floor are kept as Kafka declares them (the codec never sees
those versions), so a declaration can be read side by side with Kafka's JSON.

Registries:
    REQUESTS: ``{api_key: Message}`` for every request.
    RESPONSES: ``{api_key: Message}`` for every response.
    API_NAMES: ``{api_key: "Produce", ...}``, Kafka's API names.
"""

from __future__ import annotations

from minikafka.protocol.messages.allocate_producer_ids import (
    ALLOCATE_PRODUCER_IDS_REQUEST,
    ALLOCATE_PRODUCER_IDS_RESPONSE,
)
from minikafka.protocol.messages.api_versions import API_VERSIONS_REQUEST, API_VERSIONS_RESPONSE
from minikafka.protocol.messages.broker_lifecycle import (
    BROKER_HEARTBEAT_REQUEST,
    BROKER_HEARTBEAT_RESPONSE,
    BROKER_REGISTRATION_REQUEST,
    BROKER_REGISTRATION_RESPONSE,
)
from minikafka.protocol.messages.cluster import (
    DESCRIBE_CLUSTER_REQUEST,
    DESCRIBE_CLUSTER_RESPONSE,
    DESCRIBE_LOG_DIRS_REQUEST,
    DESCRIBE_LOG_DIRS_RESPONSE,
)
from minikafka.protocol.messages.configs import (
    ALTER_CONFIGS_REQUEST,
    ALTER_CONFIGS_RESPONSE,
    DESCRIBE_CONFIGS_REQUEST,
    DESCRIBE_CONFIGS_RESPONSE,
    INCREMENTAL_ALTER_CONFIGS_REQUEST,
    INCREMENTAL_ALTER_CONFIGS_RESPONSE,
)
from minikafka.protocol.messages.consumer_group import (
    CONSUMER_GROUP_DESCRIBE_REQUEST,
    CONSUMER_GROUP_DESCRIBE_RESPONSE,
    CONSUMER_GROUP_HEARTBEAT_REQUEST,
    CONSUMER_GROUP_HEARTBEAT_RESPONSE,
)
from minikafka.protocol.messages.elect_leaders import ELECT_LEADERS_REQUEST, ELECT_LEADERS_RESPONSE
from minikafka.protocol.messages.fetch import FETCH_REQUEST, FETCH_RESPONSE
from minikafka.protocol.messages.group_admin import (
    DELETE_GROUPS_REQUEST,
    DELETE_GROUPS_RESPONSE,
    OFFSET_DELETE_REQUEST,
    OFFSET_DELETE_RESPONSE,
)
from minikafka.protocol.messages.groups import (
    DESCRIBE_GROUPS_REQUEST,
    DESCRIBE_GROUPS_RESPONSE,
    FIND_COORDINATOR_REQUEST,
    FIND_COORDINATOR_RESPONSE,
    HEARTBEAT_REQUEST,
    HEARTBEAT_RESPONSE,
    JOIN_GROUP_REQUEST,
    JOIN_GROUP_RESPONSE,
    LEAVE_GROUP_REQUEST,
    LEAVE_GROUP_RESPONSE,
    LIST_GROUPS_REQUEST,
    LIST_GROUPS_RESPONSE,
    SYNC_GROUP_REQUEST,
    SYNC_GROUP_RESPONSE,
)
from minikafka.protocol.messages.list_offsets import LIST_OFFSETS_REQUEST, LIST_OFFSETS_RESPONSE
from minikafka.protocol.messages.metadata import METADATA_REQUEST, METADATA_RESPONSE
from minikafka.protocol.messages.offsets import (
    OFFSET_COMMIT_REQUEST,
    OFFSET_COMMIT_RESPONSE,
    OFFSET_FETCH_REQUEST,
    OFFSET_FETCH_RESPONSE,
)
from minikafka.protocol.messages.produce import PRODUCE_REQUEST, PRODUCE_RESPONSE
from minikafka.protocol.messages.raft import (
    BEGIN_QUORUM_EPOCH_REQUEST,
    BEGIN_QUORUM_EPOCH_RESPONSE,
    END_QUORUM_EPOCH_REQUEST,
    END_QUORUM_EPOCH_RESPONSE,
    FETCH_SNAPSHOT_REQUEST,
    FETCH_SNAPSHOT_RESPONSE,
    VOTE_REQUEST,
    VOTE_RESPONSE,
)
from minikafka.protocol.messages.producer import (
    INIT_PRODUCER_ID_REQUEST,
    INIT_PRODUCER_ID_RESPONSE,
)
from minikafka.protocol.messages.reassignments import (
    ALTER_PARTITION_REASSIGNMENTS_REQUEST,
    ALTER_PARTITION_REASSIGNMENTS_RESPONSE,
    LIST_PARTITION_REASSIGNMENTS_REQUEST,
    LIST_PARTITION_REASSIGNMENTS_RESPONSE,
)
from minikafka.protocol.messages.records_admin import (
    DELETE_RECORDS_REQUEST,
    DELETE_RECORDS_RESPONSE,
)
from minikafka.protocol.messages.replication import (
    ALTER_PARTITION_REQUEST,
    ALTER_PARTITION_RESPONSE,
    OFFSET_FOR_LEADER_EPOCH_REQUEST,
    OFFSET_FOR_LEADER_EPOCH_RESPONSE,
)
from minikafka.protocol.messages.sasl import SASL_HANDSHAKE_REQUEST, SASL_HANDSHAKE_RESPONSE
from minikafka.protocol.messages.topics import (
    CREATE_PARTITIONS_REQUEST,
    CREATE_PARTITIONS_RESPONSE,
    CREATE_TOPICS_REQUEST,
    CREATE_TOPICS_RESPONSE,
    DELETE_TOPICS_REQUEST,
    DELETE_TOPICS_RESPONSE,
)
from minikafka.protocol.schema import Message

# (request, response) per API, in api_key order.
_PAIRS: list[tuple[Message, Message]] = [
    (PRODUCE_REQUEST, PRODUCE_RESPONSE),
    (FETCH_REQUEST, FETCH_RESPONSE),
    (LIST_OFFSETS_REQUEST, LIST_OFFSETS_RESPONSE),
    (METADATA_REQUEST, METADATA_RESPONSE),
    (OFFSET_COMMIT_REQUEST, OFFSET_COMMIT_RESPONSE),
    (OFFSET_FETCH_REQUEST, OFFSET_FETCH_RESPONSE),
    (FIND_COORDINATOR_REQUEST, FIND_COORDINATOR_RESPONSE),
    (JOIN_GROUP_REQUEST, JOIN_GROUP_RESPONSE),
    (HEARTBEAT_REQUEST, HEARTBEAT_RESPONSE),
    (LEAVE_GROUP_REQUEST, LEAVE_GROUP_RESPONSE),
    (SYNC_GROUP_REQUEST, SYNC_GROUP_RESPONSE),
    (DESCRIBE_GROUPS_REQUEST, DESCRIBE_GROUPS_RESPONSE),
    (LIST_GROUPS_REQUEST, LIST_GROUPS_RESPONSE),
    (SASL_HANDSHAKE_REQUEST, SASL_HANDSHAKE_RESPONSE),
    (API_VERSIONS_REQUEST, API_VERSIONS_RESPONSE),
    (CREATE_TOPICS_REQUEST, CREATE_TOPICS_RESPONSE),
    (DELETE_TOPICS_REQUEST, DELETE_TOPICS_RESPONSE),
    (DELETE_RECORDS_REQUEST, DELETE_RECORDS_RESPONSE),
    (INIT_PRODUCER_ID_REQUEST, INIT_PRODUCER_ID_RESPONSE),
    (OFFSET_FOR_LEADER_EPOCH_REQUEST, OFFSET_FOR_LEADER_EPOCH_RESPONSE),
    (DESCRIBE_CONFIGS_REQUEST, DESCRIBE_CONFIGS_RESPONSE),
    (ALTER_CONFIGS_REQUEST, ALTER_CONFIGS_RESPONSE),
    (DESCRIBE_LOG_DIRS_REQUEST, DESCRIBE_LOG_DIRS_RESPONSE),
    (CREATE_PARTITIONS_REQUEST, CREATE_PARTITIONS_RESPONSE),
    (DELETE_GROUPS_REQUEST, DELETE_GROUPS_RESPONSE),
    (ELECT_LEADERS_REQUEST, ELECT_LEADERS_RESPONSE),
    (INCREMENTAL_ALTER_CONFIGS_REQUEST, INCREMENTAL_ALTER_CONFIGS_RESPONSE),
    (ALTER_PARTITION_REASSIGNMENTS_REQUEST, ALTER_PARTITION_REASSIGNMENTS_RESPONSE),
    (LIST_PARTITION_REASSIGNMENTS_REQUEST, LIST_PARTITION_REASSIGNMENTS_RESPONSE),
    (OFFSET_DELETE_REQUEST, OFFSET_DELETE_RESPONSE),
    (DESCRIBE_CLUSTER_REQUEST, DESCRIBE_CLUSTER_RESPONSE),
    (VOTE_REQUEST, VOTE_RESPONSE),
    (BEGIN_QUORUM_EPOCH_REQUEST, BEGIN_QUORUM_EPOCH_RESPONSE),
    (END_QUORUM_EPOCH_REQUEST, END_QUORUM_EPOCH_RESPONSE),
    (ALTER_PARTITION_REQUEST, ALTER_PARTITION_RESPONSE),
    (FETCH_SNAPSHOT_REQUEST, FETCH_SNAPSHOT_RESPONSE),
    (BROKER_REGISTRATION_REQUEST, BROKER_REGISTRATION_RESPONSE),
    (BROKER_HEARTBEAT_REQUEST, BROKER_HEARTBEAT_RESPONSE),
    (ALLOCATE_PRODUCER_IDS_REQUEST, ALLOCATE_PRODUCER_IDS_RESPONSE),
    (CONSUMER_GROUP_HEARTBEAT_REQUEST, CONSUMER_GROUP_HEARTBEAT_RESPONSE),
    (CONSUMER_GROUP_DESCRIBE_REQUEST, CONSUMER_GROUP_DESCRIBE_RESPONSE),
]

REQUESTS: dict[int, Message] = {request.api_key: request for request, _ in _PAIRS}
RESPONSES: dict[int, Message] = {response.api_key: response for _, response in _PAIRS}
# "ProduceRequest" -> "Produce": Kafka names an API after its messages.
API_NAMES: dict[int, str] = {
    request.api_key: request.name.removesuffix("Request") for request, _ in _PAIRS
}

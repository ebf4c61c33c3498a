"""DescribeCluster (API 60, v0-1): the cluster id, the brokers and the controller (KIP-700).

The admin client's view of the cluster, apart from Metadata (which is about
topics). A KRaft broker answers with the brokers it knows and, as
``controller_id``, a live *broker* id: clients cannot reach the KRaft
controllers, so the broker names itself (Kafka picks a random live broker).

v1 (KIP-919) adds ``endpoint_type``: 1 asks for brokers, 2 for controllers.
A broker's listener serves only brokers, so 2 answers
``MISMATCHED_ENDPOINT_TYPE``; any other value ``UNSUPPORTED_ENDPOINT_TYPE``.

``include_cluster_authorized_operations``: with no authorizer configured
(minikafka has none) every cluster operation is allowed, so the bit set of
all of them is returned, as Kafka does.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode

API_KEY = 60

ENDPOINT_BROKERS = 1
ENDPOINT_CONTROLLERS = 2
NOT_REQUESTED = -(2**31)  # Kafka's "authorized operations were not requested"

# Kafka's AclOperation codes allowed on the CLUSTER resource.
_CLUSTER_OPERATIONS = {"CREATE": 5, "ALTER": 7, "DESCRIBE": 8, "CLUSTER_ACTION": 9,
                       "DESCRIBE_CONFIGS": 10, "ALTER_CONFIGS": 11, "IDEMPOTENT_WRITE": 12}
ALL_CLUSTER_OPERATIONS = sum(1 << code for code in _CLUSTER_OPERATIONS.values())


async def handle(broker, request, ctx) -> dict:
    response = {"throttle_time_ms": 0, "endpoint_type": request.endpoint_type,
                "error_code": ErrorCode.NONE, "error_message": None}
    if request.endpoint_type == ENDPOINT_CONTROLLERS:
        return response | {"error_code": ErrorCode.MISMATCHED_ENDPOINT_TYPE,
                           "error_message": "The request was sent to an endpoint of type BROKER, "
                                            "but we wanted an endpoint of type CONTROLLER"}
    if request.endpoint_type != ENDPOINT_BROKERS:
        return response | {"error_code": ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
                           "error_message": f"Unsupported endpoint type {request.endpoint_type}"}
    host, port = broker.advertised_endpoint()
    return response | {
        "cluster_id": broker.cluster_id,
        "controller_id": broker.node_id,
        "brokers": [{"broker_id": broker.node_id, "host": host, "port": port, "rack": None}],
        "cluster_authorized_operations": (ALL_CLUSTER_OPERATIONS if request.include_cluster_authorized_operations
                                          else NOT_REQUESTED),
    }

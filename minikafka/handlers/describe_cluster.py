"""DescribeCluster (API 60, v0-1): the cluster id, the brokers and the controller (KIP-700).

The admin client's view of the cluster, apart from Metadata (which is about
topics). The brokers are those of the metadata image that are unfenced (as
Metadata lists them); ``controller_id`` is the active controller, as in
Metadata: in combined mode (every node here) it is also a broker clients can
reach. (A Kafka broker of a cluster with separate controllers names a random
live broker instead, since clients cannot reach the controllers.)

v1 (KIP-919) adds ``endpoint_type``: 1 asks for brokers, 2 for controllers.
A broker's listener serves only brokers, so 2 answers
``MISMATCHED_ENDPOINT_TYPE``; any other value ``UNSUPPORTED_ENDPOINT_TYPE``.

``include_cluster_authorized_operations``: with no authorizer configured
(minikafka has none) every cluster operation is allowed, so the bit set of
all of them is returned, as Kafka does.
"""

from __future__ import annotations

from minikafka.errors import ErrorCode
from minikafka.handlers import RequestContext
from minikafka.handlers.metadata import live_brokers
from minikafka.handlers.services import BrokerServices

API_KEY = 60

ENDPOINT_BROKERS = 1
ENDPOINT_CONTROLLERS = 2
NOT_REQUESTED = -(2**31)  # Kafka's "authorized operations were not requested"

# Kafka's AclOperation codes allowed on the CLUSTER resource.
_CLUSTER_OPERATIONS = {"CREATE": 5, "ALTER": 7, "DESCRIBE": 8, "CLUSTER_ACTION": 9,
                       "DESCRIBE_CONFIGS": 10, "ALTER_CONFIGS": 11, "IDEMPOTENT_WRITE": 12}
ALL_CLUSTER_OPERATIONS = sum(1 << code for code in _CLUSTER_OPERATIONS.values())


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    response = {"throttle_time_ms": 0, "endpoint_type": request.endpoint_type,
                "error_code": ErrorCode.NONE, "error_message": None}
    if request.endpoint_type == ENDPOINT_CONTROLLERS:
        return response | {"error_code": ErrorCode.MISMATCHED_ENDPOINT_TYPE,
                           "error_message": "The request was sent to an endpoint of type BROKER, "
                                            "but we wanted an endpoint of type CONTROLLER"}
    if request.endpoint_type != ENDPOINT_BROKERS:
        return response | {"error_code": ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
                           "error_message": f"Unsupported endpoint type {request.endpoint_type}"}
    controller_id = services.metadata.active_controller_id
    return response | {
        "cluster_id": services.metadata.cluster_id,
        "controller_id": -1 if controller_id is None else controller_id,
        "brokers": [{"broker_id": b["node_id"], "host": b["host"], "port": b["port"], "rack": b["rack"]}
                    for b in live_brokers(services.metadata.image)],
        "cluster_authorized_operations": (ALL_CLUSTER_OPERATIONS if request.include_cluster_authorized_operations
                                          else NOT_REQUESTED),
    }

"""The admin APIs as the *controller listener* serves them (Kafka's ``ControllerApis``).

In a multi-process cluster a broker that is not the active controller cannot
run a controller operation itself. Kafka's broker wraps the client's request
in an Envelope (API 58) and forwards it; the controller's ``ControllerApis``
runs it. minikafka keeps the same split with less machinery: the broker's
``ControllerChannel`` sends the *controller operation's request*, which is
already a CreateTopics / DeleteTopics / CreatePartitions / AlterConfigs /
IncrementalAlterConfigs request body, to the active controller's CONTROLLER
listener (its address in ``controller.quorum.voters``), and this module
answers it there: straight to ``MetadataRuntime.submit``, with none of the
client-facing checks (the forwarding broker made them) and no further
forwarding. A node that is not (or stops being) the active controller answers
every entry with NOT_CONTROLLER, and the sender looks for the leader again.

On a connection to a listener named in ``controller.listener.names`` these
handlers replace the ordinary ones (:func:`handlers_for_listener`); elsewhere
CreateTopics and friends are the client-facing handlers. ElectLeaders (43)
and the reassignment APIs (45, 46) have nothing to check on the broker: their
client-facing handlers only :func:`forward` the request through the channel.
AlterPartition (56) and AllocateProducerIds (67) are broker-to-controller
RPCs, answered by :func:`submit` on every listener.

:data:`FORWARDED` is the table both sides use: operation -> (API key, the
version the channel sends, how to build an all-error response).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from minikafka.errors import ErrorCode, KafkaError
from minikafka.handlers import RequestContext
from minikafka.handlers.services import BrokerServices
from minikafka.metadata.broker_lifecycle import DEFAULT_CALL_TIMEOUT_S
from minikafka.metadata.result import get_field


def _entries(request, field: str) -> list:
    return list(get_field(request, field, ()) or ())


def _create_topics_error(request, code, message) -> dict:
    return {"topics": [{"name": get_field(t, "name"), "error_code": code, "error_message": message}
                       for t in _entries(request, "topics")]}


def _delete_topics_error(request, code, message) -> dict:
    names = [{"name": name, "error_code": code, "error_message": message}
             for name in _entries(request, "topic_names")]
    names += [{"name": get_field(t, "name"), "topic_id": get_field(t, "topic_id"), "error_code": code,
               "error_message": message} for t in _entries(request, "topics")]
    return {"responses": names}


def _create_partitions_error(request, code, message) -> dict:
    return {"results": [{"name": get_field(t, "name"), "error_code": code, "error_message": message}
                        for t in _entries(request, "topics")]}


def _configs_error(request, code, message) -> dict:
    return {"responses": [{"resource_type": get_field(r, "resource_type"),
                           "resource_name": get_field(r, "resource_name"),
                           "error_code": code, "error_message": message}
                          for r in _entries(request, "resources")]}


def _registration_error(request, code, message) -> dict:
    return {"error_code": code, "broker_epoch": -1}


def _heartbeat_error(request, code, message) -> dict:
    return {"error_code": code, "is_caught_up": False, "is_fenced": True, "should_shut_down": False}


def _alter_partition_error(request, code, message) -> dict:
    return {"error_code": code, "topics": []}


def _elect_leaders_error(request, code, message) -> dict:
    """Kafka's ``ElectLeadersRequest.getErrorResponse``: the code at the top and per partition."""
    results = [{"topic": get_field(t, "topic"),
                "partition_result": [{"partition_id": index, "error_code": code, "error_message": message}
                                     for index in get_field(t, "partitions", ()) or ()]}
               for t in get_field(request, "topic_partitions", None) or ()]
    return {"error_code": code, "replica_election_results": results}


def _alter_partition_reassignments_error(request, code, message) -> dict:
    """Kafka's ``AlterPartitionReassignmentsRequest.getErrorResponse``: top and per partition."""
    responses = [{"name": get_field(t, "name"),
                  "partitions": [{"partition_index": get_field(p, "partition_index"), "error_code": code,
                                  "error_message": message} for p in get_field(t, "partitions", ()) or ()]}
                 for t in _entries(request, "topics")]
    return {"error_code": code, "error_message": message, "responses": responses}


def _list_partition_reassignments_error(request, code, message) -> dict:
    return {"error_code": code, "error_message": message, "topics": []}


def _allocate_producer_ids_error(request, code, message) -> dict:
    return {"error_code": code, "producer_id_start": -1, "producer_id_len": 0}


@dataclasses.dataclass(frozen=True)
class ForwardedApi:
    """How one controller operation travels to a controller in another process."""

    api_key: int
    version: int  # what ControllerChannel sends (its request dicts use this version's fields)
    results: str | None  # the response's list of per-entry results (None: top-level error_code)
    error_response: Callable[[object, ErrorCode, str | None], dict]


FORWARDED: dict[str, ForwardedApi] = {
    "create_topics": ForwardedApi(19, 7, "topics", _create_topics_error),
    "delete_topics": ForwardedApi(20, 5, "responses", _delete_topics_error),  # v5: topic_names
    "create_partitions": ForwardedApi(37, 3, "results", _create_partitions_error),
    "alter_configs": ForwardedApi(33, 2, "responses", _configs_error),
    "incremental_alter_configs": ForwardedApi(44, 1, "responses", _configs_error),
    "register_broker": ForwardedApi(62, 4, None, _registration_error),
    "broker_heartbeat": ForwardedApi(63, 1, None, _heartbeat_error),
    # Replication. AlterPartition requests are written in v3's
    # fields: ``topic_id`` (not the name) and ``new_isr_with_epochs``.
    "alter_partition": ForwardedApi(56, 3, None, _alter_partition_error),
    "elect_leaders": ForwardedApi(43, 2, None, _elect_leaders_error),
    "alter_partition_reassignments": ForwardedApi(45, 0, None, _alter_partition_reassignments_error),
    "list_partition_reassignments": ForwardedApi(46, 0, None, _list_partition_reassignments_error),
    "allocate_producer_ids": ForwardedApi(67, 0, None, _allocate_producer_ids_error),
}
_BY_KEY = {api.api_key: (operation, api) for operation, api in FORWARDED.items()}


async def submit(services: BrokerServices, api_key: int, request) -> dict:
    """Run the controller operation of ``api_key`` here; errors in the response."""
    operation, api = _BY_KEY[api_key]
    return await _answer(api, request, services.controller.submit(operation, request))


async def forward(services: BrokerServices, operation: str, request, timeout_ms: int) -> dict:
    """A client-facing handler's whole job: run ``operation`` on the active controller.

    The broker's ``ControllerChannel`` finds the active controller (this
    node, or a peer) and retries across elections for up to ``timeout_ms``
    (the request's own timeout; 0 or less: the channel's default). A failure
    (REQUEST_TIMED_OUT, ...) becomes the response Kafka builds for it, with
    the code on every entry of the request.
    """
    timeout_s = timeout_ms / 1000 if timeout_ms > 0 else DEFAULT_CALL_TIMEOUT_S
    call = services.forwarding.call(operation, request, timeout_s=timeout_s)
    return await _answer(FORWARDED[operation], request, call)


async def _answer(api: ForwardedApi, request, call) -> dict:
    try:
        response = await call
    except KafkaError as exc:
        response = api.error_response(request, exc.code, exc.message)
    return {"throttle_time_ms": 0, **response}


async def handle(services: BrokerServices, request, ctx: RequestContext) -> dict:
    return await submit(services, ctx.api_key, request)


# The APIs answered differently on a controller listener (62/63, AlterPartition
# 56 and AllocateProducerIds 67 are answered the same way on every listener by
# their own handler modules).
CONTROLLER_LISTENER_KEYS = frozenset({19, 20, 33, 37, 43, 44, 45, 46})


def handlers_for_listener(handlers: dict, listener_name: str | None, controller_listener_names) -> dict:
    """The handler table for connections accepted on ``listener_name``."""
    if listener_name is None or listener_name not in controller_listener_names:
        return handlers
    return {**handlers, **{key: handle for key in CONTROLLER_LISTENER_KEYS}}

"""Which Kafka API carries each controller operation between processes.

A broker that is not the active controller sends a controller operation to
it as a plain Kafka request on its CONTROLLER listener
(:class:`~minikafka.metadata.broker_lifecycle.RemoteControllers`), and the
controller answers it there (:mod:`minikafka.handlers.controller_apis`). Both
ends read this one table: :data:`FORWARDED` maps an operation name
(``"create_topics"``, ...) to the API key and version that carry it, the
response field that holds its per-entry results, and the all-error response
Kafka builds when the operation cannot run (``getErrorResponse`` of Kafka's
request classes).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from minikafka.errors import ErrorCode
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


def _alter_client_quotas_error(request, code, message) -> dict:
    """Kafka's ``AlterClientQuotasRequest.getErrorResponse``: the code on every entry."""
    return {"entries": [{"error_code": code, "error_message": message,
                         "entity": [{"entity_type": get_field(c, "entity_type"),
                                     "entity_name": get_field(c, "entity_name")}
                                    for c in get_field(e, "entity", ()) or ()]}
                        for e in _entries(request, "entries")]}


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
    "alter_client_quotas": ForwardedApi(49, 1, "entries", _alter_client_quotas_error),
    "register_broker": ForwardedApi(62, 4, None, _registration_error),
    "broker_heartbeat": ForwardedApi(63, 1, None, _heartbeat_error),
    # AlterPartition requests are written in v3's fields: ``topic_id`` (not
    # the name) and ``new_isr_with_epochs``.
    "alter_partition": ForwardedApi(56, 3, None, _alter_partition_error),
    "elect_leaders": ForwardedApi(43, 2, None, _elect_leaders_error),
    "alter_partition_reassignments": ForwardedApi(45, 0, None, _alter_partition_reassignments_error),
    "list_partition_reassignments": ForwardedApi(46, 0, None, _list_partition_reassignments_error),
    "allocate_producer_ids": ForwardedApi(67, 0, None, _allocate_producer_ids_error),
}

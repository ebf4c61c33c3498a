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
CreateTopics and friends are the client-facing handlers.

:data:`FORWARDED` is the table both sides use: operation -> (API key, the
version the channel sends, how to build an all-error response).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from minikafka.errors import ErrorCode, KafkaError
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
}
_BY_KEY = {api.api_key: (operation, api) for operation, api in FORWARDED.items()}


async def submit(broker, api_key: int, request) -> dict:
    """Run the controller operation of ``api_key`` here; errors in the response."""
    operation, api = _BY_KEY[api_key]
    try:
        response = await broker.metadata.submit(operation, request)
    except KafkaError as exc:
        response = api.error_response(request, exc.code, exc.message)
    return {"throttle_time_ms": 0, **response}


async def handle(broker, request, ctx) -> dict:
    return await submit(broker, ctx.api_key, request)


# The APIs answered differently on a controller listener (62/63 are answered
# the same way on every listener by their own handler modules).
CONTROLLER_LISTENER_KEYS = frozenset({19, 20, 33, 37, 44})


def handlers_for_listener(handlers: dict, listener_name: str | None, controller_listener_names) -> dict:
    """The handler table for connections accepted on ``listener_name``."""
    if listener_name is None or listener_name not in controller_listener_names:
        return handlers
    return {**handlers, **{key: handle for key in CONTROLLER_LISTENER_KEYS}}
